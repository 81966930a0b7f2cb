"""``ExploreOptions``: the options of an exploration and the one place that checks them.

``explore(program, options)`` (or its keywords), a scenario's ``[explore]`` table and
``pagerace run``'s flags all build this object (``pagerace.runner.RunOptions`` extends
it with the fields of a scenario run), so an option means the same thing everywhere and
a bad one or a bad combination is rejected with the same message, ``field: rule; got
value``, raised as ``OptionError`` (a ``PageraceInputError``).  Values that come as
text (command-line flags) go through ``from_text`` first, so ``"none"`` and
``"iterative"`` read alike from a flag and from a TOML string.

Fields (plain data; the defaults are those of ``explore``):

``strategy``
    ``dpor`` (source-DPOR with sleep sets), ``dfs`` (every interleaving), ``random``,
    ``pct`` (both sample, seeded) or ``replay`` (one schedule, ``schedule=``).
``preemption_bound``
    ``None``: no bound.  An int K >= 0: no execution makes more than K preemptions (a
    preemption is a switch away from a thread that could have gone on).  With ``dpor``
    and ``dfs`` the bounds 0, 1, ..., K are explored in turn (``fewest_first``): the
    first finding has the fewest preemptions any finding needs, the search stops early
    at a bound that excluded nothing (then it is complete), and a result without
    findings is complete within K.  With ``random`` and ``pct`` every sampled
    execution keeps within K.  ``"iterative"``: bounds 0, 1, 2, ... without a cap;
    it needs an exhaustive strategy (``dpor``, ``dfs``).  The text ``"none"`` is read
    as ``None``.
``fewest_first``
    With an int bound on ``dpor``/``dfs``: ``True`` explores bounds 0..K in turn,
    ``False`` makes one pass with bound K (fewer executions, same coverage, but the
    first finding need not have the fewest preemptions).
``max_executions``, ``time_limit``
    The budget: executions (int >= 1) and seconds (> 0); ``None`` (or ``"none"``) is
    no limit.  ``random`` and ``pct`` with neither run ``DEFAULT_SAMPLED_EXECUTIONS``.
``seed``
    int >= 0: the random choices of ``random`` and ``pct``.
``keep_going``
    Go on after a finding and collect every distinct one.  Under iterative bounding
    without a cap (``"iterative"``) the bound stops widening after a bound >= 1 that
    found nothing new, so the search ends.
``count_traces``
    Count the distinct Mazurkiewicz traces of the executions run.
``schedule``
    The ``v1:...`` schedule that ``replay`` re-runs (only with ``replay``).
``pct_depth``
    int >= 1: PCT's bug depth (change points + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from pagerace.errors import PageraceInputError
from pagerace.explore.schedule import Schedule
from pagerace.userio import did_you_mean

__all__ = [
    "DEFAULT_SAMPLED_EXECUTIONS",
    "EXHAUSTIVE",
    "SAMPLING",
    "SEARCH_STRATEGIES",
    "STRATEGIES",
    "ExploreOptions",
    "OptionError",
    "check_search_strategy",
    "from_text",
    "shown",
]

STRATEGIES = ("dpor", "dfs", "random", "pct", "replay")
#: The strategies that search (what a scenario's [explore] and ``pagerace run`` take;
#: ``replay`` is a command of its own).
SEARCH_STRATEGIES = ("dpor", "dfs", "random", "pct")
#: The strategies that explore a space completely (and so can bound it iteratively).
EXHAUSTIVE = ("dpor", "dfs")
#: The strategies that sample (seeded random executions; never complete).
SAMPLING = ("random", "pct")
#: Upper limits of the numbers (a typing slip, not a wish, goes past them).
MAX_BOUND = 10**6
MAX_EXECUTIONS = 10**12
MAX_SECONDS = 10**7
MAX_SEED = 2**64 - 1
MAX_PCT_DEPTH = 100
#: Executions of ``random`` and ``pct`` when neither max_executions nor time_limit is set.
DEFAULT_SAMPLED_EXECUTIONS = 1000


class OptionError(PageraceInputError):
    """A bad option: ``field`` names it, ``reason`` states the rule and the value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def shown(value: object, limit: int = 60) -> str:
    """A value as an error message shows it, alike for Python and TOML users: one
    line, no terminal control characters (escaped), at most ``limit`` characters."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        text = value if value.isascii() and value.isprintable() else ascii(value)[1:-1]
        more = len(text) - limit
        return f'"{text[:limit]}"' + (f" ... ({more:,} more characters)" if more > 0 else "")
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ExploreOptions:
    """How to explore (see the module docstring for each field).  Checked when made:
    a bad value or combination raises ``OptionError``."""

    strategy: str = "dpor"
    preemption_bound: int | str | None = None
    fewest_first: bool = True
    max_executions: int | None = None
    time_limit: float | None = None
    seed: int = 0
    keep_going: bool = False
    count_traces: bool = False
    schedule: str | None = None
    pct_depth: int = 3

    def __post_init__(self) -> None:
        if self.preemption_bound == "none":
            object.__setattr__(self, "preemption_bound", None)
        if self.max_executions == "none":
            object.__setattr__(self, "max_executions", None)
        if self.time_limit == "none":
            object.__setattr__(self, "time_limit", None)
        if self.schedule is not None and not isinstance(self.schedule, str):
            object.__setattr__(self, "schedule", str(self.schedule))  # a Schedule
        self._check()
        if _is_int(self.time_limit):
            object.__setattr__(self, "time_limit", float(self.time_limit))  # type: ignore[arg-type]

    def _check(self) -> None:
        strategy = self.strategy
        if strategy not in STRATEGIES:
            raise OptionError(
                "strategy",
                f"must be one of {', '.join(STRATEGIES)}; got {shown(strategy)}"
                + did_you_mean(strategy, STRATEGIES),
            )
        if strategy == "replay":
            if self.schedule is None:
                raise OptionError("schedule", "strategy 'replay' needs schedule='v1:...'")
            Schedule.parse(self.schedule)  # raises "schedule: ..." when malformed
        elif self.schedule is not None:
            raise OptionError(
                "schedule", f"only used with strategy='replay' (strategy is {shown(strategy)})"
            )
        bound = self.preemption_bound
        if bound is not None:
            if bound != "iterative" and not _is_int(bound):
                raise OptionError(
                    "preemption_bound",
                    f"must be an int >= 0, 'iterative' or None; got {shown(bound)}",
                )
            if _is_int(bound) and bound < 0:  # type: ignore[operator]
                raise OptionError("preemption_bound", f"must be >= 0; got {bound}")
            if _is_int(bound) and bound > MAX_BOUND:  # type: ignore[operator]
                raise OptionError("preemption_bound", f"must be <= {MAX_BOUND:,}; got {bound}")
            if strategy == "replay":
                raise OptionError(
                    "preemption_bound", "not used by strategy 'replay' (the schedule decides)"
                )
            if bound == "iterative" and strategy not in EXHAUSTIVE:
                raise OptionError(
                    "preemption_bound",
                    "'iterative' (bounds 0, 1, 2, ... in turn) only with strategy 'dpor' or "
                    f"'dfs' (strategy is {shown(strategy)}); give a number or none",
                )
        me = self.max_executions
        if me is not None and not (_is_int(me) and 1 <= me <= MAX_EXECUTIONS):
            raise OptionError(
                "max_executions",
                f"must be an int from 1 to {MAX_EXECUTIONS:,} or None; got {shown(me)}",
            )
        tl = self.time_limit
        if tl is not None and not (
            isinstance(tl, (int, float))
            and not isinstance(tl, bool)
            and math.isfinite(tl)
            and 0 < tl <= MAX_SECONDS
        ):
            raise OptionError(
                "time_limit",
                f"must be seconds > 0 (at most {MAX_SECONDS:,}) or None; got {shown(tl)}",
            )
        if not (_is_int(self.seed) and 0 <= self.seed <= MAX_SEED):
            raise OptionError("seed", f"must be an int from 0 to 2**64 - 1; got {shown(self.seed)}")
        if not (_is_int(self.pct_depth) and 1 <= self.pct_depth <= MAX_PCT_DEPTH):
            raise OptionError(
                "pct_depth",
                f"must be an int from 1 to {MAX_PCT_DEPTH}; got {shown(self.pct_depth)}",
            )
        for name in ("fewest_first", "keep_going", "count_traces"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(name, f"must be true or false; got {shown(getattr(self, name))}")

    @property
    def iterative(self) -> bool:
        """Bounds 0, 1, 2, ... are explored in turn."""
        bound = self.preemption_bound
        return self.strategy in EXHAUSTIVE and (
            bound == "iterative" or (_is_int(bound) and self.fewest_first)
        )

    @property
    def bound_cap(self) -> int | None:
        """The largest bound explored (None: no cap)."""
        bound = self.preemption_bound
        return bound if _is_int(bound) else None  # type: ignore[return-value]

    def describe(self) -> str:
        """How the search was bounded, in words (for summaries)."""
        bound = self.preemption_bound
        if self.strategy == "replay":
            return "one schedule"
        if self.strategy not in EXHAUSTIVE:
            limit = f", at most {bound} preemptions" if bound is not None else ""
            return f"seed {self.seed}{limit}"
        if bound is None:
            return "no preemption bound"
        if bound == "iterative":
            return "iterative preemption bounding"
        if self.fewest_first and bound:
            return f"preemption bounds 0-{bound}"
        return f"preemption bound {bound}"

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        names: tuple[str, ...] | None = cls.__dict__.get("_field_names")
        if names is None:
            names = tuple(f.name for f in fields(cls))
            type.__setattr__(cls, "_field_names", names)
        return names


_INTS = ("max_executions", "seed", "pct_depth")
_BOOLS = ("fewest_first", "keep_going", "count_traces")


def from_text(name: str, text: str) -> Any:
    """The value of option ``name`` written as text (a command-line flag): numbers
    become numbers, ``true``/``false`` booleans; anything else (``none``,
    ``iterative``, a typo) is passed on as text for ``ExploreOptions`` to read or to
    judge, so that a flag and a TOML string read alike and fail with the same message."""
    word = text.strip()
    if word.lower() == "none":
        return "none"
    if name in _BOOLS and word.lower() in ("true", "false"):
        return word.lower() == "true"
    if not (word.isascii() and len(word) <= 30):  # no other scripts' digits, no huge text
        return word
    if name in (*_INTS, "preemption_bound"):
        digits = word.replace("_", "").replace(",", "")
        return int(digits) if digits.lstrip("-").isdigit() else word
    if name == "time_limit":
        for number in (int, float):
            try:
                return number(word)
            except ValueError:
                pass
    return word


def check_search_strategy(value: object) -> None:
    """Reject a strategy that does not search (for scenarios and ``pagerace run``)."""
    if value not in SEARCH_STRATEGIES:
        raise OptionError(
            "strategy",
            f"must be one of {', '.join(SEARCH_STRATEGIES)}; got {shown(value)}"
            + did_you_mean(value, SEARCH_STRATEGIES),
        )

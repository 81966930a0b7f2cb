"""What a run must show on a variant (a scenario's ``[expect]``) and the verdict on a run.

An ``Expectation`` has three parts:

* ``require``: kinds that must be found;
* ``forbid``: kinds that must not be found;
* ``allow``: when set, the only kinds tolerated besides the required ones -- every
  other kind is forbidden (``allow = []`` forbids everything: the run must be clean).

In a scenario file a variant's value is either the shorthand of a list (``["double-free"]``
requires those kinds, ``[]`` means the run must be clean) or a table with ``require``,
``forbid`` and ``allow`` (``forbid`` and ``allow`` exclude each other)::

    [expect]
    "xen-4.14" = ["double-free"]
    "xsa-345" = { forbid = ["use-after-free", "double-free"] }
    "xsa-345-lax" = { allow = ["lost-update"] }

The explorer's own ``exception`` (the model code raised: a bug of the model, not a
finding about Xen) is never tolerated: whatever the expectation, a run that shows one
does not meet it.

``judge`` gives the verdict on a run: ``met``, ``NOT met`` (a forbidden kind was found,
or a complete run lacks a required one) or ``not established`` (the run was cut
short before the question was settled: a required kind is still missing, or a kind
is forbidden and the search did not cover the space).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["MET", "NOT_ESTABLISHED", "NOT_MET", "Expectation", "Verdict", "judge"]

MET = "met"
NOT_MET = "NOT met"
NOT_ESTABLISHED = "not established"
#: the kind of a crash of the model itself (``explore.execution``), never tolerated
EXCEPTION = "exception"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a run on one variant must show (see the module docstring)."""

    require: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    allow: tuple[str, ...] | None = None

    def forbids(self, kind: str) -> bool:
        if kind == EXCEPTION:
            return True  # a crash of the model answers nothing about Xen
        if kind in self.require:
            return False
        if self.allow is not None:
            return kind not in self.allow
        return kind in self.forbid

    @property
    def needs_completeness(self) -> bool:
        """Some kind is forbidden: only a complete search can show it absent."""
        return bool(self.forbid) or self.allow is not None

    @property
    def clean(self) -> bool:
        """The run must find nothing at all."""
        return not self.require and self.allow == ()

    def decided(self, kinds: Collection[str]) -> bool:
        """Whether findings of ``kinds`` already settle the verdict (a run may stop)."""
        if any(self.forbids(k) for k in kinds):
            return True
        return not self.needs_completeness and all(k in kinds for k in self.require)

    def describe(self) -> str:
        """The expectation in words, e.g. ``double-free`` or ``clean``."""
        if self.clean:
            return "clean"
        parts = []
        if self.require:
            parts.append(", ".join(self.require))
        if self.allow is not None:
            allowed = [k for k in self.allow if k not in self.require]
            if not self.require:
                parts.append("nothing" + (f" but {', '.join(allowed)}" if allowed else ""))
            elif allowed:
                parts.append(f"tolerating {', '.join(allowed)}")
            else:
                parts.append("nothing else")
        elif self.forbid:
            parts.append(f"no {', '.join(self.forbid)}")
        return "; ".join(parts)


class Verdict(NamedTuple):
    """``status`` is ``MET``, ``NOT_MET`` or ``NOT_ESTABLISHED``; ``reason`` says why."""

    status: str
    reason: str

    @property
    def met(self) -> bool:
        return self.status == MET


def judge(expectation: Expectation, kinds: Sequence[str], complete: bool) -> Verdict:
    """The verdict on a run that found ``kinds`` (in order) and did (``complete``) or
    did not cover the space within its bounds."""
    forbidden = [k for k in kinds if expectation.forbids(k)]
    if forbidden:
        return Verdict(NOT_MET, f"found {', '.join(forbidden)}, which is not allowed")
    missing = [k for k in expectation.require if k not in kinds]
    if missing:
        if complete:
            return Verdict(NOT_MET, f"{', '.join(missing)} not found by a complete search")
        return Verdict(NOT_ESTABLISHED, f"{', '.join(missing)} not found before the run ended")
    if expectation.needs_completeness and not complete:
        return Verdict(
            NOT_ESTABLISHED, "nothing forbidden found, but the search did not cover the space"
        )
    return Verdict(MET, "")

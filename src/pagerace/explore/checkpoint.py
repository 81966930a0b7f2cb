"""Checkpoints of a search split into work units (``pagerace.explore.parallel``).

A checkpoint is a JSON document: its format version, what the search is about (a
description and a content hash given by the caller, e.g. the scenario's), the
options, and per preemption bound the number of units (1 for a bound explored as one
search, see ``parallel._probe``) and the results of the units finished so far.  The
units themselves are not stored: splitting is deterministic, so a resumed search
splits again, skips the finished units and runs the others; the final result is the
one an uninterrupted search gives.  A finding is stored as its kind, message and
schedule, and rebuilt (trace included) by replaying the schedule.

``Progress`` is the ``state`` that ``explore_units`` reports to; it writes the file
atomically (``pagerace.userio.write_atomic``: a temporary file, fsync, rename) at
most every ``interval`` seconds and whenever ``save()`` is called (e.g. on Ctrl-C).

A unit that runs long keeps its own progress too: a dpor or dfs unit writes its
search state (``searchstate.SearchState``: its path, counters and findings) every
``interval`` seconds to a file of its own in the directory ``FILE.units`` beside the
checkpoint (a unit on a Dask cluster sends it to the client, which writes it), and a
resumed search goes on with it from there instead of running the unit again from
its start.  The file is removed when the unit is done, the directory when the search
is over.  It carries a stamp of the checkpoint (format, content hash, options) and
the unit's prefix: a file of another search is ignored.

A unit that divided (``parallel.run_unit``'s ``divide``) is stored with what it
handed out (its frontier, ``rest``), and the units made by division are stored by
their path (``made``): where a unit divides depends on timing, so their indices may
differ from one run to the next, but their paths do not, and a resumed search that
merges a divided unit from the checkpoint makes the same units again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

from pagerace.errors import PageraceInputError
from pagerace.explore.parallel import UNIT_STATE, UnitResult, UnitSave, finding_from_data
from pagerace.explore.results import Finding, Result
from pagerace.explore.searchstate import (
    above_data,
    above_from_data,
    finding_data,
    nodes_from_data,
)
from pagerace.userio import load_json, read_user_text, write_atomic

__all__ = ["FORMAT", "Progress"]

#: The largest checkpoint or unit state file read back: these are pagerace's own
#: files, which a long run with many findings makes larger than a user's input may be.
MAX_FILE_BYTES = 256 << 20

#: The checkpoint format version this code writes, and those it reads (format 4 had no
#: units made by division).
FORMAT = 5
READS = (4, 5)
_MAGIC = "pagerace-checkpoint"


class Progress:
    """The finished units of a search, written to a checkpoint file."""

    def __init__(
        self,
        path: str | Path,
        about: dict[str, Any],
        content_hash: str,
        options: dict[str, Any],
        *,
        interval: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.about = about
        self.content_hash = content_hash
        self.options = options
        self.interval = interval
        #: bound (None: no bound) -> (number of units, {index: unit result as data})
        self.levels: dict[str, dict[str, Any]] = {}
        self._program: Callable[[Any], Any] | None = None
        self._written = 0.0
        #: a new run's (not a loaded checkpoint's): the units' states that an earlier
        #: run with the same file left go when the search begins
        self._fresh = True

    # -- reading -------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, interval: float = 2.0) -> Progress:
        """Read a checkpoint; ``PageraceInputError`` (one line) when it is not one this
        version can resume."""
        text = read_user_text(str(path), limit=MAX_FILE_BYTES)
        try:
            data = load_json(text)
        except PageraceInputError:
            raise PageraceInputError(f"{path}: not a pagerace checkpoint (not JSON)") from None
        if not isinstance(data, dict) or _MAGIC not in data:
            raise PageraceInputError(f"{path}: not a pagerace checkpoint")
        if data[_MAGIC] not in READS:
            raise PageraceInputError(
                f"{path}: checkpoint format {data[_MAGIC]!r}, this pagerace reads formats"
                f" {READS[0]} to {READS[-1]}"
            )
        try:
            progress = cls(path, data["about"], data["hash"], data["options"], interval=interval)
            levels = data["levels"]
            if not isinstance(levels, dict):
                raise TypeError
        except (KeyError, TypeError):
            raise PageraceInputError(f"{path}: a damaged checkpoint (missing fields)") from None
        damage = _levels_damage(levels)
        if damage:
            raise PageraceInputError(f"{path}: a damaged checkpoint ({damage})")
        progress.levels = levels
        progress._fresh = False
        return progress

    def check(self, content_hash: str, what: str) -> None:
        """Refuse to resume against changed content."""
        if content_hash != self.content_hash:
            raise PageraceInputError(
                f"{self.path}: {what} changed since the checkpoint was written; cannot resume"
            )

    # -- what explore_units calls -------------------------------------------------

    def begin_bound(
        self, bound: int | None, units: int, program: Callable[[Any], Any]
    ) -> dict[int, UnitResult]:
        """The finished units of ``bound`` (their findings rebuilt by replay)."""
        self._program = program
        if self._fresh:
            self._fresh = False
            self.finish()
        try:
            self.units_dir.mkdir(exist_ok=True)  # (units keep their states while it is there)
        except OSError as exc:
            raise PageraceInputError(
                f"{self.units_dir}: cannot make the directory of the running units' states:"
                f" {exc.strerror or exc}"
            ) from None
        level = self.levels.setdefault(str(bound), {"units": units, "done": {}})
        if level["units"] != units:
            raise PageraceInputError(
                f"{self.path}: the search splits differently than when the checkpoint was "
                "written; cannot resume"
            )
        done = {int(i): self._unit(d) for i, d in level["done"].items()}
        self.save(force=not self.path.exists())
        return done

    def made_results(self, bound: int | None) -> dict[tuple[int, ...], UnitResult]:
        """The finished units of ``bound`` (begun) made by division, by path."""
        made = self.levels[str(bound)].get("made", {})
        return {_path_of(key): self._unit(d) for key, d in made.items()}

    def units_of(self, bound: int | None) -> int | None:
        """How many units ``bound`` was split into (1: it ran as one search), if the
        checkpoint has begun it."""
        level = self.levels.get(str(bound))
        return None if level is None else int(level["units"])

    def unit_done(
        self, bound: int | None, index: int, r: UnitResult, path: tuple[int, ...] | None = None
    ) -> None:
        """Unit ``index`` of ``bound`` is done (``path``: a unit made by division)."""
        level = self.levels[str(bound)]
        if path is None:
            level["done"][str(index)] = _unit_data(r)
        else:
            level.setdefault("made", {})[_path_key(path)] = _unit_data(r)
        self.save()
        with contextlib.suppress(FileNotFoundError):
            self._unit_path(bound, index, path).unlink()  # (its state: no longer needed)

    # -- the search states of running units --------------------------------------------

    @property
    def units_dir(self) -> Path:
        """Where running units keep their search states."""
        return self.path.with_name(self.path.name + ".units")

    @property
    def stamp(self) -> str:
        """What ties a unit's state file to this search."""
        ident = json.dumps([FORMAT, self.content_hash, self.options], sort_keys=True)
        return hashlib.blake2b(ident.encode(), digest_size=16).hexdigest()

    def _unit_path(self, bound: int | None, index: int, path: tuple[int, ...] | None) -> Path:
        if path is None:
            return self.units_dir / f"{bound}-{index}.json"
        digest = hashlib.blake2b(_path_key(path).encode(), digest_size=12).hexdigest()
        return self.units_dir / f"{bound}-made-{digest}.json"

    def unit_save(
        self, bound: int | None, index: int, path: tuple[int, ...] | None = None
    ) -> UnitSave:
        """Where unit ``index`` of ``bound`` (made by division: the unit of ``path``)
        keeps its search state while it runs."""
        return UnitSave(str(self._unit_path(bound, index, path)), self.stamp, self.interval)

    def unit_state(
        self, bound: int | None, index: int, prefix: Any, made: tuple[int, ...] | None = None
    ) -> dict[str, Any] | None:
        """The search state unit ``index`` of ``bound`` (whose prefix is ``prefix``;
        ``made``: its path, for a unit made by division) left when the run stopped,
        if it left one for this search: ``run_unit``'s ``resume`` (the state's data,
        the findings' indices, the CPU seconds so far, and its executions)."""
        path = self._unit_path(bound, index, made)
        if not path.exists():
            return None
        kept = self._unit_file(path)
        if kept is None or kept["prefix"] != json.loads(json.dumps(prefix)):
            return None  # (left by another search: this one starts the unit afresh)
        return kept

    def _unit_file(self, path: Path) -> dict[str, Any] | None:
        """A unit's state file read and checked (None: another search's)."""
        text = read_user_text(str(path), limit=MAX_FILE_BYTES)
        try:
            data = load_json(text)
        except PageraceInputError:
            raise PageraceInputError(f"{path}: not a unit's search state (not JSON)") from None
        if not isinstance(data, dict) or data.get(UNIT_STATE) != 1:
            raise PageraceInputError(f"{path}: not a unit's search state of this version")
        if data.get("stamp") != self.stamp:
            return None
        try:
            state = data["state"]
            indices = [int(i) for i in data["indices"]]
            cpu = float(data["cpu"])
            executions = int(state["executions"])
        except (KeyError, TypeError, ValueError):
            raise PageraceInputError(f"{path}: a damaged search state") from None
        return {
            "state": state,
            "indices": indices,
            "cpu": cpu,
            "executions": executions,
            "prefix": data.get("prefix"),
        }

    def kept(self) -> tuple[int, int, int]:
        """What a resumed search starts from: the units done, the running units' states
        of this search, and the executions those states hold."""
        done = sum(
            len(level.get("done", {})) + len(level.get("made", {}))
            for level in self.levels.values()
        )
        states = executions = 0
        for path in sorted(self.units_dir.glob("*.json")) if self.units_dir.is_dir() else []:
            try:
                kept = self._unit_file(path)
            except PageraceInputError:
                continue  # (the search itself says what is wrong with it)
            if kept is not None:
                executions += kept["executions"]
                states += 1
        return done, states, executions

    def finish(self) -> None:
        """The search is over: the units' states go (the checkpoint stays), and a unit
        still running writes no more."""
        shutil.rmtree(self.units_dir, ignore_errors=True)

    def save(self, force: bool = True) -> None:
        """Write the checkpoint (at most every ``interval`` seconds unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._written < self.interval:
            return
        self._written = now
        doc = {
            _MAGIC: FORMAT,
            "about": self.about,
            "hash": self.content_hash,
            "options": self.options,
            "levels": self.levels,
        }
        write_atomic(str(self.path), json.dumps(doc, separators=(",", ":")) + "\n")

    # -- unit results as data ---------------------------------------------------------

    def _unit(self, d: dict[str, Any]) -> UnitResult:
        try:
            # (a unit's findings of one execution share its schedule: one replay)
            replays: dict[str, Result] = {}
            findings = [self._finding(f, replays) for f in d["findings"]]
            return UnitResult(
                executions=int(d["executions"]),
                events=int(d["events"]),
                cut_executions=int(d["cut"]),
                max_depth=int(d["max_depth"]),
                deadlocks=int(d["deadlocks"]),
                bound_cut=bool(d["bound_cut"]),
                findings=findings,
                indices=[int(i) for i in d["indices"]],
                exhausted=bool(d["exhausted"]),
                above=tuple(above_from_data(d["above"])),
                rest=nodes_from_data(d["rest"]) if d.get("rest") is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            raise PageraceInputError(f"{self.path}: a damaged checkpoint (unit results)") from None

    def _finding(self, f: Any, replays: dict[str, Result]) -> Finding:
        assert self._program is not None
        return finding_from_data(self._program, f, str(self.path), replays)


_COUNTS = ("executions", "events", "cut", "max_depth", "deadlocks")
_FLAGS = ("bound_cut", "exhausted")


def _count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _levels_damage(levels: dict[str, Any]) -> str | None:
    """What is wrong with a checkpoint's ``levels`` (None: nothing): every bound a
    whole number (or ``None``), its units at least one, each finished unit's index
    one of them and its result of the shape ``_unit_data`` writes."""
    for bound, level in levels.items():
        if bound != "None" and not (bound.isascii() and bound.isdigit()):
            return f"bound {bound!r}"
        if not isinstance(level, dict) or not isinstance(level.get("done"), dict):
            return f"bound {bound}"
        units = level.get("units")
        if not _count(units) or units < 1:
            return f"bound {bound}: units {units!r}"
        for index, unit in level["done"].items():
            if not (index.isascii() and index.isdigit() and int(index) < units):
                return f"bound {bound}: unit {index!r} of {units}"
            if not _unit_shape(unit):
                return f"bound {bound}: the result of unit {index}"
        made = level.get("made", {})
        if not isinstance(made, dict):
            return f"bound {bound}: the units made by division"
        for key, unit in made.items():
            try:
                _path_of(key)
            except ValueError:
                return f"bound {bound}: a unit made by division, at {key[:40]!r}"
            if not _unit_shape(unit):
                return f"bound {bound}: the result of a unit made by division"
    return None


def _unit_shape(unit: Any) -> bool:
    """A unit's result is of the shape ``_unit_data`` writes."""
    return (
        isinstance(unit, dict)
        and all(_count(unit.get(name)) for name in _COUNTS)
        and all(isinstance(unit.get(name), bool) for name in _FLAGS)
        and isinstance(unit.get("indices"), list)
        and all(_count(i) for i in unit["indices"])
        and isinstance(unit.get("findings"), list)
        and all(isinstance(f, dict) for f in unit["findings"])
        and isinstance(unit.get("above"), list)
        and (unit.get("rest") is None or isinstance(unit["rest"], list))
    )


def _path_key(path: tuple[int, ...]) -> str:
    """A path as a checkpoint's key (``made``): its threads, comma-separated."""
    return ",".join(map(str, path))


def _path_of(key: str) -> tuple[int, ...]:
    """The path of a ``made`` key (``ValueError`` when it is not one)."""
    parts = key.split(",") if key else []
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        raise ValueError(key)
    return tuple(int(p) for p in parts)


def _unit_data(r: UnitResult) -> dict[str, Any]:
    return {
        "executions": r.executions,
        "events": r.events,
        "cut": r.cut_executions,
        "max_depth": r.max_depth,
        "deadlocks": r.deadlocks,
        "bound_cut": r.bound_cut,
        "exhausted": r.exhausted,
        "indices": r.indices,
        "findings": [finding_data(f) for f in r.findings],
        "above": above_data(r.above),
        "rest": r.rest,
    }

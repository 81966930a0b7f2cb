"""``dfs``: every interleaving, no reduction (for validation and small programs).

Depth-first over the tree of choices kept in a ``Frontier``; each execution replays the
path down to the deepest node with an untried enabled thread, then goes on with the
running thread where it can (fewest preemptions first).

Run grants (``Execution.grant``): the path is replayed by the runtime
(``Execution.script``), which grants each step the rest of the path's run of its
thread; past the path, where the running thread goes on until the enabled set
changes, the chooser grants ``GRANT_ALL`` and the nodes of the granted steps (all
alike: same enabled threads, same choice: one shared node) are added at the next
decision or at the end of the execution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mypy_extensions import mypyc_attr

from pagerace.errors import PageraceInputError
from pagerace.explore.events import Pending
from pagerace.explore.execution import CUT, GRANT_ALL, Chooser, Execution
from pagerace.explore.frontier import Frontier, Node

__all__ = ["DfsStrategy", "PathSearch", "follow_path", "nondeterminism_message", "run_rest"]


def nondeterminism_message(step: int, tid: int, enabled: list[int]) -> str:
    return (
        f"program: not deterministic: replaying step {step}, thread {tid} is not runnable "
        f"(runnable: {enabled}); program(ctx) must build the same state on every call"
    )


def run_rest(nodes: list[Node], step: int, tid: int) -> int:
    """How many nodes after ``step`` go on choosing ``tid``."""
    end = len(nodes)
    j = step + 1
    while j < end and nodes[j].chosen == tid:
        j += 1
    return j - step - 1


def follow_path(
    nodes: list[Node], step: int, enabled: list[int], ex: Execution
) -> tuple[int, str | None]:
    """Re-take the recorded choice at ``step`` (granting the rest of its run), or
    CUT with the nondeterminism message when the program no longer allows it."""
    tid = nodes[step].chosen
    if tid not in enabled:
        return CUT, nondeterminism_message(step, tid, enabled)
    ex.grant = run_rest(nodes, step, tid)
    return tid, None


@mypyc_attr(allow_interpreted_subclasses=True)
class PathSearch:
    """What ``dfs`` and ``dpor`` share: the frontier of the current path, replaying it
    step by step, and the nodes of a grant past it, added when they are needed."""

    complete = True
    #: a node's branches (``Frontier.next_branch``): every enabled thread (DFS) or
    #: its backtrack set (DPOR)
    candidates = "enabled"

    def __init__(self) -> None:
        self.frontier = Frontier()
        self._started = False
        self._error: str | None = None
        # A grant past the path: (enabled seen, thread), its nodes not yet added.
        self._fill: tuple[list[int], int] | None = None
        #: the depth of the subtree being explored: nodes above it belong to a path
        #: prefix (``start_below``) whose other branches are explored elsewhere
        self._floor = 0
        #: the path is replayed by the runtime (``Execution.script``) from the next
        #: execution on: below a prefix, not the first (see ``_on_path``)
        self._scripting = True

    def start_below(self, prefix: Sequence[Sequence[Any]]) -> None:
        """Explore only the subtree below ``prefix``, a list of ``[enabled, chosen,
        done, sleep]`` (a work unit): its nodes keep their choice, never branch, and
        take no backtrack points (the units of their siblings explore those)."""
        nodes = []
        for enabled, chosen, done, sleep in prefix:
            nodes.append(
                Node(
                    self._prefix_enabled(list(enabled), chosen),
                    chosen,
                    [chosen],
                    list(done),
                    list(sleep),
                )
            )
        self.frontier = Frontier(nodes)
        self._floor = len(nodes)
        self._scripting = not nodes

    def resume_at(self, frontier: Frontier, finished: int, sizes: list[list[int]]) -> None:
        """Go on below the prefix (``start_below``, called before) from a search that
        stopped between two executions with ``frontier`` (its path then, and its
        counts for progress estimates): the next execution takes the next branch.
        The prefix's nodes stay as ``start_below`` made them (they never branch)."""
        floor = self._floor
        nodes = self.frontier.nodes
        if len(frontier) < floor or any(
            frontier.nodes[j].chosen != nodes[j].chosen for j in range(floor)
        ):
            raise PageraceInputError("resume: the search state is not below the prefix")
        frontier.nodes[:floor] = nodes[:floor]
        self.frontier = frontier
        frontier.finished = finished
        frontier.sizes = sizes
        self._started = True
        self._scripting = True

    @property
    def floor(self) -> int:
        """The depth where the subtree being explored starts (0: the whole tree)."""
        return self._floor

    def _prefix_enabled(self, enabled: list[int], chosen: int) -> list[int]:
        return enabled

    def _fill_to(self, step: int) -> None:
        """Add the nodes of the granted steps before ``step``: each the same enabled
        threads and choice, nothing else to try, no sleep set."""
        fill = self._fill
        if fill is not None:
            self._fill = None
            enabled, tid = fill
            nodes = self.frontier.nodes
            nodes += Node.run(enabled, tid, step - len(nodes))

    def _on_path(self, step: int, enabled: list[int], ex: Execution) -> int | None:
        """The choice at ``step`` when it is on the recorded path (``CUT`` when the
        program no longer allows it); None past the path, once the nodes of a pending
        grant are added."""
        nodes = self.frontier.nodes
        if step < len(nodes):
            if not step:
                if self._scripting:
                    # The runtime replays the rest of the path itself (``Execution.script``);
                    # asked again only where the program no longer allows it.
                    ex.script = [node.chosen for node in nodes]
                else:
                    # The first execution below a prefix replays it step by step,
                    # through a preemption bound, which notes there what it cuts (the
                    # same at every later replay, the program being deterministic).
                    self._scripting = True
            tid, error = follow_path(nodes, step, enabled, ex)
            if error is not None:
                self._error = error
            return tid
        if self._fill is not None:
            self._fill_to(step)
        return None

    def _raise_error(self) -> None:
        if self._error is not None:
            raise PageraceInputError(self._error)


class DfsStrategy(PathSearch):
    """Every interleaving, depth-first."""

    records = False

    def _prefix_enabled(self, enabled: list[int], chosen: int) -> list[int]:
        return [chosen]  # (dfs branches over ``enabled``: a prefix node has one choice)

    def begin(self) -> Chooser | None:
        if self._started and self.frontier.next_branch(self.candidates) is None:
            return None
        self._started = True
        self._fill = None
        return self._choose

    def _choose(
        self,
        enabled: list[int],
        pending: list[Pending | None],
        current: int,
        pre: int,
        ex: Execution,
    ) -> int:
        tid = self._on_path(len(ex.choices), enabled, ex)
        if tid is not None:
            return tid
        tid = current if current in enabled else enabled[0]
        seen = list(enabled)
        self.frontier.nodes.append(Node(seen, tid, [tid]))
        self._fill = (seen, tid)
        ex.grant = GRANT_ALL
        return tid

    def end(self, execution: Execution) -> None:
        self._fill_to(len(execution.choices))
        self._raise_error()

"""The exploration frontier: the search tree along the current path, as plain data.

A ``Frontier`` is a list of ``Node``s, one per scheduling point of the current path.
Node ``i`` describes the state before step ``i``: the threads that could be chosen
(``enabled``, after any bound), the one chosen on the current path (``chosen``), the
ones whose subtrees are finished (``done``), the ones still to try (``backtrack``, a
superset of ``done`` and ``chosen``) and the sleep set (``sleep``).  Everything is ints
and lists, so the frontier can be written to JSON and read back
(``Frontier.to_json`` / ``Frontier.from_json``) -- the basis for checkpoint/resume and
for splitting a search between processes.  Footprints are not stored: a strategy
recomputes them by replaying the path, since the program is deterministic.

The nodes of a run of granted steps are one shared object (``Node.run``: a search
makes dozens per execution), so a node is never changed in place: a change puts a new
node in its place (``nodes[j] = node.adding(t)``).

For progress estimates the frontier also counts the executions finished and, per node
of the path that has finished a branch, how many executions its finished branches
took (``sizes``): what a node's remaining branches will cost is best guessed from its
finished siblings.  These counts are not part of the plain data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Frontier", "Node"]


@dataclass(slots=True, init=False)
class Node:
    """One scheduling point of the current path (see the module docstring)."""

    enabled: list[int]
    chosen: int
    backtrack: list[int]
    done: list[int]
    sleep: list[int]

    # Written out: searches make a node per step, and the generated ``__init__`` with
    # ``default_factory`` fields costs twice as much.
    def __init__(
        self,
        enabled: list[int],
        chosen: int,
        backtrack: list[int] | None = None,
        done: list[int] | None = None,
        sleep: list[int] | None = None,
    ) -> None:
        self.enabled = enabled
        self.chosen = chosen
        self.backtrack = [] if backtrack is None else backtrack
        self.done = [] if done is None else done
        self.sleep = [] if sleep is None else sleep

    @classmethod
    def run(cls, enabled: list[int], chosen: int, count: int) -> list[Node]:
        """``count`` nodes alike (the steps of a grant): the same enabled threads and
        choice, nothing else to try, no sleep set -- one shared node."""
        return [cls(enabled, chosen, [chosen])] * count

    def adding(self, tid: int) -> Node:
        """This node with ``tid`` added to its backtrack set."""
        return Node(self.enabled, self.chosen, [*self.backtrack, tid], self.done, self.sleep)

    def to_data(self) -> list[Any]:
        return [self.enabled, self.chosen, self.backtrack, self.done, self.sleep]

    @classmethod
    def from_data(cls, data: list[Any]) -> Node:
        enabled, chosen, backtrack, done, sleep = data
        return cls(list(enabled), int(chosen), list(backtrack), list(done), list(sleep))


class Frontier:
    """The nodes of the current path, with the choice of the next branch."""

    __slots__ = ("finished", "nodes", "sizes")

    def __init__(self, nodes: list[Node] | None = None) -> None:
        self.nodes: list[Node] = nodes if nodes is not None else []
        #: executions finished (``next_branch`` is called once after each)
        self.finished = 0
        #: per node of the path with a finished branch, by depth (increasing):
        #: ``[depth, finished executions when its current branch began, executions
        #: of its finished branches, finished branches]``; the nodes below an entry
        #: were made in the execution its current branch began with
        self.sizes: list[list[int]] = []

    def next_branch(self, candidates: str) -> int | None:
        """Move to the next unexplored branch; return its depth, or None when done.

        ``candidates`` is ``"enabled"`` (every enabled thread is a branch: DFS) or
        ``"backtrack"`` (the backtrack set minus sleep and done: DPOR).  The deepest node
        with a branch left is kept, its ``chosen`` moved to ``done``, and the nodes below
        it dropped.
        """
        nodes = self.nodes
        by_enabled = candidates == "enabled"
        self.finished += 1
        while nodes:
            node = nodes[-1]
            pool = node.enabled if by_enabled else node.backtrack
            if len(pool) == 1:  # only the chosen thread (most nodes): nothing left here
                # (the nodes of a grant are one object: its whole run goes at once)
                j = len(nodes) - 1
                while j and nodes[j - 1] is node:
                    j -= 1
                del nodes[j:]
                continue
            for tid in sorted(pool):
                if (
                    tid != node.chosen
                    and tid not in node.done
                    and tid not in node.sleep
                    and tid in node.enabled
                ):
                    nodes[-1] = Node(
                        node.enabled, tid, node.backtrack, [*node.done, node.chosen], node.sleep
                    )
                    depth = len(nodes) - 1
                    self._branch_finished(depth)
                    return depth
            nodes.pop()
        return None

    def _branch_finished(self, depth: int) -> None:
        """The node at ``depth`` finished a branch (its nodes below are gone)."""
        count = self.finished
        sizes = self.sizes
        while sizes and sizes[-1][0] > depth:
            sizes.pop()
        if sizes and sizes[-1][0] == depth:
            entry = sizes[-1]
            entry[2] += count - entry[1]
            entry[3] += 1
            entry[1] = count
        else:  # its first branch began in the execution that made it
            made = sizes[-1][1] if sizes else 0
            sizes.append([depth, count, count - made, 1])

    def to_data(self) -> list[Any]:
        return [node.to_data() for node in self.nodes]

    @classmethod
    def from_data(cls, data: list[Any]) -> Frontier:
        return cls([Node.from_data(item) for item in data])

    def to_json(self) -> str:
        return json.dumps({"frontier": 1, "nodes": self.to_data()}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Frontier:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("frontier") != 1:
            raise ValueError("frontier: not a version-1 frontier document")
        return cls.from_data(data["nodes"])

    def __len__(self) -> int:
        return len(self.nodes)

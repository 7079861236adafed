"""Walks over parent edges held in memory: depths from a version, and the path that would
close a cycle. The database finds the subgraph (a recursive CTE); these read it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

# (child version id, parent version id)
Edge = tuple[int, int]


def parents_of(edges: Iterable[Edge]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    for child, parent in edges:
        result.setdefault(child, []).append(parent)
    for targets in result.values():
        targets.sort()
    return result


def depths(
    root: int, parents: Mapping[int, list[int]], max_depth: int | None = None
) -> dict[int, int]:
    """Each version's shortest distance from ``root`` going up parent edges (root is 0)."""
    found = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        depth = found[node]
        if max_depth is not None and depth >= max_depth:
            continue
        for parent in parents.get(node, ()):
            if parent not in found:
                found[parent] = depth + 1
                queue.append(parent)
    return found


def path_up(start: int, goal: int, parents: Mapping[int, list[int]]) -> list[int] | None:
    """The shortest path from ``start`` up parent edges to ``goal``, both included; None if
    ``goal`` is not upstream of ``start``."""
    previous: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for parent in parents.get(node, ()):
            if parent not in previous:
                previous[parent] = node
                queue.append(parent)
    return None

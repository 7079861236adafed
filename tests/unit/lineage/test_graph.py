"""Depths and cycle paths over parent edges held in memory."""

from __future__ import annotations

from charter.lineage import graph

# 4 was made from 3 and 2; 3 from 1; 2 from 1.
EDGES = [(4, 3), (4, 2), (3, 1), (2, 1)]


class TestDepths:
    def test_each_version_at_its_shortest_distance(self) -> None:
        parents = graph.parents_of(EDGES)
        assert graph.depths(4, parents) == {4: 0, 2: 1, 3: 1, 1: 2}

    def test_max_depth_stops_the_walk(self) -> None:
        parents = graph.parents_of(EDGES)
        assert graph.depths(4, parents, max_depth=1) == {4: 0, 2: 1, 3: 1}
        assert graph.depths(4, parents, max_depth=0) == {4: 0}

    def test_a_version_without_parents_is_alone(self) -> None:
        assert graph.depths(9, graph.parents_of(EDGES)) == {9: 0}


class TestPathUp:
    def test_the_shortest_path_from_a_version_up_to_an_ancestor(self) -> None:
        parents = graph.parents_of([*EDGES, (1, 0)])
        assert graph.path_up(4, 0, parents) == [4, 2, 1, 0]

    def test_none_when_the_goal_is_not_upstream(self) -> None:
        parents = graph.parents_of(EDGES)
        assert graph.path_up(1, 4, parents) is None
        assert graph.path_up(2, 3, parents) is None

    def test_a_start_that_is_the_goal_is_a_path_of_one(self) -> None:
        assert graph.path_up(3, 3, {}) == [3]

    def test_existing_cycles_do_not_loop_forever(self) -> None:
        parents = graph.parents_of([(1, 2), (2, 1)])
        assert graph.path_up(1, 5, parents) is None
        assert graph.depths(1, parents) == {1: 0, 2: 1}

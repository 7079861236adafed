"""Two transactions that each add half of a cycle at the same moment: one wins, the other is
refused with the cycle named (on PostgreSQL the parent graph's writers are serialised by an
advisory lock; on SQLite by BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading

from starlette.testclient import TestClient

from charter.api.state import AppState
from charter.context import RequestContext
from charter.errors import InvalidArgument
from charter.lineage.schemas import LineageIn, ParentIn
from charter.lineage.service import LineageService
from charter.registry.references import VersionSelector
from tests.factories.lineage import get_lineage
from tests.factories.registry import create_model, create_version


class TestConcurrentParents:
    def test_two_halves_of_a_cycle_cannot_both_be_written(
        self, http: TestClient, state: AppState
    ) -> None:
        for name in ("a", "b"):
            create_model(http, name)
            create_version(http, name)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def attempt(child: str, parent: str) -> None:
            barrier.wait()
            body = LineageIn(parents=[ParentIn(version=parent)])
            try:
                with state.db.transaction() as session:
                    service = LineageService(session, RequestContext())
                    service.add(child, VersionSelector(number=1), body)
                outcomes.append("added")
            except InvalidArgument as exc:
                outcomes.append(exc.message)

        threads = [
            threading.Thread(target=attempt, args=("a", "b/1")),
            threading.Thread(target=attempt, args=("b", "a/1")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(outcomes, key=lambda o: o != "added")[0] == "added"
        refused = [o for o in outcomes if o != "added"]
        assert len(refused) == 1
        assert "would make a cycle" in refused[0]
        parents = [len(get_lineage(http, f"{m}/1")["parents"]) for m in ("a", "b")]
        assert sorted(parents) == [0, 1]

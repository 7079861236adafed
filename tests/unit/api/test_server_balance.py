"""The workers' shared table of open connections: which worker sheds a connection."""

from __future__ import annotations

from pathlib import Path

from charter.api.server import ABSENT, SLOT, ConnectionTable


def tables(tmp_path: Path, workers: int) -> tuple[ConnectionTable, list[ConnectionTable]]:
    """The supervisor's view and each worker's, over one file as ``charter serve`` makes."""
    path = tmp_path / "connections"
    path.write_bytes(b"\0" * SLOT * workers)
    supervisor = ConnectionTable(str(path), 0, workers)
    for slot in range(workers):
        supervisor.set(slot, 0)
    return supervisor, [ConnectionTable(str(path), slot, workers) for slot in range(workers)]


def test_a_worker_two_above_the_least_loaded_sheds(tmp_path: Path) -> None:
    _, (first, second) = tables(tmp_path, 2)
    first.opened()
    assert not first.overloaded()  # one above: as even as two workers can be with an odd count
    first.opened()
    assert first.overloaded()
    assert not second.overloaded()
    second.opened()
    assert not first.overloaded()
    first.closed()
    first.closed()
    assert not first.overloaded()
    assert not second.overloaded()


def test_a_worker_being_replaced_is_never_the_least_loaded(tmp_path: Path) -> None:
    supervisor, (first, second, third) = tables(tmp_path, 3)
    for _ in range(3):
        first.opened()
        second.opened()
    supervisor.set(2, ABSENT)  # died: its connections went with it, and it accepts none
    assert not first.overloaded()
    supervisor.set(2, 0)  # its replacement starts
    assert first.overloaded()
    assert second.overloaded()
    assert not third.overloaded()

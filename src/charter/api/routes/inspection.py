"""Native routes of scans, format metadata and version diffs.

Mounting ``router`` also runs the scan workers: its lifespan starts ``CHARTER_SCAN_WORKERS``
threads that drain the database's scan queue, and stops them when the server stops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from starlette.concurrency import run_in_threadpool

from charter.api.deps import ContextDep, DatabaseDep, SessionDep
from charter.api.routing import TransactionalRoute
from charter.api.state import AppState
from charter.inspection.diff import DiffService
from charter.inspection.schemas import FormatRead, ScanJobRead, ScanRead, VersionDiffRead
from charter.inspection.service import InspectionService
from charter.inspection.verdicts import PENDING
from charter.inspection.worker import start_workers
from charter.registry.references import parse_reference, parse_selector

MAX_WAIT_SECONDS = 60.0
WAIT_POLL_SECONDS = 0.25


@asynccontextmanager
async def scan_workers(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.charter
    stop = threading.Event()
    threads = start_workers(state.db, state.blobs, state.settings, stop)
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            await asyncio.to_thread(thread.join)


router = APIRouter(
    route_class=TransactionalRoute, prefix="/api/v1", tags=["inspection"], lifespan=scan_workers
)
VERSION = "/models/{name}/versions/{version}"


@router.get(f"{VERSION}/scan", response_model=ScanRead)
async def get_scan(
    name: str,
    version: str,
    db: DatabaseDep,
    ctx: ContextDep,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for a pending scan")
    ] = 0,
) -> ScanRead:
    """The version's verdict and every file's result; with ``wait``, once the scan is done."""
    selector = parse_selector(version)

    def read() -> ScanRead:
        with db.transaction(write=False) as session:
            return InspectionService(session, ctx).scan(name, selector)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    result = await run_in_threadpool(read)
    # Each read is its own short transaction: no lock is held while waiting.
    while result.verdict == PENDING and result.job is not None and loop.time() < deadline:
        await asyncio.sleep(min(WAIT_POLL_SECONDS, max(deadline - loop.time(), 0)))
        result = await run_in_threadpool(read)
    return result


@router.post(f"{VERSION}/scan", response_model=ScanJobRead, status_code=202)
def request_scan(name: str, version: str, session: SessionDep, ctx: ContextDep) -> ScanJobRead:
    """Scan the version again (cached results ignored); returns the queued job."""
    return InspectionService(session, ctx).request_scan(name, parse_selector(version))


@router.get(f"{VERSION}/format", response_model=FormatRead)
def get_format(name: str, version: str, session: SessionDep, ctx: ContextDep) -> FormatRead:
    return InspectionService(session, ctx).format(name, parse_selector(version))


@router.get(f"{VERSION}/diff/{{other}}", response_model=VersionDiffRead)
def diff_versions(
    name: str, version: str, other: str, session: SessionDep, ctx: ContextDep
) -> VersionDiffRead:
    """What changed from ``version`` to ``other`` (a number, @alias or stage) of one model."""
    return DiffService(session, ctx).diff(
        (name, parse_selector(version)), (name, parse_selector(other))
    )


@router.get("/diff", response_model=VersionDiffRead)
def diff_references(
    a: Annotated[str, Query(description="name/3, name@alias or name/Stage")],
    b: Annotated[str, Query(description="name/4, other@champion, ...")],
    session: SessionDep,
    ctx: ContextDep,
) -> VersionDiffRead:
    """What changed from ``a`` to ``b``; they may be versions of different models."""
    return DiffService(session, ctx).diff(parse_reference(a), parse_reference(b))

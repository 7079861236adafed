"""Native routes for a version's files: upload, list, download, delete, finalize, verify."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from charter.api.deps import BlobsDep, ContextDep, DatabaseDep, SessionDep, StateDep
from charter.api.routing import TransactionalRoute
from charter.api.transfer import RangeNotSatisfiableError, parse_range, tar_stream
from charter.artifacts.schemas import FileRead, FinalizeRequest, ManifestRead, VerifyReport
from charter.artifacts.service import ArtifactService, upload_stream
from charter.registry.references import parse_selector
from charter.registry.schemas import VersionRead

router = APIRouter(
    route_class=TransactionalRoute,
    prefix="/api/v1/models/{name}/versions/{version}",
    tags=["artifacts"],
)

UPLOAD_ROUTE = "/api/v1/models/"  # prefix used by the body-limit middleware with "/files/"


def is_upload(method: str, path: str) -> bool:
    return method == "PUT" and path.startswith(UPLOAD_ROUTE) and "/files/" in path


@router.put("/files/{path:path}", response_model=FileRead, status_code=201)
async def upload_file(
    name: str,
    version: str,
    path: str,
    request: Request,
    state: StateDep,
    db: DatabaseDep,
    ctx: ContextDep,
) -> FileRead:
    row = await upload_stream(
        db,
        ctx,
        state.blobs,
        name,
        parse_selector(version),
        path,
        request.stream(),
        max_bytes=state.settings.max_artifact_bytes,
    )
    return FileRead.model_validate(row)


@router.get("/files", response_model=ManifestRead)
def list_files(
    name: str, version: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> ManifestRead:
    view, files = ArtifactService(session, ctx, blobs).list_files(name, parse_selector(version))
    return ManifestRead(
        model=view.model,
        version=view.version,
        status=view.status,
        manifest_digest=view.manifest_digest,
        files=[FileRead.model_validate(f) for f in files],
    )


@router.get("/files/{path:path}", response_class=StreamingResponse)
def download_file(
    name: str,
    version: str,
    path: str,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
) -> Response:
    file = ArtifactService(session, ctx, blobs).open_file(name, parse_selector(version), path)
    headers = {
        "accept-ranges": "bytes",
        "etag": f'"{file.sha256}"',
        "x-content-sha256": file.sha256,
    }
    try:
        byte_range = parse_range(request.headers.get("range"), file.size)
    except RangeNotSatisfiableError:
        return Response(
            status_code=416, headers={**headers, "content-range": f"bytes */{file.size}"}
        )
    if byte_range is None:
        headers["content-length"] = str(file.size)
        return StreamingResponse(
            file.read(), media_type="application/octet-stream", headers=headers
        )
    start, end = byte_range
    headers["content-length"] = str(end - start)
    headers["content-range"] = f"bytes {start}-{end - 1}/{file.size}"
    return StreamingResponse(
        file.read(start, end),
        status_code=206,
        media_type="application/octet-stream",
        headers=headers,
    )


@router.delete("/files/{path:path}", status_code=204)
def delete_file(
    name: str, version: str, path: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> Response:
    ArtifactService(session, ctx, blobs).delete_file(name, parse_selector(version), path)
    return Response(status_code=204)


@router.get("/archive", response_class=StreamingResponse)
def download_archive(
    name: str, version: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> Response:
    files = ArtifactService(session, ctx, blobs).open_all(name, parse_selector(version))
    filename = f"{name}-{version}.tar".replace('"', "")
    return StreamingResponse(
        tar_stream(files),
        media_type="application/x-tar",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/finalize", response_model=VersionRead)
def finalize_version(
    name: str,
    version: str,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
    body: FinalizeRequest | None = None,
) -> VersionRead:
    body = body or FinalizeRequest()
    view = ArtifactService(session, ctx, blobs).finalize(
        name, parse_selector(version), body.expected_files, body.expected_digest
    )
    return VersionRead.model_validate(view)


@router.post("/verify", response_model=VerifyReport)
async def verify_version(
    name: str, version: str, db: DatabaseDep, ctx: ContextDep, blobs: BlobsDep
) -> VerifyReport:
    def verify() -> VerifyReport:
        # A read-only transaction: hashing gigabytes must not hold the write lock.
        with db.transaction(write=False) as session:
            return ArtifactService(session, ctx, blobs).verify(name, parse_selector(version))

    return await run_in_threadpool(verify)

"""MLflow's artifact proxy (``mlflow-artifacts``): upload, download (with Range), list, delete
and multipart uploads, over Charter's content-addressed blob store.

Mounted under ``/api/2.0/mlflow-artifacts`` and ``/ajax-api/2.0/mlflow-artifacts``; PUT bodies
stream to the blob store and are exempt from the JSON body limit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from charter.api.deps import BlobsDep, ContextDep, DatabaseDep, SessionDep, StateDep
from charter.api.mlflow.tracking import ProtoJsonRoute
from charter.api.transfer import RangeNotSatisfiableError, parse_range
from charter.artifacts.service import FileDownload
from charter.tracking.artifact_schemas import (
    MultipartAbort,
    MultipartComplete,
    MultipartCreate,
    MultipartCreateRead,
    MultipartCredentialRead,
)
from charter.tracking.artifact_store import (
    ArtifactNamespace,
    complete_multipart,
    multipart_target,
    upload_part_stream,
    upload_stream,
)
from charter.tracking.responses import ArtifactFiles, Empty

router = APIRouter(route_class=ProtoJsonRoute)

PART_ROUTE = "/mpu/parts/{upload_id}/{part_number}"


@router.get("/artifacts", response_model=ArtifactFiles)
def list_artifacts(
    session: SessionDep, ctx: ContextDep, blobs: BlobsDep, path: str | None = None
) -> ArtifactFiles:
    return ArtifactFiles(files=ArtifactNamespace(session, ctx, blobs).listing(path))


@router.put("/artifacts/{path:path}", response_model=Empty)
async def upload_artifact(
    path: str, request: Request, state: StateDep, db: DatabaseDep, ctx: ContextDep
) -> Empty:
    await upload_stream(
        db,
        ctx,
        state.blobs,
        path,
        request.stream(),
        max_bytes=state.settings.max_artifact_bytes,
    )
    return Empty()


@router.get("/artifacts/{path:path}", response_class=StreamingResponse)
def download_artifact(
    path: str, request: Request, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> Response:
    file = ArtifactNamespace(session, ctx, blobs).open(path)
    return ranged_file_response(file, request.headers.get("range"))


@router.delete("/artifacts/{path:path}", response_model=Empty)
def delete_artifact(path: str, session: SessionDep, ctx: ContextDep, blobs: BlobsDep) -> Empty:
    ArtifactNamespace(session, ctx, blobs).delete(path)
    return Empty()


def ranged_file_response(file: FileDownload, range_header: str | None) -> Response:
    """The file streamed from the blob store: whole, or the one byte range asked for."""
    headers = {
        "accept-ranges": "bytes",
        "etag": f'"{file.sha256}"',
        "x-content-sha256": file.sha256,
        # Artifacts are whatever users uploaded: never let a browser render them as pages.
        "x-content-type-options": "nosniff",
    }
    try:
        byte_range = parse_range(range_header, file.size)
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


# -- multipart --------------------------------------------------------------------------------


@router.post("/mpu/create/{path:path}", response_model=MultipartCreateRead)
def create_multipart_upload(
    path: str,
    body: MultipartCreate,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    blobs: BlobsDep,
) -> MultipartCreateRead:
    """Parts go to URLs of this server (as MLflow's go to presigned object-store URLs)."""
    target = multipart_target(path, body.path)
    secret = ArtifactNamespace(session, ctx, blobs).create_multipart(target, body.num_parts)
    base = str(request.base_url).rstrip("/") + request.url.path.split("/mpu/create/", 1)[0]
    part_url = base + PART_ROUTE
    return MultipartCreateRead(
        upload_id=secret,
        credentials=[
            MultipartCredentialRead(
                url=part_url.format(upload_id=secret, part_number=n), part_number=n
            )
            for n in range(1, body.num_parts + 1)
        ],
    )


@router.put(PART_ROUTE)
async def upload_part(
    upload_id: str, part_number: int, request: Request, state: StateDep, db: DatabaseDep
) -> Response:
    part = await upload_part_stream(
        db,
        state.blobs,
        upload_id,
        part_number,
        request.stream(),
        max_bytes=state.settings.max_artifact_bytes,
    )
    return Response(status_code=200, headers={"etag": f'"{part.sha256}"'})


@router.post("/mpu/complete/{path:path}", response_model=Empty)
async def complete_multipart_upload(
    path: str, body: MultipartComplete, db: DatabaseDep, ctx: ContextDep, blobs: BlobsDep
) -> Empty:
    etags = {part.part_number: part.etag for part in body.parts}
    # Joining the parts reads and writes every byte: off the event loop, with no transaction.
    target = multipart_target(path, body.path)
    await run_in_threadpool(complete_multipart, db, ctx, blobs, body.upload_id, target, etags)
    return Empty()


@router.post("/mpu/abort/{path:path}", response_model=Empty)
def abort_multipart_upload(
    path: str, body: MultipartAbort, session: SessionDep, ctx: ContextDep, blobs: BlobsDep
) -> Empty:
    target = multipart_target(path, body.path)
    ArtifactNamespace(session, ctx, blobs).abort_multipart(body.upload_id, target)
    return Empty()

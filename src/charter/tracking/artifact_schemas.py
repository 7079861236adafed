"""Request and response shapes of the MLflow artifact proxy (``mlflow_artifacts.proto``)."""

from __future__ import annotations

from pydantic import Field

from charter.tracking.schemas import Read, Request


# One entry of an artifact listing: a file (with its size) or a directory.
class FileInfoRead(Read):
    path: str
    is_dir: bool
    file_size: int | None = None


# The body of a multipart upload's create, complete and abort calls. ``path`` is the client's
# local file: its base name names the artifact in the directory given by the URL.
class MultipartCreate(Request):
    path: str
    num_parts: int = Field(default=1, ge=1, le=10_000)


# One uploaded part, with the ETag its upload answered.
class MultipartPartIn(Request):
    part_number: int
    etag: str = ""
    url: str | None = None


# Join the uploaded parts into the artifact.
class MultipartComplete(Request):
    path: str
    upload_id: str
    parts: list[MultipartPartIn]


# Give up a multipart upload.
class MultipartAbort(Request):
    path: str
    upload_id: str


# Where to PUT one part (a URL of this server that carries the secret upload id).
class MultipartCredentialRead(Read):
    url: str
    part_number: int
    headers: dict[str, str] = Field(default_factory=dict)


# A started multipart upload: its id and one URL per part.
class MultipartCreateRead(Read):
    upload_id: str
    credentials: list[MultipartCredentialRead]

"""Open the blob store that ``CHARTER_ARTIFACT_ROOT`` names: a path, ``file://`` or ``s3://``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from charter.blobs.base import BlobStore
from charter.blobs.local import LocalBlobStore
from charter.blobs.s3 import S3BlobStore
from charter.errors import InvalidArgument


@dataclass(frozen=True)
class S3Options:
    """Where and as whom to reach S3; each None falls back to boto3's own default chain."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


def open_blob_store(
    artifact_root: str, temp_dir: Path, s3_options: S3Options | None = None
) -> BlobStore:
    """The store for ``artifact_root``; does no I/O (``check()`` does).

    ``temp_dir`` is where an S3 store spools uploads. A local store keeps its temp files under
    its own root instead, so that the final rename stays on one filesystem and is atomic.
    """
    if "://" not in artifact_root:
        if not artifact_root.strip():
            raise InvalidArgument("artifact root must not be empty", field="artifact_root")
        return LocalBlobStore(Path(artifact_root).expanduser())
    parts = urlsplit(artifact_root)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidArgument(
                f"file:// artifact root must be on this host, got {artifact_root!r}",
                field="artifact_root",
            )
        return LocalBlobStore(Path(unquote(parts.path)))
    if scheme == "s3":
        return _open_s3(artifact_root, parts.netloc, parts.path, temp_dir, s3_options)
    raise InvalidArgument(
        f"artifact root {artifact_root!r} has an unsupported scheme {parts.scheme!r}: "
        "use a path, file:// or s3://",
        field="artifact_root",
    )


def _open_s3(
    artifact_root: str, bucket: str, path: str, temp_dir: Path, options: S3Options | None
) -> S3BlobStore:
    if not bucket:
        raise InvalidArgument(
            f"s3:// artifact root needs a bucket, got {artifact_root!r}", field="artifact_root"
        )
    options = options or S3Options()
    return S3BlobStore(
        bucket,
        prefix=path.strip("/"),
        temp_dir=temp_dir,
        endpoint_url=options.endpoint_url,
        region=options.region,
        access_key=options.access_key_id,
        secret_key=options.secret_access_key,
    )

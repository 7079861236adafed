"""Blobs in an S3-compatible bucket under ``<prefix>sha256/ab/<hex>``.

Uploads are spooled to a local temp file while hashed, because the key is the digest and the
digest is known only at the end; the complete file is then uploaded (multipart when large).
Incomplete multipart uploads left by a killed process are the bucket's to expire: configure an
``AbortIncompleteMultipartUpload`` lifecycle rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from charter.blobs.base import (
    BUFFER_SIZE,
    BlobInfo,
    SpoolingWriter,
    blob_key,
    sweep_temp_dir,
    validate_range,
)
from charter.errors import NotFound, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef

MULTIPART_THRESHOLD = 8 << 20  # S3's minimum part is 5 MiB; 8 MiB is boto3's default too
MULTIPART_CHUNK = 8 << 20
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Errors of the transport itself (a reset connection mid-body), not of S3.
_TRANSPORT_ERRORS = (BotoCoreError, Urllib3Error, OSError)


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        temp_dir: Path,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.temp_dir = Path(temp_dir)
        config = Config(
            s3={"addressing_style": "path"},  # what S3-compatible stores (SeaweedFS, MinIO) need
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        # A session per store: boto3's default session is not safe to share between threads.
        # Creating the client reads botocore's bundled models but does no network I/O.
        self._client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK
        )

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def writer(
        self, *, max_bytes: int | None = None, expected_sha256: str | None = None
    ) -> SpoolingWriter:
        # Not durable: the spool file is uploaded and dropped, a crash only loses the upload.
        return SpoolingWriter(
            self.temp_dir, self._place, max_bytes=max_bytes, expected_sha256=expected_sha256
        )

    def put_bytes(self, data: bytes) -> BlobInfo:
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def exists(self, sha256: str) -> bool:
        try:
            self._head(sha256)
        except NotFound:
            return False
        return True

    def size(self, sha256: str) -> int:
        return self._head(sha256)["ContentLength"]

    def read(
        self, sha256: str, start: int = 0, end: int | None = None, chunk_size: int = BUFFER_SIZE
    ) -> Iterator[bytes]:
        validate_range(start, end, chunk_size)
        # HEAD first: NotFound surfaces at the call, and an empty range (which S3 would
        # answer 416) never reaches S3. The body is fetched lazily, so an iterator that is
        # never consumed holds no connection.
        size = self.size(sha256)
        stop = size if end is None else min(end, size)
        return self._read_body(sha256, start, stop, chunk_size)

    def local_path(self, sha256: str) -> Path | None:
        blob_key(sha256)  # the same validation as everywhere, even with nothing to return
        return None

    def delete(self, sha256: str) -> None:
        key = self._key(sha256)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)  # absent keys are fine
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            self._raise(exc, sha256)

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise Unavailable(
                f"blob store unreachable: s3://{self.bucket}: {exc}", bucket=self.bucket
            ) from exc

    def sweep_temporary(self, older_than_seconds: float = 3600) -> int:
        return sweep_temp_dir(self.temp_dir, older_than_seconds)

    def _key(self, sha256: str) -> str:
        return self.prefix + blob_key(sha256)  # blob_key validates the digest

    def _head(self, sha256: str) -> HeadObjectOutputTypeDef:
        key = self._key(sha256)
        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            self._raise(exc, sha256)

    def _read_body(self, sha256: str, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        if start >= stop:
            return
        key = self._key(sha256)
        try:
            response = self._client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{stop - 1}"
            )
            body = response["Body"]
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            self._raise(exc, sha256)

    def _place(self, temp: Path, info: BlobInfo) -> None:
        if self.exists(info.sha256):
            return  # stored already: the writer drops its temp file
        key = self._key(info.sha256)
        try:
            self._client.upload_file(
                str(temp),
                self.bucket,
                key,
                ExtraArgs={"ContentType": "application/octet-stream"},
                Config=self._transfer,
            )
        except (ClientError, S3UploadFailedError, *_TRANSPORT_ERRORS) as exc:
            self._raise(exc, info.sha256)

    def _raise(self, exc: Exception, sha256: str) -> NoReturn:
        """Translate a boto failure into the error tree: absent → NotFound, else Unavailable."""
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND_CODES:
                raise NotFound(f"blob {sha256} does not exist", sha256=sha256) from None
        raise Unavailable(
            f"blob store unreachable: s3://{self.bucket}: {exc}", bucket=self.bucket
        ) from exc

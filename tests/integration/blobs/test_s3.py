"""S3BlobStore against a real SeaweedFS: the local store's behaviours, over S3.

SeaweedFS that cannot start fails these tests (the fixture raises); it never skips them.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from charter.blobs import S3Options, open_blob_store
from charter.blobs.s3 import MULTIPART_CHUNK, S3BlobStore
from charter.errors import InvalidArgument, NotFound, PayloadTooLarge, Unavailable
from tests.support.ports import free_port
from tests.support.seaweed import S3Endpoint, SeaweedServer, SeaweedStartError, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DATA = bytes(range(256)) * 40
MiB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def seaweed() -> Iterator[S3Endpoint]:
    try:
        server = SeaweedServer(bucket="charter-blobs")
        with server as endpoint:
            yield endpoint
    except SeaweedStartError as exc:
        pytest.fail(f"SeaweedFS is required for the S3 blob store tests: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def raw(seaweed: S3Endpoint) -> S3Client:
    return s3_client(seaweed)


def make_store(endpoint: S3Endpoint, temp_dir: Path, *, bucket: str | None = None) -> S3BlobStore:
    return S3BlobStore(
        bucket or endpoint.bucket,
        prefix=f"t-{uuid.uuid4().hex}",  # every test sees an empty store in the shared bucket
        temp_dir=temp_dir,
        endpoint_url=endpoint.endpoint_url,
        region=endpoint.region,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
    )


@pytest.fixture
def store(seaweed: S3Endpoint, tmp_path: Path) -> S3BlobStore:
    return make_store(seaweed, tmp_path / "spool")


def keys(raw: S3Client, store: S3BlobStore) -> list[str]:
    listing = raw.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def spooled(store: S3BlobStore) -> list[Path]:
    return sorted(store.temp_dir.iterdir()) if store.temp_dir.exists() else []


class TestRoundtrip:
    def test_write_commit_read(self, store: S3BlobStore, raw: S3Client) -> None:
        with store.writer() as writer:
            for offset in range(0, len(DATA), 3000):
                writer.write(DATA[offset : offset + 3000])
            info = writer.commit()
        assert info.sha256 == sha(DATA)
        assert info.size == len(DATA)
        assert store.exists(info.sha256)
        assert store.size(info.sha256) == len(DATA)
        assert b"".join(store.read(info.sha256)) == DATA
        assert keys(raw, store) == [f"{store.prefix}sha256/{info.sha256[:2]}/{info.sha256}"]
        assert spooled(store) == []

    def test_local_path_is_none(self, store: S3BlobStore) -> None:
        assert store.local_path(store.put_bytes(DATA).sha256) is None

    def test_empty_blob(self, store: S3BlobStore) -> None:
        info = store.put_bytes(b"")
        assert store.size(info.sha256) == 0
        assert list(store.read(info.sha256)) == []
        assert list(store.read(info.sha256, 0, 10)) == []


class TestDedup:
    def test_existing_blob_is_not_uploaded_again(self, store: S3BlobStore, raw: S3Client) -> None:
        first = store.put_bytes(DATA)
        key = keys(raw, store)[0]
        before = raw.head_object(Bucket=store.bucket, Key=key)["LastModified"]
        time.sleep(1.1)  # LastModified has one-second resolution: a re-upload would move it
        second = store.put_bytes(DATA)
        assert second == first
        assert keys(raw, store) == [key]
        assert raw.head_object(Bucket=store.bucket, Key=key)["LastModified"] == before
        assert spooled(store) == []


class TestRangedRead:
    @pytest.mark.parametrize(
        ("start", "end"),
        [(0, 1), (10, 20), (100, None), (5000, 10**9), (7, 7), (len(DATA), None), (10**9, None)],
    )
    def test_reads_the_slice(self, store: S3BlobStore, start: int, end: int | None) -> None:
        digest = store.put_bytes(DATA).sha256
        assert b"".join(store.read(digest, start, end)) == DATA[start:end]

    def test_bad_bounds_are_invalid(self, store: S3BlobStore) -> None:
        digest = store.put_bytes(DATA).sha256
        with pytest.raises(InvalidArgument):
            store.read(digest, 10, 5)


class TestNotFound:
    def test_absent_blob(self, store: S3BlobStore) -> None:
        absent = sha(b"absent")
        assert not store.exists(absent)
        with pytest.raises(NotFound):
            store.size(absent)
        with pytest.raises(NotFound):
            store.read(absent)  # at the call, before any chunk

    def test_delete_removes_and_is_idempotent(self, store: S3BlobStore) -> None:
        digest = store.put_bytes(DATA).sha256
        store.delete(digest)
        store.delete(digest)
        assert not store.exists(digest)

    @pytest.mark.parametrize("bad", ["../etc/passwd", "A" * 64, "a" * 64 + "\n"])
    def test_bad_digests_are_invalid(self, store: S3BlobStore, bad: str) -> None:
        for operation in (store.exists, store.size, store.read, store.local_path, store.delete):
            with pytest.raises(InvalidArgument):
                operation(bad)


class TestUploadRules:
    def test_expected_digest_mismatch_uploads_nothing(
        self, store: S3BlobStore, raw: S3Client
    ) -> None:
        writer = store.writer(expected_sha256=sha(b"other"))
        writer.write(DATA)
        with pytest.raises(InvalidArgument, match=sha(DATA)):
            writer.commit()
        assert keys(raw, store) == []
        assert spooled(store) == []

    def test_max_bytes_exceeded_leaves_no_spool(self, store: S3BlobStore, raw: S3Client) -> None:
        writer = store.writer(max_bytes=10)
        with pytest.raises(PayloadTooLarge):
            writer.write(b"x" * 11)
        assert spooled(store) == []
        assert keys(raw, store) == []


class TestMultipart:
    def test_a_20_mb_blob_goes_up_in_parts_and_reads_back(
        self, store: S3BlobStore, raw: S3Client
    ) -> None:
        chunk = os.urandom(MiB)
        expected = hashlib.sha256()
        with store.writer() as writer:
            for _ in range(20):
                writer.write(chunk)
                expected.update(chunk)
            info = writer.commit()
        assert info.sha256 == expected.hexdigest()

        key = keys(raw, store)[0]
        etag = raw.head_object(Bucket=store.bucket, Key=key)["ETag"].strip('"')
        parts = -(-info.size // MULTIPART_CHUNK)
        assert etag.endswith(f"-{parts}"), f"{etag} is not a {parts}-part multipart ETag"

        read = hashlib.sha256()
        for part in store.read(info.sha256, chunk_size=MiB):
            assert len(part) <= MiB
            read.update(part)
        assert read.hexdigest() == info.sha256
        middle = b"".join(store.read(info.sha256, 8 * MiB - 5, 8 * MiB + 5))
        assert middle == (chunk[-5:] + chunk[:5])


class TestCheck:
    def test_a_reachable_bucket_passes(self, store: S3BlobStore) -> None:
        store.check()

    def test_an_unreachable_endpoint_is_unavailable(self, tmp_path: Path) -> None:
        nobody = S3Endpoint(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="charter-blobs")
        with pytest.raises(Unavailable, match="blob store unreachable"):
            make_store(nobody, tmp_path).check()

    def test_unreachable_reads_are_unavailable_not_not_found(self, tmp_path: Path) -> None:
        nobody = S3Endpoint(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket="charter-blobs")
        with pytest.raises(Unavailable):
            make_store(nobody, tmp_path).exists(sha(b"anything"))

    def test_a_missing_bucket_is_unavailable(self, seaweed: S3Endpoint, tmp_path: Path) -> None:
        with pytest.raises(Unavailable):
            make_store(seaweed, tmp_path, bucket="no-such-bucket").check()

    def test_wrong_credentials_are_unavailable(self, seaweed: S3Endpoint, tmp_path: Path) -> None:
        wrong = S3Endpoint(
            endpoint_url=seaweed.endpoint_url, bucket=seaweed.bucket, secret_key="wrong"
        )
        with pytest.raises(Unavailable):
            make_store(wrong, tmp_path).check()


class TestOpenBlobStore:
    def test_an_s3_uri_opens_an_s3_store(self, seaweed: S3Endpoint, tmp_path: Path) -> None:
        options = S3Options(
            endpoint_url=seaweed.endpoint_url,
            region=seaweed.region,
            access_key_id=seaweed.access_key,
            secret_access_key=seaweed.secret_key,
        )
        store = open_blob_store(f"s3://{seaweed.bucket}/deep/prefix/", tmp_path, options)
        assert isinstance(store, S3BlobStore)
        assert store.prefix == "deep/prefix/"
        store.check()
        digest = store.put_bytes(b"via the factory").sha256
        assert b"".join(store.read(digest)) == b"via the factory"

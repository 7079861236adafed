"""LocalBlobStore on a real filesystem: placement, dedup, ranges, limits, cleanup, memory."""

from __future__ import annotations

import hashlib
import os
import stat
import time
import tracemalloc
from pathlib import Path

import pytest

from charter.blobs import BlobInfo, open_blob_store
from charter.blobs.local import LocalBlobStore
from charter.errors import InvalidArgument, NotFound, PayloadTooLarge, Unavailable

DATA = bytes(range(256)) * 40  # 10,240 bytes, every offset distinguishable
MiB = 1 << 20
BAD_DIGESTS = [
    "../etc/passwd",
    "",
    "a" * 63,
    "a" * 65,
    "A" * 64,  # upper case: one blob must have one name
    "a" * 64 + "\n",  # what a regex with `$` would let through
    "g" * 64,
    "../" + "a" * 61,
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def blob_files(store: LocalBlobStore) -> list[Path]:
    return sorted(p for p in (store.root / "sha256").rglob("*") if p.is_file())


def temp_files(store: LocalBlobStore) -> list[Path]:
    return sorted(store.temp_dir.iterdir()) if store.temp_dir.exists() else []


class TestRoundtrip:
    def test_chunks_written_are_read_back_under_their_digest(self, store: LocalBlobStore) -> None:
        with store.writer() as writer:
            for offset in range(0, len(DATA), 1000):
                writer.write(DATA[offset : offset + 1000])
            assert writer.size == len(DATA)
            info = writer.commit()

        assert info == BlobInfo(sha256=sha(DATA), size=len(DATA))
        assert store.exists(info.sha256)
        assert store.size(info.sha256) == len(DATA)
        assert b"".join(store.read(info.sha256)) == DATA
        assert temp_files(store) == []

    def test_layout_is_sha256_shard_digest_and_read_only(self, store: LocalBlobStore) -> None:
        info = store.put_bytes(DATA)
        path = store.local_path(info.sha256)
        assert path == store.root / "sha256" / info.sha256[:2] / info.sha256
        assert stat.S_IMODE(path.stat().st_mode) == 0o444

    def test_empty_blob(self, store: LocalBlobStore) -> None:
        info = store.put_bytes(b"")
        assert info == BlobInfo(sha256=sha(b""), size=0)
        assert list(store.read(info.sha256)) == []

    def test_commit_twice_returns_the_same_info(self, store: LocalBlobStore) -> None:
        writer = store.writer()
        writer.write(DATA)
        assert writer.commit() == writer.commit()

    def test_nothing_is_visible_before_commit(self, store: LocalBlobStore) -> None:
        with store.writer() as writer:
            writer.write(DATA)
            assert not store.exists(sha(DATA))
            assert blob_files(store) == []
            writer.commit()
        assert store.exists(sha(DATA))


class TestDedup:
    def test_same_content_twice_is_one_file(self, store: LocalBlobStore) -> None:
        first = store.put_bytes(DATA)
        second = store.put_bytes(DATA)
        assert first == second
        assert blob_files(store) == [store.local_path(first.sha256)]
        assert temp_files(store) == []


class TestRangedRead:
    """``read(start, end)`` has slice semantics: ``blob[start:end]``.

    End is exclusive and clamped to the size; a start at or past the size yields nothing (the
    API layer, which knows the size, answers 416 for that). Negative or reversed bounds are
    InvalidArgument.
    """

    @pytest.mark.parametrize(
        ("start", "end"),
        [(0, None), (0, 1), (10, 20), (100, None), (0, len(DATA)), (5000, 10**9), (7, 7)],
    )
    def test_reads_the_slice(self, store: LocalBlobStore, start: int, end: int | None) -> None:
        digest = store.put_bytes(DATA).sha256
        assert b"".join(store.read(digest, start, end)) == DATA[start:end]

    @pytest.mark.parametrize("start", [len(DATA), len(DATA) + 1, 10**9])
    def test_start_at_or_past_the_end_is_empty(self, store: LocalBlobStore, start: int) -> None:
        digest = store.put_bytes(DATA).sha256
        assert list(store.read(digest, start)) == []

    def test_chunks_respect_chunk_size(self, store: LocalBlobStore) -> None:
        digest = store.put_bytes(DATA).sha256
        chunks = list(store.read(digest, 1, 2501, chunk_size=1000))
        assert [len(c) for c in chunks] == [1000, 1000, 500]

    @pytest.mark.parametrize(
        ("start", "end", "chunk_size"), [(-1, None, MiB), (10, 5, MiB), (0, None, 0)]
    )
    def test_bad_bounds_are_invalid(
        self, store: LocalBlobStore, start: int, end: int | None, chunk_size: int
    ) -> None:
        digest = store.put_bytes(DATA).sha256
        with pytest.raises(InvalidArgument):
            store.read(digest, start, end, chunk_size)

    def test_absent_blob_fails_at_the_call_not_at_the_first_chunk(
        self, store: LocalBlobStore
    ) -> None:
        with pytest.raises(NotFound):
            store.read(sha(b"absent"))


class TestExpectedDigest:
    def test_mismatch_is_invalid_names_both_and_places_nothing(self, store: LocalBlobStore) -> None:
        claimed = sha(b"something else")
        writer = store.writer(expected_sha256=claimed)
        writer.write(DATA)
        with pytest.raises(InvalidArgument) as raised:
            writer.commit()
        assert claimed in raised.value.message
        assert sha(DATA) in raised.value.message
        assert not store.exists(sha(DATA))
        assert blob_files(store) == []
        assert temp_files(store) == []

    def test_match_commits(self, store: LocalBlobStore) -> None:
        with store.writer(expected_sha256=sha(DATA)) as writer:
            writer.write(DATA)
            assert writer.commit().sha256 == sha(DATA)

    @pytest.mark.parametrize("bad", BAD_DIGESTS)
    def test_malformed_expected_digest_is_invalid(self, store: LocalBlobStore, bad: str) -> None:
        with pytest.raises(InvalidArgument):
            store.writer(expected_sha256=bad)
        assert temp_files(store) == []


class TestSizeLimit:
    def test_exceeding_max_bytes_aborts_and_leaves_no_temp(self, store: LocalBlobStore) -> None:
        writer = store.writer(max_bytes=100)
        writer.write(b"x" * 60)
        with pytest.raises(PayloadTooLarge) as raised:
            writer.write(b"x" * 41)
        assert raised.value.details == {"max_bytes": 100}
        assert temp_files(store) == []
        with pytest.raises(ValueError, match="already committed or aborted"):
            writer.write(b"x")
        assert blob_files(store) == []

    def test_exactly_max_bytes_is_accepted(self, store: LocalBlobStore) -> None:
        with store.writer(max_bytes=100) as writer:
            writer.write(b"x" * 100)
            assert writer.commit().size == 100


class TestAbort:
    def test_abort_leaves_nothing_and_is_idempotent(self, store: LocalBlobStore) -> None:
        writer = store.writer()
        writer.write(DATA)
        writer.abort()
        writer.abort()
        assert temp_files(store) == []
        assert blob_files(store) == []

    def test_an_exception_in_the_block_aborts(self, store: LocalBlobStore) -> None:
        def interrupted_upload() -> None:
            with store.writer() as writer:
                writer.write(DATA)
                raise RuntimeError("client went away")

        with pytest.raises(RuntimeError):
            interrupted_upload()
        assert temp_files(store) == []
        assert not store.exists(sha(DATA))

    def test_leaving_the_block_without_commit_aborts(self, store: LocalBlobStore) -> None:
        with store.writer() as writer:
            writer.write(DATA)
        assert temp_files(store) == []


class TestDigestValidation:
    @pytest.mark.parametrize("bad", BAD_DIGESTS)
    def test_bad_digests_never_reach_the_filesystem(self, store: LocalBlobStore, bad: str) -> None:
        for operation in (store.exists, store.size, store.read, store.local_path, store.delete):
            with pytest.raises(InvalidArgument):
                operation(bad)

    def test_absent_blob_is_not_found(self, store: LocalBlobStore) -> None:
        absent = sha(b"absent")
        assert not store.exists(absent)
        for operation in (store.size, store.local_path):
            with pytest.raises(NotFound):
                operation(absent)


class TestDelete:
    def test_delete_removes_and_is_idempotent(self, store: LocalBlobStore) -> None:
        digest = store.put_bytes(DATA).sha256
        store.delete(digest)
        store.delete(digest)
        assert not store.exists(digest)


class TestSweep:
    def test_removes_old_temp_files_and_keeps_fresh_ones(self, store: LocalBlobStore) -> None:
        stale = store.writer()
        stale.write(b"interrupted")
        hour_ago = time.time() - 3601
        os.utime(stale.temp_path, (hour_ago, hour_ago))
        fresh = store.writer()
        fresh.write(b"in progress")
        unrelated = store.temp_dir / "not-an-upload"
        unrelated.write_bytes(b"")
        os.utime(unrelated, (hour_ago, hour_ago))

        assert store.sweep_temporary(older_than_seconds=3600) == 1
        assert not stale.temp_path.exists()
        assert fresh.temp_path.exists()
        assert unrelated.exists()
        fresh.write(b" and still writable")
        assert fresh.commit().size == len(b"in progress and still writable")
        stale.abort()  # its file is gone already: abort must not mind

    def test_a_store_never_written_to_sweeps_nothing(self, store: LocalBlobStore) -> None:
        assert store.sweep_temporary(0) == 0


class TestCheck:
    def test_a_writable_root_passes_and_is_created(self, store: LocalBlobStore) -> None:
        store.check()
        assert store.root.is_dir()
        assert temp_files(store) == []

    def test_a_root_that_is_a_file_is_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "blobs").write_bytes(b"")
        with pytest.raises(Unavailable, match="blob store unreachable"):
            LocalBlobStore(tmp_path / "blobs").check()


class TestStreaming:
    """Memory must not grow with blob size: 50 MB through the writer and back."""

    SIZE_MB = 50
    PEAK_LIMIT = 4 * MiB  # the 1 MiB write buffer and a chunk or two in flight

    def test_a_50_mb_write_and_read_keep_memory_flat(self, store: LocalBlobStore) -> None:
        chunk = os.urandom(MiB)
        expected = hashlib.sha256()
        tracemalloc.start()
        try:
            with store.writer() as writer:
                for _ in range(self.SIZE_MB):
                    writer.write(chunk)
                    expected.update(chunk)
                info = writer.commit()
            _, write_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            read = hashlib.sha256()
            for part in store.read(info.sha256):
                read.update(part)
            _, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert info.size == self.SIZE_MB * MiB
        assert info.sha256 == expected.hexdigest() == read.hexdigest()
        assert write_peak < self.PEAK_LIMIT, f"write peak {write_peak / MiB:.1f} MiB"
        assert read_peak < self.PEAK_LIMIT, f"read peak {read_peak / MiB:.1f} MiB"


class TestOpenBlobStore:
    def test_a_path_and_a_file_uri_open_a_local_store(self, tmp_path: Path) -> None:
        by_path = open_blob_store(str(tmp_path / "a"), tmp_path / "tmp")
        by_uri = open_blob_store(f"file://{tmp_path}/b", tmp_path / "tmp")
        assert isinstance(by_path, LocalBlobStore)
        assert by_path.root == tmp_path / "a"
        assert isinstance(by_uri, LocalBlobStore)
        assert by_uri.root == tmp_path / "b"

    @pytest.mark.parametrize(
        "root", ["ftp://host/x", "gs://bucket/x", "s3:///no-bucket", "file://otherhost/x", ""]
    )
    def test_unsupported_roots_are_invalid(self, tmp_path: Path, root: str) -> None:
        with pytest.raises(InvalidArgument):
            open_blob_store(root, tmp_path)

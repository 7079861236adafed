"""A request body streamed into a blob: receiving the next bytes overlaps writing the last.

The event loop gathers chunks (without copying them) until about 1 MiB, hands the batch to a
worker thread that hashes and writes it, and goes on receiving while that thread works; it
waits only when the next batch is ready and the previous one is still being written, which
bounds memory to two batches per upload. hashlib and file writes release the GIL, so on two
cores the network, the hash and the disk proceed together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from anyio import to_thread

from charter.blobs.base import BlobInfo, BlobStore, BlobWriter

WRITE_BATCH = 1 << 20  # bytes gathered before one batch is handed to a worker thread


async def stream_to_blob(
    blobs: BlobStore, chunks: AsyncIterator[bytes], *, max_bytes: int | None = None
) -> BlobInfo:
    """The blob holding every byte of ``chunks``; nothing is left behind if it fails."""
    with blobs.writer(max_bytes=max_bytes) as writer:
        await pump(chunks, writer)
        return await to_thread.run_sync(writer.commit)


async def pump(chunks: AsyncIterator[bytes], writer: BlobWriter) -> None:
    """Write every chunk to ``writer``, at most one batch in flight while the next arrives."""
    batch: list[bytes] = []
    size = 0
    in_flight: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= WRITE_BATCH:
                if in_flight is not None:
                    await in_flight  # its error (say, over the size limit) stops the upload
                in_flight = asyncio.ensure_future(to_thread.run_sync(_write_all, writer, batch))
                batch, size = [], 0
        if in_flight is not None:
            await in_flight
        if batch:
            await to_thread.run_sync(_write_all, writer, batch)
    finally:
        if in_flight is not None:
            await _settle(in_flight)


def _write_all(writer: BlobWriter, batch: list[bytes]) -> None:
    for chunk in batch:
        writer.write(chunk)


async def _settle(in_flight: asyncio.Future[None]) -> None:
    """Let the worker thread finish with the writer before the caller aborts or commits it."""
    try:
        if not in_flight.done():
            await asyncio.wait({in_flight})
    finally:
        if in_flight.done() and not in_flight.cancelled():
            in_flight.exception()  # seen: the error that stopped the upload is raised already

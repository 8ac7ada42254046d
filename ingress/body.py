"""A request body read whole, within a size limit, gzip or not.

Contract: `read_body` returns at most `limit_bytes` of (decompressed) body
or raises `BodyError` with the status to answer: 413 past the limit, 400 for
a broken gzip stream or an unknown encoding. A gzip body is inflated chunk by
chunk and never past limit + 1 bytes, so a small bomb costs nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

GZIP_WBITS = 16 + zlib.MAX_WBITS


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _too_large(limit_bytes: int) -> BodyError:
    return BodyError(413, f"Body is larger than the limit of {limit_bytes // (1024 * 1024)} MB")


async def read_body(
    chunks: AsyncIterator[bytes],
    encoding: str | None,
    content_length: str | None,
    limit_bytes: int,
) -> bytes:
    encoding = (encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise BodyError(415, f"Unsupported Content-Encoding {encoding!r}: use gzip or none")
    if content_length and content_length.isdigit() and int(content_length) > limit_bytes:
        raise _too_large(limit_bytes)
    if encoding == "identity":
        return await _read_plain(chunks, limit_bytes)
    return await _read_gzip(chunks, limit_bytes)


async def _read_plain(chunks: AsyncIterator[bytes], limit_bytes: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit_bytes:
            raise _too_large(limit_bytes)
        parts.append(chunk)
    return b"".join(parts)


async def _read_gzip(chunks: AsyncIterator[bytes], limit_bytes: int) -> bytes:
    inflater = zlib.decompressobj(GZIP_WBITS)
    parts: list[bytes] = []
    size = 0
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit_bytes:
            raise _too_large(limit_bytes)
        data = chunk
        while data and not inflater.eof:
            try:
                out = inflater.decompress(data, limit_bytes + 1 - size)
            except zlib.error:
                raise BodyError(400, "Body is not valid gzip") from None
            size += len(out)
            if size > limit_bytes:
                raise _too_large(limit_bytes)
            parts.append(out)
            data = inflater.unconsumed_tail
    if not inflater.eof:
        raise BodyError(400, "Body is not valid gzip: the stream is truncated")
    return b"".join(parts)

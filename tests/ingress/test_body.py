from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import pytest

from ingress.body import BodyError, read_body

LIMIT = 1000


async def _chunks(data: bytes, size: int = 64) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(data: bytes, encoding: str | None = None, length: str | None = None) -> bytes:
    return asyncio.run(read_body(_chunks(data), encoding, length, LIMIT))


def test_plain_and_gzip_bodies_up_to_the_limit() -> None:
    assert read(b"x" * LIMIT) == b"x" * LIMIT
    assert read(gzip.compress(b"y" * LIMIT), "gzip") == b"y" * LIMIT


@pytest.mark.parametrize(
    ("data", "encoding", "length", "status"),
    [
        (b"x" * (LIMIT + 1), None, None, 413),
        (b"x", None, str(LIMIT + 1), 413),
        (gzip.compress(b"y" * (LIMIT + 1)), "gzip", None, 413),
        (gzip.compress(b"y" * 100)[:-4], "gzip", None, 400),
        (b"not gzip at all", "gzip", None, 400),
        (b"", "gzip", None, 400),
        (b"{}", "br", None, 415),
    ],
)
def test_refused_bodies(
    data: bytes, encoding: str | None, length: str | None, status: int
) -> None:
    with pytest.raises(BodyError) as refused:
        read(data, encoding, length)
    assert refused.value.status == status


def test_a_gzip_bomb_is_not_inflated_whole() -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024))

    with pytest.raises(BodyError) as refused:
        asyncio.run(read_body(_chunks(bomb, 65536), "gzip", None, 10 * 1024 * 1024))

    assert refused.value.status == 413

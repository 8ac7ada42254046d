"""Sends the data sets to the ingress the way their clients would.

IoT: each sensor is a device that was offline and flushes its buffer through
`/track/batch` in chunks of the sizes a device buffer produces (50 to 500),
several devices at once. Web: each NASA host is a device whose page views go
one request each through `/track`, as a browser SDK sends them.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from trackflow.demo.datasets import Reading, Request

BATCH_SIZES = (50, 500)
WEB_SITE = "https://www.ksc.nasa.gov"
# One request waits at most this long: the ingress answers within its own
# Kafka timeout (a few seconds) or with 503, so 30 s only guards a dead peer.
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str

    def headers(self) -> dict[str, str]:
        return {
            "openpanel-client-id": self.client_id,
            "openpanel-client-secret": self.client_secret,
            "openpanel-sdk-name": "trackflow-demo",
            "openpanel-sdk-version": "1",
        }


@dataclass
class ReplayResult:
    sent: int = 0
    accepted: int = 0
    # (reason, first words of the error) -> count
    rejected: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: ReplayResult) -> None:
        self.sent += other.sent
        self.accepted += other.accepted
        self.rejected.update(other.rejected)


def iso_ms(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).isoformat(timespec="milliseconds")


def shift_to_now(times_ms: Sequence[int], now_ms: int, newest_age_ms: int) -> int:
    """The offset that moves the newest time to `newest_age_ms` before now."""
    return now_ms - newest_age_ms - max(times_ms)


def reading_event(reading: Reading, offset_ms: int) -> dict[str, object]:
    return {
        "type": "track",
        "payload": {
            "name": "traffic_reading",
            "properties": {
                "__timestamp": iso_ms(reading.time_ms + offset_ms),
                "__deviceId": f"aarhus-{reading.sensor_id}",
                "vehicleCount": reading.vehicle_count,
                "avgSpeedKmh": reading.avg_speed_kmh,
                "avgMeasuredTimeS": reading.avg_measured_time_s,
                "medianMeasuredTimeS": reading.median_measured_time_s,
                "recordId": reading.record_id,
            },
        },
    }


def page_view_event(request: Request, offset_ms: int) -> dict[str, object]:
    return {
        "type": "track",
        "payload": {
            "name": "screen_view",
            "properties": {
                "__timestamp": iso_ms(request.time_ms + offset_ms),
                "__deviceId": request.host[:64],
                "__path": WEB_SITE + request.url,
                "method": request.method,
                "status": request.status,
                "bytes": request.size_bytes,
            },
        },
    }


def _short(error: str) -> str:
    """The error as a grouping key: its text, cut where a long value would start."""
    return error if len(error) <= 120 else error[:117] + "..."


def send_device_backlog(
    client: httpx.Client,
    url: str,
    credentials: Credentials,
    events: list[dict[str, object]],
    seed: int,
    on_progress: Callable[[int], None],
) -> ReplayResult:
    """Flush one device's buffer in chunks of 50 to 500 events."""
    result = ReplayResult()
    rng = random.Random(seed)
    position = 0
    while position < len(events):
        size = rng.randint(*BATCH_SIZES)
        chunk = events[position : position + size]
        response = client.post(
            f"{url}/track/batch", json={"events": chunk}, headers=credentials.headers()
        )
        response.raise_for_status()
        body = response.json()
        result.sent += len(chunk)
        result.accepted += body["accepted"]
        for item in body["rejected"]:
            result.rejected[(item["reason"], _short(item["error"]))] += 1
        position += len(chunk)
        on_progress(len(chunk))
    return result


def replay_iot(
    url: str,
    credentials: Credentials,
    backlogs: dict[str, list[dict[str, object]]],
    parallel_devices: int,
    on_progress: Callable[[int], None],
) -> ReplayResult:
    total = ReplayResult()
    with (
        httpx.Client(timeout=REQUEST_TIMEOUT_S) as client,
        ThreadPoolExecutor(parallel_devices) as pool,
    ):
        futures = [
            pool.submit(send_device_backlog, client, url, credentials, events, i, on_progress)
            for i, events in enumerate(backlogs.values())
        ]
        for future in futures:
            total.add(future.result())
    return total


async def _replay_web(
    url: str,
    credentials: Credentials,
    events: list[dict[str, object]],
    concurrency: int,
    on_progress: Callable[[int], None],
) -> ReplayResult:
    result = ReplayResult()
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for event in events:
        queue.put_nowait(event)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            event = queue.get_nowait()
            response = await client.post(f"{url}/track", json=event, headers=credentials.headers())
            result.sent += 1
            if response.status_code == 200:
                result.accepted += 1
            elif response.status_code == 400:
                result.rejected[("validation", _short(response.json().get("message", "")))] += 1
            else:
                response.raise_for_status()
            on_progress(1)

    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return result


def replay_web(
    url: str,
    credentials: Credentials,
    events: list[dict[str, object]],
    concurrency: int,
    on_progress: Callable[[int], None],
) -> ReplayResult:
    return asyncio.run(_replay_web(url, credentials, events, concurrency, on_progress))

"""End-to-end benchmark: HTTP in, rows out.

Starts an isolated pipeline (its own topics, database and registry) on the
running stack, then, in one run:

1. throughput: several client processes send `/track/batch` requests of 500
   events as fast as the ingress answers, for `--seconds`; the figure is the
   number of events divided by the time from the first request to the moment
   ClickHouse holds the last of them;
2. latency at half that rate: the clients send batches of 100 paced to half
   the measured rate, each batch tagged; a poller asks ClickHouse every
   `--poll-ms` which batches are complete, and the latency of a batch is the
   time from its 2xx answer to the poll that first saw all of its rows.

    .venv/bin/python -m bench.pipeline_e2e [--clients 3] [--seconds 30]

Latencies include up to one poll interval of measurement error.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.pipeline.harness import RunningPipeline, start_pipeline
from tests.pipeline.helpers import TestProject, iso, new_project
from trackflow import settings as settings_module

BATCH_BIG = 500
BATCH_SMALL = 100


def _events(client_no: int, batch_no: int, size: int, tag: str) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    events = []
    for i in range(size):
        device = f"bench-{client_no}-{(batch_no * size + i) % 200}"
        # one event in ten is a backlog reading from the last two days
        at = now - (i * 3_600_007 % (48 * 3_600_000)) if i % 10 == 0 else now - i
        events.append(
            {
                "type": "track",
                "payload": {
                    "name": "screen_view" if i % 3 else "button_click",
                    "properties": {
                        "__timestamp": iso(at),
                        "__deviceId": device,
                        "__path": f"https://shop.example.com/p/{i % 50}",
                        "bench_batch": tag,
                        "price": i % 97,
                        "cart": {"items": i % 5, "currency": "EUR"},
                    },
                },
            }
        )
    return events


def _flood(url: str, headers: dict[str, str], client_no: int, seconds: float, out: Any) -> None:
    sent = 0
    batch_no = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=60) as http:
        while time.monotonic() < deadline:
            body = {"events": _events(client_no, batch_no, BATCH_BIG, "flood")}
            response = http.post(f"{url}/track/batch", json=body, headers=headers)
            response.raise_for_status()
            sent += response.json()["accepted"]
            batch_no += 1
    out.put(sent)


def _paced(
    url: str, headers: dict[str, str], client_no: int, rate: float, seconds: float, out: Any
) -> None:
    interval_s = BATCH_SMALL / rate
    acks: list[tuple[str, float]] = []
    with httpx.Client(timeout=60) as http:
        next_at = time.monotonic()
        deadline = next_at + seconds
        batch_no = 0
        while next_at < deadline:
            time.sleep(max(0.0, next_at - time.monotonic()))
            tag = f"c{client_no}-b{batch_no}"
            body = {"events": _events(client_no, batch_no, BATCH_SMALL, tag)}
            response = http.post(f"{url}/track/batch", json=body, headers=headers)
            response.raise_for_status()
            acks.append((tag, time.time()))
            batch_no += 1
            next_at += interval_s
    out.put(acks)


def _count(running: RunningPipeline, project: TestProject, where: str = "") -> int:
    rows = running.query(
        "SELECT count() FROM events WHERE project_id = %(p)s"
        " AND name NOT IN ('session_start', 'session_end')" + where,
        {"p": project.id},
    )
    return int(rows[0][0])


def measure_throughput(
    running: RunningPipeline, project: TestProject, clients: int, seconds: float
) -> tuple[int, float, float]:
    out: mp.Queue[int] = mp.Queue()
    started = time.monotonic()
    procs = [
        mp.Process(target=_flood, args=(running.url, project.headers(), c, seconds, out))
        for c in range(clients)
    ]
    for proc in procs:
        proc.start()
    total = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    http_s = time.monotonic() - started
    while _count(running, project) < total:
        time.sleep(0.2)
    return total, http_s, time.monotonic() - started


def measure_latency(
    running: RunningPipeline,
    project: TestProject,
    clients: int,
    rate: float,
    seconds: float,
    poll_ms: int,
) -> list[float]:
    out: mp.Queue[list[tuple[str, float]]] = mp.Queue()
    procs = [
        mp.Process(
            target=_paced, args=(running.url, project.headers(), c, rate / clients, seconds, out)
        )
        for c in range(clients)
    ]
    for proc in procs:
        proc.start()
    seen: dict[str, float] = {}
    key = running.dialect.map_get("properties", "bench_batch")
    acks: list[tuple[str, float]] = []
    collected = 0
    while collected < clients or len(seen) < len(acks):
        rows = running.query(
            f"SELECT {key} AS tag, count() FROM events WHERE project_id = %(p)s"
            " AND name NOT IN ('session_start', 'session_end') GROUP BY tag",
            {"p": project.id},
        )
        now = time.time()
        for tag, count in rows:
            if tag != "flood" and count >= BATCH_SMALL and tag not in seen:
                seen[tag] = now
        while not out.empty():
            acks.extend(out.get())
            collected += 1
        time.sleep(poll_ms / 1000)
    for proc in procs:
        proc.join()
    return [seen[tag] - acked for tag, acked in acks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--streams-workers", type=int, default=1)
    parser.add_argument("--poll-ms", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trackflow-bench-") as tmp:
        running = start_pipeline(
            Path(tmp), settings_module.load(), streams_workers=args.streams_workers
        )
        try:
            project = new_project(running)
            total, http_s, rows_s = measure_throughput(
                running, project, args.clients, args.seconds
            )
            rate = total / rows_s
            latencies = measure_latency(
                running, project, args.clients, rate / 2, args.seconds, args.poll_ms
            )
        finally:
            running.stop()

    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    workers = f"{args.streams_workers} stream worker(s)"
    print(f"run {uuid.uuid4().hex[:6]}: {args.clients} client processes, {workers}")
    print(
        f"throughput: {total:,} events; HTTP accepted {total / http_s:,.0f} ev/s;"
        f" HTTP to ClickHouse rows {rate:,.0f} ev/s (all rows stored {rows_s:.1f} s after start)"
    )
    print(
        f"latency at {rate / 2:,.0f} ev/s ({len(latencies)} batches of {BATCH_SMALL}):"
        f" median {statistics.median(latencies) * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms"
    )


if __name__ == "__main__":
    main()

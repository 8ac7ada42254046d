"""Events per second into Kafka three ways, in one run, on one machine:

  batch   POST /track/batch with 2000-event batches
  single  POST /track, one event per request
  plain   a confluent-kafka producer with the ingress's settings, no HTTP

The ingress runs as `python -m ingress` (uvicorn, --workers) on the default
stack's broker, on a fresh topic; load comes from this process over raw
keep-alive connections (bench/ingress_http.py). Every 2xx means Kafka
acknowledged the events (acks=all), and the plain producer's time runs until
its flush() returns, so the three figures are comparable. Results are printed
as a Markdown table, the median of interleaved rounds.

    .venv/bin/python bench/ingress_throughput.py [--events 40000] [--single-events 4000]
        [--workers 2] [--concurrency 32] [--batch-concurrency 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingress_http import Connection, request_bytes  # noqa: E402  - after the path is set

from ingress.config import IngressSettings  # noqa: E402
from ingress.deviceid import DeviceIds  # noqa: E402
from ingress.events import RequestContext, build  # noqa: E402
from ingress.producer import producer_config  # noqa: E402
from ingress.registry import Registry  # noqa: E402
from tests.net import free_port  # noqa: E402
from trackflow import pipeline  # noqa: E402
from trackflow import settings as settings_module  # noqa: E402
from trackflow.topics import Topics  # noqa: E402

BATCH = 2000
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
HEADERS = {"content-type": "application/json", "user-agent": UA}


def event(i: int) -> dict[str, Any]:
    return {
        "type": "track",
        "payload": {
            "name": "screen_view" if i % 3 else "add_to_cart",
            "profileId": f"user-{i % 997}",
            "properties": {
                "__deviceId": f"device-{i % 5000}",
                "__path": f"https://shop.example.com/products/{i % 300}?ref=home&utm_source=news",
                "__referrer": "https://www.google.com/",
                "price": 19.99 + i % 50,
                "currency": "EUR",
                "sku": f"SKU-{i:08d}",
            },
        },
    }


async def run_requests(url: str, path: str, bodies: list[bytes], parallel: int, ok: int) -> float:
    """Seconds to send every body to `path` over `parallel` keep-alive connections."""
    host, port = url.removeprefix("http://").split(":")
    requests = [request_bytes(host, path, HEADERS, body) for body in bodies]
    connections = [await Connection.open(host, int(port)) for _ in range(parallel)]
    next_index = 0

    async def worker(connection: Connection) -> None:
        nonlocal next_index
        while next_index < len(requests):
            request = requests[next_index]
            next_index += 1
            status, answer = await connection.send(request)
            assert status == ok, answer[:300]
            if path == "/track/batch":
                assert not orjson.loads(answer)["rejected"], answer[:300]

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    took = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    return took


def run_plain(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    ingress = IngressSettings()
    config = producer_config(
        bootstrap,
        linger_ms=ingress.linger_ms,
        compression=ingress.compression,
        delivery_timeout_s=ingress.delivery_timeout_s,
    )
    producer = Producer(config)
    failures = 0

    def on_delivery(error: object, _message: object) -> None:
        nonlocal failures
        failures += error is not None

    started = time.perf_counter()
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    left = producer.flush(60)
    took = time.perf_counter() - started
    assert left == 0 and failures == 0, (left, failures)
    return took


def records_like_the_ingress(
    registry: Registry, project_id: str, events: list[Any]
) -> list[tuple[bytes, bytes]]:
    project = registry.project(project_id)
    assert project is not None
    ctx = RequestContext(
        project, int(time.time() * 1000), "127.0.0.1", UA, None, "bench", "1", 60_000
    )
    ids = DeviceIds(registry)
    return [(a.key, a.value) for a in (build(item, ctx, ids) for item in events)]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_gb:.1f} GiB RAM, Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--single-events", type=int, default=4_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32, help="parallel /track requests")
    parser.add_argument(
        "--batch-concurrency", type=int, default=2, help="parallel /track/batch requests"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = " ".join(f"{load:.2f}" for load in os.getloadavg())

    shared = settings_module.load()
    prefix = f"bench_{uuid.uuid4().hex[:8]}"
    topic = Topics(prefix).raw_events
    admin = AdminClient({"bootstrap.servers": shared.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, shared.partitions, 1)])[topic].result(timeout=30)
    workdir = Path(tempfile.mkdtemp(prefix="trackflow-bench-"))
    registry = Registry(workdir / "registry.sqlite3")
    project = registry.create_project("bench")
    client, secret = registry.create_client(project.id)
    HEADERS.update({"openpanel-client-id": client.id, "openpanel-client-secret": secret or ""})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRACKFLOW_REGISTRY": str(registry.path),
        "TRACKFLOW_TOPIC_PREFIX": prefix,
    }
    log = (workdir / "ingress.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "ingress", "--port", str(port), "--workers", str(args.workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        pipeline.wait_ready(url, 60)
        events = [event(i) for i in range(args.events)]
        singles = events[: args.single_events]
        single_bodies = [orjson.dumps(item) for item in singles]
        batch_bodies = [
            orjson.dumps({"events": events[i : i + BATCH]}) for i in range(0, len(events), BATCH)
        ]
        # warm-up: producer ids, auth caches and salts of every worker
        asyncio.run(run_requests(url, "/track", single_bodies[:200], 8, 200))
        records = records_like_the_ingress(registry, project.id, events)
        batch_runs, single_runs, plain_runs = [], [], []
        # interleaved rounds, so a burst of other load on the machine hits all three
        for _ in range(args.rounds):
            batch_runs.append(
                asyncio.run(
                    run_requests(url, "/track/batch", batch_bodies, args.batch_concurrency, 202)
                )
            )
            single_runs.append(
                asyncio.run(run_requests(url, "/track", single_bodies, args.concurrency, 200))
            )
            plain_runs.append(run_plain(shared.kafka_bootstrap, topic, records))
        batch_s, single_s, plain_s = (
            statistics.median(runs) for runs in (batch_runs, single_runs, plain_runs)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        admin.delete_topics([topic])

    rows = [
        ("POST /track/batch (2000 per request)", args.events, batch_s),
        ("POST /track (one per request)", len(singles), single_s),
        ("plain confluent-kafka producer", args.events, plain_s),
    ]
    print(f"machine: {machine()}; load average before the run: {load_before}")
    print(
        f"ingress workers: {args.workers}; /track concurrency {args.concurrency}; "
        f"/track/batch concurrency {args.batch_concurrency}; kafka {shared.kafka_bootstrap}, "
        f"{shared.partitions} partitions; load generator on the same machine"
    )
    print()
    print(f"median of {args.rounds} interleaved rounds")
    print("| path | events per round | seconds (median) | events/s |")
    print("|---|---:|---:|---:|")
    for name, count, seconds in rows:
        print(f"| {name} | {count} | {seconds:.2f} | {count / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Events per second through one stream worker, raw topic to outputs.

Produces `--events` raw track events for `--devices` devices (live and
historical times mixed) to a fresh topic prefix, then starts one
`python -m streams worker` and measures, from its first sessionized event to
the last, how fast the events topic fills. Worker start-up and Kafka group
join are not counted; the rate is events consumed from the raw topic.

    .venv/bin/python bench/streams_throughput.py --events 200000 --devices 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.admin import ensure_topics  # noqa: E402 - after the path set-up above
from streams.config import StreamsConfig  # noqa: E402
from streams.sessionizer import DeviceState  # noqa: E402
from streams.worker_process import WorkerProcess  # noqa: E402
from tests.streams.conftest import delete_topics  # noqa: E402
from tests.streams.kafka_io import MINUTE_MS, now_ms, produce, raw_event  # noqa: E402
from trackflow.settings import Settings  # noqa: E402

# Polling the high watermarks is a metadata round trip; a local broker answers
# in milliseconds.
WATERMARK_TIMEOUT_S = 10.0


def events_in_topic(consumer: Consumer, topic: str, partitions: int) -> int:
    total = 0
    for partition in range(partitions):
        _, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=WATERMARK_TIMEOUT_S
        )
        total += high
    return total


def make_events(count: int, devices: int, timeout_ms: int) -> list[dict[str, Any]]:
    start_ms = now_ms()
    events = []
    for i in range(count):
        device = f"dev-{i % devices}"
        # Every fourth device uploads a backlog of historical events.
        if (i % devices) % 4 == 0:
            event_ms = start_ms - 6 * 60 * MINUTE_MS + (i // devices) * 60_000
        else:
            event_ms = start_ms - 60_000 + (i // devices) * 500
        events.append(
            raw_event("bench", device, event_ms, timeout_ms=timeout_ms, received_at_ms=start_ms)
        )
    return events


def expected_outputs(events: list[dict[str, Any]]) -> int:
    """Records the events topic gets before any session ends: the events plus
    one session_start per live session (the pure session model counts them)."""
    states: dict[str, DeviceState] = {}
    count = 0

    def emit(kind: str, key: str, record: dict[str, Any]) -> None:
        nonlocal count
        count += kind == "events"

    for offset, event in enumerate(events):
        device = str(event["device_id"])
        state = states.setdefault(device, DeviceState.new("bench", device, 0))
        state.apply_track(event, offset, emit)
    for state in states.values():
        state.finish_batch(emit)
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--timeout-ms", type=int, default=30 * MINUTE_MS)
    args = parser.parse_args()

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ["TRACKFLOW_TOPIC_PREFIX"] = prefix
    settings = Settings()
    data_dir = Path(tempfile.mkdtemp(prefix="streams-bench-"))
    config = StreamsConfig(settings=settings, data_dir=data_dir)
    ensure_topics(config)

    events = make_events(args.events, args.devices, args.timeout_ms)
    expected = expected_outputs(events)
    started_s = time.monotonic()
    produce(settings.kafka_bootstrap, config.topics.raw_events, events)
    print(f"produced {len(events)} raw events in {time.monotonic() - started_s:.1f}s")

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": prefix})
    worker = WorkerProcess(data_dir / "worker", env={"TRACKFLOW_TOPIC_PREFIX": prefix})
    worker.start()
    try:
        first_s = None
        while True:
            seen = events_in_topic(consumer, config.topics.events, settings.partitions)
            if seen and first_s is None:
                first_s, first_seen = time.monotonic(), seen
            if seen >= expected:
                break
            if not worker.is_running():
                raise SystemExit("worker exited:\n" + worker.log_text()[-3000:])
            time.sleep(0.05)
        assert first_s is not None
        elapsed_s = time.monotonic() - first_s
        # Raw events consumed per second: outputs scaled back to their events.
        rate = (seen - first_seen) / elapsed_s * len(events) / expected
        print(
            f"worker sessionized {len(events)} events ({args.devices} devices): "
            f"{rate:,.0f} events/s per worker (measured over {elapsed_s:.1f}s)"
        )
    finally:
        worker.stop()
        consumer.close()
        delete_topics(settings.kafka_bootstrap, prefix)


if __name__ == "__main__":
    main()

"""Readiness check for scripts/stack: a real Kafka produce/consume round trip
and a ClickHouse `SELECT 1`, retried until both answer or the timeout passes.

Prints one line per component, `<name>: ok ...` or `<name>: FAILED ...`, and
exits non-zero when either failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid

from clickhouse_driver import Client
from confluent_kafka import Consumer, KafkaException, Producer

SMOKE_TOPIC = "trackflow.stack-smoke"


def kafka_round_trip(bootstrap: str, deadline: float) -> str:
    token = uuid.uuid4().hex
    # log_level 3: errors only; leader changes while the broker starts are expected
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0, "log_level": 3}
    )
    delivered: list[str] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            delivered.append(token)

    producer.produce(SMOKE_TOPIC, key=token, value=token, on_delivery=on_delivery)
    while not delivered and time.monotonic() < deadline:
        producer.poll(0.5)
    if not delivered:
        raise TimeoutError("produce was not acknowledged")

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"stack-smoke-{token}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    try:
        consumer.subscribe([SMOKE_TOPIC])
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.value() == token.encode():
                return f"round trip through topic {SMOKE_TOPIC}"
        raise TimeoutError("produced record was not consumed back")
    finally:
        consumer.close()


def clickhouse_select(host: str, port: int, deadline: float) -> str:
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client = Client(host=host, port=port, connect_timeout=2, send_receive_timeout=5)
            (version,) = client.execute("SELECT version()")[0]
            assert client.execute("SELECT 1") == [(1,)]
            client.disconnect()
            return f"SELECT 1 answered by ClickHouse {version}"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = exc
            time.sleep(0.5)
    raise TimeoutError(f"no answer: {last}")


def wait_kafka_port(bootstrap: str, deadline: float) -> None:
    # metadata requests fail fast while the broker starts; avoid librdkafka's noisy retries
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=2)
            return
        except KafkaException:
            time.sleep(0.5)
    raise TimeoutError("broker did not answer a metadata request")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    # Both components get the whole timeout: they start side by side.
    started = time.monotonic()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    ch_host = os.environ.get("CLICKHOUSE_HOST", "127.0.0.1")
    ch_port = int(os.environ.get("CLICKHOUSE_PORT", "9000"))

    only = os.environ.get("SMOKE_ONLY", "")
    failed = False
    if only != "clickhouse":
        failed |= not check_kafka(bootstrap, started + args.timeout)
    if only != "kafka":
        deadline = max(started + args.timeout, time.monotonic() + 10)
        failed |= not check_clickhouse(ch_host, ch_port, deadline)
    return 1 if failed else 0


def check_kafka(bootstrap: str, deadline: float) -> bool:
    try:
        wait_kafka_port(bootstrap, deadline)
        print(f"kafka: ok, {kafka_round_trip(bootstrap, deadline)}")
    except Exception as exc:  # noqa: BLE001 - reported, then the exit code says it
        print(f"kafka: FAILED at {bootstrap}: {exc}")
        return False
    return True


def check_clickhouse(ch_host: str, ch_port: int, deadline: float) -> bool:
    try:
        print(f"clickhouse: ok, {clickhouse_select(ch_host, ch_port, deadline)}")
    except Exception as exc:  # noqa: BLE001
        print(f"clickhouse: FAILED at {ch_host}:{ch_port}: {exc}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())

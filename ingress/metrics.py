"""Every Prometheus metric the ingress exports, with its meaning.

With several uvicorn workers, `python -m ingress` sets
PROMETHEUS_MULTIPROC_DIR before any worker imports prometheus_client, and
`/metrics` then sums every worker's files (see `render`).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "trackflow_ingress_requests_total",
    "HTTP requests answered, by route and status. Many 503: Kafka is slow or down.",
    ["route", "status"],
)
EVENTS = Counter(
    "trackflow_ingress_events_total",
    "Events by outcome (accepted, rejected) and reason (validation, internal). "
    "Rejected internal: Kafka refused records; see the producer logs.",
    ["outcome", "reason"],
)
BATCH_SIZE = Histogram(
    "trackflow_ingress_batch_events",
    "Events per /track/batch request.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 1500, 2000),
)
PRODUCE_LATENCY = Histogram(
    "trackflow_ingress_produce_seconds",
    "From the first produce() of a request to Kafka's last acknowledgement. "
    "High: the broker is slow or linger.ms is too long.",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

"""The ingress's own settings, read from the environment beside the shared ones."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from trackflow.settings import Settings, env_float

# Headers that carry the client's address when a proxy sits in front, tried in
# this order; the socket's peer address is the last resort.
DEFAULT_IP_HEADERS = (
    "cf-connecting-ip",
    "true-client-ip",
    "x-real-ip",
    "x-forwarded-for",
    "x-client-ip",
    "fly-client-ip",
)


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class IngressSettings:
    """How the ingress talks to Kafka and reads its requests."""

    shared: Settings = field(default_factory=Settings)
    # Longest a request waits for Kafka's acknowledgements before it is
    # answered 503; short enough that a client's own timeout does not fire first.
    produce_timeout_s: float = field(
        default_factory=lambda: env_float("TRACKFLOW_INGRESS_PRODUCE_TIMEOUT_S", 10.0)
    )
    # librdkafka gives up on a record after this long (message.timeout.ms); a
    # little longer than the request wait, so a 503 usually comes first.
    delivery_timeout_s: float = field(
        default_factory=lambda: env_float("TRACKFLOW_INGRESS_DELIVERY_TIMEOUT_S", 15.0)
    )
    linger_ms: float = field(default_factory=lambda: env_float("TRACKFLOW_INGRESS_LINGER_MS", 5))
    compression: str = field(
        default_factory=lambda: os.environ.get("TRACKFLOW_INGRESS_COMPRESSION", "lz4")
    )
    retry_after_s: int = 5
    ip_headers: tuple[str, ...] = field(
        default_factory=lambda: _env_list("TRACKFLOW_INGRESS_IP_HEADERS", DEFAULT_IP_HEADERS)
    )
    # How long a verified (client id, secret) pair and a registry row are
    # trusted without asking the registry again; a revoked client is refused
    # at most this long after the revocation.
    auth_cache_ttl_s: float = field(
        default_factory=lambda: env_float("TRACKFLOW_INGRESS_AUTH_CACHE_TTL_S", 30.0)
    )
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_events: int = 2000
    future_tolerance_ms: int = 60_000
    extra_producer_config: dict[str, str | int | float | bool] = field(default_factory=dict)

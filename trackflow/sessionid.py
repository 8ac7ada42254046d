"""The deterministic session id of an event, from its own time.

A session belongs to a bucket of `timeout` length; the first `grace` of a
bucket still counts as the previous bucket, so that a burst straddling the
boundary stays in one session:

    bucket = floor(event_ms / timeout_ms), minus 1 if event_ms - bucket * timeout_ms < grace
    grace  = min(5 s, timeout / 6)
    id     = base64url(sha256("sess:v1:{project_id}:{device_id}:{bucket}")[:16]), unpadded

The ingress uses it to predict the id it answers with, the stream processor to
assign ids; both must agree, so this module is the only place it is written.
"""

from __future__ import annotations

import base64
import hashlib

MAX_GRACE_MS = 5_000


def grace_ms(timeout_ms: int) -> int:
    return min(MAX_GRACE_MS, timeout_ms // 6)


def bucket_of(event_ms: int, timeout_ms: int) -> int:
    if timeout_ms <= 0:
        raise ValueError(f"timeout_ms must be positive, got {timeout_ms}")
    bucket = event_ms // timeout_ms
    if event_ms - bucket * timeout_ms < grace_ms(timeout_ms):
        bucket -= 1
    return bucket


def session_id_for_bucket(project_id: str, device_id: str, bucket: int) -> str:
    digest = hashlib.sha256(f"sess:v1:{project_id}:{device_id}:{bucket}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def session_id(project_id: str, device_id: str, event_ms: int, timeout_ms: int) -> str:
    return session_id_for_bucket(project_id, device_id, bucket_of(event_ms, timeout_ms))

"""The official OpenPanel JavaScript SDK (tests/sdk), unchanged, against the
ingress alone: every call answered as the SDK expects, every event in Kafka."""

from __future__ import annotations

from datetime import datetime

import pytest

from ingress.app import create_app
from tests.ingress.conftest import Env, ingress_settings, read_records, serve
from tests.sdk.driver import drive_sdk
from trackflow.settings import Settings

pytestmark = pytest.mark.kafka


def test_official_sdk_against_the_ingress(env: Env, stack_settings: Settings) -> None:
    prefix = env.topic.removesuffix(".events.raw")
    app = create_app(ingress_settings(stack_settings, prefix, env.registry.path))
    with serve(app) as url:
        result = drive_sdk(
            {
                "apiUrl": url,
                "clientId": env.client.id,
                "clientSecret": env.secret,
                "offlineMinutes": 40,
                "profileId": "sdk-user",
            }
        )

    device_id = result["deviceId"]
    assert device_id and result["sessionId"]
    for name, answer in result["responses"].items():
        assert answer["deviceId"] == device_id, name
    records = [r for _, r, _ in read_records(stack_settings.kafka_bootstrap, env.topic, 10)]
    assert sorted(r["type"] for r in records) == sorted(
        ["track"] * 5 + ["identify", "increment", "increment", "group", "assign_group"]
    )
    assert {r["device_id"] for r in records} == {device_id}
    assert {r["sdk_name"] for r in records} == {"node"}
    offline = sorted(r["event_time_ms"] for r in records if r.get("name") == "offline_screen")
    queued = sorted(
        int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
        for t in result["queuedTimestamps"]
    )
    assert offline == queued
    (identify,) = [r for r in records if r["type"] == "identify"]
    assert identify["profile"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
    }
    assert [r["value"] for r in records if r["type"] == "increment"] == [2, 1]

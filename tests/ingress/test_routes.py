"""Both event routes against the real broker: shapes, limits, auth, records."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ingress import deviceid
from ingress.app import create_app
from tests.ingress.conftest import BROWSER_ORIGIN, PARTITIONS, Env, ingress_settings
from tests.murmur2 import java_partition
from trackflow.sessionid import session_id
from trackflow.settings import Settings

pytestmark = pytest.mark.kafka


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


EXAMPLES: dict[str, dict[str, Any]] = {
    "track": {"name": "screen_view", "properties": {"plan": "pro", "__path": "/a"}},
    "identify": {"profileId": "u1", "firstName": "Ada", "email": "ada@example.com"},
    "increment": {"profileId": "u1", "property": "visits"},
    "decrement": {"profileId": 7, "property": "credits", "value": 2.5},
    "group": {"id": "g1", "type": "company", "name": "Acme", "properties": {"size": 3}},
    "assign_group": {"groupIds": ["g1", "g2"], "profileId": "u1"},
    "replay": {
        "chunk_index": 0,
        "events_count": 3,
        "is_full_snapshot": True,
        "started_at": "2026-01-01T00:00:00.000Z",
        "ended_at": "2026-01-01T00:00:01.000Z",
        "payload": "[]",
    },
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_type_single_and_in_a_batch_is_stored_the_same(env: Env, kind: str) -> None:
    item = {"type": kind, "payload": EXAMPLES[kind]}
    single = env.http.post("/track", json=item, headers=env.headers)
    batch = env.http.post("/track/batch", json={"events": [item]}, headers=env.headers)

    assert single.status_code == 200, single.text
    assert set(single.json()) == {"deviceId", "sessionId"}
    assert batch.status_code == 202, batch.text
    assert batch.json() == {"accepted": 1, "rejected": []}
    records = env.records(2)
    assert len(records) == 2
    volatile = {"id", "event_time_ms", "received_at_ms"}
    first, second = ({k: v for k, v in r[1].items() if k not in volatile} for r in records)
    assert first == second
    assert first["type"] == kind and first["project_id"] == env.project.id
    assert records[0][0] == f"{env.project.id}:{single.json()['deviceId']}".encode()


def test_track_answer_is_the_session_id_of_the_event(env: Env) -> None:
    answer = env.http.post(
        "/track", json={"type": "track", "payload": {"name": "x"}}, headers=env.headers
    ).json()

    ((_key, record, _),) = env.records(1)
    assert record["device_id"] == answer["deviceId"]
    assert answer["sessionId"] == session_id(
        env.project.id, answer["deviceId"], record["event_time_ms"], env.project.session_timeout_ms
    )


def test_magic_properties_are_read(env: Env) -> None:
    past_ms = int(time.time() * 1000) - 3_600_000
    properties = {
        "__timestamp": iso(past_ms),
        "__deviceId": "dev-42",
        "__ip": "203.0.113.9",
        "__path": "https://shop.example.com/cart?item=1&q=a#top",
        "__referrer": "https://google.com/",
        "__revenue": 1299,
        "__os": "iOS",
        "__model": "iPhone15,2",
        "__identify": {"profileId": "u9", "email": "u9@example.com"},
        "color": "red",
    }
    answer = env.http.post(
        "/track",
        json={"type": "track", "payload": {"name": "buy", "properties": properties}},
        headers=env.headers,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["deviceId"] == "dev-42"
    ((key, record, _),) = env.records(1)
    assert key == f"{env.project.id}:dev-42".encode()
    assert record["event_time_ms"] == past_ms and record["timestamp_clamped"] is False
    assert record["ip"] == "203.0.113.9"
    assert (record["path"], record["url_origin"], record["query"], record["hash"]) == (
        "/cart",
        "https://shop.example.com",
        {"item": "1", "q": "a"},
        "top",
    )
    assert record["referrer"] == "https://google.com/" and record["revenue"] == 1299
    assert record["ua_overrides"] == {"os": "iOS", "model": "iPhone15,2"}
    assert record["properties"] == {"color": "red"}
    assert record["profile_id"] == "u9"
    assert record["identify"]["profile"] == {"email": "u9@example.com"}


def test_derived_device_id_follows_openpanel(env: Env) -> None:
    headers = {**env.headers, "x-forwarded-for": "198.51.100.7, 10.0.0.1"}
    answer = env.http.post(
        "/track", json={"type": "track", "payload": {"name": "x"}}, headers=headers
    )

    today = datetime.now(UTC).date().isoformat()
    salt = env.registry.salt_for_day(today)
    assert answer.json()["deviceId"] == deviceid.derive(
        headers["user-agent"], "198.51.100.7", env.project.id, salt
    )


def test_previous_days_salt_is_recognised(env: Env) -> None:
    ids = deviceid.DeviceIds(env.registry)
    before_midnight = int(datetime(2026, 3, 1, 23, 59, tzinfo=UTC).timestamp() * 1000)
    first = ids.device_id("ua", "1.2.3.4", "p", before_midnight, 1_800_000)

    assert ids.device_id("ua", "1.2.3.4", "p", before_midnight + 120_000, 1_800_000) == first
    stranger = deviceid.DeviceIds(env.registry)
    assert stranger.device_id("ua", "1.2.3.4", "p", before_midnight + 120_000, 1_800_000) != first


def test_window_and_future_clamp(env: Env) -> None:
    now_ms = int(time.time() * 1000)
    old = {
        "type": "track",
        "payload": {"name": "x", "properties": {"__timestamp": iso(now_ms - 6 * 86_400_000)}},
    }
    future = {
        "type": "track",
        "payload": {"name": "x", "properties": {"__timestamp": iso(now_ms + 3_600_000)}},
    }
    near = {
        "type": "track",
        "payload": {"name": "x", "properties": {"__timestamp": iso(now_ms + 30_000)}},
    }
    junk = {"type": "track", "payload": {"name": "x", "properties": {"__timestamp": "yesterday"}}}

    single_old = env.http.post("/track", json=old, headers=env.headers)
    batch = env.http.post(
        "/track/batch", json={"events": [old, future, near, junk]}, headers=env.headers
    )

    assert single_old.status_code == 400
    assert "older than the project's historical window of 5 days" in single_old.json()["message"]
    assert batch.status_code == 202
    body = batch.json()
    assert body["accepted"] == 3
    assert body["rejected"] == [
        {
            "index": 0,
            "reason": "validation",
            "error": "payload.properties.__timestamp: event is older than the project's "
            "historical window of 5 days",
        }
    ]
    records = sorted((r[1] for r in env.records(3)), key=lambda r: r["event_time_ms"])
    clamped = [r for r in records if r["timestamp_clamped"]]
    assert len(clamped) == 2
    assert all(r["event_time_ms"] == r["received_at_ms"] for r in clamped)
    (kept,) = [r for r in records if not r["timestamp_clamped"]]
    assert kept["event_time_ms"] > kept["received_at_ms"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"name": ""}, "payload.name: must not be empty"),
        ({"name": "x" * 81}, "payload.name: must be at most 80 characters"),
        ({"name": "a\nb"}, "payload.name: must not contain a newline"),
        ({"name": "session_start"}, "payload.name: session_start and session_end are reserved"),
        ({"name": "x", "properties": []}, "payload.properties: must be an object"),
        ({"name": "x", "profileId": True}, "payload.profileId: must be a string or a number"),
    ],
)
def test_invalid_track_is_400_naming_the_field(
    env: Env, payload: dict[str, Any], message: str
) -> None:
    answer = env.http.post(
        "/track", json={"type": "track", "payload": payload}, headers=env.headers
    )

    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "error": "Bad Request", "message": message}


def test_alias_is_refused_single_and_per_item(env: Env) -> None:
    alias = {"type": "alias", "payload": {"profileId": "a", "alias": "b"}}
    single = env.http.post("/track", json=alias, headers=env.headers)
    batch = env.http.post(
        "/track/batch",
        json={"events": [alias, {"type": "track", "payload": {"name": "x"}}]},
        headers=env.headers,
    )

    assert single.status_code == 400 and single.json()["message"] == "Alias is not supported"
    assert batch.json() == {
        "accepted": 1,
        "rejected": [{"index": 0, "reason": "validation", "error": "Alias is not supported"}],
    }


def test_batch_of_2000_with_bad_items_at_known_indices(env: Env) -> None:
    bad = {
        7: {"type": "track", "payload": {}},
        500: {"type": "nope"},
        1999: 42,
        1000: {"type": "identify", "payload": {"profileId": "u", "email": "not-an-email"}},
    }
    kinds = sorted(EXAMPLES)
    events: list[Any] = []
    for index in range(2000):
        if index in bad:
            events.append(bad[index])
            continue
        kind = kinds[index % len(kinds)]
        payload = dict(EXAMPLES[kind])
        if kind == "track":
            payload = {"name": f"e{index}", "properties": {"__deviceId": f"d{index % 50}"}}
        events.append({"type": kind, "payload": payload})

    answer = env.http.post("/track/batch?ids=true", json={"events": events}, headers=env.headers)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["accepted"] == 1996
    assert [r["index"] for r in body["rejected"]] == sorted(bad)
    assert all(r["reason"] == "validation" for r in body["rejected"])
    assert body["rejected"][0]["error"] == "payload.name: must be a string"
    assert len(body["ids"]) == 1996
    records = env.records(1996)
    assert len(records) == 1996
    for key, record, partition in records:
        assert key == f"{env.project.id}:{record['device_id']}".encode()
        assert partition == java_partition(key, PARTITIONS)
    names = {r["name"] for _, r, _ in records if r["type"] == "track"}
    assert names == {
        f"e{i}" for i in range(2000) if i not in bad and kinds[i % len(kinds)] == "track"
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "Body is not valid JSON"),
        (b'{"items": []}', 400, 'Body must be an object with an "events" array'),
        (b'{"events": []}', 400, "events must hold 1 to 2000 events, got 0"),
        (
            orjson.dumps({"events": [{"type": "track", "payload": {"name": "x"}}] * 2001}),
            400,
            "events must hold 1 to 2000 events, got 2001",
        ),
        (
            b'{"events": ["' + b"x" * (10 * 1024 * 1024) + b'"]}',
            413,
            "Body is larger than the limit of 10 MB",
        ),
    ],
)
def test_batch_envelope_errors(env: Env, body: bytes, status: int, message: str) -> None:
    answer = env.http.post("/track/batch", content=body, headers=env.headers)

    assert answer.status_code == status
    assert answer.json()["message"].startswith(message)


def test_gzip_bodies_and_a_gzip_bomb(env: Env) -> None:
    headers = {**env.headers, "content-encoding": "gzip"}
    item = {"type": "track", "payload": {"name": "zipped"}}
    bomb = gzip.compress(b'{"events": ["' + b"0" * (64 * 1024 * 1024) + b'"]}')

    single = env.http.post("/track", content=gzip.compress(orjson.dumps(item)), headers=headers)
    batch = env.http.post(
        "/track/batch",
        content=gzip.compress(orjson.dumps({"events": [item] * 3})),
        headers=headers,
    )
    refused = env.http.post("/track/batch", content=bomb, headers=headers)
    truncated = env.http.post(
        "/track", content=gzip.compress(orjson.dumps(item))[:-12], headers=headers
    )

    assert single.status_code == 200
    assert batch.status_code == 202 and batch.json()["accepted"] == 3
    assert len(bomb) < 100_000
    assert refused.status_code == 413 and "10 MB" in refused.json()["message"]
    assert truncated.status_code == 400 and "gzip" in truncated.json()["message"]
    assert len(env.records(4)) == 4


def test_auth_failures_are_401_naming_what_is_wrong(env: Env) -> None:
    event = {"type": "track", "payload": {"name": "x"}}
    cases = [
        ({}, "Missing client id"),
        ({"openpanel-client-id": "nope"}, "Malformed client id"),
        ({"openpanel-client-id": "00000000-0000-0000-0000-000000000000"}, "Unknown client id"),
        ({"openpanel-client-id": env.client.id}, "Missing client secret"),
        (
            {"openpanel-client-id": env.client.id, "openpanel-client-secret": "sec_x"},
            "Wrong client secret",
        ),
        (
            {"openpanel-client-id": env.browser.id, "origin": "https://evil.com"},
            "Origin not allowed",
        ),
        ({"openpanel-client-id": env.browser.id}, "Origin not allowed"),
    ]
    for headers, message in cases:
        for route in ("/track", "/track/batch"):
            body = event if route == "/track" else {"events": [event]}
            answer = env.http.post(route, json=body, headers=headers)
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.json()["message"].startswith(message)


def test_browser_client_by_origin_and_credentials_in_body(env: Env) -> None:
    event = {"type": "track", "payload": {"name": "x"}}
    for origin in (BROWSER_ORIGIN, "https://a.example.org", "http://b.c.example.org:8080"):
        answer = env.http.post(
            "/track", json=event, headers={"openpanel-client-id": env.browser.id, "origin": origin}
        )
        assert answer.status_code == 200, (origin, answer.text)
    in_body = env.http.post(
        "/track/batch",
        json={"events": [event], "clientId": env.client.id, "clientSecret": env.secret},
    )
    assert in_body.status_code == 202
    preflight = env.http.options(
        "/track",
        headers={
            "origin": BROWSER_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,openpanel-client-id",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", BROWSER_ORIGIN)
    bare_domain = env.http.post(
        "/track",
        json=event,
        headers={"openpanel-client-id": env.browser.id, "origin": "https://example.org"},
    )
    assert bare_domain.status_code == 401


def test_revoked_client_is_refused_by_a_fresh_cache(env: Env, stack_settings: Settings) -> None:
    env.registry.revoke_client(env.client.id)
    settings = ingress_settings(stack_settings, "unused", env.registry.path)

    with TestClient(create_app(settings)) as http:
        answer = http.post(
            "/track", json={"type": "track", "payload": {"name": "x"}}, headers=env.headers
        )

    assert answer.status_code == 401 and answer.json()["message"] == "Unknown client id"


def test_health_ready_and_metrics(env: Env) -> None:
    env.http.post("/track", json={"type": "track", "payload": {"name": "x"}}, headers=env.headers)

    assert env.http.get("/healthz").json() == {"status": "ok"}
    assert env.http.get("/readyz").status_code == 200
    text = env.http.get("/metrics").text
    assert 'trackflow_ingress_requests_total{route="/track",status="200"}' in text
    assert "trackflow_ingress_produce_seconds_count" in text


def test_records_kafka_refuses_are_rejected_as_internal(
    env: Env, stack_settings: Settings
) -> None:
    prefix = env.topic.removesuffix(".events.raw")
    # the producer refuses any record over 2000 bytes before it reaches the broker
    settings = ingress_settings(
        stack_settings,
        prefix,
        env.registry.path,
        extra_producer_config={"message.max.bytes": 2000},
    )
    small = {"type": "track", "payload": {"name": "small"}}
    big = {"type": "track", "payload": {"name": "big", "properties": {"blob": "x" * 5000}}}

    with TestClient(create_app(settings)) as http:
        mixed = http.post(
            "/track/batch", json={"events": [small, big, small]}, headers=env.headers
        )
        only_big = http.post("/track/batch", json={"events": [big]}, headers=env.headers)
        single_big = http.post("/track", json=big, headers=env.headers)

    assert mixed.status_code == 202
    body = mixed.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [(1, "internal")]
    assert body["rejected"][0]["error"].startswith("kafka: ")
    assert only_big.status_code == 503 and only_big.headers["retry-after"] == "5"
    assert single_big.status_code == 503
    assert sorted(r["name"] for _, r, _ in env.records(2)) == ["small", "small"]


def test_event_before_1970_is_refused_whatever_the_window(env: Env) -> None:
    project = env.registry.create_project("archive", window_ms=100 * 365 * 86_400_000)
    client, secret = env.registry.create_client(project.id, name="archive")
    headers = {"openpanel-client-id": client.id, "openpanel-client-secret": str(secret)}
    old = {
        "type": "track",
        "payload": {"name": "x", "properties": {"__timestamp": "1960-05-01T00:00:00Z"}},
    }
    fine = {
        "type": "track",
        "payload": {"name": "x", "properties": {"__timestamp": "1999-05-01T00:00:00Z"}},
    }

    single = env.http.post("/track", json=old, headers=headers)
    batch = env.http.post("/track/batch", json={"events": [old, fine]}, headers=headers)

    assert single.status_code == 400
    assert "before 1970-01-01T00:00:01Z" in single.json()["message"]
    assert batch.json()["accepted"] == 1
    assert batch.json()["rejected"][0]["index"] == 0
    assert "__timestamp: event time is before 1970" in batch.json()["rejected"][0]["error"]

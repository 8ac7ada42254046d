"""Fuzzing both routes over real HTTP: schemathesis from the app's OpenAPI
schema, then hand-written hostile bodies. Neither may get a 5xx or a hang."""

from __future__ import annotations

import gzip
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
import schemathesis
from confluent_kafka.admin import AdminClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ingress.app import create_app
from ingress.registry import Registry
from tests.ingress.conftest import ingress_settings, make_topic, serve
from trackflow.settings import Settings
from trackflow.topics import Topics

pytestmark = pytest.mark.kafka

# Bounded so that the whole fuzz run stays within a few seconds per route.
MAX_EXAMPLES = 60
# A request taking longer than this counts as a hang.
REQUEST_TIMEOUT_S = 20.0

schema = schemathesis.openapi.from_dict(create_app().openapi())


@dataclass
class Served:
    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, kafka_admin: AdminClient, stack_settings: Settings
) -> Iterator[Served]:
    prefix = f"t_fuzz_{uuid.uuid4().hex[:10]}"
    topic = Topics(prefix).raw_events
    make_topic(kafka_admin, topic)
    registry = Registry(tmp_path_factory.mktemp("fuzz") / "registry.sqlite3")
    project = registry.create_project("fuzz")
    client, secret = registry.create_client(project.id)
    app = create_app(ingress_settings(stack_settings, prefix, registry.path))
    try:
        with serve(app) as url:
            yield Served(
                url, {"openpanel-client-id": client.id, "openpanel-client-secret": secret or ""}
            )
    finally:
        kafka_admin.delete_topics([topic])


@schema.include(method="POST").parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_finds_no_server_error(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(
        base_url=served.url,
        headers=served.headers,
        checks=[not_a_server_error],
        timeout=REQUEST_TIMEOUT_S,
    )


def _deep(levels: int) -> bytes:
    return b'{"events": [' + b"[" * levels + b"]" * levels + b"]}"


HOSTILE: list[tuple[str, bytes, dict[str, str]]] = [
    ("empty", b"", {}),
    ("null", b"null", {}),
    ("a number", b"12", {}),
    ("a string", b'"track"', {}),
    ("events not a list", b'{"events": {"type": "track"}}', {}),
    ("items of every type", orjson.dumps({"events": [None, 1, "x", [], {}, True, 1.5]}), {}),
    (
        "payload of wrong types",
        orjson.dumps(
            {
                "events": [
                    {"type": "track", "payload": "x"},
                    {"type": "track", "payload": {"name": ["x"], "properties": "p"}},
                    {"type": "replay", "payload": {"chunk_index": "0", "events_count": 1e300}},
                    {"type": "identify", "payload": {"profileId": {}, "email": 5, "avatar": "::"}},
                    {
                        "type": "increment",
                        "payload": {"profileId": "u", "property": "p", "value": -1},
                    },
                    {"type": "assign_group", "payload": {"groupIds": [1, None]}},
                    {"type": {"nested": 1}, "payload": {}},
                ]
            }
        ),
        {},
    ),
    (
        "huge string",
        orjson.dumps({"events": [{"type": "track", "payload": {"name": "x" * 8_000_000}}]}),
        {},
    ),
    (
        "huge timestamp",
        orjson.dumps(
            {
                "events": [
                    {
                        "type": "track",
                        "payload": {
                            "name": "x",
                            "properties": {
                                "__timestamp": 1e308,
                                "__deviceId": "x" * 100,
                                "__ip": 5,
                                "__path": 7,
                            },
                        },
                    }
                ]
            }
        ),
        {},
    ),
    (
        "odd timestamps",
        orjson.dumps(
            {
                "events": [
                    {"type": "track", "payload": {"name": "x", "properties": {"__timestamp": t}}}
                    for t in [
                        "9999-12-31T23:59:59Z",
                        "0001-01-01T00:00:00",
                        "2020-13-45",
                        "",
                        "+275760-09-13T00:00:00Z",
                        -1e20,
                        True,
                    ]
                ]
            }
        ),
        {},
    ),
    ("deep nesting", _deep(100_000), {}),
    (
        "deep properties",
        b'{"type":"track","payload":{"name":"x","properties":{"a":'
        + b"[" * 5000
        + b"]" * 5000
        + b"}}}",
        {},
    ),
    ("invalid utf-8", b'{"events": [{"type": "track", "payload": {"name": "\xff\xfe"}}]}', {}),
    ("lone surrogate", b'{"events": [{"type": "track", "payload": {"name": "\\ud800"}}]}', {}),
    (
        "huge integer",
        b'{"events": [{"type": "track", "payload": {"name": "x", "profileId": 1'
        + b"0" * 40
        + b"}}]}",
        {},
    ),
    ("truncated gzip", gzip.compress(b'{"events": []}')[:-5], {"content-encoding": "gzip"}),
    ("not gzip", b"plain text", {"content-encoding": "gzip"}),
    ("empty gzip", b"", {"content-encoding": "gzip"}),
    ("unknown encoding", b"{}", {"content-encoding": "br"}),
]


@pytest.mark.parametrize(("name", "body", "extra"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_get_no_server_error(
    served: Served, name: str, body: bytes, extra: dict[str, str]
) -> None:
    for route in ("/track", "/track/batch"):
        answer = httpx.post(
            served.url + route,
            content=body,
            headers={**served.headers, "content-type": "application/json", **extra},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert answer.status_code < 500, (name, route, answer.status_code, answer.text[:300])
        assert answer.status_code in (200, 202, 400, 413, 415), (name, route, answer.text[:300])


def test_a_declared_length_past_the_limit_is_refused_before_the_body_arrives(
    served: Served,
) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    head = (
        "POST /track/batch HTTP/1.1\r\n"
        f"host: {host}\r\n"
        f"openpanel-client-id: {served.headers['openpanel-client-id']}\r\n"
        f"openpanel-client-secret: {served.headers['openpanel-client-secret']}\r\n"
        "content-type: application/json\r\n"
        "content-length: 99999999999\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT_S) as sock:
        sock.sendall(head.encode() + b'{"events": [')
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]

    assert status_line.startswith(b"HTTP/1.1 413 ")

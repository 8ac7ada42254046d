"""Scenario 10: one batch of every event type, malformed items at known
indices; the good ones all take effect."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.harness import RunningPipeline
from tests.pipeline.helpers import (
    current_group,
    current_profile,
    new_project,
    now_ms,
    send_batch,
    send_one,
    track,
    wait_for_events,
)

pytestmark = pytest.mark.pipeline


def test_mixed_types_in_one_batch(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    signup = track("signup", now_ms() - 60_000, "dev-m")
    signup["payload"]["profileId"] = "p1"
    items: list[dict[str, Any]] = [
        {
            "type": "identify",
            "payload": {
                "profileId": "p1",
                "firstName": "Ann",
                "email": "ann@example.com",
                "properties": {"plan": "free"},
            },
        },
        {"type": "increment", "payload": {"profileId": "p1", "property": "logins", "value": 3}},
        {"type": "increment", "payload": {"profileId": "p1", "property": "logins"}},
        {"type": "decrement", "payload": {"profileId": "p1", "property": "credits", "value": 2}},
        {"type": "group", "payload": {"id": "g1", "type": "company", "name": "Acme"}},
        {"type": "assign_group", "payload": {"groupIds": ["g1"], "profileId": "p1"}},
        {"type": "alias", "payload": {"profileId": "p1", "alias": "other"}},
        {"type": "track", "payload": {"properties": {"x": 1}}},
        {"type": "identify", "payload": {"firstName": "NoId"}},
        {"type": "increment", "payload": {"profileId": "p1", "property": "logins", "value": -5}},
        signup,
        {"type": "bogus", "payload": {}},
    ]
    body = send_batch(shared_pipeline, project, items)

    assert body["accepted"] == 7
    assert [r["index"] for r in body["rejected"]] == [6, 7, 8, 9, 11]
    assert all(r["reason"] == "validation" for r in body["rejected"])
    alias_alone = send_one(shared_pipeline, project, items[6])
    assert alias_alone.status_code == 400
    assert alias_alone.json()["message"] in body["rejected"][0]["error"]

    wait_for_events(shared_pipeline, project, 1)
    expected = {
        "first_name": "Ann",
        "email": "ann@example.com",
        "properties": {"plan": "free", "logins": "4", "credits": "-2"},
        "groups": ["g1"],
    }
    shared_pipeline.wait_for(
        lambda: current_profile(shared_pipeline, project, "p1") == expected,
        timeout_s=60,
        what="profile p1 with every change applied",
    )
    assert current_group(shared_pipeline, project, "g1") == ("company", "Acme")

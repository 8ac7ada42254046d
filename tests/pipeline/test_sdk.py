"""The official OpenPanel JavaScript SDK, unchanged, against the ingress
(scenario 14 included): what it gets back and what ClickHouse then holds."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.pipeline.harness import RunningPipeline
from tests.pipeline.helpers import (
    SESSION_NAMES,
    current_group,
    current_profile,
    new_project,
    sessions_of,
    wait_for_events,
)
from tests.sdk.driver import drive_sdk

pytestmark = pytest.mark.pipeline


def test_official_sdk_with_events_held_back(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    result = drive_sdk(
        {
            "apiUrl": shared_pipeline.url,
            "clientId": project.client_id,
            "clientSecret": project.secret,
            "offlineMinutes": 40,
            "profileId": "sdk-user",
        }
    )

    assert result["deviceId"] and result["sessionId"]
    for name in ("track", "identify", "increment", "group", "assignGroup", "purchase"):
        assert result["responses"][name]["deviceId"] == result["deviceId"], name
    assert result["responses"]["purchase"]["sessionId"] == result["sessionId"]

    rows = wait_for_events(shared_pipeline, project, 5)
    stored = [r for r in rows if r.name not in SESSION_NAMES]
    assert sorted(r.name for r in stored) == sorted(
        ["offline_screen"] * 3 + ["screen_view", "purchase"]
    )
    assert {r.device_id for r in stored} == {result["deviceId"]}

    live = [r for r in stored if r.name in ("screen_view", "purchase")]
    assert {r.session_id for r in live} == {result["sessionId"]}

    offline = sorted((r for r in stored if r.name == "offline_screen"), key=lambda r: r.time_ms)
    queued_ms = [
        int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
        for t in result["queuedTimestamps"]
    ]
    assert [r.time_ms for r in offline] == sorted(queued_ms)
    for row in offline:
        assert row.session_id == project.session_id(result["deviceId"], row.time_ms)
        assert row.session_id != result["sessionId"]
    sessions = sessions_of(shared_pipeline, project)
    assert sessions[offline[0].session_id].kind == "historical"
    assert sessions[result["sessionId"]].kind == "live"

    expected_profile = {
        "first_name": "Ada",
        "email": "ada@example.com",
        "properties": {"plan": "pro", "visits": "3"},
        "groups": ["org-1"],
    }
    shared_pipeline.wait_for(
        lambda: current_profile(shared_pipeline, project, "sdk-user") == expected_profile,
        timeout_s=60,
        what="the SDK user's profile",
    )
    assert current_group(shared_pipeline, project, "org-1") == ("company", "Acme")

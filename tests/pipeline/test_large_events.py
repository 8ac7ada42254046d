"""Events as large as the ingress accepts travel the whole pipeline: no stage
has a smaller record limit than the ingress's body limit."""

from __future__ import annotations

import pytest

from tests.pipeline.harness import RunningPipeline
from tests.pipeline.helpers import new_project, now_ms, send_one, track, wait_for_events

pytestmark = pytest.mark.pipeline


def test_multi_megabyte_event_and_replay_chunk(shared_pipeline: RunningPipeline) -> None:
    project = new_project(shared_pipeline)
    big = "x" * 3_000_000
    event = track("big", now_ms() - 2 * 3_600_000, "dev-big", blob=big)
    assert send_one(shared_pipeline, project, event).status_code == 200
    chunk = {
        "type": "replay",
        "payload": {
            "chunk_index": 0,
            "events_count": 1,
            "is_full_snapshot": True,
            "started_at": "2026-01-01T00:00:00.000Z",
            "ended_at": "2026-01-01T00:00:01.000Z",
            "payload": "r" * 1_500_000,
        },
    }
    assert send_one(shared_pipeline, project, chunk).status_code == 200
    after = track("after", now_ms() - 2 * 3_600_000 + 1_000, "dev-big")
    assert send_one(shared_pipeline, project, after).status_code == 200

    rows = wait_for_events(shared_pipeline, project, 2)
    assert {r.name for r in rows} >= {"big", "after", "session_start"}
    ((length,),) = shared_pipeline.query(
        "SELECT length(payload) FROM session_replay_chunks WHERE project_id = %(p)s",
        {"p": project.id},
    )
    assert length == 1_500_000

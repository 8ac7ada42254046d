"""The sink against the real Kafka and ClickHouse 18.16: every table, dedup, dead letters."""

from __future__ import annotations

import orjson
import pytest
from clickhouse_driver import Client
from confluent_kafka import Consumer
from prometheus_client import REGISTRY

from sink.clickhouse import ClickHouse
from sink.config import SinkConfig
from sink.consumer import Sink
from sink.queries import run_all
from tests.sink.conftest import SinkThread, caught_up, count, produce, wait_for
from tests.sink.records import misc_records, sessions_workload
from trackflow.settings import Settings
from trackflow.topics import Topics

pytestmark = [pytest.mark.kafka, pytest.mark.clickhouse]


def test_every_table_is_written_once(sink_settings: Settings, clickhouse: Client) -> None:
    topics = Topics(sink_settings.topic_prefix)
    db = sink_settings.clickhouse_database
    records, expected = sessions_workload(topics, "proj", n_events=3_000, reemit_every=97)
    records += list(misc_records(topics, "proj"))
    produce(sink_settings.kafka_bootstrap, records)

    written_before = _sample("trackflow_sink_rows_written_total", table="events")
    skipped_before = _sample("trackflow_sink_duplicates_skipped_total", table="events")
    config = SinkConfig(settings=sink_settings, max_batch_rows=1_000, flush_interval_s=0.2)
    with SinkThread(config):
        wait_for(
            "every event",
            lambda: (
                count(clickhouse, f"SELECT count() FROM {db}.events") >= len(expected.event_ids)
            ),
        )
        wait_for(
            "the replay chunks",
            lambda: count(clickhouse, f"SELECT count() FROM {db}.session_replay_chunks") == 2,
        )

    assert count(clickhouse, f"SELECT count() FROM {db}.events") == len(expected.event_ids)
    assert count(clickhouse, f"SELECT uniqExact(id) FROM {db}.events") == len(expected.event_ids)
    # Merges of the ReplacingMergeTree drop old versions; a duplicate would stay a pair.
    assert count(clickhouse, f"SELECT count() - uniqExact(id, version) FROM {db}.sessions") == 0
    assert count(clickhouse, f"SELECT count() FROM {db}.sessions FINAL") == len(
        expected.session_ids
    )
    assert count(clickhouse, f"SELECT count() FROM {db}.profiles") == 2
    ((first_name, logins, city),) = clickhouse.execute(
        f"SELECT first_name, properties_values[indexOf(properties_keys, 'logins')], "
        f"properties_values[indexOf(properties_keys, 'address.city')] FROM {db}.profiles FINAL"
    )
    assert (first_name, logins, city) == ("Ada", "2", "London")
    assert count(clickhouse, f"SELECT count() FROM {db}.groups") == 1

    written = _sample("trackflow_sink_rows_written_total", table="events") - written_before
    skipped = _sample("trackflow_sink_duplicates_skipped_total", table="events") - skipped_before
    assert written == len(expected.event_ids)
    assert skipped > 0  # the re-emitted copies
    assert (_sample("trackflow_sink_batch_rows_count") or 0) > 0


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_shipped_queries_on_the_legacy_server(sink_settings: Settings, clickhouse: Client) -> None:
    topics = Topics(sink_settings.topic_prefix)
    db = sink_settings.clickhouse_database
    records, expected = sessions_workload(topics, "proj-q", n_events=1_000)
    produce(sink_settings.kafka_bootstrap, records)

    config = SinkConfig(settings=sink_settings, flush_interval_s=0.2)
    with SinkThread(config) as running:
        wait_for(
            "every event",
            lambda: (
                count(clickhouse, f"SELECT count() FROM {db}.events") >= len(expected.event_ids)
            ),
        )
        dialect = running.sink.writer.dialect
    assert not dialect.modern

    results = run_all(ClickHouse(sink_settings), dialect, db, "proj-q")
    sessions = len(expected.session_ids)
    assert sum(n for _, n in results["events_per_name"]) == len(expected.event_ids)
    assert results["session_starts_vs_sessions"] == [(sessions, sessions)]
    assert dict(results["historical_vs_live_sessions"]) == {
        "live": expected.live_sessions,
        "historical": sessions - expected.live_sessions,
    }
    assert sum(n for _, _, n in results["sessions_per_day_and_device"]) == sessions
    devices = {d for _, d, _ in results["sessions_per_day_and_device"]}
    assert devices == {"desktop"}  # every session record carries a desktop Chrome agent


def read_topic(bootstrap: str, topic: str, expected: int) -> list[dict[str, object]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
         "auto.offset.reset": "earliest"}
    )  # fmt: skip
    consumer.subscribe([topic])
    out: list[dict[str, object]] = []
    try:
        wait_for(
            f"{expected} records on {topic}",
            lambda: bool(out.extend(orjson.loads(m.value() or b"") for m in
                                    consumer.consume(100, timeout=0.5) if not m.error()))
            or len(out) >= expected,
        )  # fmt: skip
    finally:
        consumer.close()
    return out


def test_refused_records_go_to_the_dead_letter_topic(
    sink_settings: Settings, clickhouse: Client
) -> None:
    topics = Topics(sink_settings.topic_prefix)
    db = sink_settings.clickhouse_database
    good = [r for r in misc_records(topics, "proj") if r[0] == topics.replay_chunks]
    too_big_index = (
        topics.replay_chunks,
        "proj:sess-r",
        {**good[0][2], "id": "chunk-bad", "chunk_index": 70_000},
    )
    no_id = (topics.events, "proj:d", {"v": 1, "name": "x", "project_id": "proj"})
    not_json = (topics.events, "proj:d", b"{not json")
    produce(sink_settings.kafka_bootstrap, [good[0], too_big_index, no_id, not_json, good[1]])

    with SinkThread(SinkConfig(settings=sink_settings, flush_interval_s=0.2)):
        letters = read_topic(sink_settings.kafka_bootstrap, topics.dead_letter, 3)

    assert count(clickhouse, f"SELECT count() FROM {db}.session_replay_chunks") == 2
    assert count(clickhouse, f"SELECT count() FROM {db}.events") == 0
    by_table = sorted(letters, key=lambda d: (str(d["table"]), str(d["error"])))
    assert [d["table"] for d in by_table] == ["events", "events", "session_replay_chunks"]
    assert all(d["stage"] == "sink" and isinstance(d["offset"], int) for d in by_table)
    assert "id is missing" in str(by_table[0]["error"]) or "id is missing" in str(
        by_table[1]["error"]
    )
    assert "clickhouse refused the row" in str(by_table[2]["error"])
    assert by_table[2]["source_topic"] == topics.replay_chunks
    assert orjson.loads(str(by_table[2]["value"]))["id"] == "chunk-bad"  # the original record


def test_restart_after_insert_before_commit_and_re_emitted_copies(
    sink_settings: Settings, clickhouse: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst crash point, made certain: every insert done, no offset committed.
    Then the stream processor re-emits a slice of the records (same ids, new offsets)."""
    topics = Topics(sink_settings.topic_prefix)
    db = sink_settings.clickhouse_database
    records, expected = sessions_workload(topics, "proj", n_events=5_000)
    produce(sink_settings.kafka_bootstrap, records)
    config = SinkConfig(settings=sink_settings, max_batch_rows=2_000, flush_interval_s=0.2)
    events_sql = f"SELECT count() FROM {db}.events"

    with monkeypatch.context() as patch:
        patch.setattr(Sink, "_commit", lambda self, batch: None)
        with SinkThread(config):
            wait_for(
                "every event", lambda: count(clickhouse, events_sql) >= len(expected.event_ids)
            )

    produce(sink_settings.kafka_bootstrap, records[1_000:3_000])
    with SinkThread(config):
        wait_for("the sink to commit past every record", lambda: caught_up(config))

    assert count(clickhouse, events_sql) == len(expected.event_ids)
    assert count(clickhouse, f"SELECT uniqExact(id) FROM {db}.events") == len(expected.event_ids)
    assert count(clickhouse, f"SELECT count() - uniqExact(id, version) FROM {db}.sessions") == 0

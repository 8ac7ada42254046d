"""The sink against the real Kafka and ClickHouse 18.16: every table, dedup, dead letters."""

from __future__ import annotations

import orjson
import pytest
from clickhouse_driver import Client
from confluent_kafka import Consumer

from sink.config import SinkConfig
from tests.sink.conftest import SinkThread, count, produce, wait_for
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
    assert count(clickhouse, f"SELECT count() FROM {db}.sessions") == len(
        expected.session_versions
    )
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

"""The Faust app: topics, tables, the two agents and the clock.

- the raw events topic is read by `RawSource` (librdkafka) on the partitions
  Faust assigns to this worker; the `session_ticks` agent reads the ticks
  topic (co-partitioned: partition p of every topic goes to the same worker).
  Both go through `Processor.process_raw`, one batch at a time, which keeps
  one `devices` table entry per device and writes the events, sessions and
  replay-chunks topics. Profile and group changes are forwarded to the ops
  topic keyed by profile or group.
- `profile_ops` reads the ops topic into the `profiles` table and writes the
  profiles and groups topics.
- every `tick_s` each worker writes its wall clock into the ticks topic
  partitions it owns, so that session ends are decided inside the stream,
  where table writes are allowed, in order with the events.

Processing guarantee: at-least-once with deterministic ids; see
`streams.processor` for the order of outputs, state and offsets.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from mode import CrashingSupervisor

from streams.config import StreamsConfig
from streams.incoming import Incoming
from streams.output import Output
from streams.processor import Processor, now_ms
from streams.raw_source import RawSource
from streams.state_store import DeviceStore

log = logging.getLogger(__name__)

# Faust commits offsets of the topics it reads itself (ticks, profile changes)
# this often, and after this many records.
COMMIT_INTERVAL_S = 1.0
COMMIT_EVERY = 10_000


def build_app(config: StreamsConfig) -> faust.App:
    settings = config.settings
    partitions = settings.partitions
    app = _faust_app(config)

    # One producer per agent (and one for the clock), so that each confirms
    # exactly its own records.
    output = Output(settings.kafka_bootstrap, config.delivery_timeout_s)
    ops_output = Output(settings.kafka_bootstrap, config.delivery_timeout_s)
    tick_output = Output(settings.kafka_bootstrap, config.delivery_timeout_s)
    raw_options: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "partitions": partitions,
    }
    devices = app.Table("devices", partitions=partitions, **_raw_serializers())
    ops_table = app.Table("profiles", partitions=partitions, **_raw_serializers())
    store = DeviceStore(devices, output)
    raw_source = RawSource(
        settings.kafka_bootstrap,
        config.topics.raw_events,
        group_id=f"{config.app_id}-raw",
        batch_max=config.batch_max,
        handle=lambda batch: processor.process_raw(batch),
        next_offset=store.next_offset,
    )
    processor = Processor(
        config, output, store, ops_output, ops_table, is_caught_up=raw_source.is_caught_up
    )

    ticks_source = app.topic(config.ticks_topic, **raw_options)
    ops_source = app.topic(config.ops_topic, **raw_options)

    async def session_ticks(stream: Any) -> None:
        async for events in stream.take_events(config.batch_max, within=config.batch_within_s):
            async with raw_source.lock:
                await processor.process_raw([Incoming.from_faust(e) for e in events])

    async def profile_ops(stream: Any) -> None:
        async for events in stream.take_events(config.batch_max, within=config.batch_within_s):
            await processor.process_ops(events)

    async def send_ticks() -> None:
        tick = {"now_ms": now_ms()}
        for tp in app.assignor.assigned_actives():
            if tp.topic == config.ticks_topic:
                tick_output.send(config.ticks_topic, None, tick, partition=tp.partition)
        tick_output.poll()

    async def read_raw() -> None:
        await raw_source.run()

    async def on_assignment_change(sender: Any, *args: Any, **kwargs: Any) -> None:
        await raw_source.pause()
        processor.on_assignment_changed()

    async def on_rebalance_complete(sender: Any, **kwargs: Any) -> None:
        partitions = sorted(
            tp.partition
            for tp in app.assignor.assigned_actives()
            if tp.topic == config.ticks_topic
        )
        log.info("raw partitions assigned partitions=%s", partitions)
        await raw_source.resume(partitions)

    # An agent that fails (Kafka refused or timed out a batch's outputs) stops
    # the worker, so that it restarts from its stored positions, instead of
    # being restarted alone past the batch it did not finish.
    app.agent(ticks_source, name="session_ticks", supervisor_strategy=CrashingSupervisor)(
        session_ticks
    )
    app.agent(ops_source, name="profile_ops", supervisor_strategy=CrashingSupervisor)(profile_ops)
    app.timer(config.tick_s, name="send_ticks")(send_ticks)
    app.task(read_raw)  # a failure here crashes the worker (mode's task handling)
    # mode's stubs want a keyword-only `signal` parameter; **kwargs receives it.
    app.on_partitions_revoked.connect(on_assignment_change)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(on_assignment_change)  # type: ignore[arg-type]
    app.on_rebalance_complete.connect(on_rebalance_complete)  # type: ignore[arg-type]
    return app


def _faust_app(config: StreamsConfig) -> faust.App:
    settings = config.settings
    return faust.App(
        config.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="rocksdb://",
        datadir=str(config.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        topic_disable_leader=True,
        table_standby_replicas=1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=COMMIT_INTERVAL_S,
        broker_session_timeout=config.group_session_timeout_s,
        broker_heartbeat_interval=config.group_session_timeout_s / 10,
        broker_commit_every=COMMIT_EVERY,
        producer_acks=-1,
        # One changelog record per changed device per batch: let them share
        # produce requests instead of sending each on its own.
        producer_linger=0.02,
        producer_max_batch_size=1_048_576,
        stream_buffer_maxsize=20_000,
        web_enabled=config.web_port is not None,
        web_port=config.web_port or 6066,
        web_host="127.0.0.1",
        # web_host only names the advertised URL; the socket binds to web_bind
        web_bind="127.0.0.1",
    )


def _raw_serializers() -> dict[str, Any]:
    """Keys and values stay bytes (Faust picks the raw codec for `bytes`): the
    processor encodes its state itself."""
    return {"key_type": bytes, "value_type": bytes}

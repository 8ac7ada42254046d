"""Batches of raw events and ticks in, sessionized records out, then state.

Contract, per batch (this order is what makes a crash safe):
1. apply every event to its device's state in memory, collecting the outputs;
2. `Output.confirm()`: Kafka has acknowledged every output of the batch;
3. only then write each changed device's state, and each raw partition's
   next offset, to the local table and queue their changelog records (one per
   device), and confirm those too;
4. return; the next batch starts.

After a crash, reading resumes at the stored next offset, which may be behind
the device states (they are separate records). A device
whose state already holds an event (`DeviceState.offset`) skips it, since its
outputs were confirmed before that state was written; otherwise the event is
applied again and its outputs, which may already be in Kafka, carry the same
deterministic ids, so downstream drops the repeats.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from streams import profiles, records
from streams.config import StreamsConfig
from streams.due_index import DueIndex
from streams.event_context import event_context
from streams.incoming import Incoming
from streams.output import Output
from streams.ratelimit import RateLimitedLog
from streams.sessionizer import DeviceState
from streams.state_store import DeviceStore

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


class _Batch:
    def __init__(self) -> None:
        self.states: dict[bytes, DeviceState | None] = {}
        self.now_ms = now_ms()
        self.dirty: set[bytes] = set()


class Processor:
    def __init__(
        self,
        config: StreamsConfig,
        output: Output,
        devices: DeviceStore,
        ops_output: Output,
        ops: Any,
        is_caught_up: Callable[[int], bool],
    ) -> None:
        self._config = config
        self._is_caught_up = is_caught_up
        self._topics = config.topics
        self._topic_of = {
            "events": self._topics.events,
            "sessions": self._topics.sessions,
            "replay": self._topics.replay_chunks,
        }
        self._output = output
        self._devices = devices
        self._ops_output = ops_output
        self._ops = ops
        # partition -> device key -> when `DeviceState.tick` next has work
        self._due = DueIndex()
        self._indexed = False
        self._bad_records = RateLimitedLog(log, "dead-lettered records", interval_s=10.0)

    def on_assignment_changed(self) -> None:
        """Forget the due index: it is rebuilt from the tables at the next tick."""
        self._indexed = False
        self._due.clear()
        self._devices.clear_cache()

    # -- the raw topic and ticks ------------------------------------------------

    async def process_raw(self, messages: Sequence[Incoming]) -> None:
        """One batch of raw events and ticks; the caller holds `RawSource.lock`."""
        batch = _Batch()
        next_offsets: dict[int, int] = {}
        for message in messages:
            try:
                if message.topic == self._config.ticks_topic:
                    self._tick(batch, message)
                else:
                    next_offsets[message.partition] = message.offset + 1
                    self._raw(batch, message)
            except Exception as exc:  # noqa: BLE001 - a poison record must not stop the stream
                self._dead_letter(message, exc, self._output)

        for key in batch.dirty:
            state = batch.states[key]
            if state is not None:
                state.finish_batch(self._emitter())
        await self._output.confirm()
        self._write_devices(batch)
        for partition, offset in next_offsets.items():
            self._devices.write_next_offset(partition, offset)
        await self._output.confirm()

    def _raw(self, batch: _Batch, message: Incoming) -> None:
        raw = records.decode_raw(message.value)
        kind = raw["type"]
        if kind in records.PROFILE_TYPES or kind == "group":
            self._output.send(self._config.ops_topic, profiles.op_key(raw), message.value)
            return

        key = f"{raw['project_id']}:{raw['device_id']}".encode()
        state = self._load(batch, key, message.partition)
        if kind == "replay":
            view = state or DeviceState.new(raw["project_id"], raw["device_id"], -1)
            self._emit(
                "replay",
                f"{raw['project_id']}:{view.session_id_for_replay(raw)}",
                records.replay_chunk(raw, view.session_id_for_replay(raw)),
            )
            return
        if state is None:
            state = DeviceState.new(raw["project_id"], raw["device_id"], message.partition)
            batch.states[key] = state
        elif message.offset <= state.offset:
            return  # applied before a crash; its outputs were confirmed then
        state.apply_track(raw, message.offset, self._emitter(), arrived_ms=batch.now_ms)
        batch.dirty.add(key)

    def _tick(self, batch: _Batch, message: Incoming) -> None:
        tick_ms = int(orjson.loads(message.value or b"")["now_ms"])
        if not self._indexed:
            self._rebuild_index()
        if not self._is_caught_up(message.partition):
            return
        for key in self._due.pop_due(message.partition, tick_ms):
            state = self._load(batch, key, message.partition)
            if state is None:
                continue
            state.tick(tick_ms, self._emitter())
            batch.dirty.add(key)

    def _load(self, batch: _Batch, key: bytes, partition: int) -> DeviceState | None:
        if key in batch.states:
            return batch.states[key]
        state = self._devices.get(key, partition)
        batch.states[key] = state
        return state

    def _write_devices(self, batch: _Batch) -> None:
        for key in batch.dirty:
            state = batch.states[key]
            if state is None:
                continue
            self._devices.write(key, state)
            next_due_ms = None if state.is_empty() else state.next_due_ms()
            self._due.set(state.partition, key, next_due_ms)

    def _rebuild_index(self) -> None:
        self._due.clear()
        count = 0
        for key, state in self._devices.items():
            next_due_ms = state.next_due_ms()
            if next_due_ms is not None:
                self._due.set(state.partition, key, next_due_ms)
                count += 1
        self._indexed = True
        log.info("rebuilt session due index devices=%d", count)

    # -- profile and group changes ----------------------------------------------

    async def process_ops(self, events: Sequence[Any]) -> None:
        states: dict[bytes, profiles.State] = {}
        contexts: dict[bytes, Any] = {}
        for event in events:
            message = event.message
            try:
                raw = records.decode_raw(message.value)
                key = profiles.op_key(raw).encode()
                if key not in contexts:
                    with event_context(event):
                        loaded = profiles.loads(self._ops.get(key))
                    if loaded is not None:
                        states[key] = loaded
                    contexts[key] = event
                changed = profiles.apply(states.get(key), raw)
                if changed is not None:
                    states[key] = changed
            except Exception as exc:  # noqa: BLE001 - a poison record must not stop the stream
                self._dead_letter(Incoming.from_faust(event), exc, self._ops_output)

        for state in states.values():
            if profiles.is_group(state):
                topic, key_text = self._topics.groups, f"{state['project_id']}:{state['group_id']}"
            else:
                topic = self._topics.profiles
                key_text = f"{state['project_id']}:{state['profile_id']}"
            self._ops_output.send(topic, key_text, profiles.output_record(state))
        await self._ops_output.confirm()
        for key, state in states.items():
            with event_context(contexts[key]):
                self._ops[key] = orjson.dumps(state)

    # -- outputs ----------------------------------------------------------------

    def _emitter(self) -> Any:
        return self._emit

    def _emit(self, kind: str, key: str, record: records.Record) -> None:
        self._output.send(self._topic_of[kind], key, record)

    def _dead_letter(self, message: Incoming, exc: Exception, output: Output) -> None:
        self._bad_records.warn(
            "topic=%s partition=%s offset=%s error=%s",
            message.topic,
            message.partition,
            message.offset,
            exc,
            exc_info=exc,
        )
        output.send(
            self._topics.dead_letter,
            message.key,
            records.dead_letter(
                source_topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                error=f"{type(exc).__name__}: {exc}",
                value=message.value,
                now_ms=now_ms(),
            ),
        )

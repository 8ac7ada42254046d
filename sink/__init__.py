"""The ClickHouse sink: the stream processor's output topics into ClickHouse.

`python -m sink run` consumes events, sessions, profiles, groups and replay
chunks, writes each batch with one insert per table, and commits Kafka offsets
only after ClickHouse confirmed every insert of the batch. See docs/sink.md.
"""

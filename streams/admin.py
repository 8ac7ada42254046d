"""Creating the stream processor's topics before the worker starts.

Faust ignores a subscribed topic that does not exist yet when it starts, so
every source and output topic is created up front with the configured number
of partitions. A topic that already exists with another partition count is an
error: the device-to-partition mapping and the tables depend on it.
"""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from streams.config import StreamsConfig

log = logging.getLogger(__name__)

# Topic creation is a metadata round trip on a local broker; 30 s covers a
# broker that is still starting.
CREATE_TIMEOUT_S = 30.0


class PartitionMismatch(RuntimeError):
    pass


def topic_names(config: StreamsConfig) -> list[str]:
    topics = config.topics
    return [
        topics.raw_events,
        *topics.outputs(),
        topics.dead_letter,
        config.ticks_topic,
        config.ops_topic,
    ]


def ensure_topics(config: StreamsConfig) -> None:
    admin = AdminClient({"bootstrap.servers": config.settings.kafka_bootstrap})
    partitions = config.settings.partitions
    names = topic_names(config)
    metadata = admin.list_topics(timeout=CREATE_TIMEOUT_S)
    missing = [name for name in names if name not in metadata.topics]
    if missing:
        futures = admin.create_topics(
            [NewTopic(name, partitions, 1) for name in missing],
            operation_timeout=CREATE_TIMEOUT_S,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=CREATE_TIMEOUT_S)
                log.info("created topic=%s partitions=%d", name, partitions)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        metadata = admin.list_topics(timeout=CREATE_TIMEOUT_S)
    for name in names:
        found = len(metadata.topics[name].partitions)
        if found != partitions:
            raise PartitionMismatch(
                f"topic {name} has {found} partitions but TRACKFLOW_PARTITIONS is {partitions}"
            )

"""Creating the stream processor's topics before the worker starts.

Faust ignores a subscribed topic that does not exist yet when it starts, so
every source and output topic is created up front with the configured number
of partitions. A topic that already exists with another partition count is an
error: the device-to-partition mapping and the tables depend on it.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # ClusterMetadata: exported at runtime, not in the typing stubs
    AdminClient,
    ClusterMetadata,
)
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


def changelog_names(config: StreamsConfig) -> list[str]:
    """Faust's changelog topics of the worker's tables (see `streams.app`)."""
    return [f"{config.app_id}-{table}-changelog" for table in ("devices", "profiles")]


def ensure_topics(config: StreamsConfig) -> None:
    admin = AdminClient({"bootstrap.servers": config.settings.kafka_bootstrap})
    partitions = config.settings.partitions
    changelogs = changelog_names(config)
    names = topic_names(config) + changelogs
    metadata = admin.list_topics(timeout=CREATE_TIMEOUT_S)
    missing = [name for name in names if name not in metadata.topics]
    if missing:
        # Created here rather than by Faust, so that a worker never starts
        # before its changelogs exist; compacted, as Faust makes them.
        futures = admin.create_topics(
            [
                NewTopic(
                    name,
                    partitions,
                    1,
                    config={"cleanup.policy": "compact"} if name in changelogs else {},
                )
                for name in missing
            ],
            operation_timeout=CREATE_TIMEOUT_S,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=CREATE_TIMEOUT_S)
                log.info("created topic=%s partitions=%d", name, partitions)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        metadata = _metadata_with(admin, names)
    for name in names:
        found = len(metadata.topics[name].partitions)
        if found != partitions:
            raise PartitionMismatch(
                f"topic {name} has {found} partitions but TRACKFLOW_PARTITIONS is {partitions}"
            )


def _metadata_with(admin: AdminClient, names: list[str]) -> ClusterMetadata:
    """Cluster metadata once it lists every topic just created: the broker
    answers CreateTopics before every metadata answer knows the new topics."""
    deadline = time.monotonic() + CREATE_TIMEOUT_S
    while True:
        metadata = admin.list_topics(timeout=CREATE_TIMEOUT_S)
        complete = all(
            name in metadata.topics and metadata.topics[name].partitions for name in names
        )
        if complete or time.monotonic() > deadline:
            return metadata
        time.sleep(0.2)

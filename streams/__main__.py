"""`python -m streams worker --data-dir DIR [--web-port P]`: one stream worker.

Several processes, each with its own data dir, share the partitions of the raw
events topic; Kafka's consumer group balances them.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import faust
import uvloop

from streams.admin import ensure_topics
from streams.app import build_app
from streams.config import StreamsConfig
from trackflow import settings as settings_module
from trackflow.logthrottle import throttle

log = logging.getLogger("streams")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streams")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run one stream worker")
    worker.add_argument("--data-dir", type=Path, required=True, help="this worker's own tables")
    worker.add_argument("--web-port", type=int, default=None, help="Faust's web view (off)")
    worker.add_argument("--loglevel", default="info")
    args = parser.parse_args(argv)

    config = StreamsConfig(
        settings=settings_module.load(), data_dir=args.data_dir, web_port=args.web_port
    )
    logging.basicConfig(
        level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    log.info(
        "starting stream worker app_id=%s bootstrap=%s partitions=%d data_dir=%s tick_s=%s "
        "batch_max=%d",
        config.app_id,
        config.settings.kafka_bootstrap,
        config.settings.partitions,
        config.data_dir,
        config.tick_s,
        config.batch_max,
    )
    # While the broker is away aiokafka logs each failed connection attempt.
    throttle(
        "aiokafka",
        "aiokafka.conn",
        "aiokafka.consumer.fetcher",
        "aiokafka.consumer.group_coordinator",
        "aiokafka.producer.sender",
    )
    ensure_topics(config)
    # Faust spends most of its per-message time creating and scheduling
    # asyncio tasks; uvloop makes that several times cheaper.
    uvloop.install()
    app = build_app(config)
    faust.Worker(app, loglevel=args.loglevel).execute_from_commandline()


if __name__ == "__main__":
    main()

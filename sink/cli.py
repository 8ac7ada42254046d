"""`python -m sink run|migrate`, and the same commands for the `trackflow` CLI."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import time
from types import FrameType

from prometheus_client import start_http_server

from schemas.clickhouse.migrations import migrate
from schemas.clickhouse.render import Dialect
from sink.clickhouse import ClickHouse
from sink.config import SinkConfig
from sink.consumer import Sink

log = logging.getLogger("sink")


def connect(config: SinkConfig) -> tuple[ClickHouse, Dialect]:
    """Connects and detects the server's dialect, waiting while ClickHouse is down."""
    clickhouse = ClickHouse(config.settings)
    attempt = 0
    while True:
        try:
            return clickhouse, clickhouse.dialect()
        except Exception as exc:  # noqa: BLE001 - unreachable or starting: wait, then retry
            attempt += 1
            pause_s = min(config.retry_max_s, 0.2 * 2**attempt)
            log.warning(
                "clickhouse %s:%d not answering (attempt %d, retry in %.1f s): %s",
                clickhouse.host,
                clickhouse.port,
                attempt,
                pause_s,
                exc,
            )
            clickhouse.disconnect()
            time.sleep(pause_s)


def run_migrate(args: argparse.Namespace) -> int:
    config = SinkConfig()
    clickhouse, dialect = connect(config)
    ran = migrate(clickhouse, config.database, dialect)
    print(f"database {config.database}: ran migrations {ran or 'none (up to date)'}")
    return 0


def run_sink(args: argparse.Namespace) -> int:
    config = SinkConfig()
    # A batch keeps ~10 objects per row alive until it is written; with the
    # default thresholds the collector rescans them thousands of times a second.
    gc.set_threshold(100_000, 50, 100)
    if args.metrics_port:
        start_http_server(args.metrics_port, addr="127.0.0.1")
        log.info("metrics on http://127.0.0.1:%d/metrics", args.metrics_port)
    clickhouse, dialect = connect(config)
    migrate(clickhouse, config.database, dialect)
    sink = Sink(config, clickhouse, dialect)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received; writing the current batch, then stopping", signum)
        sink.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sink.run()
    return 0


def _add_run(subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    run = subparsers.add_parser(name, help="consume the output topics into ClickHouse")
    run.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics")
    run.set_defaults(func=run_sink)


def _add_migrate(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate_cmd = subparsers.add_parser("migrate", help="create or upgrade the ClickHouse tables")
    migrate_cmd.set_defaults(func=run_migrate)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """For the `trackflow` CLI: `trackflow migrate` and `trackflow sink [--metrics-port P]`."""
    _add_migrate(subparsers)
    _add_run(subparsers, "sink")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    parser = argparse.ArgumentParser(prog="python -m sink", description=__doc__)
    subparsers = parser.add_subparsers(required=True)
    _add_run(subparsers, "run")
    _add_migrate(subparsers)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code

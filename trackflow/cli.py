"""`trackflow`: one entry point for operating the pipeline.

trackflow run       the pipeline in the foreground (Ctrl-C stops it)
trackflow start     the same in the background; returns once it is ready
trackflow status    which processes run, and whether the ingress is ready
trackflow stop      stop what `start` started
trackflow demo      replay the real data sets through the running pipeline
trackflow project … / client …   manage the registry (see --help)
trackflow migrate   create or upgrade the ClickHouse tables
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from trackflow import pipeline, settings
from trackflow.supervisor import CrashLoop, Supervisor

log = logging.getLogger("trackflow")


def _layout_args(parser: argparse.ArgumentParser) -> None:
    defaults = pipeline.Layout()
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("TRACKFLOW_INGRESS_PORT", defaults.ingress_port)),
    )
    parser.add_argument(
        "--ingress-workers",
        type=int,
        default=int(os.environ.get("TRACKFLOW_INGRESS_WORKERS", defaults.ingress_workers)),
    )
    parser.add_argument(
        "--streams-workers",
        type=int,
        default=int(os.environ.get("TRACKFLOW_STREAMS_WORKERS", defaults.streams_workers)),
    )


def _layout(args: argparse.Namespace) -> pipeline.Layout:
    defaults = pipeline.Layout()
    return pipeline.Layout(
        ingress_port=args.port,
        ingress_workers=args.ingress_workers,
        streams_workers=args.streams_workers,
        streams_web_port=int(
            os.environ.get("TRACKFLOW_STREAMS_WEB_PORT", defaults.streams_web_port)
        ),
        sink_metrics_port=int(
            os.environ.get("TRACKFLOW_SINK_METRICS_PORT", defaults.sink_metrics_port)
        ),
    )


def cmd_run(args: argparse.Namespace) -> int:
    config = settings.load()
    layout = _layout(args)
    log_dir = config.data_dir / "logs"
    supervisor = Supervisor(pipeline.process_specs(config, layout), log_dir)
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        log.info("signal received, stopping signal=%s", signal.Signals(signum).name)
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info(
        "pipeline starting kafka=%s clickhouse=%s:%d topic_prefix=%s partitions=%d layout=%s",
        config.kafka_bootstrap,
        config.clickhouse_host,
        config.clickhouse_port,
        config.topic_prefix,
        config.partitions,
        layout,
    )
    pipeline.create_topics(config)
    supervisor.start()
    pids = supervisor.pids()
    pipeline.State(os.getpid(), layout, str(log_dir), pids).save(config)
    try:
        while not stopping:
            supervisor.check()
            if supervisor.pids() != pids:
                pids = supervisor.pids()
                pipeline.State(os.getpid(), layout, str(log_dir), pids).save(config)
            time.sleep(0.5)
    except CrashLoop as exc:
        log.error("%s", exc)
        supervisor.stop()
        return 1
    supervisor.stop()
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    config = settings.load()
    state = pipeline.State.load(config)
    if state and state.alive():
        print(
            f"pipeline already running (pid {state.supervisor_pid});"
            f" ingress at {state.layout.ingress_url}"
        )
        return 0
    layout = _layout(args)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    out = (config.data_dir / "supervisor.log").open("ab")
    argv = [
        sys.executable,
        "-m",
        "trackflow.cli",
        "run",
        "--port",
        str(layout.ingress_port),
        "--ingress-workers",
        str(layout.ingress_workers),
        "--streams-workers",
        str(layout.streams_workers),
    ]
    proc = subprocess.Popen(
        argv,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        pipeline.wait_ready(
            layout.ingress_url, args.timeout, still_running=lambda: proc.poll() is None
        )
    except TimeoutError as exc:
        print(f"trackflow: {exc}; logs in {config.data_dir / 'logs'}", file=sys.stderr)
        _print_tail(config.data_dir / "supervisor.log")
        proc.terminate()
        proc.wait(40)
        return 1
    print(f"pipeline running (pid {proc.pid}); ingress at {layout.ingress_url}")
    print(f"logs: {config.data_dir / 'logs'}; stop it with `trackflow stop`")
    return 0


def _print_tail(path: Path, lines: int = 15) -> None:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return
    print(f"--- last lines of {path} ---", file=sys.stderr)
    for line in tail:
        print(line, file=sys.stderr)


def cmd_stop(_args: argparse.Namespace) -> int:
    config = settings.load()
    state = pipeline.State.load(config)
    if state is None or not state.alive():
        print("pipeline not running")
        return 0
    os.kill(state.supervisor_pid, signal.SIGTERM)
    # the supervisor gives its processes 30 s to stop; allow a little more
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and state.alive():
        time.sleep(0.3)
    if state.alive():
        print(f"pipeline (pid {state.supervisor_pid}) did not stop in 40 s", file=sys.stderr)
        return 1
    print("pipeline stopped")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    config = settings.load()
    state = pipeline.State.load(config)
    if state is None or not state.alive():
        print("pipeline not running")
        return 3
    print(f"pipeline running (supervisor pid {state.supervisor_pid}), logs in {state.log_dir}")
    for name, pid in sorted(state.pids.items()):
        print(
            f"  {name:<10} pid {pid:<8} {'running' if pipeline.pid_alive(pid) else 'NOT running'}"
        )
    try:
        pipeline.wait_ready(state.layout.ingress_url, timeout_s=3)
        print(f"ingress ready at {state.layout.ingress_url}")
    except TimeoutError as exc:
        print(f"ingress NOT ready: {exc}")
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from trackflow.demo import main as demo_main

    return demo_main.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trackflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the pipeline in the foreground")
    _layout_args(run)
    run.set_defaults(func=cmd_run)

    start = sub.add_parser("start", help="run the pipeline in the background")
    _layout_args(start)
    start.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for readiness"
    )
    start.set_defaults(func=cmd_start)

    sub.add_parser("stop", help="stop the background pipeline").set_defaults(func=cmd_stop)
    sub.add_parser("status", help="is the pipeline running and ready").set_defaults(
        func=cmd_status
    )

    from trackflow.demo import main as demo_main

    demo_main.add_arguments(sub.add_parser("demo", help="replay the real data sets"))
    sub.choices["demo"].set_defaults(func=cmd_demo)

    _add_component_commands(sub)
    return parser


def _add_component_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ingress import registry_cli
    from sink import cli as sink_cli

    registry_cli.add_commands(sub)
    sink_cli.add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # one line per HTTP request would drown the demo's output
    logging.getLogger("httpx").setLevel(logging.WARNING)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

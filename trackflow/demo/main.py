"""`trackflow demo`: replay the real data sets through the running pipeline.

Steps: create a demo project and client, flush every Aarhus sensor's last
7 days through `/track/batch` and every NASA host's page views through
`/track` (both shifted so the newest event is a few minutes old), wait until
ClickHouse holds every accepted event, then print a summary read back from
ClickHouse.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingress.registry import Registry
from trackflow import pipeline, settings
from trackflow.demo import datasets, replay, summary
from trackflow.settings import Settings, env_float

NEWEST_AGE_MS = 3 * 60_000
START_DELAY_S = env_float("TRACKFLOW_HISTORICAL_START_DELAY_S", 30.0)
IOT_DAYS = 7


@dataclass(frozen=True)
class DemoPlan:
    """How much of the data to replay; the test runs a smaller slice."""

    sensors: int | None = None
    hosts: int | None = None
    iot_days: float = IOT_DAYS
    parallel_devices: int = 4
    web_concurrency: int = 16
    settle_timeout_s: float = 300.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="ingress URL (default: the running pipeline's)")
    parser.add_argument("--sensors", type=int, help="replay only this many Aarhus sensors")
    parser.add_argument("--hosts", type=int, help="replay only this many NASA hosts")
    parser.add_argument("--settle-timeout", type=float, default=300.0)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def build_iot_backlogs(plan: DemoPlan, now_ms: int) -> dict[str, list[dict[str, object]]]:
    backlogs = {}
    for path in datasets.aarhus_paths()[: plan.sensors]:
        readings = datasets.last_days(list(datasets.read_aarhus(path)), plan.iot_days)
        offset = replay.shift_to_now([r.time_ms for r in readings], now_ms, NEWEST_AGE_MS)
        backlogs[path.stem] = [replay.reading_event(r, offset) for r in readings]
    return backlogs


def build_web_events(plan: DemoPlan, now_ms: int) -> list[dict[str, object]]:
    requests = datasets.read_nasa()
    if plan.hosts is not None:
        keep = set(sorted({r.host for r in requests})[: plan.hosts])
        requests = [r for r in requests if r.host in keep]
    if not requests:
        return []
    offset = replay.shift_to_now([r.time_ms for r in requests], now_ms, NEWEST_AGE_MS)
    return [replay.page_view_event(r, offset) for r in requests]


def run_demo(
    config: Settings,
    url: str,
    plan: DemoPlan,
    console: Console,
) -> summary.Summary:
    registry = Registry(config.registry_path)
    project = registry.create_project(f"demo {time.strftime('%Y-%m-%d %H:%M:%S')}")
    client, secret = registry.create_client(project.id, name="demo replay")
    assert secret is not None
    credentials = replay.Credentials(client.id, secret)
    console.print(f"demo project [bold]{project.id}[/] with client {client.id}")

    now_ms = int(time.time() * 1000)
    backlogs = build_iot_backlogs(plan, now_ms)
    web_events = build_web_events(plan, now_ms)
    results: dict[str, replay.ReplayResult] = {}
    with _progress(console) as progress:
        if backlogs:
            total = sum(len(events) for events in backlogs.values())
            task = progress.add_task(f"IoT: {len(backlogs)} sensors, /track/batch", total=total)
            results["iot"] = replay.replay_iot(
                url,
                credentials,
                backlogs,
                plan.parallel_devices,
                lambda n: progress.advance(task, n),
            )
        if web_events:
            task = progress.add_task("Web: NASA page views, /track", total=len(web_events))
            results["web"] = replay.replay_web(
                url,
                credentials,
                web_events,
                plan.web_concurrency,
                lambda n: progress.advance(task, n),
            )
    if not backlogs:
        console.print(
            "[yellow]Aarhus sensor data not found (shared/data); replayed the web log only.[/]"
        )

    accepted = sum(r.accepted for r in results.values())
    with _progress(console) as progress:
        stored_task = progress.add_task("ClickHouse: events stored", total=accepted)
        starts_task = progress.add_task("ClickHouse: session_start events", total=None)

        def show(events: int, sessions: int, starts: int) -> None:
            progress.update(stored_task, completed=events)
            progress.update(starts_task, completed=starts, total=max(sessions, 1))

        console.print(
            "A backfilled session's session_start is written once its upload has been quiet"
            f" for {START_DELAY_S:g} s; waiting for them."
        )
        report = summary.wait_and_summarize(
            config, project.id, accepted, plan.settle_timeout_s, show
        )
    report.replays = results
    return report


def run(args: argparse.Namespace) -> int:
    console = Console()
    config = settings.load()
    url = args.url
    if url is None:
        state = pipeline.State.load(config)
        if state is None or not state.alive():
            console.print("[red]The pipeline is not running: start it with `trackflow start`.[/]")
            return 1
        url = state.layout.ingress_url
    plan = DemoPlan(sensors=args.sensors, hosts=args.hosts, settle_timeout_s=args.settle_timeout)
    report = run_demo(config, url, plan, console)
    summary.render(report, config, console)
    console.print(
        "\nThe pipeline is still running. Stop it with [bold].venv/bin/trackflow stop[/]"
        " and the stack with [bold]scripts/stack down[/]."
    )
    return 0 if report.settled else 1

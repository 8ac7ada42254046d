"""The two real data sets the demo replays, read into plain records.

The full sets live in the steering folder's `shared/data/` (see
`data/README.md` for their provenance); the project carries a slice of the
NASA log, a US government work, so the demo still runs without them. The
Aarhus traffic set is not carried: its redistribution terms are unclear.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trackflow.settings import ROOT

CARRIED_DIR = ROOT / "data"


def shared_dir() -> Path | None:
    """The full data sets, when this machine has them."""
    candidates = [
        os.environ.get("TRACKFLOW_SHARED_DATA", ""),
        str(ROOT.parent / "shared" / "data"),
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "nasa_19950801.tsv").exists():
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Reading:
    """One 5-minute report of an Aarhus traffic sensor."""

    sensor_id: str
    time_ms: int
    record_id: str
    vehicle_count: int
    avg_speed_kmh: int
    avg_measured_time_s: int
    median_measured_time_s: int


@dataclass(frozen=True)
class Request:
    """One request in the NASA web server log."""

    host: str
    time_ms: int
    method: str
    url: str
    status: int
    size_bytes: int


def nasa_log_path() -> Path:
    shared = shared_dir()
    if shared is not None:
        return shared / "nasa_19950801.tsv"
    return CARRIED_DIR / "nasa_19950801.slice.tsv"


def read_nasa(path: Path | None = None) -> list[Request]:
    path = path or nasa_log_path()
    requests = []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            requests.append(
                Request(
                    host=row["host"],
                    time_ms=int(row["time"]) * 1000,
                    method=row["method"],
                    url=row["url"],
                    status=int(row["response"] or 0),
                    size_bytes=int(row["bytes"]) if row["bytes"].isdigit() else 0,
                )
            )
    return requests


def aarhus_paths() -> list[Path]:
    shared = shared_dir()
    if shared is None:
        return []
    return sorted(shared.glob("AarhusTrafficData*.stream"))


def _parse_local(stamp: str) -> int:
    # The files carry local time without a zone; read it as UTC. Only the
    # spacing of readings matters once the demo shifts them to the present.
    return int(datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() * 1000)


def read_aarhus(path: Path) -> Iterator[Reading]:
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield Reading(
                sensor_id=row["REPORT_ID"],
                time_ms=_parse_local(row["TIMESTAMP"]),
                record_id=row["_id"],
                vehicle_count=int(row["vehicleCount"]),
                avg_speed_kmh=int(row["avgSpeed"]),
                avg_measured_time_s=int(row["avgMeasuredTime"]),
                median_measured_time_s=int(row["medianMeasuredTime"]),
            )


def last_days(readings: list[Reading], days: float) -> list[Reading]:
    """The readings of the last `days` before the newest one, in file order."""
    if not readings:
        return []
    newest = max(r.time_ms for r in readings)
    cutoff = newest - int(days * 86_400_000)
    return [r for r in readings if r.time_ms > cutoff]

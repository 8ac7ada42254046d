"""Runs the pipeline's processes (ingress, stream workers, sink) and keeps them up.

Each process writes its own log file. A process that exits on its own is
restarted with a growing delay; one that keeps failing (more than
`max_restarts` times within `restart_window_s`) stops the whole pipeline,
because a crash loop hides the error it repeats. `stop()` sends SIGTERM to
every process, waits, then SIGKILLs what is left.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Running:
    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log_file: IO[bytes]
    restarts: list[float] = field(default_factory=list)


class CrashLoop(RuntimeError):
    """A process kept exiting right after each restart."""


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        log_dir: Path,
        max_restarts: int = 5,
        restart_window_s: float = 60.0,
    ) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self._running: dict[str, _Running] = {}

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            self._running[spec.name] = self._spawn(spec, restarts=[])

    def pids(self) -> dict[str, int]:
        return {name: r.popen.pid for name, r in self._running.items()}

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def check(self) -> None:
        """Restart any process that exited; raise CrashLoop if one keeps failing."""
        for name, running in list(self._running.items()):
            code = running.popen.poll()
            if code is None:
                continue
            now = time.monotonic()
            recent = [t for t in running.restarts if now - t < self.restart_window_s]
            if len(recent) >= self.max_restarts:
                raise CrashLoop(
                    f"{name} exited with code {code} {len(recent) + 1} times within "
                    f"{self.restart_window_s:.0f} s; see {self.log_path(name)}"
                )
            delay_s = min(0.5 * 2 ** len(recent), 10.0)
            log.warning(
                "process exited name=%s code=%s restart_in_s=%.1f log=%s",
                name,
                code,
                delay_s,
                self.log_path(name),
            )
            time.sleep(delay_s)
            running.log_file.close()
            self._running[name] = self._spawn(running.spec, restarts=[*recent, now])

    def stop(self, timeout_s: float = 30.0) -> None:
        # Stream workers commit and hand their partitions back on SIGTERM; the
        # sink flushes its batch. 30 s covers both on a loaded 2-core machine.
        for running in self._running.values():
            if running.popen.poll() is None:
                running.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for name, running in self._running.items():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                running.popen.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("process did not stop in time, killing name=%s", name)
                running.popen.kill()
                running.popen.wait(5)
            running.log_file.close()
        log.info("pipeline stopped")

    def _spawn(self, spec: ProcessSpec, restarts: list[float]) -> _Running:
        log_file = self.log_path(spec.name).open("ab")
        env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
        popen = subprocess.Popen(
            spec.argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Linux only (prctl), like the rest of the local stack
            preexec_fn=_child_setup,
        )
        log.info("process started name=%s pid=%d log=%s", spec.name, popen.pid, log_file.name)
        return _Running(spec=spec, popen=popen, log_file=log_file, restarts=restarts)


_PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    """Runs in each child before exec: its own session (a terminal's Ctrl-C
    reaches the supervisor only, which stops the children in order), and
    SIGTERM when the supervisor dies, even by SIGKILL, so none is orphaned."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def python_module(module: str, *args: str) -> list[str]:
    """argv running a module of this project with the current interpreter."""
    return [sys.executable, "-m", module, *args]

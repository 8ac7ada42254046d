"""Starting and stopping `python -m streams worker` processes.

Used by the tests and by the `trackflow` CLI: a `WorkerProcess` runs one
worker with a given environment and data dir, writes its output to a log file,
and stops it with SIGTERM (or kills it with SIGKILL, for crash tests).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# A worker finishes its batch, commits and leaves the group on SIGTERM; 30 s
# covers a batch waiting for Kafka's confirmation.
STOP_TIMEOUT_S = 30.0


class WorkerProcess:
    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        web_port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path or data_dir / "worker.log"
        self._env = {**os.environ, **(env or {})}
        self._web_port = web_port
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "streams", "worker", "--data-dir", str(self.data_dir)]
        if self._web_port is not None:
            command += ["--web-port", str(self._web_port)]
        self._log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            command, env=self._env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        log.info("started stream worker pid=%d data_dir=%s", self._process.pid, self.data_dir)

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("stream worker pid=%d ignored SIGTERM; killing", self._process.pid)
                self._process.kill()
                self._process.wait(timeout=timeout_s)
        self._close()

    def kill(self) -> None:
        """SIGKILL: the crash the recovery tests simulate."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT_S)
        self._close()

    def wait_for_log(self, text: str, timeout_s: float, after: int = 0) -> int:
        """Wait until the log holds `text` past character `after`; return where it ends."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            log_text = self.log_text()
            found = log_text.find(text, after)
            if found >= 0:
                return found + len(text)
            if not self.is_running():
                raise RuntimeError(f"stream worker exited:\n{log_text[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"no {text!r} in the worker log after {timeout_s}s")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self._process = None

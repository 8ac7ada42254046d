from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trackflow.supervisor import CrashLoop, ProcessSpec, Supervisor


def wait_until(probe: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe():  # type: ignore[operator]  # any callable
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its state in /proc says it is gone
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_process_that_exits_is_restarted_and_a_crash_loop_stops(tmp_path: Path) -> None:
    supervisor = Supervisor(
        [ProcessSpec("short", [sys.executable, "-c", "import sys; sys.exit(3)"])],
        tmp_path,
        max_restarts=2,
        restart_window_s=60,
    )
    supervisor.start()
    first = supervisor.pids()["short"]
    with pytest.raises(CrashLoop, match="short exited with code 3"):
        for _ in range(100):
            supervisor.check()
            time.sleep(0.05)
    assert supervisor.pids()["short"] != first
    supervisor.stop()


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from trackflow.supervisor import ProcessSpec, Supervisor\n"
        "s = Supervisor([ProcessSpec('sleeper', ['sleep', '60'])], Path(sys.argv[1]))\n"
        "s.start()\n"
        "print(s.pids()['sleeper'], flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert alive(child)

    parent.send_signal(signal.SIGKILL)
    parent.wait(10)

    assert wait_until(lambda: not alive(child)), "the child outlived its supervisor"

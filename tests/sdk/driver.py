"""Runs `drive.mjs`: the official OpenPanel JavaScript SDK, unchanged, with Node.js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

SDK_DIR = Path(__file__).resolve().parent


def drive_sdk(config: dict[str, Any]) -> dict[str, Any]:
    """Run the driver with `config`; return the JSON object it prints."""
    node = shutil.which("node")
    assert node, "Node.js 20 is needed to run the OpenPanel SDK"
    assert (SDK_DIR / "node_modules" / "@openpanel" / "sdk").exists(), "run scripts/sdk-install"
    done = subprocess.run(
        [node, "drive.mjs", json.dumps(config)],
        cwd=SDK_DIR,
        capture_output=True,
        text=True,
        timeout=120,  # the SDK retries a failed request 3 times with backoff
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result

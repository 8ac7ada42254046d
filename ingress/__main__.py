"""`python -m ingress [--host H] [--port P] [--workers N]`: serve the ingress under uvicorn."""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import shutil
import tempfile
from typing import Any

import uvicorn

log = logging.getLogger("ingress")

# Given to uvicorn, which applies it in every worker process: the workers are
# spawned fresh and would otherwise log nothing of ours.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(process)d %(name)s %(message)s"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {"uvicorn.access": {"level": "WARNING"}},
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ingress", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("TRACKFLOW_INGRESS_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("TRACKFLOW_INGRESS_PORT", "8080"))
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("TRACKFLOW_INGRESS_WORKERS", "1"))
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # every worker writes its metrics here and /metrics sums them
        metrics_dir = tempfile.mkdtemp(prefix="trackflow-ingress-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    log.info("serving host=%s port=%d workers=%d", args.host, args.port, args.workers)
    uvicorn.run(
        "ingress.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=LOG_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    if metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

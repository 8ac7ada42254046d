"""`python -m ingress [--host H] [--port P] [--workers N]`: serve the ingress under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile

import uvicorn

log = logging.getLogger("ingress")


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
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # every worker writes its metrics here and /metrics sums them
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="trackflow-ingress-metrics-"
        )
    log.info("serving host=%s port=%d workers=%d", args.host, args.port, args.workers)
    uvicorn.run(
        "ingress.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()

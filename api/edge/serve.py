"""`gridlink serve`: one uvicorn process, or N of them sharing the listening socket
(`--workers N`, GRIDLINK_WORKERS). With several processes the timed jobs move out of the
server processes into one `gridlink worker` process started beside them (or, with
GRIDLINK_RUN_WORKER_IN_PROCESS=false, into workers the operator runs elsewhere), and the
processes count their metrics into one shared directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from starlette.applications import Starlette

from api.config import Settings
from api.ops.logs import configure_logging
from api.ops.metrics import MULTIPROCESS_ENV

# Seconds an idle connection stays open (uvicorn's default is 5). A phone on a thin link
# spends a round trip or more (and a TLS handshake) on each new connection; between the pages
# of a sync it is often idle for a few seconds while it stores what it got.
KEEP_ALIVE = 30
# Seconds a server process may take to answer the supervisor's health check (see serve()).
WORKER_HEALTHCHECK = 60


def app_factory() -> Starlette:
    """What each server process runs (uvicorn --factory): its settings from the environment."""
    from api.edge.app import create_app

    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(settings)


def serve(settings: Settings, *, host: str, port: int, workers: int) -> int:
    import uvicorn

    options = {
        "host": host,
        "port": port,
        "ws": "websockets",
        "log_config": None,
        "access_log": False,
        "factory": True,
        "timeout_keep_alive": KEEP_ALIVE,
    }
    if workers == 1:
        uvicorn.run("api.edge.serve:app_factory", **options)
        return 0
    configure_logging(settings)
    metrics_dir = tempfile.mkdtemp(prefix="gridlink-metrics-")
    # Spawned server processes read the environment afresh: they must not run the jobs.
    os.environ[MULTIPROCESS_ENV] = metrics_dir
    os.environ["GRIDLINK_RUN_WORKER_IN_PROCESS"] = "false"
    jobs = None
    if settings.run_worker_in_process:
        jobs = subprocess.Popen([sys.executable, "-m", "api.edge.cli", "worker"])
    try:
        # uvicorn's supervisor kills a process that has not answered its health check in
        # 5 s (by default) — also while it is still importing the app, which takes longer on
        # a busy 2-core machine: it then restarted processes forever and never served.
        uvicorn.run(
            "api.edge.serve:app_factory",
            workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK,
            **options,
        )
    finally:
        if jobs is not None:
            jobs.terminate()
            try:
                jobs.wait(timeout=15)
            except subprocess.TimeoutExpired:
                jobs.kill()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0

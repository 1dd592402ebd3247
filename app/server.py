"""How `wharf serve` runs: the one place the HTTP server is chosen and configured.

uvicorn with uvloop and Wharf's own httptools protocol (app/http_protocol.py: request heads capped at
64 KiB, blob files sent with sendfile(2)). With `workers` > 1, uvicorn's supervisor binds the port once
and runs that many worker processes on it; each worker takes its own audit spool (app/event_spool/spool.py)
and dies with the supervisor, even when the supervisor is killed with SIGKILL.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from typing import Any

from app.settings import Settings

log = logging.getLogger("wharf")
SUPERVISOR_ENV = "WHARF_SUPERVISOR_PID"  # set by the supervisor for its workers
GRACEFUL_SHUTDOWN_SECONDS = 10
_PR_SET_PDEATHSIG = 1


def run(settings: Settings, log_config: dict[str, Any], level: str) -> None:
    """Serve until SIGTERM or SIGINT; with several workers the caller's process is their supervisor."""
    import uvicorn

    from app.http_protocol import WharfHttpProtocol

    workers = settings.server.workers
    factory = "app.main:create_app"
    if workers > 1:
        if settings.database.auto_migrate:  # once, here, rather than racing in every worker
            from app.db import upgrade

            settings.server.data_dir.mkdir(parents=True, exist_ok=True)
            upgrade(settings.database_url)
            os.environ["WHARF_AUTO_MIGRATE"] = "false"
        os.environ[SUPERVISOR_ENV] = str(os.getpid())
        factory = "app.server:worker_app"
    uvicorn.run(
        factory,
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=workers,
        loop="uvloop",
        http=WharfHttpProtocol,
        access_log=False,  # the reverse proxy keeps access logs; /metrics counts requests
        log_config=log_config,
        log_level=level,
        proxy_headers=False,  # client addresses are Wharf's call: WHARF_TRUSTED_PROXIES only
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def worker_app() -> Any:
    """The application factory of a worker process: first tie the worker's life to its supervisor's."""
    from app.main import create_app

    die_with_supervisor()
    return create_app()


def die_with_supervisor() -> None:
    """Ask the kernel for a SIGTERM when the supervisor goes (however it goes), so no worker is left
    holding the port or a spool; SIGTERM, not SIGKILL, so the worker still drains its spool."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot tie this worker to its supervisor (prctl: errno %d)", ctypes.get_errno())
    if os.getppid() != int(supervisor):  # the supervisor was gone before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)

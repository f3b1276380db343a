"""Open the ticket store when the action server starts, not on a person's first message.

rasa-sdk imports the actions package twice: in its main process and again in the Sanic worker
that serves requests (a spawned child, which Sanic marks with SANIC_WORKER_NAME="Sanic-Server-...";
`multiprocessing.parent_process()` is not set yet while the child imports). Only the worker needs
the store (a migrated database connection), so the warm-up runs there, in a background thread (the server answers /health
meanwhile), and only when the launcher asks for it with FRONTDOOR_WARM_UP=1: tests and tools that
import the actions load nothing.
"""

from __future__ import annotations

import logging
import os
import threading

logger = logging.getLogger(__name__)


def wanted() -> bool:
    """Asked for by the launcher, and this is the Sanic worker that serves the actions."""
    if not os.environ.get("SANIC_WORKER_NAME", "").startswith("Sanic-Server"):
        return False  # other processes (and tests, tools) do not even read the settings at import
    from bot.settings import get_settings  # light: reads the environment only

    try:
        return get_settings().warm_up
    except Exception:  # a bad setting must not stop the action server; the first request reports it
        logger.exception("could not read the settings; the ticket store opens on first use instead")
        return False


def _warm() -> None:
    from actions.common import load_ticket_store

    try:
        load_ticket_store()
        logger.info("ticket store ready")
    except Exception:  # the first request will try again and report properly
        logger.exception("warm-up failed; the ticket store opens on first use instead")


def start_in_worker() -> threading.Thread | None:
    """Start the warm-up thread in the request-serving worker process (no-op elsewhere)."""
    if not wanted():
        return None
    if not logging.getLogger().handlers:  # the spawned worker inherits no logging set-up from rasa-sdk's main
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s  - %(message)s")
    thread = threading.Thread(target=_warm, name="frontdoor-warm-up", daemon=True)
    thread.start()
    return thread

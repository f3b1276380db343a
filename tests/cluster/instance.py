"""One app instance of the cluster tests, in a process of its own: `python -m tests.cluster.instance FD`.

The parent binds the loopback socket and passes its descriptor, so the port is known before the
process starts and nothing else can take it. The settings come from the environment (the parent sets
the shared PostgreSQL URL, this instance's id and data folder, short leases); the triage decision is
the plain "ordinary request" of tests/decisions.py (the engine is tested on its own elsewhere).
"""

from __future__ import annotations

import sys

import uvicorn

from bot.app import create_app
from bot.settings import Settings
from tests.decisions import no_risk


def main() -> None:
    app = create_app(Settings(), decide=no_risk)
    uvicorn.run(app, fd=int(sys.argv[1]), log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()

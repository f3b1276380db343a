"""actions/warm_up.py: the ticket store opens in rasa-sdk's Sanic worker only, and only when asked;
and the action server never loads the embedding model (the gateway decides, the actions act).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions import warm_up


@pytest.mark.parametrize(
    ("asked", "worker", "expected"),
    [
        ("1", "Sanic-Server-0-0", True),  # the worker that serves the actions
        ("1", None, False),  # rasa-sdk's main process, or pytest
        ("1", "Sanic-Reloader-0", False),  # another kind of Sanic process
        (None, "Sanic-Server-0-0", False),  # not asked (tools and tests that import the actions)
    ],
)
def test_the_worker_warms_up_only_when_the_launcher_asks(
    monkeypatch: pytest.MonkeyPatch, asked: str | None, worker: str | None, expected: bool
) -> None:
    for name, value in (("FRONTDOOR_WARM_UP", asked), ("SANIC_WORKER_NAME", worker)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert warm_up.wanted() is expected


def test_start_in_worker_does_nothing_outside_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "1")
    monkeypatch.delenv("SANIC_WORKER_NAME", raising=False)
    assert warm_up.start_in_worker() is None


def test_a_failed_warm_up_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import actions.common

    def broken() -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(actions.common, "load_ticket_store", broken)
    warm_up._warm()
    assert "warm-up failed" in caplog.text


def test_the_action_server_loads_no_model_library(tmp_path: Path) -> None:
    """Importing every action and warming up (as the Sanic worker does) loads neither torch nor
    numpy nor scikit-learn: the action server holds no model (issue: ~1.5 GB -> a few hundred MB)."""
    code = (
        "import json, sys\n"
        "import actions, actions.triage, actions.ticket_form, actions.safety, actions.handoff\n"
        "import actions.status, actions.followup, actions.fallback, actions.session\n"
        "from actions import warm_up\n"
        "warm_up._warm()\n"
        "heavy = ('torch', 'numpy', 'sklearn', 'sentence_transformers', 'transformers')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    env = {**os.environ, "FRONTDOOR_DATABASE_URL": f"sqlite:///{tmp_path / 'tickets.db'}"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, env=env
    )
    assert (tmp_path / "tickets.db").exists()  # the warm-up did open the store
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []

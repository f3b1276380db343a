"""actions/warm_up.py: the models load in rasa-sdk's Sanic worker only, and only when asked.

That the real worker does load them is checked through the real stack in tests/e2e.
"""

from __future__ import annotations

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
        raise FileNotFoundError("no model")

    monkeypatch.setattr(actions.common, "load_triage_engine", broken)
    warm_up._warm()
    assert "warm-up failed" in caplog.text

"""actions/warm_up.py: the models load in rasa-sdk's worker process only, and only when asked."""

from __future__ import annotations

import multiprocessing

import pytest

from actions import warm_up


def _wanted_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(warm_up.wanted())


def wanted_in_a_spawned_child() -> bool:
    context = multiprocessing.get_context("spawn")  # how Sanic starts its workers
    queue = context.Queue()
    child = context.Process(target=_wanted_in_child, args=(queue,))
    child.start()
    answer = bool(queue.get(timeout=60))
    child.join(timeout=30)
    return answer


def test_the_worker_warms_up_only_when_the_launcher_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "1")
    assert warm_up.wanted() is False  # the main process (here: pytest) never loads the models
    assert wanted_in_a_spawned_child() is True
    monkeypatch.delenv("FRONTDOOR_WARM_UP")
    assert wanted_in_a_spawned_child() is False


def test_start_in_worker_does_nothing_outside_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "1")
    assert warm_up.start_in_worker() is None


def test_a_failed_warm_up_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import actions.common

    def broken() -> None:
        raise FileNotFoundError("no model")

    monkeypatch.setattr(actions.common, "load_triage_engine", broken)
    warm_up._warm()
    assert "warm-up failed" in caplog.text

"""bot/nlu/rasa_server.py: the cached validator accepts and refuses exactly what jsonschema.validate does.

Runs in the Rasa environment (see tests/rasa_components/test_nlu_components.py).
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("rasa", reason="runs in the Rasa environment (.venv-rasa)")

import jsonschema
from rasa.core.actions.action import RemoteAction

from bot.nlu import rasa_server

GOOD: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "desk", "value": "12345"}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
    {},
]
BAD: list[dict[str, Any]] = [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},  # a slot event without a name
    {"events": [{"event": "no_such_event"}]},
    {"responses": ["plain text"]},
]


@pytest.mark.parametrize("response", GOOD)
def test_valid_responses_pass_like_jsonschema_validate(response: dict[str, Any]) -> None:
    jsonschema.validate(response, RemoteAction.action_response_format_spec())
    rasa_server.validate_action_response(response)


@pytest.mark.parametrize("response", BAD)
def test_invalid_responses_fail_like_jsonschema_validate(response: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as ours:
        rasa_server.validate_action_response(response)
    assert ours.value.message == expected.value.message


def test_install_points_rasa_at_the_cached_validator_and_keeps_its_hint() -> None:
    rasa_server.install()
    action = RemoteAction("action_anything", None)
    assert action._validate_action_result({"events": [], "responses": []}) is True
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot"}]})
    assert rasa_server._response_validator() is rasa_server._response_validator()  # built once


def test_sqlite_files_get_a_connection_pool_and_other_databases_keep_rasas_settings() -> None:
    from sqlalchemy.pool import QueuePool

    pooled = rasa_server.sqlite_pool_kwargs("sqlite:////tmp/tracker.db", {})
    assert pooled["poolclass"] is QueuePool and pooled["connect_args"] == {"check_same_thread": False}
    assert rasa_server.sqlite_pool_kwargs("sqlite://", {}) == {}  # in memory: SQLAlchemy's own choice
    postgres = {"pool_size": 50, "max_overflow": 100}
    assert rasa_server.sqlite_pool_kwargs("postgresql://u:p@localhost/db", postgres) == postgres


def test_the_tracker_store_keeps_conversations_through_the_pooled_sqlite_engine(tmp_path: Any) -> None:
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.pool import QueuePool

    rasa_server.install()
    rasa_server.install()  # twice: still one wrapper around Rasa's own function
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    assert isinstance(store.engine.pool, QueuePool)
    tracker = DialogueStateTracker.from_events("12345:web:someone", [UserUttered("路灯坏了"), SlotSet("desk", "12345")])

    async def round_trip() -> Any:
        await store.save(tracker)
        return await store.retrieve("12345:web:someone")

    again = asyncio.run(round_trip())
    assert again is not None and list(again.events) == list(tracker.events)

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

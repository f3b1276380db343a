"""The conversation harness (benchmarks/conversations.py) on the shared real stack: one sample conversation.

Here rather than in tests/benchmarks/ so that it reuses the session's running stack instead of
starting a second one.
"""

from __future__ import annotations

import pytest

from benchmarks.conversation_scoring import load_round
from benchmarks.conversations import Target, run_scripts
from bot.settings import REPO_ROOT
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.integration


def test_a_plain_12345_ticket_conversation_is_played_and_scored(running_stack: RunningStack) -> None:
    _, scripts = load_round(REPO_ROOT / "benchmarks" / "conversations" / "sample.yml")
    plain = [s for s in scripts if s.id == "s-01"]
    target = Target(
        app_url=running_stack.app_url,
        rasa_url=running_stack.rasa_url,
        rasa_token=running_stack.rasa_token,
        database_url=running_stack.stack.settings.database_url,
        api_key=running_stack.stack.rest_key or "",
    )
    [result] = run_scripts(target, plain, progress=False)
    observed = result.observed
    assert observed["error"] is None
    exchanges = observed["exchanges"]
    assert exchanges[0]["text"] == plain[0].turns[0].say and exchanges[0]["replies"]
    assert exchanges[0]["asked_after"] == "where"  # read from Rasa's tracker: the form asks the place
    assert exchanges[1]["kind"] == "if_asked" and exchanges[1]["key"] == "where"
    assert observed["decisions"][0] == "ticket"
    filed = [t for t in observed["tickets"] if t["route"] == "ticket"]
    assert len(filed) == 1 and "幸福路18号" in filed[0]["fields"]["where"]
    assert not any(r.startswith(("ticket", "details", "run error")) for r in result.reasons), result.reasons

"""Fixtures of the triage tests: the real engine (real catalogue, real model), loaded once."""

from __future__ import annotations

import pytest

from bot.triage.engine import TriageEngine


@pytest.fixture(scope="session")
def engine() -> TriageEngine:
    """The engine the bot runs: bot/data catalogue, the e5 model, classifiers from the disk cache."""
    engine = TriageEngine()
    engine.warm_up()
    return engine

"""The 12355 FAQ tells a young person the truth about reporting before they decide what to share.

Wordings here are written for the test and are not in bot/data: the FAQ must win on paraphrases it
has never seen, and its answer must say that harm to a minor is reported, not promise silence.
"""

from __future__ import annotations

import pytest

from bot.language import DEFAULT, ENGLISH
from bot.triage.engine import TriageEngine
from bot.triage.vocabulary import Route

ASKING_ABOUT_REPORTING = [
    ("如果我说了被打的事 老师会报警吗", DEFAULT),
    ("讲咗俾你知屋企人打我 你哋会唔会报警㗎", DEFAULT),
    ("要是我讲了家里人动手的事，你们会找警察吗", DEFAULT),
    ("If I tell you my stepdad hurts me, do you have to report it?", ENGLISH),
]


@pytest.mark.parametrize(("text", "language"), ASKING_ABOUT_REPORTING)
def test_asking_whether_harm_is_reported_gets_the_truth_about_reporting(
    engine: TriageEngine, text: str, language: str
) -> None:
    decision = engine.decide(text, "12355", language=language)
    assert (decision.route, decision.faq_id) == (Route.FAQ, "mandatory_report"), decision.signals
    assert decision.reply is not None
    if language == ENGLISH:
        assert "report" in decision.reply and "police" in decision.reply
    else:
        assert "报告" in decision.reply and "公安" in decision.reply and "不留名字" in decision.reply

"""Reading the answer to the check-in question (what the person types right after it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.gateway.check_in import (
    ANSWER_WINDOW,
    DOWNGRADED,
    EVERY,
    Answer,
    answer_due,
    check_in_due,
    close_again,
    proportionate,
    read_answer,
)
from bot.triage.decision import CHECK_IN_SIGNAL, Decision
from bot.triage.engine import get_engine
from bot.triage.tuning import DEFAULT_TUNING
from bot.triage.vocabulary import Route
from tests.decisions import decided


@pytest.mark.parametrize(
    "text",
    [
        "有",
        "有的",
        "有啊",
        "有吧…",
        "有過",
        "有时候",
        "偶尔会",
        "经常",
        "想过",
        "其实有",
        "嗯有",
        "嗯嗯有过😢",
        "是的，有过",
        "对 有时候会",
        "Yes",
        "yeah!",
        " 有 。",
    ],
)
def test_yes(text: str) -> None:
    assert read_answer(text) is Answer.YES


@pytest.mark.parametrize(
    "text",
    [
        "没有",
        "沒有",
        "没有啦",
        "木有",
        "不会",
        "不會的",
        "还好",
        "没事",
        "放心吧",
        "no",
        "Nope",
        "not really",
        "没有，就是累",
    ],
)
def test_no_wins_even_when_the_words_contain_a_yes(text: str) -> None:
    assert read_answer(text) is Answer.NO  # 没有 contains 有, 不会 contains 会


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😢",
        "好的",
        "谢谢",
        "ok",
        "嗯",
        "嗯嗯",
        "是的",
        "对",
        "在",
        "我想问一下怎么投诉学校乱收费的事情，老师一直让交钱",
        "有人在吗",
        "说不上来",
        "no one cares",
    ],
)
def test_anything_else_is_not_an_answer(text: str) -> None:
    assert read_answer(text) is None


def test_only_the_turn_right_after_the_question_and_only_soon() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert answer_due(now - timedelta(minutes=5), True, now)
    assert not answer_due(now - timedelta(minutes=5), False, now)  # another message came in between
    assert not answer_due(now - ANSWER_WINDOW - timedelta(seconds=1), True, now)
    assert not answer_due(None, True, now)


def test_at_most_one_check_in_per_interval() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert check_in_due(None, now)
    assert not check_in_due(now - EVERY + timedelta(seconds=1), now)
    assert check_in_due(now - EVERY, now)


def test_close_again_means_the_engines_bar_after_a_crisis_signal() -> None:
    bar = DEFAULT_TUNING.crisis_threshold_after_history
    assert close_again(("top:counselling:0.40", f"check-in:{bar:.2f}"))
    assert not close_again((f"check-in:{bar - 0.01:.2f}",))
    assert not close_again(("top:counselling:0.40",)) and not close_again(("check-in:oops",))


@pytest.mark.parametrize(
    ("text", "signals", "downgraded"),
    [
        ("放心 我没想不开啥的 就是累 不想出门 已经一个礼拜没出门了", ("embedding:0.99",), True),
        ("I'm not going to hurt myself, just exhausted", ("embedding:0.81",), True),
        ("我唔係想點，只係想搵人講吓點樣同佢哋傾", ("embedding:0.9",), True),
        ("放心 我没想不开 就是累", ("short-in-context:0.99->0.88", "embedding:0.88"), True),  # read with context
        ("放心 我没想不开 就是累", ("history", "history:lexicon:割腕", "embedding:0.6"), False),
        ("我没想不开 但是真的想死", ("lexicon:想死", "embedding:0.99"), False),  # crisis words keep it
        ("就是累 不想出门 已经一个礼拜没出门了", ("embedding:0.99",), False),  # no reassurance said
    ],
)
def test_a_reassurance_in_words_outweighs_a_learned_only_crisis(
    text: str, signals: tuple[str, ...], downgraded: bool
) -> None:
    from bot.gateway.check_in import REASSURED, reassured
    from bot.triage.vocabulary import Route
    from tests.decisions import decided

    crisis = decided(Route.CRISIS, "12355", channel="12356", signals=signals)
    result = reassured(crisis, text, "zh-Hans")
    assert result is not None
    assert (result.route is Route.CLARIFY and REASSURED in result.signals) is downgraded
    if downgraded:
        assert "12356" in (result.reply or "") and "你" in (result.reply or "")


# --- proportion: a learned-only crisis under the ambiguity bar (Tuning.ambiguous_below) -------------


def _learned(score: float, otherwise: dict[str, Any] | None) -> Decision:
    return decided(
        "crisis", "12355", channel="12356", signals=(f"embedding:{score:.2f}",), priority="urgent", otherwise=otherwise
    )


COUNSELLING = {
    "route": "ticket",
    "desk": "12355",
    "category": "counselling",
    "signals": ["top:ticket:counselling:0.82"],
}


def test_an_ambiguous_learned_crisis_is_taken_on_as_what_it_otherwise_is_with_the_check_in() -> None:
    text = "好累啊，感觉自己什么都做不好，同学也都不理我"
    got = proportionate(_learned(0.56, COUNSELLING), text, bot_asked=False, language="zh-Hans")
    assert got is not None and (got.route, got.category) == (Route.TICKET, "counselling")
    assert got.check_in_signal == f"{CHECK_IN_SIGNAL}:0.56" and DOWNGRADED in got.signals
    assert "embedding:0.56" in got.signals  # staff see why the question was asked


def test_over_the_bar_or_without_another_reading_the_verdict_is_kept_or_only_asked() -> None:
    confident = _learned(DEFAULT_TUNING.ambiguous_below + 0.02, COUNSELLING)
    assert proportionate(confident, "…", bot_asked=False, language="zh-Hans") is confident
    smalltalk = {"route": "smalltalk", "desk": "12355"}
    asked = proportionate(_learned(0.6, smalltalk), "…", bot_asked=False, language="zh-Hans")
    assert asked is not None and asked.route is Route.CLARIFY and asked.check_in_signal
    inside_form = proportionate(_learned(0.6, COUNSELLING), "…", bot_asked=True, language="zh-Hans")
    assert inside_form is not None and inside_form.route is Route.CLARIFY  # an answer is only asked about


def test_a_confident_learned_crisis_the_ngram_model_doubts_is_asked_first() -> None:
    """ "我要办死亡证明 不是我死哈 是我老头子去年在乡下走的" scored 0.95 on the learned side alone (fresh
    round 16); no crisis example shares its words, so the person is asked before the crisis answer."""
    score = DEFAULT_TUNING.ambiguous_below + 0.2
    doubted = decided(
        "crisis",
        "12355",
        channel="12356",
        signals=(f"embedding:{score:.2f}", "ngram-doubt:0.04"),
        priority="urgent",
        otherwise=COUNSELLING,
    )
    got = proportionate(doubted, "…", bot_asked=False, language="zh-Hans")
    assert got is not None and (got.route, got.category) == (Route.TICKET, "counselling")
    assert got.check_in_signal == f"{CHECK_IN_SIGNAL}:{score:.2f}" and DOWNGRADED in got.signals
    assert proportionate(_learned(score, COUNSELLING), "…", bot_asked=False, language="zh-Hans").route is Route.CRISIS


def test_the_engine_puts_the_other_reading_on_a_learned_only_crisis_and_not_on_crisis_words() -> None:
    engine = get_engine()
    learned = engine.decide("好累啊，感觉自己什么都做不好，同学也都不理我", "12355")
    words = engine.decide("我不想活了", "12355")
    assert learned.route is Route.CRISIS and all(s.startswith("embedding:") for s in learned.signals)
    other = learned.without_screen()
    assert other is not None and other.route is Route.TICKET and other.category == "counselling"
    assert words.route is Route.CRISIS and words.otherwise is None

"""Reading the answer to the check-in question (what the person types right after it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.gateway.check_in import ANSWER_WINDOW, EVERY, Answer, answer_due, check_in_due, close_again, read_answer
from bot.triage.tuning import DEFAULT_TUNING


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

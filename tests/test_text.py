"""bot.text: the one normalisation every stage shares."""

import pytest

from bot import text


def test_traditional_becomes_simplified_and_full_width_becomes_ascii() -> None:
    assert text.normalise("我們學校的ＷＩＦＩ壞了") == "我们学校的wifi坏了"


def test_control_characters_and_bidi_overrides_are_removed() -> None:
    assert text.clean("你\x00好\u202e\u200b啊\x07") == "你好啊"


def test_runs_of_blank_lines_and_spaces_collapse() -> None:
    assert text.clean("  a \t\u3000 b\n\n\n\n c  ") == "a b\n\n c"


def test_empty_and_none_give_empty_string() -> None:
    assert text.clean(None) == ""
    assert text.normalise("   \x00 ") == ""


def test_truncate_reports_whether_it_cut() -> None:
    assert text.truncate("abc", 5) == ("abc", False)
    assert text.truncate("a" * 10, 4) == ("aaaa", True)


def test_has_words_tells_emoji_only_from_text() -> None:
    assert not text.has_words("😭😭👍!!")
    assert text.has_words("😭 路灯坏了")
    assert text.has_words("110")


@pytest.mark.parametrize(
    "message",
    ["会告诉房东吗", "你们几点下班", "btw will the bar see my name??", "how long will it take", "社保断缴了怎么补"],
)
def test_questions_read_as_questions(message: str) -> None:
    assert text.reads_as_question(message)


@pytest.mark.parametrize(
    "message",
    ["厦门思明区，曾厝垵附近", "Chaoyang district, Jianguo Road 88", "上个月开始的", "the bar is called Blue Moon"],
)
def test_statements_do_not(message: str) -> None:
    assert not text.reads_as_question(message)


def test_length_units_count_han_characters_and_latin_words() -> None:
    assert text.length_units("since last month") == 3
    assert text.length_units("上个月开始的") == 6
    assert text.length_units("Jianguo Road 88号") == 4

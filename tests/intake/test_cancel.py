"""Only an explicit giving-up cancels the ticket form (bot/intake/cancel.py); answers, redirects,
questions and pleasantries are told apart from it."""

from __future__ import annotations

import pytest

from bot.intake.cancel import cancel_kind, is_cancel, is_pleasantry, is_question, is_redirect_only, looks_like_answer

REAL_CANCELS = [
    # issue 17's list
    "算了",
    "取消",
    "不办了",
    "不用了",
    "不登记了",
    "不要了",
    "算了不弄了",
    "cancel",
    "never mind",
    "forget it",
    "stop",
    # Traditional and Cantonese
    "取消",
    "不辦了",
    "唔使喇",
    "算咗",
    "不用登記了",
    "別登記了",
    "算咗啦，唔搞喇",
    "算了 沒事",
    # more writers
    "算了，不办了",
    "算了算了",
    "取消吧",
    "可以取消吗",
    "那就不弄了吧",
    "先不弄了",
    "这个先不报了",
    "不填了，太麻烦",
    "问题已经解决了，不用了",
    "刚才的就当我没说",
    "不用了，谢谢",
    "Cancel!",
    "please cancel",
    "I want to cancel",
    "cancel it please",
    "I don't want to continue",
    "nevermind",
    "forget about it",
    "stop please",
    "cancle",
    "quit this form",
]

NOT_CANCELS = [
    # issue 17's list
    "算了，先说另一件事",
    "不是这个意思",
    "no wait, it's Tuesday",
    "先说电梯吧",
    "算了不说这个了，地址是幸福路3号",
    # answers that start like a cancel, or carry its words
    "算了，是上周二开始的",
    "不用了，地址是人民路5号",
    "取消的是三楼那家的装修许可吗",
    "不是，是隔壁那栋楼",
    "等一下，地址是建设路18号",
    "不說這個了，地址是彌敦道88號",
    "stop sign at the corner is broken",
    "cancel culture at my school",
    "Chaoyang district, Jianguo Road 88",
    "不清楚",
    "我不知道",
    "停水两天了",
    "",
]


@pytest.mark.parametrize("text", REAL_CANCELS)
def test_explicit_giving_up_is_a_cancel(text):
    assert is_cancel(text)


@pytest.mark.parametrize("text", NOT_CANCELS)
def test_answers_and_redirects_are_not_a_cancel(text):
    assert not is_cancel(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("算了", "soft"),
        ("不用了", "soft"),
        ("never mind", "soft"),
        ("唔使喇", "soft"),
        ("不办了", "cancel"),
        ("取消", "cancel"),
        ("算了，不办了", "cancel"),
    ],
)
def test_a_bare_no_is_soft_a_giving_up_is_not(text, kind):
    """At an optional question (contact, callback time) a soft one is only a no to that question."""
    assert cancel_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("不是这个意思", True),
        ("算了，先说另一件事", True),
        ("等一下", True),
        ("no wait", True),
        ("先说电梯吧", False),
        ("no wait, it's Tuesday", False),
        ("不对，是三号楼", False),
    ],
)
def test_talk_about_the_talk_alone_is_a_redirect(text, expected):
    assert is_redirect_only(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("btw will the bar see my name??", True),
        ("会不会公开我的名字", True),
        ("对了 我的名字会被看到吗", True),
        ("will they call me", True),
        ("灯杆上有编号 A-17", False),
        ("是上周二", False),
        ("it's the bar on the ground floor", False),
    ],
)
def test_questions_are_told_from_corrections(text, expected):
    assert is_question(text) is expected


def test_pleasantries_and_answers_nlu_took_for_small_talk():
    assert all(is_pleasantry(t) for t in ("你好", "在吗？", "谢谢！", "hi there", "thank you"))
    assert not is_pleasantry("Chaoyang district, Jianguo Road 88")
    assert looks_like_answer("problem_where", "Chaoyang district, Jianguo Road 88")
    assert looks_like_answer("problem_where", "zhongshan rd no 5")
    assert looks_like_answer("problem_where", "朝陽區建國路88號")
    assert looks_like_answer("problem_since", "since last tuesday")
    assert looks_like_answer("problem_who", "the bar downstairs")
    assert not looks_like_answer("problem_where", "hello")
    assert not looks_like_answer("problem_since", "哈哈哈")


@pytest.mark.parametrize(
    "text",
    [
        "算了 不弄了 同学说上一届有人举报 后来毕业证拖了半年",
        "never mind, forget it. don't file anything, thanks",
        "不用登记 真的不用 谢谢",
    ],
)
def test_giving_up_with_reasons_is_still_a_cancel(text: str) -> None:
    assert cancel_kind(text) == "cancel"


@pytest.mark.parametrize("text", ["不办了？那我还要等多久", "算了不说这个了，地址是人民路", "取消？不是，是地址写错了"])
def test_a_cancel_word_beside_a_question_or_a_redirect_is_not(text: str) -> None:
    assert cancel_kind(text) is None


@pytest.mark.parametrize("text", ["I don't know", "not sure", "记不清了", "唔知"])
def test_dont_know_is_an_answer_to_any_detail(text: str) -> None:
    assert looks_like_answer("problem_since", text)


@pytest.mark.parametrize(
    "text",
    [
        "行吧 那算了 我自己再托人问问",
        "好 谢谢 我自己再找找",
        "先这样吧 下次再说",
        "不麻烦你们了 谢谢",
        "ok I'll figure it out myself",
    ],
)
def test_postponing_or_handling_it_oneself_gives_up_the_report(text: str) -> None:
    assert cancel_kind(text) == "cancel"


@pytest.mark.parametrize("text", ["我自己去问问物业再告诉你", "下次再说吧 先说电梯", "自己家楼下"])
def test_a_plan_to_come_back_with_the_answer_or_a_redirect_is_not(text: str) -> None:
    assert cancel_kind(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "OK, got it, I'll check those up myself, no need to file anything. Thanks anyway, bye.",
        "no need to report it",
        "I'll look it up myself",
    ],
)
def test_english_no_need_to_file_gives_up_the_report(text: str) -> None:
    assert cancel_kind(text) == "cancel"


@pytest.mark.parametrize("text", ["好吧 知道了 谢谢啊", "行吧 明白了", "知道了 谢谢你"])
def test_ok_got_it_thanks_is_a_pleasantry_not_a_place(text: str) -> None:
    assert is_pleasantry(text) and not looks_like_answer("problem_where", text) and cancel_kind(text) is None


@pytest.mark.parametrize(
    ("text", "is_place"),
    [("街道办旁边", True), ("No. 5 Jianguo Road", True), ("我不知道", True), ("no need, thanks", False)],
)
def test_know_is_no_road_and_no_is_no_number(text: str, is_place: bool) -> None:
    """知道 held 道 (a road) and "no" was read as "No. 5": "好吧 知道了" became the place of a ticket."""
    assert looks_like_answer("problem_where", text) is is_place


@pytest.mark.parametrize(
    "text",
    [
        "Fine. I guess we just have to accept it. Thanks anyway.",
        "那就认了吧",
        "好嘛 我去问下社区 谢谢你哈妹儿",
        "了解，感謝您～那我週末再去派出所問問看，不用幫我登記喔。祝您有美好的一天",  # conversation round 8
        "唔使幫我登記",
    ],
)
def test_accepting_it_or_asking_elsewhere_gives_up_the_report(text: str) -> None:
    assert cancel_kind(text) == "cancel"


@pytest.mark.parametrize(
    "text",
    [
        "我去问下物业再来告诉你",
        "我去问下社区，地址是幸福路",
        "I accept it, the address is 5 Main Rd",
        "不用帮我登记 我要补充一下地址",
    ],
)
def test_asking_around_to_come_back_or_with_an_answer_is_not_giving_up(text: str) -> None:
    assert cancel_kind(text) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("算了算了 说起就来气 你就给我记到嘛 反正要他们把监控和门修好", None),  # angry, but: record it
        ("forget it, just file it", None),
        ("算了 我不想再登记这种事了", "cancel"),  # the record itself refused
    ],
)
def test_an_angry_give_up_beside_a_request_to_record_is_not_a_cancel(text: str, kind: str | None) -> None:
    assert cancel_kind(text) == kind

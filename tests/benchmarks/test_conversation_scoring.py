"""Scoring of fresh conversation rounds on hand-made transcripts (no stack)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks.conversation_scoring import (
    MAX_UNSCRIPTED,
    Exchange,
    Expect,
    FiledTicket,
    FormatError,
    Observed,
    Script,
    ScriptCursor,
    ScriptTurn,
    answers_not_taken,
    asked_key,
    detect_language,
    judged_language,
    language_problem,
    load_round,
    parse_conversation,
    render,
    round_figures,
    score,
    simplified_chars,
)
from bot.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "benchmarks" / "conversations" / "sample.yml"


def script(
    turns: list[tuple[str | None, str]] | None = None, language: str = "zh-Hans", desk: str = "12345", **expect: Any
) -> Script:
    values: dict[str, Any] = {"ticket": True, "crisis": False, **expect}
    return Script(
        id="t-01",
        desk=desk,
        writes_in=language,
        summary="",
        turns=tuple(ScriptTurn(say, key) for key, say in (turns or [(None, "路灯坏了")])),
        expect=Expect(**values),
    )


def ticket(route: str = "ticket", summary: str = "路灯坏了\n地点：幸福路18号", **fields: Any) -> FiledTicket:
    return FiledTicket("12345-20250101-0001", route, summary, {"where": "幸福路18号", **fields})


def observed(*exchanges: Exchange, tickets: list[FiledTicket] | None = None, **values: Any) -> Observed:
    found = Observed("12345:rest:x", exchanges=list(exchanges), tickets=[ticket()] if tickets is None else tickets)
    found.decisions = values.pop("decisions", [e.route for e in exchanges])
    for name, value in values.items():
        setattr(found, name, value)
    return found


def said(text: str = "路灯坏了", replies: tuple[str, ...] = ("已为您登记",), **values: Any) -> Exchange:
    return Exchange(text, values.pop("kind", "say"), replies=list(replies), **values)


# --- the language judge ---------------------------------------------------------------------------
def test_english_reply_passes_with_digits_and_hotline_numbers() -> None:
    assert language_problem("Your case 12345-20250101-0001 is filed; call 12356 any time.", "en") is None


def test_english_reply_with_chinese_fails() -> None:
    assert "Han characters" in str(language_problem("明白了 I will file it", "en"))


@pytest.mark.parametrize(
    "reply",
    [
        "Call 12366, or use the 个人所得税 (Individual Income Tax) app.",
        "please don't dox anyone (开盒) or spread other people's information.",
        "go to China Legal Services Online (12348 中国法网).",
    ],
)
def test_english_reply_may_give_a_chinese_name_beside_its_english_gloss(reply: str) -> None:
    assert language_problem(reply, "en") is None


def test_a_chinese_name_without_a_gloss_is_still_chinese_in_english() -> None:
    assert "Han characters" in str(language_problem("Use the 个人所得税 app.", "en"))
    assert "Han characters" in str(language_problem("Staff (工作人员) will call. 好的", "en"))


def test_english_reply_may_quote_the_persons_own_chinese() -> None:
    reply = "Please confirm: place: 朝阳区幸福路18号 (Chaoyang)."
    assert language_problem(reply, "en", ["I live at 朝阳区幸福路18号"]) is None


def test_traditional_reply_passes_and_simplified_fails() -> None:
    assert language_problem("您好，這裡是12345的線上助手。請問您遇到了什麼問題？", "zh-Hant") is None
    problem = language_problem("您好，这里是12345的在线助手。请问您遇到了什么问题？", "zh-Hant")
    assert problem is not None and "这" in problem


def test_traditional_reply_with_characters_both_scripts_share_passes() -> None:
    """公里, 皇后, 干擾, 茶几: zhconv would change them character by character, but they are Traditional too."""
    assert simplified_chars("距離兩公里，皇后大道，沒有干擾，茶几上") == []


def test_traditional_reply_quoting_the_persons_words_is_judged_without_them() -> None:
    assert language_problem("請確認：地点：东城区", "zh-Hant", ["东城区"]) is not None  # 地点 is the bot's
    assert language_problem("請確認：地點：东城区和平街", "zh-Hant", ["东城区和平街5号"]) is None


def test_simplified_needs_chinese() -> None:
    assert language_problem("好的，已经登记", "zh-Hans") is None
    assert language_problem("OK, filed.", "zh-Hans") is not None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("我们小区的路灯坏了", "zh-Hans"),
        ("我們社區的路燈壞了", "zh-Hant"),
        ("The street light is broken", "en"),
        ("I live in 朝阳区幸福路 near the park", "en"),
        ("我想ask一下 how to 办理居住证", "zh-Hans"),
        ("上周", None),
        ("OK", None),
        ("12", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_judged_language_follows_the_last_switch_of_a_say_turn() -> None:
    spoken = [
        ("say", "The street light is broken"),
        ("if_asked", "朝阳区幸福路"),
        ("say", "算了我还是说中文吧，路灯坏了"),
    ]
    assert judged_language(script(language="en"), spoken) == ("zh-Hans", 2)
    assert judged_language(script(language="en"), spoken[:2]) == ("en", 0)  # an answer never switches


def test_language_failure_is_a_reason_from_the_switch_on() -> None:
    first = said("The street light is broken", ("明白了",))
    second = said("我还是说中文吧，路灯坏了", ("好的",))
    result = score(script(language="en"), observed(first, second))
    assert result.language == "zh-Hans" and result.language_ok and result.passed
    result = score(script(language="en"), observed(first, said("It is on Jianguo Road", ("好的",))))
    assert not result.language_ok and any(r.startswith("language (en)") for r in result.reasons)


# --- each expectation kind ------------------------------------------------------------------------
def test_a_plain_filed_ticket_is_as_expected() -> None:
    result = score(script(details={"where": "幸福路18号"}, first_route="ticket"), observed(said(route="ticket")))
    assert result.passed, result.reasons


def test_ticket_yes_fails_without_a_filed_case_and_faq_records_do_not_count() -> None:
    result = score(script(), observed(said(), tickets=[ticket("faq")]))
    assert result.reasons == ["ticket: expected a filed case, none filed"]


def test_ticket_no_fails_when_one_is_filed() -> None:
    assert not score(script(ticket=False), observed(said())).passed
    assert score(script(ticket=False), observed(said(), tickets=[ticket("refer"), ticket("decline")])).passed


def test_ticket_count() -> None:
    two = [ticket(), ticket()]
    assert score(script(ticket_count=2), observed(said(), tickets=two)).passed
    assert score(script(ticket_count=2), observed(said())).reasons == ["ticket_count: expected 2, filed 1"]


def test_details_are_matched_in_the_field_or_the_text_after_normalising() -> None:
    traditional = ticket(summary="路燈壞了\n地点：和平街5號", where="和平街5號")
    assert score(script(details={"where": "和平街5号", "what": "路灯"}), observed(said(), tickets=[traditional])).passed
    assert score(
        script(details={"where": "JIANGUO road"}), observed(said(), tickets=[ticket(where="Jianguo Road 88")])
    ).passed
    result = score(script(details={"since": "上周一"}), observed(said()))
    assert result.reasons == ["details.since: '上周一' not in any filed ticket"]


def test_first_route() -> None:
    assert score(script(first_route="faq"), observed(said(route="faq"), said(route="ticket"))).passed
    result = score(script(first_route="faq"), observed(said(route="ticket")))
    assert result.reasons == ["first_route: expected faq, got ticket"]


def test_channel_and_mentions_need_some_reply_to_contain_them() -> None:
    exchange = said(replies=("工资问题请拨打12333", "另外可以拨打12356"))
    assert score(script(channel="12333", mentions=("12356",)), observed(exchange)).passed
    result = score(script(channel="12315", mentions=("110",)), observed(exchange))
    assert result.reasons == ["channel: no reply names 12315", "mentions: no reply contains '110'"]


def test_crisis_yes_and_no() -> None:
    crisis_ticket = [ticket("crisis")]
    assert score(script(crisis=True), observed(said(route="crisis"), tickets=crisis_ticket)).passed
    assert score(script(crisis=True), observed(said(route="ticket"), crisis_handoff=True)).passed
    result = score(script(crisis=True), observed(said(route="ticket")))
    assert result.reasons == ["crisis: expected yes, happened no"]
    result = score(script(crisis=False), observed(said(route="crisis")))
    assert result.reasons == ["crisis: expected no, happened yes"]


def test_check_in() -> None:
    assert score(script(check_in="allowed"), observed(said(), check_ins=1)).passed
    assert score(script(), observed(said(), check_ins=1)).reasons == ["check_in: asked 1 time(s), expected no"]


def test_cancel_expected_and_wrongful_cancel() -> None:
    assert score(script(ticket=False, cancelled=True), observed(said(), tickets=[], cancelled=True)).passed
    missed = score(script(ticket=False, cancelled=True), observed(said(), tickets=[]))
    assert missed.reasons == ["cancelled: expected the form to be cancelled, it was not"] and not missed.wrongful_cancel
    wrongful = score(script(), observed(said(), cancelled=True))
    assert wrongful.wrongful_cancel and any("wrongful cancel" in r for r in wrongful.reasons)
    # a form started for a request that should have been declined, given up: nothing filed, as wanted
    given_up = score(script(ticket=False), observed(said(), tickets=[], cancelled=True))
    assert given_up.passed and not given_up.wrongful_cancel


def test_answers_not_taken_fail_only_twice_in_a_row() -> None:
    where: dict[str, Any] = {"kind": "if_asked", "key": "where", "asked_after": "where"}
    once = observed(
        said(), said("幸福路", **where), said("幸福路18号", kind="if_asked", key="where", asked_after="since")
    )
    result = score(script(), once)
    assert result.passed and result.answers_not_taken == ["where"]
    twice = observed(
        said(), said("幸福路", **where), said("不清楚", kind="unscripted", key="where", asked_after="where")
    )
    assert score(script(), twice).reasons == ["answer not taken twice in a row: where"]
    assert answers_not_taken(twice.exchanges) == (["where", "where"], ["where"])


def test_a_run_error_fails_the_conversation() -> None:
    assert score(script(), observed(said(), error="ConnectError: refused")).reasons[0].startswith("run error")


# --- what the bot asks and what the runner sends ---------------------------------------------------
def tracker(requested: str | None = None, loop: str | None = None, events: list[dict[str, Any]] | None = None) -> dict:
    return {
        "slots": {"requested_slot": requested},
        "active_loop": {"name": loop} if loop else {},
        "events": events or [],
    }


def test_the_consent_and_age_questions_are_answered_like_a_person_who_came_to_report() -> None:
    """The runner answers the new questions (a sensitive matter's consent, the youth desk's age): yes,
    and rather not say; the form's own readers take those answers (so no ticket is lost to them)."""
    from actions.ticket_form import YES_WORDS
    from benchmarks.conversation_scoring import unscripted_answer
    from bot.intake.age import parse_age

    assert asked_key(tracker("sensitive_consent", "ticket_form")) == ("consent", "sensitive_consent")
    assert asked_key(tracker("person_age", "ticket_form")) == ("age", "person_age")
    for language in ("zh-Hans", "zh-Hant", "en"):
        assert YES_WORDS.match(unscripted_answer("consent", language).lower())
        assert parse_age(unscripted_answer("age", language)) is None


def test_asked_key_reads_the_forms_requested_slot() -> None:
    assert asked_key(tracker("problem_where", "ticket_form")) == ("where", "problem_where")
    assert asked_key(tracker("ticket_edit", "ticket_form")) == ("confirm", "ticket_edit")
    assert asked_key(tracker("contact_value", "ticket_form")) == ("phone", "contact_value")
    assert asked_key(tracker("problem_where")) == (None, None)  # a form slot left over after the form
    assert asked_key(None) == (None, None)


def test_asked_key_outside_a_form() -> None:
    assert asked_key(tracker("other_matter")) == ("other_matter", "other_matter")
    events = [
        {"event": "user", "text": "路灯坏了，还有噪音"},
        {"event": "action", "name": "action_ask_matter_choice"},
        {"event": "action", "name": "action_listen"},
    ]
    assert asked_key(tracker(events=events)) == ("which", "matter_choice")
    uttered = [{"event": "bot", "text": "还有一件事要办吗？", "metadata": {"utter_action": "utter_ask_other_matter"}}]
    assert asked_key(tracker(events=[{"event": "user"}, *uttered])) == ("other_matter", "other_matter")
    assert asked_key(tracker(events=[*uttered, {"event": "user"}])) == (None, None)  # asked a turn ago


def cursor(*turns: tuple[str | None, str], language: str = "zh-Hans") -> ScriptCursor:
    return ScriptCursor(script(list(turns), language=language))


def texts_and_kinds(walk: ScriptCursor, asks: list[str | None]) -> list[tuple[str, str]]:
    sent = []
    for asked in asks:
        message = walk.next_message(asked)
        if message is None:
            break
        sent.append((message.kind, message.text))
    return sent


def test_if_asked_is_sent_only_when_asked_and_skipped_otherwise() -> None:
    walk = cursor((None, "路灯坏了"), ("where", "幸福路"), ("since", "上周"), (None, "谢谢"))
    assert texts_and_kinds(walk, [None, "since", None, None]) == [
        ("say", "路灯坏了"),
        ("if_asked", "上周"),
        ("say", "谢谢"),
    ]
    assert walk.skipped == [1] and walk.next_message(None) is None


def test_a_question_without_a_scripted_answer_before_an_if_asked_turn_is_answered_unscripted() -> None:
    walk = cursor((None, "路灯坏了"), ("since", "上周"))
    assert texts_and_kinds(walk, [None, "where", "since", None]) == [
        ("say", "路灯坏了"),
        ("unscripted", "不清楚"),
        ("if_asked", "上周"),
    ]


def test_a_fact_the_script_gives_later_is_given_when_the_bot_asks_earlier() -> None:
    walk = cursor((None, "有人收保护费"), ("since", "开学以后"), (None, "现在每天都要"), ("where", "顺德的职校"))
    assert texts_and_kinds(walk, [None, "where", "since", None]) == [
        ("say", "有人收保护费"),
        ("if_asked", "顺德的职校"),
        ("if_asked", "开学以后"),
        ("say", "现在每天都要"),
    ]
    assert walk.next_message(None) is None  # the later where was used up, nothing is sent twice


def test_a_fact_the_script_answers_twice_is_not_taken_from_a_later_matter() -> None:
    walk = cursor((None, "电梯坏了"), (None, "还有垃圾站"), ("where", "南门口"), (None, "谢谢"), ("where", "北门"))
    assert texts_and_kinds(walk, [None, "where"]) == [("say", "电梯坏了"), ("say", "还有垃圾站")]


def test_at_the_summary_details_still_on_offer_are_skipped_for_the_next_say() -> None:
    walk = cursor((None, "工地夜里施工"), ("where", "天河"), ("phone", "138"), (None, "算了，不办了"))
    assert texts_and_kinds(walk, [None, "where", "confirm"]) == [
        ("say", "工地夜里施工"),
        ("if_asked", "天河"),
        ("say", "算了，不办了"),
    ]
    assert walk.skipped == [2]
    done = cursor((None, "路灯坏了"), ("phone", "138"))
    assert texts_and_kinds(done, [None, "confirm"]) == [("say", "路灯坏了"), ("unscripted", "对，提交吧")]


def test_a_step_answer_is_not_taken_from_later_in_the_script() -> None:
    walk = cursor((None, "路灯坏了"), ("since", "上周"), (None, "谢谢"), ("contact", "可以"))
    assert texts_and_kinds(walk, [None, "contact"]) == [("say", "路灯坏了"), ("unscripted", "不用了，不留联系方式")]


def test_a_say_turn_is_sent_whatever_the_bot_asks() -> None:
    walk = cursor((None, "噪音扰民"), ("where", "学院路"), (None, "算了，不办了"))
    assert texts_and_kinds(walk, [None, "where", "since", None]) == [
        ("say", "噪音扰民"),
        ("if_asked", "学院路"),
        ("say", "算了，不办了"),
    ]


@pytest.mark.parametrize(
    ("language", "key", "slot", "answer"),
    [
        ("zh-Hans", "where", None, "不清楚"),
        ("zh-Hant", "since", None, "不清楚"),
        ("en", "who", None, "I don't know"),
        ("zh-Hans", "confirm", "ticket_confirmed", "对，提交吧"),
        ("zh-Hant", "confirm", "ticket_confirmed", "對，提交吧"),
        ("en", "confirm", None, "yes, submit it"),
        ("zh-Hans", "confirm", "ticket_edit", "不用改了"),
        ("zh-Hans", "contact", None, "不用了，不留联系方式"),
        ("zh-Hans", "which", None, "先说第一个"),
        ("en", "other_matter", None, "no, that's all"),
    ],
)
def test_unscripted_answers_after_the_script(language: str, key: str, slot: str | None, answer: str) -> None:
    walk = cursor((None, "hello there"), language=language)
    walk.next_message(None)
    message = walk.next_message(key, slot)
    assert message is not None and (message.kind, message.key, message.text) == ("unscripted", key, answer)


def test_unscripted_answers_are_capped() -> None:
    walk = cursor((None, "路灯坏了"))
    sent = texts_and_kinds(walk, [None] + ["confirm"] * 20)
    assert len(sent) == 1 + MAX_UNSCRIPTED and walk.unscripted == MAX_UNSCRIPTED


def test_the_cap_drops_if_asked_turns_never_asked() -> None:
    walk = cursor((None, "路灯坏了"), ("who", "物业公司"), (None, "谢谢"))
    sent = texts_and_kinds(walk, [None] + ["where"] * (MAX_UNSCRIPTED + 1))
    assert sent[-1] == ("say", "谢谢") and walk.skipped == [1]


# --- the file and the report ----------------------------------------------------------------------
def test_the_sample_round_parses() -> None:
    name, scripts = load_round(SAMPLE)
    assert name == "round sample" and len(scripts) == 6
    assert {s.desk for s in scripts} == {"12345", "12355"} and {s.writes_in for s in scripts} == {
        "zh-Hans",
        "zh-Hant",
        "en",
    }
    assert next(s for s in scripts if s.id == "s-03").expect.cancelled


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"desk": "110"}, "desk must be"),
        ({"writes_in": "fr"}, "writes_in must be"),
        ({"turns": [{"if_asked": "address", "say": "x"}]}, "unknown if_asked key"),
        ({"expect": {"ticket": "maybe", "crisis": False}}, "expected yes or no"),
        ({"expect": {"ticket": True}}, "needs at least"),
    ],
)
def test_format_errors_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    raw = {"id": "x-01", "desk": "12345", "writes_in": "zh-Hans", "turns": [{"say": "你好"}], **change}
    raw.setdefault("expect", {"ticket": True, "crisis": False})
    with pytest.raises(FormatError, match=message):
        parse_conversation(raw)


def test_round_figures_count_wrongful_cancels_check_ins_and_languages(tmp_path: Path) -> None:
    plain = script()
    youth = replace(script(desk="12355", language="en"), id="t-02")
    crisis = replace(script(crisis=True, check_in="allowed"), id="t-03")
    results = [
        score(plain, observed(said(), cancelled=True, check_ins=1)),
        score(youth, observed(said("The light is broken", replies=("Filed.",)), check_ins=2)),
        score(crisis, observed(said(route="crisis"), tickets=[ticket("crisis")], check_ins=1)),
    ]
    figures = round_figures("round 9", [plain, youth, crisis], results)
    assert figures.wrongful_cancels == 1 and figures.as_expected == 1 and figures.percent == 33.3
    assert figures.check_in_12345 == (1, 1)  # the crisis conversation is not an ordinary one
    assert figures.check_in_12355_no == (1, 1)
    assert figures.language == {"en": (1, 1), "zh-Hans": (2, 2)}
    report = render([figures])
    assert "as expected: 1/3 (33.3%)" in report and "t-01: " in report and "wrongful cancels: 1" in report
    assert render([figures], markdown=True).startswith("### round 9")

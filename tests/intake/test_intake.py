"""bot.intake: staff hours, details read from the first message, contacts, durations, transcripts."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.intake.fields import (
    category_info,
    format_duration,
    guess_since,
    guess_youth_where,
    guess_youth_who,
    lost_money_to_fraud,
    parse_contact,
)
from bot.intake.hours import StaffHours, is_staffed, parse_staff_hours
from bot.intake.records import channel_of, idempotency_key, message_origin
from bot.intake.transcripts import events_transcript


def china(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, (hour - 8) % 24, minute, tzinfo=UTC)


def test_default_hours_youth_staff_keep_office_hours_and_12345_is_7x24(monkeypatch):
    monkeypatch.delenv("FRONTDOOR_STAFF_HOURS", raising=False)
    assert is_staffed("12355", china(9)) and is_staffed("12355", china(17, 59))
    assert not is_staffed("12355", china(18)) and not is_staffed("12355", china(3))
    assert is_staffed("12345", china(3))


def test_hours_are_configurable(monkeypatch):
    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=08:30-17:30, 12355=24h, bad, 9=25:00-26:00")
    assert not is_staffed("12345", china(20)) and is_staffed("12355", china(3))


def test_hours_across_midnight_and_next_opening():
    night = StaffHours(time(22), time(6))
    assert night.is_open(china(23)) and night.is_open(china(5)) and not night.is_open(china(12))
    day = StaffHours(time(9), time(18))
    assert day.next_opening(china(20)).hour == 9 and day.next_opening(china(20)).day == 24
    assert parse_staff_hours("x=9:00-9:00") == {"x": None}


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("幸福路和建设路交叉口的路灯坏了半个多月了", "半个多月了"),
        ("我们小区从昨天晚上开始停水", "从昨天晚上开始"),
        ("老板拖欠工资三个月了", "三个月了"),
        ("已经两个礼拜没人管了", "两个礼拜"),
        ("楼上太吵", None),
        ("我家有两个孩子", None),
        ("上周有个老太太在那摔了", None),
    ],
)
def test_since_is_read_only_when_the_message_clearly_says_it(text, since):
    assert guess_since(text) == since


@pytest.mark.parametrize(
    ("text", "where", "who"),
    [
        ("班上几个男生天天骂我，还把我的书包扔进厕所，老师也不管", "学校", None),  # 同学 and 老师: ask
        ("宿舍里室友一直偷用我的东西", "学校", "同学"),
        ("我爸喝了酒就在家里砸东西", "家里", "家人"),
        ("有个網友在QQ群里一直私信骚扰我", "网上", "网友"),
        ("实习单位的主管让我天天加班还不给钱", "实习或打工的地方", "老板"),
        ("他妈的，烦死了，啥都不想干", None, None),  # a curse is not a mother
        ("有个小姐姐说帮我代练，结果把号卖了", None, None),  # slang for a young stranger, not a sister
        ("放学路上有个叔叔一直跟着我", None, None),  # any grown man: the form asks
        ("我哥哥天天打我", None, "家人"),
        ("最近压力好大，睡不着", None, None),
        ("在学校被欺负，回到家里也没人管", None, None),  # two places: ask
    ],
)
def test_a_young_persons_place_and_people_are_read_only_when_unambiguous(text, where, who):
    assert (guess_youth_where(text), guess_youth_who(text)) == (where, who)


@pytest.mark.parametrize(
    ("text", "lost"),
    [
        ("我被网友骗了两千块钱，他现在拉黑我了", True),
        ("被拉进兼职群做任务，交了保证金就联系不上人了", True),
        ("買遊戲帳號被騙了800塊", True),  # Traditional
        ("网恋对象让我转了3000，然后把我删了", True),
        ("怎么识别网络诈骗啊", False),
        ("怎么防止被骗钱", False),
        ("电信诈骗有哪些常见套路", False),
        ("老板拖欠工资三个月了", False),
        ("他骗了我的感情", False),
    ],
)
def test_money_already_lost_to_a_scam_is_recognised(text, lost):
    assert lost_money_to_fraud(text) is lost


def test_contacts():
    assert parse_contact("电话 138-1234-5678 白天打") == ("phone", "13812345678")
    assert parse_contact("+86 13912345678") == ("phone", "13912345678")
    assert parse_contact("座机010-12345678") == ("phone", "010-12345678")
    assert parse_contact("邮箱 a.b@example.com。") == ("email", "a.b@example.com")
    assert parse_contact("12345") is None


def test_a_number_read_out_in_chinese_numerals_is_a_phone_number():
    """Voice input and older people write "幺三九 零六二幺 五五八七" (conversation round 8)."""
    assert parse_contact("幺三九 零六二幺 五五八七") == ("phone", "13906215587")
    assert parse_contact("电话是一三八一二三四五六七八 晚上打") == ("phone", "13812345678")
    assert parse_contact("我住三楼 一两个月了") is None


def test_durations():
    assert [format_duration(h) for h in (0.25, 4, 24, 72, 36)] == ["15分钟", "4小时", "1天", "3天", "36小时"]


def test_category_info_from_the_catalogue_and_defaults():
    rights = category_info("12355", "rights_protection")
    assert rights.priority == "urgent" and rights.sla_hours == 4 and rights.asks_contact
    assert category_info("12345", None).slots == ("problem_what", "problem_where", "problem_since")
    assert category_info("99999", "nope").sla_hours == 72


def test_records_helpers():
    assert channel_of("12355:telegram:42") == "telegram" and channel_of("weird") == "rest"
    assert len(idempotency_key("x" * 300, "m1", "ticket")) <= 200
    events = [
        {"event": "session_started"},
        {"event": "user", "text": "路灯坏了", "message_id": "a"},
        {"event": "bot", "text": "在什么地方？"},
        {"event": "user", "text": "/affirm", "message_id": "b", "timestamp": 5.0},
    ]
    assert events_transcript(events) == [("person", "路灯坏了"), ("bot", "在什么地方？")]
    assert message_origin(events) == "b"

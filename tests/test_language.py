"""bot.language: which language a person writes, kept for the conversation, and Traditional on the way out."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import language
from bot.language import ENGLISH, SIMPLIFIED, TRADITIONAL, conversation_language, detect

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "text",
    [
        "Chaoyang district, Jianguo Road 88",
        "since last month",
        "The street light outside my building has been broken for two weeks",
        "I need help",
        "thank you",
        "Hi, I'm being bullied at school and I don't know what to do",
        "my landlord won't return my deposit!!!",
        "Can I talk to a real person?",
        "it's been like 3 days lol",
        "please call me back on 13812345678",
        "NOISE FROM THE CONSTRUCTION SITE AT NIGHT",
        "idk what to do anymore tbh",
        "I can't breathe, my chest hurts",
    ],
)
def test_english(text: str) -> None:
    assert detect(text) == ENGLISH


@pytest.mark.parametrize(
    "text",
    [
        "",
        None,
        "   ",
        "ok",
        "OK",
        "okay",
        "88",
        "12345",
        "13812345678",
        "+86 138 1234 5678",
        "😭😭😭",
        "👍",
        "？？？",
        "...",
        "hello",
        "Hi",
        "WiFi",
        "yes",
        "no",
        "ok ok",
        "wifi app",
        "yes please",  # too little to switch a conversation
        "ok thanks",
        "room 302",
        "abc@qq.com",
        "https://www.gov.cn/xinwen",
        "Chaoyang Lu",  # pinyin: Chinese written in Latin letters
        "wo xiang wen yi xia",
        "hhhh",
        "emmm",
        "666",
    ],
)
def test_not_decisive(text: str | None) -> None:
    assert detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "WiFi坏了",  # not English: there is Han text (no script marker: see the conversation test)
        "我的iPhone屏幕碎了",
        "hi 你好",
        "My address is 朝阳区",
    ],
)
def test_han_text_is_never_english(text: str) -> None:
    assert detect(text) != ENGLISH


@pytest.mark.parametrize(
    "text",
    [
        "我们小区的路灯坏了两个星期",
        "楼上装修太吵了，晚上十点还在施工",
        "这个问题怎么解决",
        "我想问一下社保怎么交",
        "绝绝子，班主任天天拖堂，真的栓Q了",  # youth slang
        "yyds，但是作业太多了，我emo了",
        "我的WiFi密码忘了怎么办",
        "台湾同胞来大陆办居住证",  # 台 is shared, 湾 is Simplified
        "皇后大道",  # no marker at all? 后/道 shared, 皇/大 shared
        "覆盖面太小了，信号差",  # 覆 is written in Simplified too
        "乾隆年间的老房子要拆迁",
        "著名景区门票太贵",
        "我冇钱交学费",  # Guangdong: Cantonese with Simplified
        "佢哋喺学校欺负我",
    ],
)
def test_simplified(text: str) -> None:
    assert detect(text) in (SIMPLIFIED, None)
    assert detect(text) != TRADITIONAL


@pytest.mark.parametrize(
    "text",
    [
        "我們小區的路燈壞了兩個星期",
        "樓上裝修太吵了，晚上十點還在施工",
        "我想問一下社保怎麼交",
        "WiFi壞了",
        "請問這個問題怎麼處理",
        # Cantonese (Hong Kong, Macau)
        "係唔係要預約先？",
        "唔該",
        "冇嘢",
        "佢哋喺學校蝦我",
        "我想問下點樣申請",
        "啲人成日喺度嘈",
        # Taiwanese usage
        "捷運卡壞了",
        "我的網路一直斷線",
        "請問健保卡要去哪裡辦",
        "機車停車位不夠",
        "超扯的，老師都不理我",
        # youth, Traditional
        "真的會謝，作業多到爆",
        "後天就要考試了我好焦慮",
    ],
)
def test_traditional(text: str) -> None:
    assert detect(text) == TRADITIONAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", None),  # no script marker
        ("好的", None),
        ("是", None),
        ("冇", None),  # one Cantonese character: a fragment
        ("皇后", None),  # 后: valid in both scripts
        ("公里", None),
        ("嗯嗯", None),
    ],
)
def test_chinese_without_script_markers_is_not_decisive(text: str, expected: str | None) -> None:
    assert detect(text) is expected


def test_the_script_with_more_markers_wins_in_mixed_text() -> None:
    assert detect("我們这里的问题说了很多次") == SIMPLIFIED  # 們 vs 这 问 题 说
    assert detect("我们這裡的問題說了很多次") == TRADITIONAL


def test_full_width_latin_is_read_as_latin() -> None:
    assert detect("Ｉ ｎｅｅｄ ｈｅｌｐ") == ENGLISH


@pytest.mark.parametrize(
    ("previous", "text", "expected"),
    [
        (None, "", SIMPLIFIED),  # the default
        (None, "ok", SIMPLIFIED),
        (None, "I need help with my rent", ENGLISH),
        (ENGLISH, "ok", ENGLISH),  # neutral: keeps the previous
        (ENGLISH, "13812345678", ENGLISH),
        (ENGLISH, "😭", ENGLISH),
        (ENGLISH, "Chaoyang Lu 88", ENGLISH),
        (ENGLISH, "我们小区停水了", SIMPLIFIED),  # decisive: sets it
        (ENGLISH, "你好", SIMPLIFIED),  # Chinese with no script marker after English: the default script
        (ENGLISH, "WiFi坏了", SIMPLIFIED),
        (TRADITIONAL, "好的", TRADITIONAL),  # Chinese with no script marker keeps the script
        (TRADITIONAL, "你好", TRADITIONAL),
        (TRADITIONAL, "ok", TRADITIONAL),
        (TRADITIONAL, "since last month", ENGLISH),
        (TRADITIONAL, "我们小区停水了", SIMPLIFIED),
        (SIMPLIFIED, "請問這個問題怎麼處理", TRADITIONAL),
        (SIMPLIFIED, "冇", SIMPLIFIED),
        ("fr", "ok", SIMPLIFIED),  # an unknown stored value: the default
    ],
)
def test_conversation_language(previous: str | None, text: str, expected: str) -> None:
    assert conversation_language(previous, text) == expected


def test_a_conversation_switches_only_on_decisive_messages() -> None:
    current = None
    seen = []
    for text in ["hello", "My neighbour's dog barks all night", "ok", "88", "Since last month", "好的", "謝謝你們"]:
        current = conversation_language(current, text)
        seen.append(current)
    assert seen == [SIMPLIFIED, ENGLISH, ENGLISH, ENGLISH, ENGLISH, SIMPLIFIED, TRADITIONAL]


def test_traditional_output_converts_the_script_in_everyday_forms() -> None:
    out = language.to_traditional("已为您登记，我们接着把刚才的事登记完，内容已加进描述里了。群众意见")
    assert out == "已為您登記，我們接著把剛才的事登記完，內容已加進描述裡了。群眾意見"
    assert language.to_traditional("请拨打12356心理援助热线 or 110") == "請撥打12356心理援助熱線 or 110"
    assert language.to_traditional("") == ""


def test_traditional_output_keeps_mainland_vocabulary() -> None:
    """zh-hant converts the script only: no Taiwan words (短信 stays 短信, not 簡訊)."""
    assert language.to_traditional("发短信或者打印出来") == "發短信或者打印出來"


def test_for_reader_converts_only_for_traditional() -> None:
    assert language.for_reader("这里", TRADITIONAL) == "這裡"
    assert language.for_reader("这里", SIMPLIFIED) == "这里"
    assert language.for_reader("这里", ENGLISH) == "这里"
    assert language.for_reader("这里", None) == "这里"


def test_slot_values_and_labels() -> None:
    assert language.slot_value(ENGLISH) == "en"
    assert language.slot_value(TRADITIONAL) == "zh"
    assert language.slot_value(None) == "zh"
    assert language.label(ENGLISH) == "English"
    assert language.label(TRADITIONAL) == "繁體"
    assert language.label(None) == "简体"
    assert language.normalise_language("xx") == SIMPLIFIED


def test_the_products_own_simplified_texts_are_never_read_as_traditional() -> None:
    """No shared character is taken for a Traditional marker: every response of the domain is Simplified."""
    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    texts = [str(v.get("text") or "") for variants in responses.values() for v in variants]
    chinese = [t for t in texts if any(language.is_han(ch) for ch in t)]
    assert chinese
    assert [t for t in chinese if detect(t) == TRADITIONAL] == []
    assert [t for t in chinese if detect(language.to_traditional(t)) != TRADITIONAL] == []


def test_markers_exclude_characters_valid_in_both_scripts() -> None:
    traditional, simplified = language._markers()
    for ch in "后里台干余云面只了系":
        assert ch not in simplified and ch not in traditional
    for ch in "乾覆瞭著":
        assert ch not in traditional
    for ch in "個們這說問題後於車":
        assert ch in traditional
    for ch in "个们这说问题坏灯":
        assert ch in simplified


def test_a_buttons_payload_is_not_decisive() -> None:
    """Pressing "已解决" sends '/affirm{"follow_up_ticket":"1"}': a Chinese conversation stays Chinese."""
    assert language.detect('/affirm{"follow_up_ticket":"1"}') is None
    assert language.conversation_language("zh-Hans", '/rate_service{"service_score":5}') == "zh-Hans"

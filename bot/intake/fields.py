"""What the ticket form asks for a category, and what can be read from the first message already.

The desk catalogue says, per category, which details staff need (`form: [what, where, since, ...]`),
how soon staff answer (`sla_hours`) and the priority. The first message usually says *what*
happened and often *since when*: those are pre-filled (the person confirms or corrects them in the
summary) so the form only asks for what is missing. Places are not guessed: without word
segmentation a guess is too often half a street name, and a wrong detail is worse than a question.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.privacy import EMAIL, fold, spoken_digits
from bot.text import normalise

if TYPE_CHECKING:
    from bot.triage.catalogue import Catalogue, CatalogueStore

log = logging.getLogger(__name__)

FIELD_SLOTS: dict[str, str] = {
    "what": "problem_what",
    "where": "problem_where",
    "since": "problem_since",
    "who": "problem_who",
}
"""Catalogue form field -> Rasa slot of the ticket form (`contact` is handled apart, with consent)."""

FIELD_LABELS: dict[str, str] = {
    "problem_what": "问题描述",
    "problem_where": "地点",
    "problem_since": "开始时间",
    "problem_who": "涉及对象",
    "person_age": "年龄",
    "contact_value": "联系方式",
    "callback_time": "方便联系的时间",
}
FIELD_LABELS_EN: dict[str, str] = {
    "problem_what": "Description",
    "problem_where": "Place",
    "problem_since": "Since",
    "problem_who": "Involved",
    "person_age": "Age",
    "contact_value": "Contact",
    "callback_time": "Best time to call",
}
STORED_ANSWERS_EN: dict[str, str] = {
    "未说明": "not given",
    "记不清": "can't remember",
    "（见问题描述）": "(see the description)",
    "都可以": "any time",
}
"""Fixed answers the form stores for staff in Chinese ("未说明"), as an English summary shows them."""
DEFAULT_FORM: tuple[str, ...] = ("what", "where", "since")
"""Fields asked when the category is unknown (the person insisted on reporting after an FAQ answer)."""
UNKNOWN = "不清楚"
DEFAULT_SLA_HOURS = 72
RESOLUTION_HOURS = 120
"""Resolution deadline (5 days) unless the category's first-response promise is longer."""


@dataclass(frozen=True)
class CategoryInfo:
    """The parts of a catalogue category the intake needs; defaults when the category is unknown."""

    id: str | None = None
    name: str | None = None
    category_l1: str | None = None
    priority: str = "normal"
    sla_hours: int = DEFAULT_SLA_HOURS
    form: tuple[str, ...] = DEFAULT_FORM
    name_en: str | None = None
    sensitive: bool = False
    """Health, abuse, sexual matters: separate consent before the ticket is recorded (actions/ticket_form.py)."""

    @property
    def asks_contact(self) -> bool:
        return "contact" in self.form

    @property
    def slots(self) -> tuple[str, ...]:
        """The form slots of the category's details, in the catalogue's order ("what" always first)."""
        fields = ["what", *(f for f in self.form if f != "what")]
        return tuple(FIELD_SLOTS[f] for f in fields if f in FIELD_SLOTS)


_store: CatalogueStore | None = None
_store_lock = threading.Lock()


def _catalogue() -> Catalogue:
    """The desk catalogue (YAML, re-read when staff edit it); loaded on first use."""
    global _store
    with _store_lock:
        if _store is None:
            from bot.triage.catalogue import CatalogueStore

            _store = CatalogueStore()
        return _store.get()


def category_info(desk: str, category_id: str | None) -> CategoryInfo:
    """Form fields, SLA and priority of a category; never raises (a broken catalogue gives the defaults)."""
    if not category_id:
        return CategoryInfo()
    try:
        category = _catalogue().desk(desk).category(category_id)
    except Exception:
        log.exception("desk catalogue unavailable; using the default ticket form")
        return CategoryInfo(id=category_id)
    if category is None:
        return CategoryInfo(id=category_id)
    return CategoryInfo(
        id=category.id,
        name=category.name,
        category_l1=category.category_l1,
        priority=category.priority or "normal",
        sla_hours=int(category.sla_hours or DEFAULT_SLA_HOURS),
        form=tuple(category.form) or DEFAULT_FORM,
        name_en=category.name_en or None,
        sensitive=category.sensitive,
    )


# -- reading details out of the first message ------------------------------------------------------

_NUM = r"[0-9一二两三四五六七八九十几半多]"
_SINCE = re.compile(
    r"(?:从|自从|打从)?"
    r"(?:"
    rf"{_NUM}{{1,4}}(?:个)?多?(?:分钟|小时|天|日|周|星期|礼拜|禮拜|個?月|个月|月|年)(?:多|左右)?"
    r"|(?:昨天|昨晚|前天|今天|今早|上周|上星期|上礼拜|上个月|上個月|上半年|去年|前年|年初|开学|開學|放假)"
    r"(?:晚上|早上|中午|下午|上午|夜里|夜裡|[早晚])?"
    r"|(?:好几|好幾|这几|這幾|最近几|近几)(?:天|周|个月|個月|年)"
    r"|\d{1,2}月(?:\d{1,2}[日号號])?|\d{4}年(?:\d{1,2}月)?"
    r")"
    r"(?:以来|以來|开始|開始|起|了)?"
)
_SINCE_CUES = re.compile(r"了|以来|以來|开始|開始|起|前|多|一直|从|從")
_SINCE_BEFORE = re.compile(r"已经|已經|快|都|有")


def guess_since(text: str) -> str | None:
    """A time phrase of the first message ("半个多月了", "从上周开始"), if it clearly has one."""
    for match in _SINCE.finditer(text or ""):
        phrase = match.group(0)
        before, after = text[max(0, match.start() - 2) : match.start()], text[match.end() : match.end() + 2]
        if _SINCE_CUES.search(phrase) or _SINCE_CUES.search(after) or _SINCE_BEFORE.search(before):
            return phrase.strip()
    return None


_MONEY = r"(钱|块|元|万|千|百|押金|保证金|定金|会员费|\d)"
_FRAUD_LOSS = re.compile(
    rf"(骗了|骗走|骗去|被骗|被人骗|让人骗|给人骗)(了|走)?.{{0,12}}{_MONEY}"
    rf"|(交|转|付|充)了.{{0,16}}{_MONEY}.{{0,20}}(联系不上|拉黑|删了我|把我删|删除了我|不回|跑路|失联)"
)
_FRAUD_NOT_LOSS = re.compile(r"防止被骗|怎么(识别|防|避免)|如何(识别|防|避免)|会不会被骗|是不是骗")


def lost_money_to_fraud(text: str) -> bool:
    """Money already lost to a scam ("被网友骗了两千块钱", "交了保证金就联系不上人了"): reporting to
    the police at once gives the best chance to stop the payment, so the ticket intro says so first.
    Questions about avoiding scams ("怎么防止被骗钱") are not losses."""
    norm = normalise(text or "")
    return bool(_FRAUD_LOSS.search(norm)) and not _FRAUD_NOT_LOSS.search(norm)


_YOUTH_PLACES: dict[str, str] = {
    "学校": r"学校|班上|班里|教室|宿舍|寝室|食堂|操场|校门口|课间|上课",
    "家里": r"家里|在家|家中",
    "网上": r"网上|网络|微信群|qq群|群里|游戏里|直播间|抖音|快手|b站|微博|私信",
    "实习或打工的地方": r"实习单位|实习的地方|打工的地方|公司里|厂里|店里",
}
_YOUTH_PEOPLE: dict[str, str] = {
    "同学": r"同学|男生|女生|室友|舍友|学长|学姐|同桌",
    "老师": r"老师|班主任|校长|教练|辅导员",
    # not 他妈的 (a curse), 小哥哥/小姐姐 (slang for a young stranger), 叔叔 (any grown man to a child)
    "家人": r"爸|(?<![他她你])妈(?!的)|父母|继父|继母|后妈|爷爷|奶奶|(?<!小)(哥哥|姐姐)",
    "老板": r"老板|店长|主管|经理|中介|工头",
    "网友": r"网友|陌生人",
}
"""What a young person's first message often says already ("班上几个男生…把我书包扔进厕所"). Read
on the normalised text (Traditional -> Simplified, lower case). The form asks "在哪里" and "涉及谁"
only when the message does not say it unambiguously."""


def _one_family(text: str, families: dict[str, str]) -> str | None:
    norm = normalise(text or "")
    found = {name for name, pattern in families.items() if re.search(pattern, norm)}
    return found.pop() if len(found) == 1 else None


def guess_youth_where(text: str) -> str | None:
    """ "学校" / "家里" / "网上" / "实习或打工的地方" when the message names places of one kind only."""
    return _one_family(text, _YOUTH_PLACES)


def guess_youth_who(text: str) -> str | None:
    """ "同学" / "老师" / "家人" / "老板" / "网友" when the message names people of one kind only
    ("班上几个男生骂我，老师也不管" names two: the form asks)."""
    return _one_family(text, _YOUTH_PEOPLE)


# -- contact details --------------------------------------------------------------------------------

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d(?:[- ]?\d){8})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3}-?\d{7,8})(?!\d)")
_EMAIL = EMAIL  # ASCII only: "邮箱是abc@qq.com谢谢" gives abc@qq.com, not the words around it


def parse_contact(text: str) -> tuple[str, str] | None:
    """(kind, value) of a phone number or e-mail address in `text`, else None (full-width digits and
    numbers written in Chinese numerals too)."""
    text = spoken_digits(fold(text or ""))
    if match := _MOBILE.search(text):
        return "phone", re.sub(r"[- ]", "", match.group(1))
    if match := _LANDLINE.search(text):
        return "phone", match.group(1)
    if match := _EMAIL.search(text):
        return "email", match.group(0).rstrip(".")
    return None


# -- words for people -------------------------------------------------------------------------------


def format_duration(hours: float, language: str = "zh-Hans") -> str:
    """72 -> "3天", 4 -> "4小时", 0.25 -> "15分钟", 36 -> "36小时"; in English "3 days", "4 hours", "15 minutes"."""
    if language == "en":
        if hours < 1:
            minutes = max(1, round(hours * 60))
            return f"{minutes} minute{'s' if minutes != 1 else ''}"
        if hours >= 24 and hours % 24 == 0:
            days = int(hours // 24)
            return f"{days} day{'s' if days != 1 else ''}"
        shown = int(hours) if float(hours).is_integer() else hours
        return f"{shown} hour{'s' if shown != 1 else ''}"
    if hours < 1:
        return f"{max(1, round(hours * 60))}分钟"
    if hours >= 24 and hours % 24 == 0:
        return f"{int(hours // 24)}天"
    return f"{int(hours) if float(hours).is_integer() else hours}小时"


def summary_lines(values: dict[str, Any], slots: tuple[str, ...], language: str = "zh-Hans") -> list[str]:
    """ "标签：值" lines of the details collected so far, in the form's order ("Label: value" in English)."""
    english = language == "en"
    lines = []
    for slot in slots:
        value = values.get(slot)
        if value is None or value == "":
            continue
        text = str(value).strip()
        if len(text) > 200:
            text = text[:200] + "…"
        if english:
            lines.append(f"{FIELD_LABELS_EN.get(slot, slot)}: {STORED_ANSWERS_EN.get(text, text)}")
        else:
            lines.append(f"{FIELD_LABELS.get(slot, slot)}：{text}")
    return lines

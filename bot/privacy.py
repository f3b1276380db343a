"""Masking of personal data (PIPL) before text reaches logs, analytics or default staff views.

Pure Python so that the gateway, the actions and the Rasa-side logging can all share it.
"""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
BANK_CARD = re.compile(r"(?<!\d)(?:\d{4}[ -]?){3,4}\d{1,4}(?!\d)")
# A door-level address: building/unit/room numbers identify a household; a street alone does not.
ADDRESS_DETAIL = re.compile(
    r"\d+\s*(?:栋|幢|号楼|單元|单元|室|号房|樓|楼)\s*(?:\d+\s*(?:单元|單元|室|号|樓|楼|层))*(?:\d+(?:室|号|房)?)?"
)
"""Building, unit and room: "3栋2单元501室", and the room without 室 ("3栋2单元501") as people type it."""
# "我叫张三" / "我是李四" / "名字是王五": a name the person volunteers about themselves.
SELF_NAME = re.compile(r"(我叫|我的名字是|名字是|我是|姓名[:：]?\s*)([\u4e00-\u9fff]{2,3})(?=[，。,.!！ \s]|$)")
_NOT_NAMES = {
    "学生",
    "家长",
    "老师",
    "居民",
    "业主",
    "市民",
    "一名",
    "一个",
    "初中",
    "高中",
    "大学",
    "新来",
    "外地",
    "本地",
}


def is_valid_id_card(number: str) -> bool:
    """GB 11643 / ISO 7064 MOD 11-2 check digit: tells a real ID number from a random 18-digit string."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _mask_id(match: re.Match[str]) -> str:
    value = match.group(0)
    return value[:3] + "*" * 11 + value[-4:] if is_valid_id_card(value) else "[证件号]"


def _mask_mobile(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))[-11:]
    return digits[:3] + "****" + digits[-4:]


def _mask_name(match: re.Match[str]) -> str:
    name = match.group(2)
    if name in _NOT_NAMES:
        return match.group(0)
    return match.group(1) + name[0] + "*" * (len(name) - 1)


def mask(text: str) -> str:
    """Return `text` with ID numbers, phones, e-mails, bank cards, door numbers and self-given names masked."""
    if not text:
        return text
    text = ID_CARD.sub(_mask_id, text)
    text = MOBILE.sub(_mask_mobile, text)
    text = EMAIL.sub("[邮箱]", text)
    text = BANK_CARD.sub("[卡号]", text)
    text = LANDLINE.sub("[电话]", text)
    text = ADDRESS_DETAIL.sub("[门牌]", text)
    return SELF_NAME.sub(_mask_name, text)


def contains_personal_data(text: str) -> bool:
    """Whether `mask` would change the text: used to warn people who paste personal data unasked."""
    return mask(text) != text

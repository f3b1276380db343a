"""The person's age, as a young person writes it ("15", "十三岁", "我今年14了", "I'm 13"), for the
12355 ticket form's age question.

PIPL Art. 28 and 31: personal information of a child under 14 is sensitive, and processing it needs
the guardian's consent. A ticket of an under-14 is still filed (to protect the child), marked
`under_14`, and staff are told to involve a guardian or the school; the child is told so.
"""

from __future__ import annotations

import re

GUARDIAN_AGE = 14
"""Under this age a guardian must be involved (PIPL Art. 31)."""
NOT_SAID = "未说明"
"""What the form stores when the person would rather not say (or says something that is no age)."""

_DIGITS = re.compile(r"(?<![\d.])(\d{1,2})(?![\d.])\s*(?:周岁|週歲|岁|歲|years?\s*old|yrs?|yo\b|y/o)?", re.IGNORECASE)
_HAN_NUMBER = re.compile(
    r"([一二两兩三四五六七八九]?十[一二三四五六七八九]?|[一二两兩三四五六七八九])\s*(周岁|週歲|岁|歲)?"
)
_HAN_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ENGLISH = {
    word: n
    for n, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_ENGLISH_WORD = re.compile(r"\b(" + "|".join(_ENGLISH) + r")\b", re.IGNORECASE)
_NOT_AN_AGE = re.compile(
    r"\d+\s*(?:年级|年級|年|月|日|号|號|点|點|班|[:：]\d*)|[初高][一二三]|[一二三四五六]年[级級]|grade\s*\d+",
    re.IGNORECASE,
)
"""Numbers that are dates, times or school years ("初二", "3班"): never read as an age."""


def _han_value(numeral: str) -> int:
    if "十" not in numeral:
        return _HAN_DIGITS[numeral]
    tens, _, ones = numeral.partition("十")
    return (_HAN_DIGITS[tens] if tens else 1) * 10 + (_HAN_DIGITS[ones] if ones else 0)


def parse_age(text: str) -> int | None:
    """The age in years the text states, or None ("不想说", "初二", a date); 3-99 only."""
    text = (text or "").strip()
    if not text or len(text) > 40:
        return None
    cleaned = _NOT_AN_AGE.sub(" ", text)
    for match in _DIGITS.finditer(cleaned):
        age = int(match.group(1))
        if 3 <= age <= 99:
            return age
    for match in _HAN_NUMBER.finditer(cleaned):
        whole = cleaned.strip(" 。.!！~～了啦呀岁歲") == match.group(1)
        if match.group(2) or whole or "今年" in text:
            age = _han_value(match.group(1))
            if 3 <= age <= 99:
                return age
    word = _ENGLISH_WORD.search(cleaned)
    if word is not None:
        age = _ENGLISH[word.group(1).lower()]
        if 3 <= age <= 99:
            return age
    return None


def under_guardian_age(stored: object) -> bool:
    """Is an age the form stored (digits, or "未说明") under 14?"""
    text = str(stored or "").strip()
    return text.isdigit() and int(text) < GUARDIAN_AGE

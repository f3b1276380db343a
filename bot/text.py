"""Text normalisation shared by the Rasa NLU components, the triage engine and the gateway.

Pure Python (only `zhconv`), because it also runs inside the Rasa server's environment.
Every component must see the same text, or a Traditional-Chinese message would be
understood by one stage and missed by the next.
"""

from __future__ import annotations

import re
import unicodedata

import zhconv

MAX_MESSAGE_CHARS = 2000
"""Longest message the bot reads; longer input is cut (and the user is told) rather than refused."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"[ \t\r\f\v\u3000]+")
_NEWLINES = re.compile(r"\n{3,}")


def clean(text: str | None) -> str:
    """Remove what no person meant to type: control characters, bidi overrides, zero-widths, runs of spaces.

    Keeps the original script and case, so this is what is stored and shown to staff.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n\n", text)
    return text.strip()


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese to Simplified (mainland usage), leaving other scripts alone."""
    return zhconv.convert(text, "zh-cn") if text else text


def normalise(text: str | None) -> str:
    """The form every classifier reads: cleaned, NFKC (full-width to half-width), Simplified, lower-case."""
    text = clean(text)
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    return to_simplified(text).lower()


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> tuple[str, bool]:
    """Cut `text` to `limit` characters; the flag tells the caller to mention it to the user."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit (not just emoji, punctuation or symbols)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


def length_units(text: str | None) -> int:
    """How long a message is to a reader, across scripts: Han characters plus Latin words (and numbers).

    "since last month" is 3, "上个月开始的" is 6: a character count would make English look five times
    longer than the same answer in Chinese.
    """
    value = text or ""
    return len(_HAN.findall(value)) + len(_LATIN_WORD.findall(value))


_QUESTION = re.compile(
    r"[?？]|吗|嗎|呢|么|麼|怎么|怎麼|如何|为什么|為什麼|是否|能不能|可不可以|会不会|會不會|有没有|有沒有|多久|几点|幾點|哪里|哪裡|谁|誰"
    r"|\b(what|how|why|when|where|who|can|could|will|would|do|does|is|are)\b.*\b(you|i|it|my|the|this|they)\b",
    re.IGNORECASE,
)


def reads_as_question(text: str | None) -> bool:
    """Does the message ask something ("会告诉房东吗", "how long will it take?") rather than state it
    ("厦门思明区，曾厝垵附近")? A statement in the middle of a form is its answer, not a digression."""
    return bool(_QUESTION.search(text or ""))

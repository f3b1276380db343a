"""Several matters in one message: acknowledge each, ask which comes first, offer the others after.

"我要反映两个问题：一是小区电梯经常坏，二是物业乱收停车费" used to become one ticket about the lift;
the parking fees were never mentioned again. Now the gateway splits a message that says it holds
several matters, asks which to take first (a button per matter), sends only that one to Rasa (the
form files it as usual), and after the ticket is filed offers the next one ("您刚才还提到了…").

Pure functions here; `Gateway` keeps the state in `gw_conversations.pending_matters`:
``{"stage": "choose" | "queued" | "offer", "matters": ["...", ...]}``.

A split is trusted only when the person says there are several ("两个问题", "一是…二是", "第一…
第二", "another issue") or when the parts go to different categories: "电梯坏了，还有人被困过" is
one matter with two sentences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.language import is_english
from bot.text import normalise
from bot.voice import is_youth

SOURCE_CHOICE = "matter-choice"
"""gw_outbound.source of the question "which first?"."""
SOURCE_OFFER = "matter-offer"
"""gw_outbound.source of the offer to take the next matter."""
MAX_MATTERS = 3
MIN_MATTER_CHARS = 5
"""A part shorter than this (without spaces) is not a matter of its own ("这两个事怎么办" tails)."""
SHOWN_CHARS = 28

_STRONG = re.compile(
    r"(两|兩|几|幾|三)(个|個|件|点|點)(问题|問題|事|事情|诉求|訴求)|一是.*二是|第一.*第二|首先.*其次|[1１][、.．)）].*[2２][、.．)）]"
    r"|①.*②|还有一个问题|還有一個問題|还有一件事|還有一件事|另外还想反映|另外還想反映|顺便再反映|順便再反映"
    r"|\b(two|several|a few) (issues|problems|things|matters)\b|\banother (issue|problem|thing)\b|\bsecond(ly)?\b",
    re.IGNORECASE | re.DOTALL,
)
"""The person says there are several matters."""
_BOUNDARY = re.compile(
    r"(?=(?:二是|三是|(?:第二|第三)(?=[是个個件点點条條就\s,，:：、]|$)|其次|另外|还有|還有|再一个|再一個|再有|顺便|順便|以及|同时还|同時還"
    r"|[2２3３][、.．)）]|②|③|\balso\b|\banother\b|\bsecond(?:ly)?\b|\bplus\b))",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^[\s,，.。;；:：!！、]*(一是|二是|三是|第一|第二|第三|首先|其次|另外|还有就是|还有|還有|再一个|再一個|再有|顺便|順便"
    r"|以及|同时还|同時還|[1-3１-３][、.．)）]|[①②③]|also|another thing is|another|secondly|second|plus|and)"
    r"[\s,，:：、个個是]*",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[\s,，]*\b(and|also|plus)\s*$", re.IGNORECASE)
_PREAMBLE = re.compile(
    r"^.*?(问题|問題|事|事情|诉求|訴求|things|issues|problems|matters)[:：,，。]\s*(一个是|一個是|一是|第一)?",
    re.IGNORECASE,
)


def says_several(text: str) -> bool:
    """Does the person say the message holds several matters?"""
    return bool(_STRONG.search(text or ""))


def split(text: str) -> list[str]:
    """The parts of a message at its enumeration words ("二是", "还有", "also"), cleaned of them.

    At most `MAX_MATTERS`; parts too short to be a matter are joined to the one before.
    """
    body = _PREAMBLE.sub("", text.strip(), count=1) if says_several(text) else text.strip()
    parts: list[str] = []
    for raw in _BOUNDARY.split(body):
        part = _TAIL.sub("", _LEAD.sub("", raw).strip(" ，,。.;；、"))
        if not part:
            continue
        if parts and len(re.sub(r"\s+", "", part)) < MIN_MATTER_CHARS:
            parts[-1] = f"{parts[-1]}，{raw.strip()}"  # too short to be a matter: part of the one before
            continue
        parts.append(part)
    return parts[:MAX_MATTERS]


def several(parts: Sequence[str], categories: Sequence[str | None], text: str) -> bool:
    """Are these really several matters? Every part must be a matter the desk files (a category);
    then either the person said so, or the parts go to different categories."""
    if len(parts) < 2 or len(categories) != len(parts) or any(c is None for c in categories):
        return False
    return says_several(text) or len(set(categories)) == len(categories)


def shown(matter: str) -> str:
    """A matter as the person sees it in a list: their own words, shortened."""
    one_line = re.sub(r"\s+", " ", matter).strip()
    return one_line if len(one_line) <= SHOWN_CHARS else one_line[: SHOWN_CHARS - 1] + "…"


def ask_which(desk: str, matters: Sequence[str], language: str) -> tuple[str, list[dict[str, str]]]:
    """ "You mentioned N matters: 1. … 2. … Which first?" with a button per matter (payload: its number)."""
    listed = "\n".join(f"{i}. {shown(m)}" for i, m in enumerate(matters, 1))
    if is_english(language):
        text = f"You mentioned {len(matters)} matters:\n{listed}\nLet's take them one at a time. Which one first?"
        titles = [f"Start with {i}" for i in range(1, len(matters) + 1)]
    elif is_youth(desk):
        text = f"你说到了{len(matters)}件事：\n{listed}\n我们一件一件来，先说哪一件？"
        titles = [f"先说第{i}件" for i in range(1, len(matters) + 1)]
    else:
        text = f"您提到了{len(matters)}件事：\n{listed}\n我们一件一件登记，先说哪一件？"
        titles = [f"先说第{i}件" for i in range(1, len(matters) + 1)]
    return text, [{"title": t, "payload": str(i)} for i, t in enumerate(titles, 1)]


def offer_next(desk: str, matter: str, language: str) -> tuple[str, list[dict[str, str]]]:
    """After a ticket is filed: the next matter the person raised, offered with yes/no buttons."""
    if is_english(language):
        text = f'You also mentioned "{shown(matter)}". Shall we register that one as well?'
        return text, [{"title": "Yes", "payload": "yes"}, {"title": "Not now", "payload": "not now"}]
    you = "你" if is_youth(desk) else "您"
    text = f"{you}刚才还提到了「{shown(matter)}」，要接着登记这件吗？"
    return text, [{"title": "好的", "payload": "好的"}, {"title": "先不用", "payload": "先不用"}]


def declined(desk: str, language: str) -> str:
    if is_english(language):
        return "All right. If you want to report it later, just tell me."
    return f"好的。以后想登记，随时告诉我。{'' if is_youth(desk) else '感谢您的反映。'}"


_FIRST = re.compile(r"^(先说)?(第?一|1|１|①|前面|前一|头一|first|the first|1st|one)", re.IGNORECASE)
_SECOND = re.compile(r"^(先说)?(第?二|2|２|②|后面|後面|后一|後一|second|the second|2nd|two)", re.IGNORECASE)
_THIRD = re.compile(r"^(先说)?(第?三|3|３|③|third|the third|3rd|three)", re.IGNORECASE)
_ANY = re.compile(
    r"^(都行|都可以|随便|隨便|无所谓|無所謂|你定|你决定|either|any|whatever|doesn'?t matter)", re.IGNORECASE
)


def read_choice(text: str, matters: Sequence[str]) -> int | None:
    """Which matter the answer picks (0-based): a number or ordinal ("2", "第二个", "second"), words
    of one matter ("先说电梯吧"), or "都行" (the first). None: not an answer to the question."""
    norm = normalise(text or "").strip()
    bare = re.sub(r"^(先说|先|说|就|那|那就|嗯|好|ok)[\s,，]*", "", norm)
    for i, pattern in enumerate((_FIRST, _SECOND, _THIRD)):
        if i < len(matters) and (pattern.match(norm) or pattern.match(bare)):
            return i
    if _ANY.match(bare) or _ANY.match(norm):
        return 0
    overlap = [_shared_bigrams(bare or norm, normalise(m)) for m in matters]
    best = max(range(len(matters)), key=lambda i: overlap[i]) if matters else None
    if best is not None and overlap[best] > 0 and overlap.count(overlap[best]) == 1:
        return best
    return None


def _shared_bigrams(a: str, b: str) -> int:
    def grams(s: str) -> set[str]:
        s = re.sub(r"[\s\W_]+", "", s)
        return {s[i : i + 2] for i in range(len(s) - 1)}

    return len(grams(a) & grams(b))


_YES = re.compile(
    r"^(好|好的|好啊|好吧|可以|行|要|要的|嗯|嗯嗯|对|是|登记|继续|接着|ok|okay|yes|yeah|sure|yep|please)", re.I
)
_NO = re.compile(r"^(不用|先不用|不要|不了|算了|以后再说|下次|no|nope|not now|later|no thanks)", re.IGNORECASE)


_ALSO = re.compile(
    r"也(报|登记|反映|说|弄)|(报|登记|反映)一下|一起(报|登记)|\balso\b|\bas well\b|\btoo\b", re.IGNORECASE
)


def read_yes_no(text: str, offered: str | None = None) -> bool | None:
    """The answer to the offer: True, False, or None (something else: read as usual). Naming the
    offered matter ("遛狗那个也报一下") is a yes too."""
    norm = normalise(text or "").strip()
    if _NO.match(norm):
        return False if len(norm) <= 20 else None
    if len(norm) <= 20 and _YES.match(norm):
        return True
    if offered is not None and (_ALSO.search(norm) or read_choice(norm, [offered]) == 0):
        return True
    return None

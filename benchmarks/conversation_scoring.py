"""Scripts, transcripts and scores of the fresh conversation rounds (benchmarks/conversations.py).

Everything here is pure (no stack, no network): the file format is read into `Script`s, the
runner's choice of what to send next is `ScriptCursor`, a finished conversation is an `Observed`
(what was sent and answered, what the tracker and the database show), and `score` compares it with
the script's expectations. The format itself is benchmarks/conversations/FORMAT.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
import zhconv

from actions.common import FORM_SLOTS as FORM_SLOT_NAMES
from bot.text import normalise

DESKS = ("12345", "12355")
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
DETAIL_KEYS = (
    "what",
    "where",
    "since",
    "who",
    "consent",
    "age",
    "contact",
    "phone",
    "callback",
    "confirm",
    "which",
    "other_matter",
)
ROUTES = ("crisis", "emergency", "refer", "decline", "faq", "ticket", "smalltalk", "clarify")
FILED_ROUTES = ("ticket", "crisis")
"""Ticket records that are cases for staff; faq/refer/decline/emergency answers are closed records."""
MAX_UNSCRIPTED = 8
"""Answers the runner makes up per conversation (questions the script has no answer for); eight since the
consent and age questions (rounds 1-5 were scored with six)."""

# --- what the bot asks -------------------------------------------------------------------------
# One table: a slot (Rasa's `requested_slot`, or the X of an `utter_ask_X` / `action_ask_X` the
# bot ran in its latest turn outside a form) -> the FORMAT.md detail key it asks for.
SLOT_KEYS: dict[str, str] = {
    "problem_what": "what",
    "problem_where": "where",
    "problem_since": "since",
    "problem_who": "who",
    "sensitive_consent": "consent",  # a sensitive matter: may it be recorded as a ticket?
    "person_age": "age",  # the youth desk's age question when filing
    "contact_consent": "contact",
    "contact_value": "phone",
    "callback_time": "callback",
    "ticket_edit": "confirm",  # "想修改哪一项？" after a 修改 at the summary: still the confirmation step
    "ticket_confirmed": "confirm",
    "matter_choice": "which",
    "other_matter": "other_matter",
}

FORM_SLOTS = frozenset(FORM_SLOT_NAMES)
"""ticket_form's slots (domain.yml): asked only while the form is the active loop."""

# --- what the runner answers when the script has no answer --------------------------------------
DONT_KNOW = {"zh-Hans": "不清楚", "zh-Hant": "不清楚", "en": "I don't know"}
UNSCRIPTED: dict[str, dict[str, str]] = {
    "confirm": {"zh-Hans": "对，提交吧", "zh-Hant": "對，提交吧", "en": "yes, submit it"},
    # a person who came to report agrees to it being recorded, and keeps their age to themselves
    "consent": {"zh-Hans": "可以，记下来吧", "zh-Hant": "可以，記下來吧", "en": "yes, you can note it down"},
    "age": {"zh-Hans": "不想说", "zh-Hant": "不想說", "en": "I'd rather not say"},
    "contact": {
        "zh-Hans": "不用了，不留联系方式",
        "zh-Hant": "不用了，不留聯繫方式",
        "en": "no, I'd rather not be contacted",
    },
    "phone": {"zh-Hans": "不用了，不留电话", "zh-Hant": "不用了，不留電話", "en": "no, I'd rather not give a number"},
    "which": {"zh-Hans": "先说第一个", "zh-Hant": "先說第一個", "en": "the first one"},
    "other_matter": {"zh-Hans": "不用了", "zh-Hant": "不用了", "en": "no, that's all"},
}
SLOT_UNSCRIPTED: dict[str, dict[str, str]] = {
    # the slot-specific answer where the key's answer would not fit the question
    "ticket_edit": {"zh-Hans": "不用改了", "zh-Hant": "不用改了", "en": "no changes, submit it"},
}


def unscripted_answer(key: str, language: str, slot: str | None = None) -> str:
    """What a person without a scripted answer says (FORMAT.md): don't know, confirm, decline contact..."""
    if slot in SLOT_UNSCRIPTED:
        return SLOT_UNSCRIPTED[slot][language]
    return UNSCRIPTED.get(key, DONT_KNOW)[language]


def asked_key(tracker: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """(detail key, slot) the bot's latest turn asks for, from Rasa's tracker; (None, None) if nothing.

    A form's question is `requested_slot` while `active_loop` is set. Outside a form: a
    `requested_slot` of a slot in SLOT_KEYS, or an `utter_ask_<slot>` / `action_ask_<slot>` run
    (or uttered) after the person's latest message.
    """
    if not tracker:
        return None, None
    slots = tracker.get("slots") or {}
    requested = slots.get("requested_slot")
    loop = (tracker.get("active_loop") or {}).get("name")
    if requested in SLOT_KEYS and (loop or requested not in FORM_SLOTS):
        return SLOT_KEYS[requested], requested
    for event in reversed(tracker.get("events") or []):
        kind = event.get("event")
        if kind == "user":
            break
        name = event.get("name") if kind == "action" else (event.get("metadata") or {}).get("utter_action")
        match = re.fullmatch(r"(?:utter|action)_ask_(\w+)", str(name or ""))
        if match and match.group(1) in SLOT_KEYS:
            return SLOT_KEYS[match.group(1)], match.group(1)
    return None, None


# --- the file format ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScriptTurn:
    say: str
    if_asked: str | None = None


@dataclass(frozen=True)
class Expect:
    ticket: bool
    crisis: bool
    check_in: str = "no"  # no | allowed
    ticket_count: int | None = None
    details: dict[str, str] = field(default_factory=dict)
    first_route: str | None = None
    channel: str | None = None
    mentions: tuple[str, ...] = ()
    cancelled: bool = False
    notes: str = ""


@dataclass(frozen=True)
class Script:
    id: str
    desk: str
    writes_in: str
    summary: str
    turns: tuple[ScriptTurn, ...]
    expect: Expect
    round: str = ""


class FormatError(ValueError):
    """A round file that does not follow FORMAT.md."""


def _yes_no(value: Any, where: str, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if isinstance(value, bool):  # YAML 1.1 reads yes/no as booleans
        return value
    if str(value).strip().lower() in ("yes", "true"):
        return True
    if str(value).strip().lower() in ("no", "false"):
        return False
    raise FormatError(f"{where}: expected yes or no, got {value!r}")


def parse_conversation(raw: dict[str, Any], round_name: str = "") -> Script:
    """One conversation of a round file; FormatError names what is wrong."""
    cid = str(raw.get("id") or "").strip()
    if not cid:
        raise FormatError(f"{round_name}: a conversation without an id")
    desk = str(raw.get("desk") or "").strip()
    if desk not in DESKS:
        raise FormatError(f"{cid}: desk must be one of {DESKS}, got {desk!r}")
    language = str(raw.get("writes_in") or "").strip()
    if language not in LANGUAGES:
        raise FormatError(f"{cid}: writes_in must be one of {LANGUAGES}, got {language!r}")
    turns = []
    for number, item in enumerate(raw.get("turns") or [], start=1):
        if not isinstance(item, dict) or "say" not in item:
            raise FormatError(f"{cid}: turn {number} has no `say`")
        key = item.get("if_asked")
        if key is not None and str(key) not in DETAIL_KEYS:
            raise FormatError(f"{cid}: turn {number}: unknown if_asked key {key!r} (one of {DETAIL_KEYS})")
        turns.append(ScriptTurn(str(item["say"]), None if key is None else str(key)))
    if not turns:
        raise FormatError(f"{cid}: no turns")
    exp = raw.get("expect") or {}
    if not isinstance(exp, dict) or "ticket" not in exp or "crisis" not in exp:
        raise FormatError(f"{cid}: expect needs at least `ticket` and `crisis`")
    first_route = exp.get("first_route")
    if first_route is not None and str(first_route) not in ROUTES:
        raise FormatError(f"{cid}: first_route {first_route!r} is not one of {ROUTES}")
    details = {str(k): str(v) for k, v in (exp.get("details") or {}).items()}
    check_in = exp.get("check_in", "no")
    check_in = "no" if check_in is False else str(check_in)
    if check_in not in ("no", "allowed"):
        raise FormatError(f"{cid}: check_in must be no or allowed, got {check_in!r}")
    mentions = exp.get("mentions") or []
    if isinstance(mentions, str):
        mentions = [mentions]
    return Script(
        id=cid,
        desk=desk,
        writes_in=language,
        summary=str(raw.get("summary") or ""),
        turns=tuple(turns),
        expect=Expect(
            ticket=_yes_no(exp.get("ticket"), f"{cid}: ticket"),
            crisis=_yes_no(exp.get("crisis"), f"{cid}: crisis"),
            check_in=check_in,
            ticket_count=None if exp.get("ticket_count") is None else int(exp["ticket_count"]),
            details=details,
            first_route=None if first_route is None else str(first_route),
            channel=None if exp.get("channel") is None else str(exp["channel"]),
            mentions=tuple(str(m) for m in mentions),
            cancelled=_yes_no(exp.get("cancelled"), f"{cid}: cancelled", default=False),
            notes=str(exp.get("notes") or ""),
        ),
        round=round_name,
    )


def load_round(path: Path) -> tuple[str, list[Script]]:
    """(round name, its conversations) of one round file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = f"round {data['round']}" if data.get("round") is not None else path.stem
    scripts = [parse_conversation(raw, name) for raw in data.get("conversations") or []]
    seen: set[str] = set()
    for script in scripts:
        if script.id in seen:
            raise FormatError(f"{path}: id {script.id} used twice")
        seen.add(script.id)
    return name, scripts


# --- what to send next ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    text: str
    kind: str  # say | if_asked | unscripted
    key: str | None = None  # the detail it answers (if_asked / unscripted)
    turn: int | None = None  # index of the script turn (None for unscripted)


FACT_KEYS = frozenset({"what", "where", "since", "who", "age"})
"""Details that are facts the person knows whenever asked (not answers to a step such as confirm)."""


class ScriptCursor:
    """Chooses each next message of a conversation from the script and what the bot asks.

    Given `asked`, the detail the bot's latest reply asks for (None when it asks nothing):
    1. the if_asked turns at the head of what is left (the "block" before the next `say`) are the
       scripted answers on offer: one for `asked` is sent (the others stay on offer, in order);
    2. a question without a scripted answer when the script is used up, or when the next turn is an
       if_asked for another detail (not an answer to this question), gets an unscripted answer
       (FORMAT.md: don't know / confirm / decline contact / the first matter / no other matter), at
       most MAX_UNSCRIPTED per conversation;
    3. otherwise the block was not asked for: skipped; the next `say` is sent whatever the bot asks
       (a digression, a cancel, a correction is the person's to make), and after the last turn the
       conversation ends when the bot asks nothing that can be answered.
    At the summary ("confirm"), details still on offer will not be asked: they are skipped and the
    next `say` is sent (a withdrawal scripted there comes before anything is filed).
    A fact about the matter (`FACT_KEYS`: where, since, who...) that the script gives once, later
    on, is the person's own and is given when the bot asks for it earlier than the writer expected
    (a bot may ask "where" before "since"); a key the script answers twice (two matters, two
    places) is answered only from the current block.
    """

    def __init__(self, script: Script, max_unscripted: int = MAX_UNSCRIPTED) -> None:
        self.script = script
        self.remaining = list(enumerate(script.turns))
        self.skipped: list[int] = []
        self.unscripted = 0
        self.max_unscripted = max_unscripted

    def _block(self) -> list[tuple[int, ScriptTurn]]:
        block = []
        for index, turn in self.remaining:
            if turn.if_asked is None:
                break
            block.append((index, turn))
        return block

    def _later_fact(self, asked: str) -> Message | None:
        """The script's only later answer for the fact `asked`, taken out of the script; else None."""
        if asked not in FACT_KEYS:
            return None
        positions = [p for p, (_, turn) in enumerate(self.remaining) if turn.if_asked == asked]
        if len(positions) != 1:
            return None
        index, turn = self.remaining.pop(positions[0])
        return Message(turn.say, "if_asked", asked, index)

    def next_message(self, asked: str | None, slot: str | None = None) -> Message | None:
        while True:
            block = self._block()
            if asked is not None:
                for position, (index, turn) in enumerate(block):
                    if turn.if_asked == asked:
                        del self.remaining[position]
                        return Message(turn.say, "if_asked", asked, index)
                later = self._later_fact(asked)
                if later is not None:
                    return later
                if asked == "confirm" and block and len(self.remaining) > len(block):
                    # the summary: the form asks no more details, the scripted ones will not come up;
                    # the person goes on with what they meant to say next ("算了，不办了")
                    self.skipped.extend(index for index, _ in block)
                    del self.remaining[: len(block)]
                    continue
                if (block or not self.remaining) and self.unscripted < self.max_unscripted:
                    self.unscripted += 1
                    return Message(unscripted_answer(asked, self.script.writes_in, slot), "unscripted", asked)
            if block:
                self.skipped.extend(index for index, _ in block)
                del self.remaining[: len(block)]
                continue
            if not self.remaining:
                return None
            index, turn = self.remaining.pop(0)
            return Message(turn.say, "say", None, index)


# --- languages ----------------------------------------------------------------------------------
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
ALSO_TRADITIONAL = frozenset(
    "里台后干于云范准几余征划么丑仆伙冲凶占叶吃唇喂夸尸岩岳峰并床扑托斗朴杠柜栖栗洒涌淀游痒筑群胆腊腌虫蜡蝎"
    "踊辟郁采霉恒系只面了着松卷咸借才舍制致"
)
"""Characters zhconv would convert to Traditional that are standard Traditional characters as well
(公里, 皇后, 干擾, 茶几, 划船, 姓范...): never evidence of Simplified on their own."""


def simplified_only(char: str) -> bool:
    """A character written only in Simplified: zhconv changes it for Traditional and changes it back."""
    if char in ALSO_TRADITIONAL or not HAN.match(char):
        return False
    traditional = zhconv.convert(char, "zh-hant")
    return bool(traditional != char and zhconv.convert(traditional, "zh-cn") == char)


def traditional_only(char: str) -> bool:
    """A character zhconv changes for Simplified (裡, 們, 對): evidence of Traditional."""
    return bool(HAN.match(char)) and zhconv.convert(char, "zh-cn") != char


def simplified_chars(text: str) -> list[str]:
    """The Simplified-only characters of `text`, judged in context: a character zhconv's phrase
    conversion to Traditional leaves as it is (公里, 皇后) is not counted."""
    converted = zhconv.convert(text, "zh-hant")
    if len(converted) != len(text):  # a phrase changed length: judge character by character
        return [c for c in text if simplified_only(c)]
    return [c for c, t in zip(text, converted, strict=True) if c != t and simplified_only(c)]


def detect_language(text: str) -> str | None:
    """zh-Hans / zh-Hant / en when the message clearly is, None when it could be either (digits,
    a short answer, a Han text with no character that tells Simplified from Traditional).

    English: at least two Latin words and twice as many Latin letters as Han characters ("I live
    in 朝阳区 near the park" is English; "我想ask一下" is Chinese). Chinese: more characters of one
    script than of the other (see `simplified_chars`, `traditional_only`).
    """
    han = HAN.findall(text)
    words = LATIN_WORD.findall(text)
    if len(words) >= 2 and sum(map(len, words)) >= 2 * len(han):
        return "en"
    if not han:
        return None
    traditional = sum(traditional_only(c) for c in han)
    simplified = len(simplified_chars(text))
    if traditional > simplified:
        return "zh-Hant"
    if simplified > traditional:
        return "zh-Hans"
    return None


def judged_language(script: Script, said: Sequence[tuple[str, str]]) -> tuple[str, int]:
    """(language the replies must be in, index of the first message whose replies are judged).

    `said` = (kind, text) of every message sent, in order. The rule for conversations that switch:
    only the person's own `say` turns can switch the language (an if_asked answer is often an
    address or a name in another script; the runner's answers follow writes_in); a `say` switches
    when `detect_language` is sure of it. Replies are judged from the first message of the last
    run in one language, against that language; writes_in is where every conversation starts.
    """
    language, start = script.writes_in, 0
    for index, (kind, text) in enumerate(said):
        if kind != "say":
            continue
        detected = detect_language(text)
        if detected is not None and detected != language:
            language, start = detected, index
    return language, start


def _without_quotes(reply: str, person: Iterable[str]) -> str:
    """The reply without what the person wrote themselves (a summary quotes them)."""
    texts = sorted({t.strip() for t in person if len(t.strip()) >= 2}, key=len, reverse=True)
    for text in texts:
        reply = reply.replace(text, " ")
    joined = "\n".join(texts)
    return HAN_RUN.sub(lambda m: " " if m.group(0) in joined else m.group(0), reply)


_HAN_CLASS = HAN.pattern[1:-1]
GLOSSED_NAME = re.compile(
    rf"[0-9A-Za-z]*[{_HAN_CLASS}]+[0-9]*\s*\([A-Za-z][^()]*\)"  # 个人所得税 (Individual Income Tax) app
    rf"|\([0-9A-Za-z\s]*[{_HAN_CLASS}]+[^()]*\)"  # don't dox anyone (开盒); (12348 中国法网)
)
"""A Chinese name beside its English gloss: the app an English speaker in China has to search for,
or the word they will meet on a form. English written for them, not Chinese left untranslated."""


def language_problem(reply: str, language: str, person: Iterable[str] = ()) -> str | None:
    """Why `reply` is not in `language` (None when it is); the person's own words are not judged."""
    text = _without_quotes(reply, person)
    if language == "en":
        han = HAN.findall(GLOSSED_NAME.sub(" ", text))
        return f"Han characters in an English reply: {''.join(han[:12])}" if han else None
    if language == "zh-Hant":
        simplified = simplified_chars(text)
        return f"Simplified characters in a Traditional reply: {''.join(simplified[:12])}" if simplified else None
    if not HAN.search(reply):
        return "no Chinese in a reply to a Chinese speaker"
    return None


# --- a finished conversation --------------------------------------------------------------------
@dataclass
class Exchange:
    """One message sent and everything it got back."""

    text: str
    kind: str  # say | if_asked | unscripted
    key: str | None = None  # the detail it answered (if_asked, unscripted)
    asked_before: str | None = None  # the detail the bot asked when it was sent
    replies: list[str] = field(default_factory=list)
    asked_after: str | None = None  # the detail the bot asks in these replies
    slot_after: str | None = None  # Rasa's requested_slot (or ask action) behind asked_after
    route: str | None = None  # the gateway's decision for this message
    seconds: float = 0.0


@dataclass
class FiledTicket:
    number: str
    route: str
    summary: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Observed:
    conversation_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    tickets: list[FiledTicket] = field(default_factory=list)  # every ticket record of the conversation
    decisions: list[str | None] = field(default_factory=list)  # per inbound message, in order
    check_ins: int = 0
    cancelled: bool = False
    crisis_handoff: bool = False  # the conversation was handed to staff as a crisis
    skipped_turns: list[int] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # messages fetched from /updates at the end
    error: str | None = None
    seconds: float = 0.0

    @property
    def filed(self) -> list[FiledTicket]:
        return [t for t in self.tickets if t.route in FILED_ROUTES]

    @property
    def replies(self) -> list[str]:
        return [r for e in self.exchanges for r in e.replies] + self.queued


@dataclass
class Result:
    id: str
    desk: str
    writes_in: str
    round: str
    passed: bool
    reasons: list[str]
    wrongful_cancel: bool
    language: str
    language_ok: bool
    language_problems: list[str]
    answers_not_taken: list[str]
    check_ins: int
    unscripted: list[str]
    seconds: float
    observed: dict[str, Any] = field(default_factory=dict)


FIELD_OF_KEY = {"where": "where", "since": "since", "who": "who", "callback": "callback_time"}
"""The ticket's own field for a detail (triage_signals); every detail is also in the summary."""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", normalise(text)).strip()


def detail_found(key: str, wanted: str, tickets: Sequence[FiledTicket]) -> bool:
    """`wanted` (the person's words) is in the ticket's field for `key` or in its text, compared
    case-insensitively after normalise() on both sides (Traditional reads as Simplified)."""
    needle = _norm(wanted)
    for ticket in tickets:
        field_value = ticket.fields.get(FIELD_OF_KEY.get(key, key))
        for haystack in (str(field_value or ""), ticket.summary):
            if needle and needle in _norm(haystack):
                return True
    return False


def answers_not_taken(exchanges: Sequence[Exchange]) -> tuple[list[str], list[str]]:
    """(every answer for X followed by X asked again, the Xs where that happened twice in a row)."""
    not_taken: list[str] = []
    twice: list[str] = []
    streak: dict[str, int] = {}
    for exchange in exchanges:
        if exchange.kind not in ("if_asked", "unscripted") or exchange.key is None:
            continue
        if exchange.asked_after == exchange.key:
            not_taken.append(exchange.key)
            streak[exchange.key] = streak.get(exchange.key, 0) + 1
            if streak[exchange.key] == 2:
                twice.append(exchange.key)
        else:
            streak[exchange.key] = 0
    return not_taken, twice


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def score(script: Script, observed: Observed) -> Result:
    """Every expectation of the script against what happened; the reasons list says what did not hold."""
    expect = script.expect
    reasons: list[str] = []
    if observed.error:
        reasons.append(f"run error: {observed.error}")
    filed = observed.filed
    if expect.ticket_count is not None and len(filed) != expect.ticket_count:
        reasons.append(f"ticket_count: expected {expect.ticket_count}, filed {len(filed)}")
    elif expect.ticket and not filed:
        reasons.append("ticket: expected a filed case, none filed")
    elif not expect.ticket and filed:
        reasons.append(f"ticket: expected none, filed {len(filed)} ({', '.join(t.route for t in filed)})")
    for key, wanted in expect.details.items():
        if not detail_found(key, wanted, filed):
            reasons.append(f"details.{key}: {wanted!r} not in any filed ticket")
    first = observed.decisions[0] if observed.decisions else None
    if expect.first_route is not None and first != expect.first_route:
        reasons.append(f"first_route: expected {expect.first_route}, got {first}")
    replies = observed.replies
    if expect.channel is not None and not any(expect.channel in r for r in replies):
        reasons.append(f"channel: no reply names {expect.channel}")
    for wanted in expect.mentions:
        if not any(_norm(wanted) in _norm(r) for r in replies):
            reasons.append(f"mentions: no reply contains {wanted!r}")
    crisis = (
        "crisis" in observed.decisions or observed.crisis_handoff or any(t.route == "crisis" for t in observed.tickets)
    )
    if crisis != expect.crisis:
        reasons.append(f"crisis: expected {_yes(expect.crisis)}, happened {_yes(crisis)}")
    if expect.check_in == "no" and observed.check_ins:
        reasons.append(f"check_in: asked {observed.check_ins} time(s), expected no")
    # a form the bot should never have started (a request it should have declined), given up by the
    # person, ends as the writer wanted: nothing filed. Wrongful is a cancel of a report that was wanted.
    wrongful_cancel = observed.cancelled and not expect.cancelled and expect.ticket
    if wrongful_cancel:
        reasons.append("wrongful cancel: the form was cancelled, the person did not give up")
    elif expect.cancelled and not observed.cancelled:
        reasons.append("cancelled: expected the form to be cancelled, it was not")
    said = [(e.kind, e.text) for e in observed.exchanges]
    language, start = judged_language(script, said)
    person = [e.text for e in observed.exchanges]
    problems = []
    for number, exchange in enumerate(observed.exchanges[start:], start=start + 1):
        for reply in exchange.replies:
            problem = language_problem(reply, language, person)
            if problem:
                problems.append(f"message {number}: {problem}")
    if problems:
        reasons.append(
            f"language ({language}): {problems[0]}" + (f" (+{len(problems) - 1})" if len(problems) > 1 else "")
        )
    not_taken, twice = answers_not_taken(observed.exchanges)
    for key in twice:
        reasons.append(f"answer not taken twice in a row: {key}")
    return Result(
        id=script.id,
        desk=script.desk,
        writes_in=script.writes_in,
        round=script.round,
        passed=not reasons,
        reasons=reasons,
        wrongful_cancel=wrongful_cancel,
        language=language,
        language_ok=not problems,
        language_problems=problems,
        answers_not_taken=not_taken,
        check_ins=observed.check_ins,
        unscripted=[f"{e.key}: {e.text}" for e in observed.exchanges if e.kind == "unscripted"],
        seconds=round(observed.seconds, 1),
        observed=asdict(observed),
    )


# --- the report -----------------------------------------------------------------------------------
@dataclass
class RoundFigures:
    name: str
    conversations: int
    as_expected: int
    wrongful_cancels: int
    check_in_12345: tuple[int, int]  # conversations with a check-in / ordinary 12345 conversations
    check_in_12355_no: tuple[int, int]  # 12355 conversations with check_in: no that got one / all of them
    language: dict[str, tuple[int, int]]
    answers_not_taken: int
    failing: list[tuple[str, list[str]]]

    @property
    def percent(self) -> float:
        return round(100 * self.as_expected / self.conversations, 1) if self.conversations else 0.0


def round_figures(name: str, scripts: Sequence[Script], results: Sequence[Result]) -> RoundFigures:
    by_id = {s.id: s for s in scripts}
    ordinary = [r for r in results if r.desk == "12345" and not by_id[r.id].expect.crisis]
    youth_no = [r for r in results if r.desk == "12355" and by_id[r.id].expect.check_in == "no"]
    language: dict[str, tuple[int, int]] = {}
    for result in results:
        passed, total = language.get(result.language, (0, 0))
        language[result.language] = (passed + result.language_ok, total + 1)
    return RoundFigures(
        name=name,
        conversations=len(results),
        as_expected=sum(r.passed for r in results),
        wrongful_cancels=sum(r.wrongful_cancel for r in results),
        check_in_12345=(sum(r.check_ins > 0 for r in ordinary), len(ordinary)),
        check_in_12355_no=(sum(r.check_ins > 0 for r in youth_no), len(youth_no)),
        language=dict(sorted(language.items())),
        answers_not_taken=sum(len(r.answers_not_taken) for r in results),
        failing=[(r.id, r.reasons) for r in results if not r.passed],
    )


def _rate(pair: tuple[int, int]) -> str:
    n, total = pair
    return f"{n}/{total}" + (f" ({100 * n / total:.0f}%)" if total else "")


def render(figures: Sequence[RoundFigures], markdown: bool = False) -> str:
    """The report: per round its figures, then each failing conversation with its reasons."""
    lines: list[str] = []
    for f in figures:
        lines.append(f"### {f.name}" if markdown else f"== {f.name} ==")
        if markdown:
            lines.append("")
        bullet = "- " if markdown else "  "
        lines += [
            f"{bullet}conversations: {f.conversations}",
            f"{bullet}as expected: {f.as_expected}/{f.conversations} ({f.percent}%)",
            f"{bullet}wrongful cancels: {f.wrongful_cancels}",
            f"{bullet}check-in on ordinary 12345 conversations: {_rate(f.check_in_12345)}",
            f"{bullet}check-in on 12355 conversations with check_in: no: {_rate(f.check_in_12355_no)}",
            f"{bullet}language pass: " + ", ".join(f"{k} {n}/{t}" for k, (n, t) in f.language.items()),
            f"{bullet}answers not taken: {f.answers_not_taken}",
        ]
        if f.failing:
            lines.append(f"{bullet}failing:" if markdown else "  failing:")
            for cid, reasons in f.failing:
                lines.append(f"  - {cid}: " + "; ".join(reasons) if markdown else f"    {cid}: " + "; ".join(reasons))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"

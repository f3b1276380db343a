"""The ticket form: asks only what staff need for the category, confirms, then opens the ticket.

* `validate_ticket_form` narrows the form to the category's catalogue fields (`form:`), adds the
  contact question (with its privacy note) only for categories that need one, the callback time
  only outside the desk's staff hours, and the confirmation step last. Answers are checked here:
  a new request typed in the middle of the form whose triage route is an FAQ answer, a referral
  or a decline is answered and the form asks its question again; a crisis or emergency the
  engine sees stops the form (the safety rules handle what NLU flags before the form runs).
* `action_ask_ticket_confirmed` shows the summary with 确认 / 修改 buttons;
  `action_ask_ticket_edit` asks which detail to change.
* `action_submit_ticket` opens the ticket (idempotent: a retried action finds the same ticket),
  says its number and the expected response time, and empties the form.
* `action_cancel_ticket_form` stops politely ("取消", "算了").

Personal data (PIPL): a sensitive category (`sensitive: true` in the desk catalogue: health, abuse,
sexual matters) asks separate consent first (`sensitive_consent`); a no ends the form without a
ticket (`action_submit_ticket` says what the person can do without one). A youth desk asks the age
(`person_age`) when a ticket is filed; under 14 the ticket is still filed, marked for a guardian.
Crisis and emergency help needs no consent: the gateway sends them as their own intents, whose rules
leave the form, and every free-text answer here is checked against the gateway's decision first.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    FORM_NAME,
    desk_of,
    gateway_decision,
    language_of,
    latest_intent,
    person_text,
    record_decision,
    ticket_store,
)
from actions.safety import (
    crisis_payload,
    open_crisis_ticket,
    record_emergency,
    respond_to_emergency,
    utter_crisis_answer,
)
from bot.language import is_english
from bot.text import length_units, normalise, reads_as_question
from bot.triage.vocabulary import Route
from bot.voice import is_youth

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore
    from bot.triage.decision import Decision

logger = logging.getLogger(__name__)

NOT_GIVEN = {"problem_where": "未说明", "problem_since": "记不清", "problem_who": "未说明"}
DETAIL_HINTS = {
    "problem_where": "写到区、街道或小区、路口就可以，越具体越方便处理；不想说也可以回“不清楚”。",
    "problem_since": "大概的时间就行，比如“上周”“上个月”“三天前”；记不清也可以回“不清楚”。",
    "problem_who": "写单位、商家或公司的名字就可以；不方便说也可以回“不清楚”。",
}
DETAIL_HINTS_EN = {
    "problem_where": "The district and the street, estate or crossing are enough; the more precise, the easier to "
    'handle. If you would rather not say, reply "I don\'t know".',
    "problem_since": 'Roughly is fine, e.g. "last week", "last month", "three days ago". If you don\'t '
    'remember, reply "I don\'t know".',
    "problem_who": "The name of the office, shop or company is enough. If you would rather not say, reply "
    '"I don\'t know".',
}
"""Said when the person asks how to answer a detail ("地址要写多详细？") instead of answering it."""
_COUNTER = re.compile(
    r"(要|需要|得|该|應該|应该)?(写|寫|填|说|說)(多|到|什么|什麼|哪)|多详细|多詳細|具体到|哪些信息|how (much|detailed|precise|specific)|what (should|do) i (write|put|say)|do you need my",
    re.IGNORECASE,
)


def counter_question(text: str) -> bool:
    """Does the person ask how to answer ("地址要写多详细？", "Do you need my passport number?")?"""
    return bool(_COUNTER.search(text)) and reads_as_question(text)


SEE_DESCRIPTION = "（见问题描述）"
MAX_ANSWER_CHARS = 500
DIGRESSION_MIN_CHARS = 8
"""Shorter answers ("幸福路口", "上周") are answers, never new requests: no triage call for them."""
EDIT_WORDS: tuple[tuple[str, str], ...] = (
    ("描述", "problem_what"),
    ("问题", "problem_what"),
    ("内容", "problem_what"),
    ("地点", "problem_where"),
    ("地方", "problem_where"),
    ("位置", "problem_where"),
    ("地址", "problem_where"),
    ("时间", "problem_since"),
    ("什么时候", "problem_since"),
    ("对象", "problem_who"),
    ("单位", "problem_who"),
    ("谁", "problem_who"),
    ("联系", "contact"),
    ("电话", "contact"),
    ("手机", "contact"),
    ("邮箱", "contact"),
    ("方便", "callback_time"),
)
NO_EDIT_WORDS = ("不改", "不用改", "没有", "都对", "没问题", "算了", "none")
SWITCH = re.compile(
    r"算了不说(?:这个|那个)|先不说(?:这个|那个)|不说(?:这个|那个)了|(?:其实|真正)(?:我)?(?:真正)?(?:要|想)(?:说|反映|投诉)的是"
    r"|换(?:个|一个)事|说另(?:一|外一)(?:件|个)事"
    r"|\bforget\s+(?:about\s+)?(?:the|that|it|this)\b|\bnever\s*mind\s+(?:the|that)\b"
    r"|\bthe\s+real\s+(?:thing|problem|issue)\b|\bwhat\s+really\s+(?:needs|matters)\b"
)
"""Words that set the matter in the form aside for another one ("forget the taxi… what really needs
fixing is the bus stop", "先不说物业了，真正要反映的是工地夜里施工")."""
SWITCH_MIN_CONFIDENCE = 0.40
"""The new matter must be one the engine places with this confidence in another category."""
REMARK_CHECKED = ("problem_where", "problem_since")
"""Questions whose answers carry a sign (a street, a district, a school; a day, a month, "ago")."""
REMARK_MIN_UNITS = 8
"""Shorter answers are taken as they are ("老家", "番禺那边"): a short place without a marker is still a place."""
YES_WORDS = re.compile(r"^(好|好的|可以|行|嗯|嗯嗯|留|愿意|同意|ok|yes)")
NO_WORDS = re.compile(
    r"^(不(?![过過如管仅僅只然])|别|別|算了|没有|沒有|无需|無需|毋须|毋須|免了|免啦|唔使|唔駛|唔洗|唔好打|唔需要|唔要"
    r"|(?:no|nah|don'?t|do not)\b)"
)
"""A no to being contacted, also in Traditional, Cantonese ("唔使打俾我") and English ("don't call");
"不过…" / "不過如果係放學後打俾我" and "note it down" are not a no."""
NO_CALL = re.compile(
    r"\b(?:not|don'?t|no|never)\s+(?:to\s+)?(?:call|phone|ring)|\bmessage me here\b|\btext me (?:here|instead)\b"
    r"|(?:不要|别|別|唔好|唔想|不想|不用)[^，,。.]{0,6}(?:打电话|打電話|打俾|打给|打給|来电|來電)|在这里(?:回|联系)|喺度(?:回|覆)"
)
"""A no to a phone call said inside a longer answer ("you can message me here, not call please",
"想搵人傾下 但唔想你哋打電話返屋企"): replies stay in the conversation."""
WANTS_HELP = re.compile(
    r"想(?:找|搵|揾)(?:个|個)?人(?:聊|倾|傾|说|說|讲|講)|想有人(?:听|聽|帮|幫|陪)|帮帮我|幫幫我|帮我记|幫我記|需要帮助|需要幫助"
    r"|\b(?:help me|i (?:just |really )?(?:want|need) (?:to talk|help)|talk to someone|please note|note it)\b",
    re.IGNORECASE,
)
"""At the question whether a sensitive matter may be recorded: the person asking to be heard is a yes."""
_CONFIRM_WORD = (
    r"对|對|对的|是的|是|係|系|啱|啱啱|冇错|冇錯|冇问题|冇問題|没错|沒錯|没问题|沒問題|可以|好|好的|行|确认|確認|提交|就这样|就這樣|係咁|系咁"
    r"|yes|yep|yeah|correct|right|that's right|looks good|ok|okay|submit"
)
CONFIRM_WORDS = re.compile(
    rf"[\s,，.。!！~～]*({_CONFIRM_WORD})([\s,，.。!！~～]*({_CONFIRM_WORD}|的|了|啊|呀|吧|咁|嘅|喇|提交吧"
    r"|please|submit it|go ahead))*[\s,，.。!！~～]*",
    re.IGNORECASE,
)
"""A plain yes to the summary, in any of the ways people say it (NLU may call it something else)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def _info(tracker: Tracker) -> Any:
    from bot.intake.fields import category_info

    return category_info(desk_of(tracker), tracker.get_slot("category"))


def _staffed(tracker: Tracker, now: datetime) -> bool:
    from bot.intake.hours import is_staffed

    return is_staffed(desk_of(tracker), now)


def form_slots(tracker: Tracker, now: datetime) -> list[str]:
    """The slots this form asks, in order, for the conversation's category, desk and time."""
    if tracker.get_slot("ticket_abort"):
        return []
    info = _info(tracker)
    slots = list(info.slots)
    if info.sensitive:
        if tracker.get_slot("sensitive_consent") is False:
            return []  # not to be recorded: the form ends, action_submit_ticket files nothing
        slots.insert(1, "sensitive_consent")  # asked before any detail is collected
    if is_youth(desk_of(tracker)):
        slots.append("person_age")
    if info.asks_contact:
        slots.append("contact_consent")
        if tracker.get_slot("contact_consent") is True:
            slots.append("contact_value")
    declined_contact = info.asks_contact and tracker.get_slot("contact_consent") is False
    if (not _staffed(tracker, now) and not declined_contact) or tracker.get_slot("callback_time") is not None:
        slots.append("callback_time")  # out of hours; not for a person who asked not to be contacted
    if tracker.get_slot("ticket_editing") is True:
        slots.append("ticket_edit")
    slots.append("ticket_confirmed")
    return slots


def _described_with(tracker: Tracker, text: str, label_en: str, label_zh: str) -> str:
    """The description with one more line of the person's words under a label staff read."""
    what = str(tracker.get_slot("problem_what") or "").strip()
    label = label_en if is_english(language_of(tracker)) else label_zh
    return f"{what}\n{label}{text}" if what else text


def _with_question(tracker: Tracker, text: str) -> str:
    """The description with a question the person asked inside the form, for staff to answer."""
    return _described_with(tracker, text, "Question: ", "群众提问：")


def _with_addition(tracker: Tracker, text: str) -> str:
    """The description with the person's later words added ("补充：…"), as staff read it."""
    return _described_with(tracker, text, "Added: ", "补充：")


class ValidateTicketForm(FormValidationAction):
    """Dynamic form fields and answer checks of ticket_form."""

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        """`store` and `clock` (staff hours) replace the real ones in tests."""
        self._store = store
        self._clock = clock or now_utc

    async def _ticket_store(self) -> TicketStore:
        return await ticket_store(self._store)

    def name(self) -> str:
        """Rasa calls it after every answer to ticket_form."""
        return "validate_ticket_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """Only what the category needs; never raises (the default form is used on any error)."""
        try:
            return form_slots(tracker, self._clock())
        except Exception:
            logger.exception("could not work out the form fields; asking the default ones")
            return ["problem_what", "problem_where", "problem_since", "ticket_confirmed"]

    # -- the details --------------------------------------------------------------------------

    async def validate_problem_what(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = _clean(value)
        if text is None:
            return {"problem_what": None}
        if tracker.get_slot("requested_slot") != "problem_what":
            return {"problem_what": text}  # pre-filled from the triaged request
        decision = gateway_decision(tracker)
        if decision is not None and decision.is_safety:
            return await self._stop_for_safety(decision, "problem_what", dispatcher, tracker)
        result: dict[str, Any] = {"problem_what": text}
        if decision is not None and decision.route is Route.TICKET and decision.category:
            result.update({"category": decision.category, "category_l1": decision.category_l1})
        return result

    async def validate_problem_where(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._detail("problem_where", value, dispatcher, tracker)

    async def validate_problem_since(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._detail("problem_since", value, dispatcher, tracker)

    async def validate_problem_who(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._detail("problem_who", value, dispatcher, tracker)

    async def _detail(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """An answer to where / since / who; "不清楚" is an answer too; a new request is a digression."""
        if tracker.get_slot("requested_slot") != slot:
            return {slot: _clean(value)}  # pre-filled (e.g. "since" read from the first message)
        from bot.intake.cancel import dont_know

        raw = str(value or "").strip()
        intent = latest_intent(tracker)
        if intent == "deny" or raw == "/deny" or dont_know(raw):
            return {slot: NOT_GIVEN[slot]}
        if intent == "affirm" or raw == "/affirm":
            if slot == "problem_where":
                return {slot: SEE_DESCRIPTION}
            if tracker.get_slot("ticket_reasked") == slot:  # a second bare yes: never ask a third time
                return {slot: NOT_GIVEN[slot]}
            return {slot: None, "ticket_reasked": slot}
        if intent == "gibberish":
            return {slot: None}  # keyboard mash: the question is asked again
        text = _clean(value)
        if text is None:
            return {slot: None}
        if intent == "describe_problem" and len(text) >= DIGRESSION_MIN_CHARS:
            digression = await self._digression(text, slot, dispatcher, tracker)
            if digression is not None:
                return digression
        from bot.intake.cancel import is_redirect_only

        if is_redirect_only(text):  # "不是这个意思", "wait": the same question once more, once
            if tracker.get_slot("ticket_reasked") != slot:
                dispatcher.utter_message(response="utter_form_go_on")
                return {slot: None, "ticket_reasked": slot}
            return {slot: NOT_GIVEN[slot]}
        if counter_question(text) and tracker.get_slot("ticket_reasked") != slot:
            # "地址要写多详细？": answer how much is enough, then the same question once more, once
            dispatcher.utter_message(
                text=DETAIL_HINTS_EN[slot] if is_english(language_of(tracker)) else DETAIL_HINTS[slot]
            )
            return {slot: None, "ticket_reasked": slot}
        switched = self._switched_matter(text, slot, dispatcher, tracker)
        if switched is not None:
            return switched
        from bot.intake.cancel import is_question, looks_like_answer

        if is_question(text) and not looks_like_answer(slot, text):
            # "咁樣合法咩" at "where did it happen?": answered or noted for staff, the question asked once
            # more; asked again after that, the detail stays unknown and the question goes on the ticket
            asked = await self._question_in_form(text, slot, dispatcher, tracker)
            if asked is not None:
                return asked
            dispatcher.utter_message(response="utter_form_question_noted")
            return {slot: NOT_GIVEN[slot], "problem_what": _with_question(tracker, text)}
        if self._remark_not_answer(slot, text, tracker):
            # "开玩笑的啦 我妈不会真打的" at "where did it happen?": words for staff, not a place; they go
            # into the description and the question comes once more
            dispatcher.utter_message(response="utter_correction_added")
            return {slot: None, "ticket_reasked": slot, "problem_what": _with_addition(tracker, text)}
        return {slot: text}

    @staticmethod
    def _switched_matter(
        text: str, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """ "Forget the taxi, what really needs fixing is the bus stop": the person sets the form's matter
        aside for another that the engine places with confidence in another category. The form starts
        over on the new matter (its intro, its description, its questions); the first is dropped, as
        the person asked. None when the words do not switch."""
        if not SWITCH.search(normalise(text)):
            return None
        decision = gateway_decision(tracker)
        if (
            decision is None
            or decision.route is not Route.TICKET
            or decision.confidence < SWITCH_MIN_CONFIDENCE
            or decision.category == tracker.get_slot("category")
        ):
            return None
        from actions.triage import start_ticket

        events = start_ticket(decision, text, dispatcher, tracker)
        values = {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
        values.pop("requested_slot", None)  # the form itself asks what the new matter still needs
        return {**values, slot: None}

    @staticmethod
    def _remark_not_answer(slot: str, text: str, tracker: Tracker) -> bool:
        """A longer message at the place or time question with no sign of a place or a time in it."""
        from bot.intake.cancel import looks_like_answer

        return (
            slot in REMARK_CHECKED
            and tracker.get_slot("ticket_reasked") != slot
            and length_units(text) >= REMARK_MIN_UNITS
            and not looks_like_answer(slot, text)
        )

    # -- separate consent for sensitive matters, and the age on a youth desk -------------------

    async def validate_sensitive_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes: recorded. No: nothing is filed (form_slots ends the form). Anything else: asked again."""
        if isinstance(value, bool):
            return {"sensitive_consent": value}
        text = str(value or "").strip()
        if text in ("/affirm", "/deny"):
            return {"sensitive_consent": text == "/affirm"}
        decision = gateway_decision(tracker)
        if decision is not None and decision.is_safety:  # help first, no consent needed
            return await self._stop_for_safety(decision, "sensitive_consent", dispatcher, tracker)
        lowered = normalise(text).lower()
        if NO_WORDS.match(lowered) or lowered.startswith(("don't", "do not", "dont")):
            return {"sensitive_consent": False}
        if (
            YES_WORDS.match(lowered)
            or CONFIRM_WORDS.fullmatch(lowered)
            or lowered.startswith(("记", "要", "sure"))
            or WANTS_HELP.search(lowered)
        ):
            return {"sensitive_consent": True}
        asked = await self._question_in_form(text, "sensitive_consent", dispatcher, tracker)
        if asked is not None:
            return asked
        from bot.intake.cancel import is_question

        if length_units(text) < REMARK_MIN_UNITS or is_question(text):
            return {"sensitive_consent": None}
        # more of the story instead of a yes or no: it goes into the description; the question comes
        # back once, and a person who goes on telling is taken as wanting it noted (the summary
        # still asks before anything is filed, and "取消" stops it at any time)
        addition = {"problem_what": _with_addition(tracker, text)}
        if tracker.get_slot("ticket_reasked") != "sensitive_consent":
            dispatcher.utter_message(response="utter_correction_added")
            return {**addition, "sensitive_consent": None, "ticket_reasked": "sensitive_consent"}
        dispatcher.utter_message(response="utter_consent_taken")
        return {**addition, "sensitive_consent": True}

    async def validate_person_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The age in years, or "未说明" (rather not say). Under 14: told kindly and truthfully that a
        guardian or the school will be involved; the ticket is still filed."""
        from bot.intake.age import NOT_SAID, parse_age, under_guardian_age

        text = str(value or "").strip()
        if not text or text == "/deny" or latest_intent(tracker) == "deny":
            return {"person_age": NOT_SAID}
        decision = gateway_decision(tracker)
        if decision is not None and decision.is_safety and not text.startswith("/"):
            return await self._stop_for_safety(decision, "person_age", dispatcher, tracker)
        age = parse_age(text)
        if age is None:  # "为什么要问年龄？" is answered and the age asked once more; anything else: not said
            asked = await self._question_in_form(text, "person_age", dispatcher, tracker)
            return asked if asked is not None else {"person_age": NOT_SAID}
        if under_guardian_age(age):
            dispatcher.utter_message(response="utter_under_14")
        return {"person_age": str(age)}

    # -- contact, with consent ---------------------------------------------------------------

    async def validate_contact_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        from bot.intake.fields import parse_contact

        if isinstance(value, bool):
            return {"contact_consent": value}
        text = str(value or "").strip()
        contact = parse_contact(text)
        if contact is not None:
            return {"contact_consent": True, "contact_value": contact[1]}
        if NO_CALL.search(text.lower()):  # "ok but don't call, message me here"
            return {"contact_consent": False}
        if YES_WORDS.match(text.lower()):
            return {"contact_consent": True}
        if NO_WORDS.match(text.lower()):
            return {"contact_consent": False}
        switched = self._switched_matter(text, "contact_consent", dispatcher, tracker)
        if switched is not None:
            return switched
        asked = await self._question_in_form(text, "contact_consent", dispatcher, tracker)
        return asked if asked is not None else {"contact_consent": None}

    def validate_contact_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        from bot.intake.fields import parse_contact

        text = str(value or "").strip()
        if latest_intent(tracker) == "deny" or text == "/deny" or NO_WORDS.match(text):
            return {"contact_value": None, "contact_consent": False}
        contact = parse_contact(text)
        if contact is None:
            dispatcher.utter_message(response="utter_contact_invalid")
            return {"contact_value": None}
        return {"contact_value": contact[1]}

    def validate_callback_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        raw = str(value or "").strip()
        if latest_intent(tracker) == "affirm" or raw == "/affirm":
            return {"callback_time": "都可以"}
        if latest_intent(tracker) == "deny" or raw == "/deny":
            return {"callback_time": "未说明"}
        return {"callback_time": _clean(value)}

    # -- summary, corrections --------------------------------------------------------------------

    async def validate_ticket_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """确认 / 修改, a correction typed at the summary (added to the description), or a question
        ("btw will the bar see my name??"): answered, then the summary is shown once more."""
        from bot.intake.cancel import is_question, is_redirect_only

        if value is True:
            return {"ticket_confirmed": True}
        if value is False:
            said = person_text(tracker).strip()
            if said and CONFIRM_WORDS.fullmatch(normalise(said)):  # "啱，冇錯": NLU heard 冇 as a no
                return {"ticket_confirmed": True}
            return {"ticket_confirmed": None, "ticket_editing": True}
        text = _clean(value)
        if text is None:
            return {"ticket_confirmed": None}
        if CONFIRM_WORDS.fullmatch(normalise(text)):  # "啱 係咁", "对的没问题", "yes that's right"
            return {"ticket_confirmed": True}
        if is_redirect_only(text):  # "不是这个意思", "wait": something is to change
            return {"ticket_confirmed": None, "ticket_editing": True}
        what = str(tracker.get_slot("problem_what") or "").strip()
        if is_question(text):
            return await self._question_at_summary(text, what, dispatcher, tracker)
        dispatcher.utter_message(response="utter_correction_added")
        return {"ticket_confirmed": None, "problem_what": _with_addition(tracker, text)}

    async def _question_at_summary(
        self, text: str, what: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """A question asked at the summary is not a correction: the engine's answer when it has one
        (FAQ, referral, decline); else it goes on the ticket for staff, and the person is told so."""
        decision = gateway_decision(tracker)
        if decision is not None and decision.is_safety:
            return await self._stop_for_safety(decision, "ticket_confirmed", dispatcher, tracker)
        if decision is not None and decision.route in (Route.FAQ, Route.REFER, Route.DECLINE) and decision.reply:
            dispatcher.utter_message(text=decision.reply)
            await self._record_digression(decision, text, tracker)
            return {"ticket_confirmed": None}
        dispatcher.utter_message(response="utter_form_question_noted")
        return {"ticket_confirmed": None, "problem_what": f"{what}\n群众提问：{text}" if what else text}

    def validate_ticket_edit(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        choice = str(value or "").strip()
        done = {"ticket_edit": None, "ticket_editing": False}
        if not choice or choice.lower() in NO_EDIT_WORDS or any(w in choice for w in NO_EDIT_WORDS):
            return done
        allowed = set(form_slots(tracker, self._clock())) | {"contact"}
        field = choice if choice in allowed else next((f for word, f in EDIT_WORDS if word in choice), None)
        if field is None and length_units(choice) >= REMARK_MIN_UNITS:
            # "仲有啊，四樓陳伯八十幾歲…你哋記低埋" at "which item?": more for staff, not a choice; it joins the
            # description and the summary comes back (asking "which item?" again would not be heard)
            dispatcher.utter_message(response="utter_correction_added")
            return {**done, "ticket_confirmed": None, "problem_what": _with_addition(tracker, choice)}
        if field is None or (field != "contact" and field not in allowed):
            return {"ticket_edit": None}  # asked again, with the buttons
        if field == "contact":
            return {**done, "contact_consent": None, "contact_value": None}
        return {**done, field: None}

    # -- digressions and safety inside the form -------------------------------------------------

    async def _digression(
        self, text: str, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """A new request in the middle of the form: answer it and ask the same question again."""
        decision = gateway_decision(tracker)
        if decision is None:
            return None
        if decision.is_safety:
            return await self._stop_for_safety(decision, slot, dispatcher, tracker)
        if decision.route not in (Route.FAQ, Route.REFER, Route.DECLINE) or not decision.reply:
            return None
        if not reads_as_question(text):
            return None  # a statement ("厦门思明区，曾厝垵附近") answers the question, whatever it reads like alone
        dispatcher.utter_message(text=decision.reply)
        await self._record_digression(decision, text, tracker)
        dispatcher.utter_message(response="utter_form_continue")
        return {slot: None}

    async def _question_in_form(
        self, text: str, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any] | None:
        """A question asked instead of the answer ("btw will the bar see my name??" at the contact
        question, "你们晚上有人吗"): answered when the engine has an answer (FAQ, referral), else put
        on the ticket for staff and the person told so; then the same question comes back, once.
        None when the text is not a question (the caller asks again as before)."""
        from bot.intake.cancel import is_question

        if not is_question(text) or tracker.get_slot("ticket_reasked") == slot:
            return None
        decision = gateway_decision(tracker)
        if decision is not None and decision.is_safety:
            return await self._stop_for_safety(decision, slot, dispatcher, tracker)
        if decision is not None and decision.route in (Route.FAQ, Route.REFER) and decision.reply:
            dispatcher.utter_message(text=decision.reply)
            await self._record_digression(decision, text, tracker)
            dispatcher.utter_message(response="utter_form_continue")
            return {slot: None, "ticket_reasked": slot}
        dispatcher.utter_message(response="utter_form_question_noted")
        dispatcher.utter_message(response="utter_form_continue")
        return {slot: None, "ticket_reasked": slot, "problem_what": _with_question(tracker, text)}

    async def _record_digression(self, decision: Decision, text: str, tracker: Tracker) -> None:
        try:
            store = await self._ticket_store()
            route = decision.route.value
            await asyncio.to_thread(record_decision, store, tracker, decision, text, route)
        except Exception:
            logger.exception("could not record the answer given inside the form")

    async def _stop_for_safety(
        self, decision: Decision, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """The gateway saw a crisis or an emergency that NLU did not: answer it and stop the form."""
        route = decision.route.value
        store: TicketStore | None = None
        try:
            store = await self._ticket_store()
        except Exception:
            logger.exception("ticket store unavailable inside the form")
        if route == "crisis":
            utter_crisis_answer(dispatcher, tracker)
            number = await asyncio.to_thread(open_crisis_ticket, tracker, store, {"source": "form"}) if store else None
            dispatcher.utter_message(json_message=crisis_payload(number))
            return {
                slot: None,
                "ticket_abort": "crisis",
                "in_crisis": True,
                "handoff": True,
                "route": "crisis",
                "channel": "12356",
                **({"last_ticket": number} if number else {}),
            }
        respond_to_emergency(dispatcher, tracker, decision.channel)
        if store is not None:
            await asyncio.to_thread(record_emergency, tracker, store, decision.channel)
        return {slot: None, "ticket_abort": "emergency", "route": "emergency", "channel": decision.channel}


def _clean(value: Any) -> str | None:
    """A typed answer, trimmed and size-limited; button payloads and empty text are not answers."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or text.startswith("/"):
        return None
    return text[:MAX_ANSWER_CHARS]


__all__ = [
    "FORM_NAME",
    "MAX_ANSWER_CHARS",
    "ValidateTicketForm",
    "form_slots",
    "now_utc",
]

"""The ticket form's questions that need more than a fixed response: the summary to confirm, which
detail to change, and (out of staff hours) when to call back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import desk_of, language_of
from actions.ticket_form import form_slots, now_utc
from bot.language import is_english
from bot.voice import is_youth

logger = logging.getLogger(__name__)


def _summary(tracker: Tracker, now: datetime, language: str) -> list[str]:
    from bot.intake.fields import parse_contact, summary_lines
    from bot.privacy import mask_contact

    english = is_english(language)
    slots = tuple(
        s for s in form_slots(tracker, now) if s.startswith("problem_") or s in ("person_age", "callback_time")
    )
    values = {name: tracker.get_slot(name) for name in slots}
    lines = summary_lines(values, slots, language)
    contact = tracker.get_slot("contact_value")
    label = "Contact: " if english else "联系方式："
    if tracker.get_slot("contact_consent") is True and contact:
        parsed = parse_contact(str(contact))
        lines.append(label + (mask_contact(*parsed) if parsed else str(contact)))
    elif "contact_consent" in form_slots(tracker, now):
        lines.append(label + ("none" if english else "不留"))
    return lines


class ActionAskTicketConfirmed(Action):
    """The summary of the form with 确认提交 / 修改 buttons."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_ask_ticket_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        english = is_english(language)
        try:
            lines = _summary(tracker, self._clock(), language)
        except Exception:
            logger.exception("could not build the summary")
            what = tracker.get_slot("problem_what") or ""
            lines = [f"Description: {what}" if english else f"问题描述：{what}"]
        youth = is_youth(desk_of(tracker))
        if english:
            intro = (
                "Here's what I've noted down, check it's right:" if youth else "Please check what you are reporting:"
            )
            outro = 'If it\'s all correct, tap "Submit"; to change something, tap "Edit".'
            buttons = [{"title": "Submit", "payload": "/affirm"}, {"title": "Edit", "payload": "/deny"}]
        else:
            intro = "我帮你整理了一下，看看对不对：" if youth else "请确认您要反映的内容："
            outro = "没问题就点「确认提交」，要改的话点「修改」。"
            buttons = [{"title": "确认提交", "payload": "/affirm"}, {"title": "修改", "payload": "/deny"}]
        dispatcher.utter_message(text="\n".join([intro, *lines, outro]), buttons=buttons)
        return []


class ActionAskTicketEdit(Action):
    """ "修改": which detail? One button per detail of this form."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_ask_ticket_edit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        from bot.intake.fields import FIELD_LABELS, FIELD_LABELS_EN

        english = is_english(language_of(tracker))
        labels = FIELD_LABELS_EN if english else FIELD_LABELS
        fields = [s for s in form_slots(tracker, self._clock()) if s.startswith("problem_") or s == "callback_time"]
        buttons = [{"title": labels[s], "payload": f'/inform{{"ticket_edit":"{s}"}}'} for s in fields]
        if "contact_consent" in form_slots(tracker, self._clock()):
            buttons.append({"title": labels["contact_value"], "payload": '/inform{"ticket_edit":"contact"}'})
        buttons.append({"title": "No changes" if english else "不用改了", "payload": '/inform{"ticket_edit":"none"}'})
        dispatcher.utter_message(
            text="Which detail would you like to change?" if english else "想修改哪一项？", buttons=buttons
        )
        return []


class ActionAskCallbackTime(Action):
    """Out of staff hours: when would the person like to be contacted?"""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_ask_callback_time"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        from bot.intake.hours import staff_hours

        hours = staff_hours(desk_of(tracker))
        if is_english(language_of(tracker)):
            span_en = f"{hours.describe()} every day" if hours else "in working hours"
            if is_youth(desk_of(tracker)):
                text = (
                    f"It's outside working hours right now (counsellors are here {span_en}); they'll contact you "
                    "as soon as they're back. When's a good time to reach you?"
                )
            else:
                text = (
                    f"It is currently outside working hours (staff are here {span_en}); your matter will be dealt "
                    "with as soon as they are back. When would be a convenient time to contact you?"
                )
            dispatcher.utter_message(text=text, buttons=[{"title": "Any time", "payload": "/affirm"}])
            return []
        span = f"每天{hours.describe()}" if hours else "工作时间"
        if is_youth(desk_of(tracker)):
            text = f"现在是非工作时间（老师们{span}在岗），上班后会尽快联系你。你希望什么时候联系你比较方便？"
        else:
            text = f"现在是非工作时间（工作人员{span}在岗），上班后会尽快处理。您希望什么时间联系您比较方便？"
        dispatcher.utter_message(text=text, buttons=[{"title": "都可以", "payload": "/affirm"}])
        return []

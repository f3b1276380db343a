"""action_extract_language: the `language` slot, filled on every user message from the gateway's metadata.

The gateway decides the conversation's language (bot/language.py) and sends it with every message
(metadata {"language": "zh-Hans" | "zh-Hant" | "en"}). The slot's custom mapping names this action,
so Rasa's action_extract_slots runs it on every user message, before any response of that turn is
chosen: English responses are the variations conditioned on `language: en`; Traditional readers get
the Chinese ones, converted by the gateway on the way out. A message without the metadata (not
through the gateway) keeps the slot as it was.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import metadata_language
from bot.language import slot_value

SLOT = "language"


class ActionExtractLanguage(Action):
    """Sets `language` ("zh" or "en") from the message metadata when it changes."""

    def name(self) -> str:
        return "action_extract_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = metadata_language(tracker)
        if language is None:
            return []
        value = slot_value(language)
        return [] if tracker.get_slot(SLOT) == value else [SlotSet(SLOT, value)]

"""action_core_fallback: what Rasa does when no policy is sure of the next step.

Rasa's own `action_default_fallback` runs inside the Rasa server and sends `utter_default` even when
the action server is down, so the gateway would pass on "抱歉，我没太明白" instead of noticing the
failure and telling the person their message was kept. As a custom action it fails together
with the other actions (Rasa then answers nothing and the gateway apologises); when all is well it
behaves like the default: one question, and the message is forgotten so it cannot loop.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher


class ActionCoreFallback(Action):
    """RulePolicy's core fallback (config.yml: core_fallback_action_name)."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]

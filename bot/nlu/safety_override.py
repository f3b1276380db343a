"""Overrides the predicted intent when the safety lexicon sees a crisis or an emergency.

Placed last in the pipeline (after DIET and the FallbackClassifier), so that whatever the
classifier thinks, and whatever form is active, a message with a crisis term becomes intent
`crisis` (confidence 1.0) and one with an emergency term becomes intent `emergency` with the
channel (110/119/120/122) as entity `channel`. Defence in depth: the gateway has already decided
each message once (its crisis and emergency decisions reach Rasa as "/crisis" and "/emergency"
payloads, and the actions act on that decision); this lexicon catches a crisis word in any message
that reaches Rasa without one.

The lexicon (`bot.triage.lexicon.SafetyLexicon`, data in `bot/data/safety.yml`) is imported
and loaded on first use. If it cannot be loaded the component logs an error and lets messages
through unchanged (retrying later): a broken safety file must not take the whole bot down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.text import normalise

logger = logging.getLogger(__name__)

CRISIS_INTENT = "crisis"
EMERGENCY_INTENT = "emergency"
CHANNEL_ENTITY = "channel"
EXTRACTOR_NAME = "SafetyOverride"
CONFIDENT_GUESS = 0.9
"""DIET's crisis/emergency confidence from which its guess stands even when the gateway saw none."""
DECISION_KEY = "decision"
"""The metadata key of the gateway's decision (bot.triage.decision.METADATA_KEY; Rasa's process does
not import the triage package)."""
RETRY_SECONDS = 60.0
"""After a failed load, how long to wait before trying to load the lexicon again."""


SET_ASIDE_SIGNALS = ("set-aside:", "lookalike:", "hyperbole:", "giving-up-words:", "reassured:")
"""Signals of a gateway decision whose screen weighed crisis-like wording and set it aside (a look-alike
of its ordinary examples, everyday exaggeration, giving-up or reassuring words): there even a confident
DIET guess of crisis defers ("好 谢谢 我自己再找找", crisis at 0.92, after a declined request)."""


def _set_aside_by_the_screen(decision: dict[str, Any]) -> bool:
    signals = decision.get("signals") or []
    return any(str(signal).startswith(SET_ASIDE_SIGNALS) for signal in signals)


def _load_default_lexicon() -> Any:
    from bot.triage.lexicon import SafetyLexicon  # lazy: written separately, pure Python

    return SafetyLexicon.load()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyOverride(GraphComponent, IntentClassifier):
    """Sets intent `crisis` / `emergency` when the safety lexicon matches the message."""

    @classmethod
    def required_components(cls) -> list[type]:
        """An intent classifier must have predicted something to override."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """No options: what counts as a crisis lives in `bot/data/safety.yml`."""
        return {}

    def __init__(
        self,
        config: dict[str, Any],
        lexicon_loader: Callable[[], Any] | None = None,
    ) -> None:
        """Creates the component; `lexicon_loader` lets tests supply their own lexicon."""
        self.component_config = config
        self._lexicon_loader = lexicon_loader or _load_default_lexicon
        self._lexicon: Any = None
        self._failed_at: float | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyOverride:
        """Creates a new component (see parent class for full docstring)."""
        return cls(config)

    def _get_lexicon(self) -> Any:
        """The loaded lexicon, or None while it cannot be loaded (retried every `RETRY_SECONDS`)."""
        if self._lexicon is not None:
            return self._lexicon
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_SECONDS:
            return None
        try:
            self._lexicon = self._lexicon_loader()
            self._failed_at = None
            logger.info("Safety lexicon loaded for the NLU safety override.")
        except Exception:  # any failure: log loudly, keep serving (the gateway screens too)
            self._failed_at = time.monotonic()
            logger.exception(
                "Could not load the safety lexicon (bot.triage.lexicon, bot/data/safety.yml); "
                "crisis messages are NOT overridden by Rasa until it loads. Retrying in %.0f s.",
                RETRY_SECONDS,
            )
        return self._lexicon

    def process(self, messages: list[Message]) -> list[Message]:
        """Overrides the intent of every message the lexicon flags; leaves the others alone."""
        lexicon = self._get_lexicon()
        if lexicon is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            try:
                hit = lexicon.match(normalise(text))  # normalise is idempotent: safe either way
            except Exception:
                logger.exception("Safety lexicon failed on a message; intent left unchanged.")
                continue
            if hit is None:
                self._defer_to_gateway(message)
                continue
            if hit.kind == CRISIS_INTENT:
                self._set_intent(message, CRISIS_INTENT)
            elif hit.kind == EMERGENCY_INTENT:
                self._set_intent(message, EMERGENCY_INTENT)
                if hit.channel:
                    self._add_channel_entity(message, str(hit.channel))
            else:
                logger.warning("Unknown safety lexicon hit kind %r ignored.", hit.kind)
        return messages

    @staticmethod
    def _defer_to_gateway(message: Message) -> None:
        """The gateway decides once per message: when it screened this message and found no crisis or
        emergency, the classifier's unsure guess of one ("i dont know" read as crisis at 0.52) does not
        overrule it; the intent becomes the next one in the ranking. A guess at `CONFIDENT_GUESS` or
        above still stands (defence in depth: the screen missed "I started cutting again", DIET did
        not). Messages without a gateway decision (rasa shell, tests) keep the classifier's intent."""
        predicted = message.get(INTENT) or {}
        intent = predicted.get(INTENT_NAME_KEY)
        if intent not in (CRISIS_INTENT, EMERGENCY_INTENT):
            return
        metadata = message.get("metadata")
        decision = metadata.get(DECISION_KEY) if isinstance(metadata, dict) else None
        if not isinstance(decision, dict) or decision.get("route") in (CRISIS_INTENT, EMERGENCY_INTENT):
            return
        confident = float(predicted.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= CONFIDENT_GUESS
        if confident and not _set_aside_by_the_screen(decision):
            return  # defence in depth: a confident guess stands (the crisis answer is never withheld on a tie)
        ranking = [
            item
            for item in message.get(INTENT_RANKING_KEY) or []
            if item.get(INTENT_NAME_KEY) not in (CRISIS_INTENT, EMERGENCY_INTENT)
        ]
        fallback = {INTENT_NAME_KEY: "nlu_fallback", PREDICTED_CONFIDENCE_KEY: 1.0}
        chosen = dict(ranking[0]) if ranking else fallback
        logger.info("NLU guessed %s where the gateway saw none; intent %s instead", intent, chosen[INTENT_NAME_KEY])
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking or [fallback], add_to_output=True)

    @staticmethod
    def _set_intent(message: Message, name: str) -> None:
        intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [item for item in message.get(INTENT_RANKING_KEY) or [] if item.get(INTENT_NAME_KEY) != name]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(intent), *ranking], add_to_output=True)

    @staticmethod
    def _add_channel_entity(message: Message, channel: str) -> None:
        """Entity `channel` spanning the whole message: the message as a whole calls for that number.

        (Not the matched words: their position depends on the lexicon, which staff edit, and
        `channel` is a decision about the message, not a word in it.)
        """
        text = message.get(TEXT) or ""
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != CHANNEL_ENTITY]
        entities.append(
            {
                "entity": CHANNEL_ENTITY,
                "value": channel,
                "start": 0,
                "end": len(text),
                "confidence_entity": 1.0,
                "extractor": EXTRACTOR_NAME,
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)

"""The triage decision: one message's route and what goes with it.

It is the contract between the gateway, which decides once per message, and the actions, which act
on that decision: the gateway sends `to_dict()` to Rasa in the message's metadata (key
`METADATA_KEY`) and the actions read it back with `Decision.from_dict`. Kept free of numpy and the
model on purpose: the action server imports it and must not load either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.triage.vocabulary import Route

METADATA_KEY = "decision"
"""Where the gateway puts the decision in the metadata of the message it sends to Rasa."""

SAFETY_ROUTES = (Route.CRISIS, Route.EMERGENCY)
"""Routes of the safety screen: they win over everything else and stop a form."""

LEARNED_SIGNAL = "embedding:"
"""Prefix of the learned crisis score's signal ("embedding:0.83"): a verdict whose signals are all of
this kind rests on the learned score alone (no crisis word, no earlier crisis talk)."""

NGRAM_DOUBT_SIGNAL = "ngram-doubt:"
"""Signal beside a learned-only crisis verdict whose words the n-gram opinion does not share
("ngram-doubt:0.06"): the verdict is ambiguous, and the gateway asks the check-in question first."""

LEARNED_ONLY_SIGNALS = (LEARNED_SIGNAL, NGRAM_DOUBT_SIGNAL)
"""Prefixes of the signals a verdict resting on the learned scores alone may carry."""

CHECK_IN_SIGNAL = "check-in"
"""Signal of a message close to the crisis bar but under it ("check-in:0.41"): the gateway adds the
check-in question, and a ticket that starts from it is high priority."""

CHECK_IN_ANSWER_SIGNAL = "check-in-answer"
"""Signal of a crisis that was the answer to the check-in question (`:yes` or `:close-again`)."""


@dataclass(frozen=True)
class Decision:
    """The triage result for one message; `to_dict()` is the JSON the CLI, the logs and Rasa carry.

    Attributes:
        route: one of the spec's routes.
        desk: the desk that decided.
        channel: where to send the person (refer/emergency/crisis), else None.
        category: the desk's ticket category id (route ticket), else None.
        category_l1: first-level gov-board category of a 12345 ticket, else None.
        category_name: the category's name for people.
        faq_id: the FAQ entry answered (route faq), else None.
        entry_id: the catalogue entry (category, referral, decline reason code, FAQ id).
        confidence: 0..1, how sure the deciding signal is.
        reply: text to send (refer/decline: the entry's reply; faq: the answer; crisis, emergency,
            clarify: triage's own; smalltalk and ticket: None, Rasa answers).
        signals: why (lexicon hits, embedding scores, history, classifier top labels...).
        priority: "urgent" for categories staff must see first (and every crisis), else "normal".
        otherwise: on a crisis that rests on the learned score alone, the decision the message would
            get without it (`to_dict()` form): the gateway's proportion rule may ask the check-in
            question and take the person's matter on as that, instead of only asking.
    """

    route: Route
    desk: str
    channel: str | None = None
    category: str | None = None
    category_l1: str | None = None
    category_name: str | None = None
    faq_id: str | None = None
    entry_id: str | None = None
    confidence: float = 0.0
    reply: str | None = None
    signals: tuple[str, ...] = ()
    priority: str = "normal"
    otherwise: Mapping[str, Any] | None = None

    @property
    def is_safety(self) -> bool:
        """A crisis or an emergency: answered first, whatever else is going on."""
        return self.route in SAFETY_ROUTES

    @property
    def check_in_signal(self) -> str | None:
        """The check-in signal ("check-in:0.32") when the message was close to the crisis bar."""
        return next((s for s in self.signals if s.startswith(f"{CHECK_IN_SIGNAL}:")), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the route as its contract word, signals as a list."""
        d = asdict(self)
        d["route"] = self.route.value
        d["signals"] = list(self.signals)
        d["confidence"] = round(float(self.confidence), 4)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """The decision `to_dict()` wrote; ValueError for anything else.

        Strict on purpose: a field renamed on one side fails loudly (and in the tests) instead of
        being read as None by the other process.
        """
        if not isinstance(data, Mapping):
            raise ValueError("a decision must be a mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown decision field(s): {', '.join(unknown)}")
        if "route" not in data or "desk" not in data:
            raise ValueError("a decision needs a route and a desk")
        values = dict(data)
        values["route"] = Route(values["route"])
        values["signals"] = tuple(str(s) for s in values.get("signals") or ())
        values["confidence"] = float(values.get("confidence") or 0.0)
        for name in ("desk", "channel", "category", "category_l1", "category_name", "faq_id", "entry_id", "reply"):
            if values.get(name) is not None and not isinstance(values[name], str):
                raise ValueError(f"decision field {name} must be text")
        if values.get("otherwise") is not None:
            values["otherwise"] = cls.from_dict(values["otherwise"]).to_dict()  # validated the same way
        return cls(**values)

    def without_screen(self) -> Decision | None:
        """The decision the message gets without the learned crisis score (`otherwise`), if any."""
        return Decision.from_dict(self.otherwise) if self.otherwise is not None else None

"""The catalogue's data model: frozen dataclasses of channels, desks, entries, FAQ, safety and conversation.

They are the interface between where a catalogue comes from and who uses it: the YAML source
(`source`) builds them, a database-backed source would only have to build the same `Catalogue`,
and the triage engine reads nothing else. Immutable, so a reload swaps a whole catalogue at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Channel:
    """A service a person can be sent to (spec's channel table; local numbers and hours live here)."""

    code: str
    name: str
    name_en: str = ""
    handles: str = ""
    hours: str = ""
    how: str = ""
    emergency: bool = False


@dataclass(frozen=True)
class Category:
    """An in-scope ticket category of a desk (route `ticket`)."""

    id: str
    name: str
    description: str
    examples: tuple[str, ...]
    category_l1: str | None = None
    priority: str = "normal"
    sla_hours: int | None = None
    form: tuple[str, ...] = ()
    sensitive: bool = False
    """Sensitive personal information (health, abuse, sexual matters; PIPL Art. 28-29): the ticket form
    asks separate consent before it is recorded as a ticket."""
    name_en: str = ""
    """The name in English ("" when the catalogue has none yet: English conversations then see `name`)."""


@dataclass(frozen=True)
class Referral:
    """A legitimate matter another body handles (route `refer`)."""

    id: str
    channel: str
    reason: str
    reply: str
    examples: tuple[str, ...]
    reply_en: str = ""
    """The reply in English, written by people ("": English conversations get `reply`)."""


@dataclass(frozen=True)
class Decline:
    """Not a public-service request (route `decline`); `id` is the analytics reason code."""

    id: str
    reason: str
    reply: str
    examples: tuple[str, ...]
    reply_en: str = ""
    """The reply in English ("": English conversations get `reply`)."""


@dataclass(frozen=True)
class Faq:
    """A question the knowledge base answers (route `faq`)."""

    id: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    answer_en: str = ""
    """The answer in English ("": English conversations get `answer`)."""

    @property
    def examples(self) -> tuple[str, ...]:
        """Every way of asking it: the question first, then the paraphrases."""
        return (self.question, *self.paraphrases)


@dataclass(frozen=True)
class DeskCatalogue:
    """One desk's scope: what becomes a ticket, a referral, a decline, an FAQ answer."""

    desk: str
    name: str
    categories: tuple[Category, ...]
    referrals: tuple[Referral, ...] = ()
    declines: tuple[Decline, ...] = ()
    faqs: tuple[Faq, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def category(self, entry_id: str) -> Category | None:
        """The category with this id, if any."""
        return next((c for c in self.categories if c.id == entry_id), None)


@dataclass(frozen=True)
class EmergencySection:
    """Words, patterns and example sentences of one emergency channel (110/119/120/122)."""

    channel: str
    lexicon: tuple[str, ...]
    patterns: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class SafetyConfig:
    """`safety.yml`: the crisis and emergency screen of all desks."""

    crisis_lexicon: tuple[str, ...]
    crisis_patterns: tuple[str, ...]
    crisis_examples: tuple[str, ...]
    crisis_negatives: tuple[str, ...]
    emergency: Mapping[str, EmergencySection]
    emergency_negatives: tuple[str, ...] = ()
    check_in_entries: tuple[str, ...] = ()
    """Entries (any desk) whose matters warrant the check-in question when a message comes close to
    the crisis bar: emotional and abuse matters, where a counsellor would ask. Practical matters
    (wages, theft, noise) never get it."""

    def as_mapping(self) -> dict[str, Any]:
        """The YAML shape, for `SafetyLexicon.from_mapping`."""
        return {
            "crisis": {"lexicon": list(self.crisis_lexicon), "patterns": list(self.crisis_patterns)},
            "emergency": {
                ch: {"lexicon": list(s.lexicon), "patterns": list(s.patterns)} for ch, s in self.emergency.items()
            },
        }


@dataclass(frozen=True)
class Conversation:
    """`conversation.yml`: smalltalk and too-vague messages (all desks)."""

    smalltalk: tuple[str, ...]
    clarify: tuple[str, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    """Everything triage knows; immutable, so a reload swaps it atomically."""

    channels: Mapping[str, Channel]
    desks: Mapping[str, DeskCatalogue]
    safety: SafetyConfig
    conversation: Conversation
    source: str = ""

    @property
    def content_hash(self) -> str:
        """Stable hash of the content (not of file times): the key of fitted-model caches."""
        payload = {
            "channels": {k: asdict(v) for k, v in sorted(self.channels.items())},
            "desks": {k: _desk_payload(v) for k, v in sorted(self.desks.items())},
            "safety": asdict(self.safety),
            "conversation": [list(self.conversation.smalltalk), list(self.conversation.clarify)],
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def desk(self, desk: str) -> DeskCatalogue:
        """The catalogue of `desk` (KeyError names the known desks)."""
        try:
            return self.desks[desk]
        except KeyError:
            raise KeyError(f"unknown desk {desk!r}; known: {', '.join(sorted(self.desks))}") from None


def _desk_payload(desk: DeskCatalogue) -> dict[str, Any]:
    d = asdict(desk)
    d.pop("extra", None)
    return d

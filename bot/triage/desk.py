"""One desk's classifier: every catalogue entry (category, referral, decline, FAQ, smalltalk, clarify)
is a label, so a single model weighs "is this a ticket about housing?" against "is this a court case
we refer?" and "is this a wish we decline?" with the same evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from bot.text import normalise
from bot.triage.catalogue import Catalogue
from bot.triage.classifier import EntryClassifier
from bot.triage.embedding import embedding_view
from bot.triage.vocabulary import Route

SMALLTALK_LABEL = "smalltalk"
CLARIFY_LABEL = "clarify"
CRISIS_LABEL = "crisis"
EMERGENCY_PREFIX = "emergency:"
LOOKALIKE_LABEL = "safety-lookalike"
"""The safety file's negatives (idioms, hyperbole, past events): they teach the desk classifier that
"想死的心都有了" is not the crisis label; the label itself is never a decision."""


@dataclass(frozen=True)
class Entry:
    """What a classifier label stands for: the route and what to fill into the decision."""

    label: str
    route: Route
    entry_id: str | None = None
    name: str | None = None
    channel: str | None = None
    category_l1: str | None = None
    reply: str | None = None
    priority: str | None = None
    assignable: bool = True
    """False for the safety labels: they inform the safety screen, the decision is one of the others."""
    name_en: str = ""
    reply_en: str = ""
    """English name and reply, written in the catalogue ("" when it has none: see `routing.in_language`)."""


def desk_entries(catalogue: Catalogue, desk: str) -> tuple[dict[str, Entry], list[str], list[str]]:
    """(entries by label, training texts, their labels) of one desk, texts normalised like messages.

    A category's name and description are one more example: they say in staff words what the
    examples say in citizens' words. The safety screen's crisis and emergency examples are labels
    too, so that "study stress" and "I want to end it" compete inside one model: the safety screen
    uses that competition as its second opinion on borderline messages.
    """
    d = catalogue.desk(desk)
    entries: dict[str, Entry] = {}
    texts: list[str] = []
    labels: list[str] = []

    def add(entry: Entry, examples: tuple[str, ...] | list[str]) -> None:
        entries[entry.label] = entry
        for example in examples:
            norm = normalise(example)
            if norm:
                texts.append(embedding_view(norm))
                labels.append(entry.label)

    for c in d.categories:
        described = [f"{c.name}：{c.description}"] if c.description else []
        add(
            Entry(
                f"ticket:{c.id}", Route.TICKET, c.id, c.name, None, c.category_l1, None, c.priority, name_en=c.name_en
            ),
            [*c.examples, *described],
        )
    for r in d.referrals:
        target = catalogue.channels.get(r.channel)
        name, name_en = (target.name, target.name_en) if target else (r.channel, "")
        entry = Entry(f"refer:{r.id}", Route.REFER, r.id, name, r.channel, None, r.reply, name_en=name_en)
        add(replace(entry, reply_en=r.reply_en), r.examples)
    for x in d.declines:
        entry = Entry(f"decline:{x.id}", Route.DECLINE, x.id, x.reason or x.id, None, None, x.reply)
        add(replace(entry, reply_en=x.reply_en), x.examples)
    for f in d.faqs:
        add(Entry(f"faq:{f.id}", Route.FAQ, f.id, f.question, None, None, f.answer, reply_en=f.answer_en), f.examples)
    safety = catalogue.safety
    add(Entry(CRISIS_LABEL, Route.CRISIS, None, "crisis", "12356", assignable=False), safety.crisis_examples)
    for channel, section in safety.emergency.items():
        label = f"{EMERGENCY_PREFIX}{channel}"
        add(Entry(label, Route.EMERGENCY, None, channel, channel, assignable=False), section.examples)
    lookalikes = [*safety.crisis_negatives, *safety.emergency_negatives]
    add(Entry(LOOKALIKE_LABEL, Route.CLARIFY, assignable=False), lookalikes)
    add(Entry(SMALLTALK_LABEL, Route.SMALLTALK), catalogue.conversation.smalltalk)
    add(Entry(CLARIFY_LABEL, Route.CLARIFY), catalogue.conversation.clarify)
    return entries, texts, labels


@dataclass
class DeskModel:
    """A fitted classifier of one desk plus the meaning of its labels."""

    desk: str
    entries: dict[str, Entry]
    classifier: EntryClassifier

    def proba(self, views: list[str], embeddings: np.ndarray) -> np.ndarray:
        """Probabilities over `classifier.classes_` for prepared views."""
        return self.classifier.predict_proba(views, embeddings)

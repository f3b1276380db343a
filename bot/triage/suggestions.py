"""Category suggestions for staff: the ticket categories the engine finds most likely for a request.

A ticket is filed under one category, chosen by triage or by the person's answers. Staff who re-file
it want to see what else the engine considered and how sure it was, so that re-filing is one click
(issue 15, item 6). The probabilities are the desk classifier's, renormalised over the desk's ticket
categories only (a request that became a ticket is a ticket; its refer/decline/FAQ mass says nothing
about which category fits best).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.text import clean, has_words, normalise
from bot.triage.desk import DeskModel
from bot.triage.embedding import Embedder, embed, embedding_view
from bot.triage.vocabulary import Route

TOP_K = 3
"""How many suggestions staff see (the issue asks for the top 3)."""


@dataclass(frozen=True)
class Suggestion:
    """One ticket category of a desk and the engine's probability for it (0..1 among ticket categories)."""

    category: str
    name: str
    category_l1: str | None
    probability: float


def ticket_probabilities(model: DeskModel, proba: np.ndarray) -> list[Suggestion]:
    """Every ticket category of the desk with its renormalised probability, most likely first."""
    classes = list(model.classifier.classes_)
    columns = [i for i, label in enumerate(classes) if model.entries[label].route is Route.TICKET]
    mass = proba[columns]
    total = float(mass.sum())
    weights = mass / total if total > 0 else np.full(len(columns), 1.0 / max(len(columns), 1))
    out = []
    for i, w in zip(columns, weights, strict=True):
        entry = model.entries[classes[i]]
        out.append(Suggestion(entry.entry_id or entry.label, entry.name or entry.label, entry.category_l1, float(w)))
    return sorted(out, key=lambda s: (-s.probability, s.category))


def top_l1(ranked: Sequence[Suggestion], k: int = TOP_K) -> list[tuple[str, float]]:
    """First-level categories (12345's category_l1) by summed probability of their categories."""
    mass: dict[str, float] = defaultdict(float)
    for s in ranked:
        if s.category_l1:
            mass[s.category_l1] += s.probability
    return sorted(mass.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def rank_categories(model: DeskModel, embedder: Embedder, texts: Sequence[str]) -> list[list[Suggestion]]:
    """All ticket categories ranked for each text (one embedding batch); [] for a text without words."""
    views = [embedding_view(normalise(clean(t or ""))) for t in texts]
    keep = [i for i, t in enumerate(texts) if has_words(normalise(clean(t or "")))]
    out: list[list[Suggestion]] = [[] for _ in texts]
    if not keep:
        return out
    kept_views = [views[i] for i in keep]
    proba = model.proba(kept_views, embed(embedder, kept_views))
    for row, i in enumerate(keep):
        out[i] = ticket_probabilities(model, proba[row])
    return out

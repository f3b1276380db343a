"""The top-3 categories on the ticket page and in the queue, so that re-filing is one click.

The engine ranks the desk's ticket categories for the request (`bot.triage.suggestions`): staff see
what triage was torn between and how sure it was. A click on a suggestion posts the ordinary
category change, so it lands in the ticket's events and in 纠正与学习 like any other correction.

Ranking needs the embedding model. The console usually shares the process with the gateway (the
model is loaded already); a console started on its own loads it on first use. When the model cannot
be loaded the pages simply show no suggestions (logged once), never an error.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from bot.console.request_text import request_text
from bot.tickets.models import Ticket
from bot.triage.suggestions import TOP_K, Suggestion

log = logging.getLogger(__name__)

CACHE_SIZE = 2_000
"""Rankings kept in memory (a queue page asks for 50 at most; a ticket's text rarely changes)."""

SUGGESTED_ROUTES = ("ticket",)
"""Only tickets have a category to re-file; a crisis or an answered matter gets no suggestions."""

Ranker = Callable[[Sequence[str], str], list[list[Suggestion]]]
"""(texts, desk) -> every ticket category ranked per text: `TriageEngine.rank_categories`."""


def _engine_ranker(texts: Sequence[str], desk: str) -> list[list[Suggestion]]:
    from bot.triage.engine import get_engine

    return get_engine().rank_categories(texts, desk)


def _engine_catalogue_version() -> int:
    from bot.triage.engine import get_engine

    return get_engine().store.version


class CategorySuggester:
    """Top-k categories per ticket, cached by (catalogue version, desk, request text); thread-safe."""

    def __init__(
        self, rank: Ranker = _engine_ranker, k: int = TOP_K, version: Callable[[], int] = _engine_catalogue_version
    ) -> None:
        self._rank = rank
        self._version = version
        self._k = k
        self._cache: OrderedDict[tuple[int, str, str], list[Suggestion]] = OrderedDict()
        self._lock = threading.Lock()
        self._failed_once = False

    def for_tickets(self, tickets: Sequence[Ticket]) -> dict[int, list[Suggestion]]:
        """Ticket id -> its top-k suggestions (missing for tickets that get none); one batch per desk."""
        wanted: dict[str, dict[int, str]] = {}
        for t in tickets:
            text = request_text(t.summary_redacted) if t.route in SUGGESTED_ROUTES else ""
            if text:
                wanted.setdefault(t.desk, {})[t.id] = text
        out: dict[int, list[Suggestion]] = {}
        for desk, texts in wanted.items():
            ranked = self._ranked(desk, list(dict.fromkeys(texts.values())))
            for ticket_id, text in texts.items():
                if ranked.get(text):
                    out[ticket_id] = ranked[text]
        return out

    def _ranked(self, desk: str, texts: list[str]) -> dict[str, list[Suggestion]]:
        try:
            version = self._version()
        except Exception:
            version = -1
        with self._lock:
            known = {t: self._cache[(version, desk, t)] for t in texts if (version, desk, t) in self._cache}
        missing = [t for t in texts if t not in known]
        if missing:
            try:
                fresh = self._rank(missing, desk)
            except Exception:  # no model, a broken catalogue: the page works without suggestions
                if not self._failed_once:
                    log.exception("category suggestions unavailable; ticket pages show none")
                    self._failed_once = True
                return known
            with self._lock:
                for text, ranking in zip(missing, fresh, strict=True):
                    known[text] = ranking[: self._k]
                    self._cache[(version, desk, text)] = known[text]
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return known

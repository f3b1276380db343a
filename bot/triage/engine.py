"""The triage decision: one route (and what goes with it) for a message of a desk.

Order, as the spec fixes it: nothing to read -> clarify; the safety screen (crisis > emergency) on
every message; then the desk classifier over all catalogue entries (ticket / refer / decline / FAQ /
smalltalk / clarify), which asks one question instead of guessing when it is not sure.

One `TriageEngine` per process (`get_engine()`): the model and the fitted classifiers load lazily on
the first decision. The classifiers are fitted from the catalogue at start-up and cached on disk,
keyed by the catalogue's content hash and the model id, so a restart is fast; when staff edit the
catalogue, `CatalogueStore` notices within ~2 s and the next decision refits (other threads keep
using the previous models meanwhile). The live bot, the CLI and the benchmarks all call
`decide_many`, so they cannot drift apart. The rules of the route live in `routing`, the fitting
and its disk cache in `fitting`; this module batches the embeddings and keeps the models current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.language import DEFAULT
from bot.text import MAX_MESSAGE_CHARS, clean, has_words, length_units, normalise, truncate
from bot.triage.catalogue import Catalogue, CatalogueStore
from bot.triage.decision import Decision
from bot.triage.desk import DeskModel
from bot.triage.embedding import Embedder, default_embedder, embed, embedding_view
from bot.triage.fitting import FittedModels, ModelFitter
from bot.triage.routing import empty_decision, route_decision
from bot.triage.suggestions import Suggestion, rank_categories
from bot.triage.tuning import DEFAULT_TUNING, Tuning

log = logging.getLogger(__name__)


class TriageEngine:
    """Decides routes; thread-safe; fitted lazily from the catalogue store."""

    def __init__(
        self,
        store: CatalogueStore | None = None,
        embedder: Embedder | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        cache_dir: Path | None = None,
        refit_in_background: bool = False,
    ) -> None:
        """`refit_in_background`: after a catalogue edit, every caller keeps the previous models until
        a background thread has refitted (servers: a refit takes up to ~20 s of CPU on 2 cores, longer than
        any caller should wait). Off, the first caller after an edit refits (CLI, tests)."""
        self.store = store or CatalogueStore()
        self._embedder = embedder
        self.tuning = tuning
        self._cache_dir = cache_dir
        self._models: FittedModels | None = None
        self._fit_lock = threading.Lock()
        self._refit_in_background = refit_in_background
        self._refit_thread: threading.Thread | None = None

    # -- public API --------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The encoder (the process-wide cached one unless a test gave another)."""
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder

    def warm_up(self) -> None:
        """Load the model and fit the classifiers now (servers call this before taking traffic).

        The decision below may be served from the embedding cache, so the encoder is loaded and run
        explicitly too: otherwise the first real message would still wait for it (~10-20 s).
        """
        self.decide("你好", next(iter(self._current().catalogue.desks)))
        encoder_warm_up = getattr(self.embedder, "warm_up", None)
        if callable(encoder_warm_up):
            encoder_warm_up()

    def decide(self, text: str, desk: str, history: Sequence[str] = (), language: str = DEFAULT) -> Decision:
        """The route of one message; `history` = the previous user messages of this conversation;
        `language` = the conversation's (bot/language.py): the reply is written in it."""
        return self.decide_many([text], desk, [history], language)[0]

    def decide_many(
        self,
        texts: Sequence[str],
        desk: str,
        histories: Sequence[Sequence[str]] | None = None,
        language: str = DEFAULT,
    ) -> list[Decision]:
        """Decide a batch of messages of one desk (one embedding call for all of them)."""
        models = self._current()
        desk_model = self._desk_model(models, desk)
        histories = histories if histories is not None else [() for _ in texts]
        if len(histories) != len(texts):
            raise ValueError("histories must have one entry per text")

        prepared: list[tuple[str, str, bool] | None] = []
        for text in texts:
            cleaned, cut = truncate(clean(text or ""), MAX_MESSAGE_CHARS)
            norm = normalise(cleaned)
            prepared.append((norm, embedding_view(norm), cut) if norm and has_words(norm) else None)

        # one embedding batch for messages, their recent history and history read with the message
        batch = _Batch()
        message_rows = [batch.add(p[1]) if p is not None else -1 for p in prepared]
        history_rows: list[list[int]] = []
        history_norms: list[list[str]] = []
        context_rows: list[int] = []
        window = self.tuning.history_window
        for p, history in zip(prepared, histories, strict=True):
            recent = [n for n in (normalise(h) for h in list(history)[-window:]) if n]
            history_norms.append(recent)
            history_rows.append([batch.add(embedding_view(h)) for h in recent])
            joined = "。".join([*recent, p[0]]) if (p is not None and recent) else ""
            context_rows.append(batch.add(embedding_view(joined)) if joined else -1)
        vectors = embed(self.embedder, batch.views)
        screen = models.screen
        safety_scores = screen.model.scores(vectors)
        desk_proba = desk_model.proba(batch.views, vectors) if batch.views else np.zeros((0, 0))
        classes = desk_model.classifier.classes_
        margins = screen.model.lookalike_margin(vectors)
        ngrams = screen.model.ngram_crisis(batch.views)
        evidence = [
            screen.evidence(
                safety_scores[i],
                classes,
                desk_proba[i],
                float(margins[i]),
                None if ngrams is None else float(ngrams[i]),
            )
            for i in range(len(batch.views))
        ]

        decisions: list[Decision] = []
        rows = zip(prepared, message_rows, history_rows, history_norms, context_rows, strict=True)
        for p, m_row, h_rows, h_norms, c_row in rows:
            past = screen.history_evidence(h_norms, [evidence[r] for r in h_rows]) if h_rows else None
            if p is None:
                decisions.append(empty_decision(desk, past, language))
                continue
            norm, _view, cut = p
            context = evidence[c_row] if c_row >= 0 else None
            result = screen.screen(norm, evidence[m_row], past, context)
            decisions.append(
                route_decision(
                    self.tuning,
                    desk,
                    cut,
                    result,
                    desk_proba[m_row],
                    desk_model,
                    models.catalogue.channels,
                    past,
                    language,
                    models.catalogue.safety.check_in_entries,
                    length_units(norm),
                )
            )
        return decisions

    def rank_categories(self, texts: Sequence[str], desk: str) -> list[list[Suggestion]]:
        """Every ticket category of `desk` ranked for each text (staff's re-filing suggestions)."""
        return rank_categories(self._desk_model(self._current(), desk), self.embedder, texts)

    # -- decision ----------------------------------------------------------------------------

    # -- fitting -----------------------------------------------------------------------------

    def _current(self) -> FittedModels:
        """Models of the current catalogue; refits (once, others keep the old models) after an edit."""
        catalogue = self.store.get()
        models = self._models
        if models is not None and models.version == self.store.version:
            return models
        if models is not None and self._refit_in_background:
            self._start_refit(catalogue, self.store.version)
            return models
        if models is not None and not self._fit_lock.acquire(blocking=False):
            return models  # another thread is refitting: keep serving the previous catalogue
        if models is None:
            self._fit_lock.acquire()
        try:
            models = self._models
            if models is None or models.version != self.store.version:
                models = self._fit(catalogue, self.store.version)
                self._models = models
            return models
        finally:
            self._fit_lock.release()

    def _start_refit(self, catalogue: Catalogue, version: int) -> None:
        """Refit in a daemon thread unless one is running (it picks up a newer edit on its next call)."""
        if not self._fit_lock.acquire(blocking=False):
            return

        def refit() -> None:
            started = time.monotonic()
            try:
                self._models = self._fit(catalogue, version)
                log.info(
                    "catalogue version %s live after a %.1f s background refit", version, time.monotonic() - started
                )
            except Exception:  # the previous models keep serving; the next call tries again
                log.exception("background refit of catalogue version %s failed", version)
            finally:
                self._fit_lock.release()

        self._refit_thread = threading.Thread(target=refit, name="triage-refit", daemon=True)
        self._refit_thread.start()

    def wait_for_refit(self, timeout: float | None = None) -> bool:
        """Block until a background refit (if any) has finished; True when none is running any more.

        Then the next decision uses the newest catalogue the store had when the refit started.
        """
        thread = self._refit_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _desk_model(self, models: FittedModels, desk: str) -> DeskModel:
        model = models.desks.get(desk)
        if model is None:
            models.catalogue.desk(desk)  # KeyError naming the known desks
            raise KeyError(desk)
        return model

    def _fit(self, catalogue: Catalogue, version: int) -> FittedModels:
        """Models of `catalogue`, reusing what the current ones fitted from the same inputs."""
        fitter = ModelFitter(
            self.tuning,
            lambda views: embed(self.embedder, list(views), reference=True),
            getattr(self.embedder, "model_id", None),
            self._cache_dir,
        )
        return fitter.fit(catalogue, version, self._models)


class _Batch:
    """Texts to embed in one call; identical views share a row."""

    def __init__(self) -> None:
        self.views: list[str] = []
        self._rows: dict[str, int] = {}

    def add(self, view: str) -> int:
        row = self._rows.get(view)
        if row is None:
            row = self._rows[view] = len(self.views)
            self.views.append(view)
        return row


_engine: TriageEngine | None = None
_engine_lock = threading.Lock()


def server_engine() -> TriageEngine:
    """The engine of a long-running process: catalogue edits are refitted in the background."""
    return TriageEngine(refit_in_background=True)


def get_engine(factory: Callable[[], TriageEngine] = server_engine) -> TriageEngine:
    """The process-wide engine (created on first use; loads nothing until the first decision)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = factory()
        return _engine

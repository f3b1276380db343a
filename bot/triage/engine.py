"""The triage decision: one route (and what goes with it) for a message of a desk.

Order, as the spec fixes it: nothing to read -> clarify; the safety screen (crisis > emergency) on
every message; then the desk classifier over all catalogue entries (ticket / refer / decline / FAQ /
smalltalk / clarify), which asks one question instead of guessing when it is not sure.

One `TriageEngine` per process (`get_engine()`): the model and the fitted classifiers load lazily on
the first decision. The classifiers are fitted from the catalogue at start-up and cached on disk,
keyed by the catalogue's content hash and the model id, so a restart is fast; when staff edit the
catalogue, `CatalogueStore` notices within ~2 s and the next decision refits (other threads keep
using the previous models meanwhile). The live bot, the CLI and the benchmarks all call
`decide_many`, so they cannot drift apart.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.text import MAX_MESSAGE_CHARS, clean, has_words, normalise, truncate
from bot.triage import replies
from bot.triage.catalogue import Catalogue, CatalogueStore
from bot.triage.classifier import EntryClassifier, ScopeGate
from bot.triage.decision import CHECK_IN_SIGNAL, Decision
from bot.triage.desk import CLARIFY_LABEL, DeskModel, Entry, desk_entries
from bot.triage.embedding import Embedder, default_embedder, embed, embedding_view
from bot.triage.lexicon import SafetyLexicon
from bot.triage.safety import HistoryEvidence, SafetyModel, SafetyResult, SafetyScreen
from bot.triage.tuning import DEFAULT_TUNING, Tuning
from bot.triage.vocabulary import Route

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock, each process fits for itself
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MODEL_FORMAT = "triage-v6"
"""Bump when the pickled classes change shape, so old caches are ignored."""


@dataclass
class _Models:
    """Everything fitted from one catalogue version (immutable once built)."""

    catalogue: Catalogue
    version: int
    screen: SafetyScreen
    desks: dict[str, DeskModel] = field(default_factory=dict)
    fit_keys: dict[str, str] = field(default_factory=dict)
    """What each fitted part was fitted from ("screen" and each desk): a part whose key is unchanged
    after an edit is reused, not refitted."""
    refitted: tuple[str, ...] = ()
    """The parts fitted for this version (empty when every part was reused or loaded from disk)."""


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
        self._models: _Models | None = None
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

    def decide(self, text: str, desk: str, history: Sequence[str] = ()) -> Decision:
        """The route of one message; `history` = the previous user messages of this conversation."""
        return self.decide_many([text], desk, [history])[0]

    def decide_many(
        self, texts: Sequence[str], desk: str, histories: Sequence[Sequence[str]] | None = None
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
        evidence = [
            screen.evidence(safety_scores[i], classes, desk_proba[i], float(margins[i]))
            for i in range(len(batch.views))
        ]

        decisions: list[Decision] = []
        rows = zip(prepared, message_rows, history_rows, history_norms, context_rows, strict=True)
        for p, m_row, h_rows, h_norms, c_row in rows:
            past = screen.history_evidence(h_norms, [evidence[r] for r in h_rows]) if h_rows else None
            if p is None:
                decisions.append(self._empty(desk, past))
                continue
            norm, _view, cut = p
            context = evidence[c_row] if c_row >= 0 else None
            result = screen.screen(norm, evidence[m_row], past, context)
            decisions.append(self._decide_one(desk, cut, result, desk_proba[m_row], desk_model, models, past))
        return decisions

    # -- decision ----------------------------------------------------------------------------

    def _empty(self, desk: str, evidence: HistoryEvidence | None) -> Decision:
        """Nothing to read (empty, emoji, punctuation): ask; after crisis talk, stay in crisis."""
        if evidence is not None and evidence.crisis_signal:
            return self._crisis(desk, SafetyResult(Route.CRISIS, "12356", 0.5, ("history", *evidence.signals)))
        return Decision(Route.CLARIFY, desk, confidence=1.0, reply=replies.empty_question(desk), signals=("no-words",))

    def _crisis(self, desk: str, result: SafetyResult) -> Decision:
        return Decision(
            Route.CRISIS,
            desk,
            channel=result.channel,
            confidence=result.score,
            reply=replies.crisis_reply(desk),
            signals=result.signals,
            priority="urgent",
        )

    def _decide_one(
        self,
        desk: str,
        cut: bool,
        safety: SafetyResult,
        proba: np.ndarray,
        desk_model: DeskModel,
        models: _Models,
        evidence: HistoryEvidence | None,
    ) -> Decision:
        t = self.tuning
        notes: tuple[str, ...] = ("truncated",) if cut else ()
        if safety.route is Route.CRISIS:
            return self._crisis(desk, SafetyResult(safety.route, safety.channel, safety.score, safety.signals + notes))
        if safety.route is Route.EMERGENCY and safety.channel:
            return Decision(
                Route.EMERGENCY,
                desk,
                channel=safety.channel,
                confidence=safety.score,
                reply=replies.emergency_reply(safety.channel, models.catalogue.channels),
                signals=safety.signals + notes,
                priority="urgent",
            )
        classes = desk_model.classifier.classes_
        # the safety screen said no: safety labels cannot win here; the entries share the probability
        # (renormalised: "given it is not a safety case, which entry is it?")
        assignable = np.array([desk_model.entries[c].assignable for c in classes])
        vetoed = not assignable[int(np.argmax(proba))]
        mass = float(proba[assignable].sum())
        proba_entries = np.where(assignable, proba, 0.0) / (mass if mass > 0 else 1.0)
        order = [int(i) for i in np.argsort(-proba_entries) if assignable[i]]
        best, second = classes[order[0]], classes[order[1]]
        p_best, p_second = float(proba_entries[order[0]]), float(proba_entries[order[1]])
        entry = desk_model.entries[best]
        signals = (f"top:{best}:{p_best:.2f}", f"second:{second}:{p_second:.2f}", *notes)
        check_in = tuple(s for s in safety.signals if s.startswith(CHECK_IN_SIGNAL))
        signals += check_in
        if evidence is not None and evidence.crisis_signal:
            signals += ("history",)
        if vetoed:
            signals += (f"set-aside:{classes[int(np.argmax(proba))]}:{safety.score:.2f}",)

        withheld = False
        if entry.route is Route.DECLINE:
            # "is this something we decline at all?": the decline entries share that evidence (a
            # matchmaking wish is part wishing-well, part privacy), so their summed probability decides
            declines = [i for i in order if desk_model.entries[classes[i]].route is Route.DECLINE]
            sure = float(proba_entries[declines].sum()) >= t.decline_threshold
            # close to the crisis bar: "we cannot grant that" beside "are you safe?" reads as a brush-off
            # to someone who may be saying goodbye ("我的东西都送给你们吧"); ask what they need instead
            withheld = sure and bool(check_in)
            sure = sure and not withheld
        else:
            sure = ScopeGate(t.faq_threshold if entry.route is Route.FAQ else t.clarify_threshold).accept(
                np.array([p_best])
            )[0]
        if best == CLARIFY_LABEL or not sure:
            why = () if best == CLARIFY_LABEL else ("decline-withheld",) if withheld else ("low-confidence",)
            return Decision(
                Route.CLARIFY,
                desk,
                confidence=1.0 - p_best if best != CLARIFY_LABEL else p_best,
                reply=self._question(desk, desk_model.entries[best], desk_model.entries[second], p_best - p_second),
                signals=(*signals, *why),
            )
        return self._from_entry(desk, entry, p_best, signals)

    def _question(self, desk: str, first: Entry, second: Entry, margin: float) -> str:
        """One specific question: name the two candidates when both are ticket categories and close."""
        if (
            first.route is Route.TICKET
            and second.route is Route.TICKET
            and margin <= self.tuning.margin_question
            and first.name
            and second.name
        ):
            return replies.clarify_between(first.name, second.name, desk)
        return replies.vague_question(desk)

    @staticmethod
    def _from_entry(desk: str, entry: Entry, confidence: float, signals: tuple[str, ...]) -> Decision:
        route = entry.route
        if route is Route.TICKET:
            return Decision(
                route,
                desk,
                category=entry.entry_id,
                category_l1=entry.category_l1,
                category_name=entry.name,
                entry_id=entry.entry_id,
                confidence=confidence,
                signals=signals,
                priority=entry.priority or "normal",
            )
        if route is Route.REFER:
            return Decision(
                route,
                desk,
                channel=entry.channel,
                entry_id=entry.entry_id,
                confidence=confidence,
                reply=entry.reply,
                signals=signals,
            )
        if route is Route.DECLINE:
            return Decision(
                route, desk, entry_id=entry.entry_id, confidence=confidence, reply=entry.reply, signals=signals
            )
        if route is Route.FAQ:
            return Decision(
                route,
                desk,
                faq_id=entry.entry_id,
                entry_id=entry.entry_id,
                confidence=confidence,
                reply=entry.reply,
                signals=signals,
            )
        return Decision(route, desk, confidence=confidence, signals=signals)

    # -- fitting -----------------------------------------------------------------------------

    def _current(self) -> _Models:
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

    def _desk_model(self, models: _Models, desk: str) -> DeskModel:
        model = models.desks.get(desk)
        if model is None:
            models.catalogue.desk(desk)  # KeyError naming the known desks
            raise KeyError(desk)
        return model

    def _embeddings_of(self, views: Sequence[str]) -> np.ndarray:
        return embed(self.embedder, list(views))

    def _fit(self, catalogue: Catalogue, version: int) -> _Models:
        """Models of `catalogue`: from the disk cache, else refitting only the parts an edit changed.

        A refit of everything costs ~20 s of CPU on 2 cores, half of it the 12345 n-gram model.
        An edit touches one desk's file, or only a reply, so each part (the safety model, each desk's
        classifier) is keyed by exactly what it is fitted from and reused while that is unchanged:
        the models are the same as a full refit's, only sooner. Processes sharing the cache folder
        (the app and the action server) fit one at a time, so the second loads the first's models
        instead of spending the same CPU again.
        """
        cache = self._cache_path(catalogue)
        with _fitting_alone(cache.parent if cache is not None else None):
            cached = self._load_cached(cache, catalogue, version)
            return cached if cached is not None else self._fit_parts(catalogue, version, cache)

    def _load_cached(self, cache: Path | None, catalogue: Catalogue, version: int) -> _Models | None:
        """The models another run (or another process) fitted for this catalogue, if on disk."""
        if cache is None or not cache.exists():
            return None
        try:
            with cache.open("rb") as fh:
                cached_screen, cached_desks, cached_keys = pickle.load(fh)
        except Exception:  # a stale or corrupt cache is rebuilt, never fatal
            log.warning("triage model cache %s unusable; refitting", cache, exc_info=True)
            return None
        log.info("triage models loaded from cache %s", cache.name)
        # the pickle holds the tuning it was fitted with; thresholds are not part of the
        # cache key, so the screen must read this engine's (a changed threshold applies)
        screen = SafetyScreen(cached_screen.lexicon, cached_screen.model, self.tuning)
        return _Models(catalogue, version, screen, cached_desks, cached_keys)

    def _fit_parts(self, catalogue: Catalogue, version: int, cache: Path | None) -> _Models:
        """Fit what changed since the previous models, reuse the rest, and cache the result on disk."""
        previous = self._models
        fit_keys: dict[str, str] = {}
        refitted: list[str] = []

        def reusable(part: str, key: str) -> _Models | None:
            """Record the part's key; the previous models when they fitted this part from the same inputs."""
            fit_keys[part] = key
            if previous is not None and previous.fit_keys.get(part) == key:
                return previous
            refitted.append(part)
            return None

        texts, labels = SafetyModel.training_texts(catalogue)
        views = [embedding_view(normalise(t)) for t in texts]
        lookalikes = [
            embedding_view(normalise(t))
            for t in (*catalogue.safety.crisis_negatives, *catalogue.safety.emergency_negatives)
        ]
        if reuse := reusable("screen", _fit_key(self.tuning.safety_c, views, labels, lookalikes)):
            safety_model = reuse.screen.model
        else:
            safety_model = SafetyModel(self.tuning).fit(
                self._embeddings_of(views), labels, self._embeddings_of(lookalikes)
            )
        screen = SafetyScreen(SafetyLexicon.from_mapping(catalogue.safety.as_mapping()), safety_model, self.tuning)
        desks: dict[str, DeskModel] = {}
        for desk in catalogue.desks:
            entries, desk_texts, desk_labels = desk_entries(catalogue, desk)
            key = _fit_key(self.tuning.classifier, desk_texts, desk_labels)
            if reuse := reusable(desk, key):
                classifier = reuse.desks[desk].classifier
            else:
                classifier = EntryClassifier(self.tuning.classifier).fit(
                    desk_texts, self._embeddings_of(desk_texts), desk_labels
                )
            desks[desk] = DeskModel(desk, entries, classifier)
        if cache is not None:
            _atomic_pickle(cache, (screen, desks, fit_keys))
        log.info(
            "triage models fitted for catalogue %s (refitted: %s)",
            catalogue.content_hash,
            ", ".join(refitted) or "none",
        )
        return _Models(catalogue, version, screen, desks, fit_keys, tuple(refitted))

    def _cache_path(self, catalogue: Catalogue) -> Path | None:
        model_id = getattr(self.embedder, "model_id", None)
        if not isinstance(model_id, str):
            return None
        key = hashlib.sha256(
            f"{MODEL_FORMAT}|{catalogue.content_hash}|{model_id}|{self.tuning.fit_key}".encode()
        ).hexdigest()[:20]
        base = self._cache_dir
        if base is None:
            from bot.settings import Settings

            base = Settings().cache_dir / "triage"
        return base / f"models-{key}.pkl"


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


FIT_WAIT_S = 120.0
"""How long a process waits for another one fitting in the same cache folder before fitting anyway."""


@contextlib.contextmanager
def _fitting_alone(cache_dir: Path | None) -> Iterator[None]:
    """Hold `<cache_dir>/fit.lock` (flock: released by the kernel if its holder dies) while fitting.

    After an edit both server processes refit the same catalogue; one at a time, the second finds
    the first one's pickle. A holder that takes longer than FIT_WAIT_S is not waited for.
    """
    if cache_dir is None or fcntl is None:
        yield
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle = (cache_dir / "fit.lock").open("a+b")
    except OSError:  # a read-only cache folder: fit without the lock, as before
        yield
        return
    with handle:
        deadline = time.monotonic() + FIT_WAIT_S
        locked = said = False
        while not locked:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except OSError:
                if time.monotonic() > deadline:
                    log.warning("another process has been fitting for %.0f s; fitting anyway", FIT_WAIT_S)
                    break
                if not said:
                    log.info("another process is fitting triage models; waiting to load its result")
                    said = True
                time.sleep(0.1)
        try:
            yield
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _fit_key(config: object, *inputs: Sequence[str]) -> str:
    """Hash of a part's hyper-parameters and training inputs: equal keys give equal fitted models."""
    digest = hashlib.sha256(repr(config).encode())
    for items in inputs:
        digest.update(b"\x1e" + "\x1f".join(items).encode())
    return digest.hexdigest()


def _atomic_pickle(path: Path, obj: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        log.warning("could not write the triage model cache %s", path, exc_info=True)


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

"""Fitting the triage models from a catalogue, and keeping them on disk.

A refit of everything costs ~20 s of CPU on 2 cores; after an edit only the parts whose training
inputs changed are refitted, the rest reused, and the result is pickled in the cache folder keyed by
the catalogue's content, the model id and the tuning, so a restart loads instead of fitting.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.text import normalise
from bot.triage.catalogue import Catalogue
from bot.triage.classifier import EntryClassifier
from bot.triage.desk import DeskModel, desk_entries
from bot.triage.embedding import embedding_view
from bot.triage.lexicon import SafetyLexicon
from bot.triage.safety import SafetyModel, SafetyScreen
from bot.triage.tuning import Tuning

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process lock, each process fits for itself
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

MODEL_FORMAT = "triage-v9"
"""Bump when the pickled classes change shape, so old caches are ignored."""


@dataclass
class FittedModels:
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


class ModelFitter:
    """Fits (or loads) the models of a catalogue version; `embed(texts)` gives their vectors."""

    def __init__(
        self, tuning: Tuning, embed: Callable[[Sequence[str]], np.ndarray], model_id: object, cache_dir: Path | None
    ) -> None:
        self.tuning = tuning
        self._embed = embed
        self._model_id = model_id
        self._cache_dir = cache_dir

    def fit(self, catalogue: Catalogue, version: int, previous: FittedModels | None) -> FittedModels:
        """Models of `catalogue`: from the disk cache, else refitting only the parts an edit changed.

        A refit of everything costs ~20 s of CPU on 2 cores, half of it the 12345 n-gram model.
        An edit touches one desk's file, or only a reply, so each part (the safety model, each desk's
        classifier) is keyed by exactly what it is fitted from and reused while that is unchanged:
        the models are the same as a full refit's, only sooner. Processes sharing the cache folder
        (the app and `make triage`, say) fit one at a time, so the second loads the first's models
        instead of spending the same CPU again.
        """
        cache = self._cache_path(catalogue)
        with _fitting_alone(cache.parent if cache is not None else None):
            cached = self._load_cached(cache, catalogue, version)
            return cached if cached is not None else self._fit_parts(catalogue, version, cache, previous)

    def _load_cached(self, cache: Path | None, catalogue: Catalogue, version: int) -> FittedModels | None:
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
        return FittedModels(catalogue, version, screen, cached_desks, cached_keys)

    def _fit_parts(
        self, catalogue: Catalogue, version: int, cache: Path | None, previous: FittedModels | None
    ) -> FittedModels:
        """Fit what changed since the previous models, reuse the rest, and cache the result on disk."""
        fit_keys: dict[str, str] = {}
        refitted: list[str] = []

        def reusable(part: str, key: str) -> FittedModels | None:
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
            safety_model = SafetyModel(self.tuning).fit(self._embed(views), labels, self._embed(lookalikes), views)
        screen = SafetyScreen(SafetyLexicon.from_mapping(catalogue.safety.as_mapping()), safety_model, self.tuning)
        desks: dict[str, DeskModel] = {}
        for desk in catalogue.desks:
            entries, desk_texts, desk_labels = desk_entries(catalogue, desk)
            key = _fit_key(self.tuning.classifier, desk_texts, desk_labels)
            if reuse := reusable(desk, key):
                classifier = reuse.desks[desk].classifier
            else:
                classifier = EntryClassifier(self.tuning.classifier).fit(
                    desk_texts, self._embed(desk_texts), desk_labels
                )
            desks[desk] = DeskModel(desk, entries, classifier)
        if cache is not None:
            _atomic_pickle(cache, (screen, desks, fit_keys))
        log.info(
            "triage models fitted for catalogue %s (refitted: %s)",
            catalogue.content_hash,
            ", ".join(refitted) or "none",
        )
        return FittedModels(catalogue, version, screen, desks, fit_keys, tuple(refitted))

    def _cache_path(self, catalogue: Catalogue) -> Path | None:
        model_id = self._model_id
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

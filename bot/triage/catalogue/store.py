"""`CatalogueStore`: serves the last good catalogue, notices edits, and counts versions.

A typo must never take the bot down: the store re-reads its source when the source's fingerprint
changes (at most every ~2 s), keeps serving the last good catalogue while the new one is broken,
exposes the error for the console, and bumps `version` on every successful reload so users (the
engine) refit only when it moved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.triage.catalogue.lines import CatalogueError
from bot.triage.catalogue.model import Catalogue
from bot.triage.catalogue.source import CatalogueSource, YamlCatalogueSource, console_override_dir

log = logging.getLogger("bot.triage.catalogue")  # the logger name these lines have always carried


class CatalogueStore:
    """Serves the current good catalogue; re-reads its source when it changes, keeps the last good one.

    `get()` is cheap and thread-safe: it looks at the source's fingerprint at most every
    `min_interval` seconds. A failed reload is logged and kept in `last_error`; the previous
    catalogue keeps serving. `version` grows on every successful reload, so users (the engine)
    can refit only when it moved.
    """

    def __init__(
        self,
        source: CatalogueSource | None = None,
        min_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source: CatalogueSource = source or YamlCatalogueSource(override_dir=console_override_dir())
        self.min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._fingerprint: str | None = None
        self._checked_at = float("-inf")
        self.version = 0
        self.last_error: CatalogueError | None = None

    def get(self) -> Catalogue:
        """The catalogue to use now (raises CatalogueError only if no good one was ever loaded)."""
        now = self._clock()
        if self._catalogue is not None and now - self._checked_at < self.min_interval:
            return self._catalogue
        with self._lock:
            if self._catalogue is None or now - self._checked_at >= self.min_interval:
                self._refresh(now)
            if self._catalogue is None:
                assert self.last_error is not None
                raise self.last_error
            return self._catalogue

    def reload(self) -> Catalogue:
        """Check the source now, whatever the interval (tests, the console's "apply" button)."""
        with self._lock:
            self._checked_at = float("-inf")
        return self.get()

    def _refresh(self, now: float) -> None:
        self._checked_at = now
        fingerprint = self.source.fingerprint()
        if fingerprint == self._fingerprint:
            return
        try:
            catalogue = self.source.load()
        except CatalogueError as exc:
            if self.last_error is None or str(exc) != str(self.last_error):
                log.error(
                    "catalogue refused, %s: %s",
                    "keeping the last good one" if self._catalogue else "no catalogue to serve",
                    exc,
                )
            self.last_error = exc
            self._fingerprint = fingerprint
            return
        self._catalogue = catalogue
        self._fingerprint = fingerprint
        self.last_error = None
        self.version += 1
        log.info(
            "catalogue loaded from %s (version %d, %s)",
            catalogue.source,
            self.version,
            catalogue.content_hash,
        )

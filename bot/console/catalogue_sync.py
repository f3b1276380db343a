"""Catalogue edits saved on another instance, made live here: the database is the shared record.

The editor (catalogue_editor.py) stores every accepted edit as a numbered version in
`catalogue_versions` and writes it to this instance's override folder, which the triage engine's
catalogue store re-reads within ~2 s (bot/triage/catalogue/store.py). With several instances on one
PostgreSQL database the other instances do not share that folder, so each one runs `CatalogueSync`:
every `FRONTDOOR_CATALOGUE_POLL_SECONDS` it reads one number, the newest version row's id, and only
when it moved writes the latest version of each file to its own override folder. An edit is live on
every instance within the poll interval plus the store's ~2 s. The files under bot/data stay the seed
and default: a file nobody edited has no version and is never written here.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from bot.console import overrides
from bot.console.models import CatalogueVersion
from bot.settings import Settings

log = logging.getLogger(__name__)


class CatalogueSync:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.settings = settings
        self._seen: int | None = None

    def sync_once(self) -> int:
        """Write the newest version of every edited file that differs from this instance's copy; how many."""
        with self._sessions() as session:
            newest = session.scalar(select(func.max(CatalogueVersion.id)))
            if newest is None or newest == self._seen:
                return 0
            latest = (
                select(CatalogueVersion.desk, CatalogueVersion.kind, func.max(CatalogueVersion.version).label("v"))
                .group_by(CatalogueVersion.desk, CatalogueVersion.kind)
                .subquery()
            )
            rows = session.scalars(
                select(CatalogueVersion).join(
                    latest,
                    (CatalogueVersion.desk == latest.c.desk)
                    & (CatalogueVersion.kind == latest.c.kind)
                    & (CatalogueVersion.version == latest.c.v),
                )
            ).all()
        written = 0
        for version in rows:
            path = overrides.override_path(self.settings, version.kind, version.desk)
            try:
                current = path.read_text(encoding="utf-8") if path.is_file() else None
            except OSError:
                current = None
            if current == version.content:
                continue
            overrides.write_atomic(path, version.content)
            overrides.record_live_version(
                self.settings,
                version.kind,
                version.desk,
                {
                    "version": version.version,
                    "author": version.author,
                    "at": version.created_at.isoformat(),
                    "sha256": version.sha256,
                },
            )
            log.info("catalogue %s/%s version %d made live here", version.desk, version.kind, version.version)
            written += 1
        self._seen = newest
        return written

    async def run_forever(self, interval: float) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sync_once)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is briefly away: the next look catches up
                log.warning("catalogue sync failed: %s", type(exc).__name__)
            await asyncio.sleep(interval)

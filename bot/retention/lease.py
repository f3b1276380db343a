"""The purge's lease: the general database-row lease of bot/db/leases.py (kept here for its callers)."""

from __future__ import annotations

from bot.db.leases import acquire, release

__all__ = ["acquire", "release"]

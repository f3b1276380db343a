"""Cache files that may hold traces of people's messages, outside the database.

Before issue 19 the embedding cache kept a vector of every message on disk, keyed by a SHA-256 of
the text (`<cache dir>/embeddings/<model id>.sqlite`); a short text such as a phone number can be
recovered from such a hash. Live messages now stay in memory (bot/embeddings/encoder.py); the purge
deletes the old files. `clean` (run by `make clean`) deletes every vector cache, reference and
benchmark ones too (they are rebuilt on use).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.embeddings.encoder import DISK_MODES
from bot.settings import Settings

_KEPT_SUFFIXES = tuple(f".{suffix}.sqlite" for suffix in DISK_MODES.values())


def embedding_dir(settings: Settings) -> Path:
    return settings.cache_dir / "embeddings"


def _vector_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and ".sqlite" in p.name)


def legacy_files(folder: Path) -> list[Path]:
    """Vector caches of the old kind (every message on disk), with their -wal/-shm files."""
    return [p for p in _vector_files(folder) if not re.sub(r"-(wal|shm|journal)$", "", p.name).endswith(_KEPT_SUFFIXES)]


def delete_legacy(folder: Path, *, dry_run: bool = False) -> int:
    found = legacy_files(folder)
    if not dry_run:
        for path in found:
            path.unlink(missing_ok=True)
    return len(found)


def clean(folder: Path) -> int:
    """Delete every vector cache file (make clean); the word-embedding map beside them stays."""
    found = _vector_files(folder)
    for path in found:
        path.unlink(missing_ok=True)
    return len(found)

"""What the classifiers read: the normalised text, shortened for the embedding model.

Embedding cost grows with length (a title + 300 characters runs at ~15 messages/s on 2 cores against
~150/s for a short sentence) and the gist of a citizen's message is in its title and first lines,
so a long message is embedded as its first line ("title") plus the beginning of the body.
Lexicon and patterns still read the whole message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from bot.text import normalise

QUERY_PROMPT = "query: "
TITLE_CHARS = 80
"""A first line at most this long is treated as a title."""
BODY_CHARS = 300
"""Characters of body read after the title (stack-notes: title + 300 characters)."""


class Embedder(Protocol):
    """The encoder interface triage needs (bot.embeddings.encoder.Encoder implements it)."""

    def encode(self, texts: Sequence[str], *, prompt: str = ..., batch_size: int = ...) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


def default_embedder() -> Embedder:
    """The process-wide cached encoder of the configured model (imported lazily: torch is heavy)."""
    from bot.embeddings.encoder import get_encoder

    return get_encoder()


def embedding_view(norm: str) -> str:
    """The part of a normalised message the embedding model reads: title + first BODY_CHARS of body."""
    if len(norm) <= TITLE_CHARS + BODY_CHARS:
        return norm
    head, sep, body = norm.partition("\n")
    if sep and len(head) <= TITLE_CHARS:
        return f"{head}\n{body.strip()[:BODY_CHARS]}"
    return norm[: TITLE_CHARS + BODY_CHARS]


def prepare(text: str | None) -> tuple[str, str]:
    """(normalised text, embedding view) of a raw message."""
    norm = normalise(text)
    return norm, embedding_view(norm)


def embed(embedder: Embedder, views: Sequence[str]) -> np.ndarray:
    """Embed already prepared views with the query prompt (what e5 was trained to use for short texts)."""
    if not views:
        return np.zeros((0, 384), dtype=np.float32)
    return np.asarray(embedder.encode(list(views), prompt=QUERY_PROMPT), dtype=np.float32)

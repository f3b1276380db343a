"""What the classifiers read: the normalised text, shortened for the embedding model.

Embedding cost grows with length (a title + 300 characters runs at ~15 messages/s on 2 cores against
~150/s for a short sentence) and the gist of a citizen's message is in its title and first lines,
so a long message is embedded as its first line ("title") plus the beginning of the body.
Lexicon and patterns still read the whole message.
"""

from __future__ import annotations

import inspect
import re
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
        """L2-normalised float32 vectors, one row per text.

        An embedder may also take `reference=True` (texts that are reference data, cacheable on
        disk; bot.embeddings.encoder.Encoder does); `embed` passes it only to one that declares it.
        """
        ...


def default_embedder() -> Embedder:
    """The process-wide cached encoder of the configured model (imported lazily: torch is heavy)."""
    from bot.embeddings.encoder import get_encoder

    return get_encoder()


_INTENSIFIER = re.compile(
    r"(烦|气|吵|累|急|饿|热|冷|冻|困|笑|蠢|丑|难吃|难看|难听|疼|痛|忙|闷|无聊|尴尬|穷|贵|慢|挤|晒|渴|撑|臭|脏|麻烦|郁闷|憋屈)"
    r"(?:得要死|得要命|死我了|死人了|死了|死我|死)"
)
"""Everyday 死 after a word of annoyance or discomfort ("烦得要死", "气死我了", "吵死了", "累死了"): an
intensifier, not death. The embedding reads "很烦" instead, so the learned crisis score is not pulled
by the word 死 in an ordinary complaint (fresh round 4: ten such complaints got the crisis answer or
the check-in). The lexicon still reads the message as written."""


def defuse_intensifiers(norm: str) -> str:
    """ "吵死了，城管管不管" -> "很吵，城管管不管" (only the intensifier changes)."""
    return _INTENSIFIER.sub(lambda m: "很" + m.group(1), norm)


def embedding_view(norm: str) -> str:
    """The part of a normalised message the embedding model reads: title + first BODY_CHARS of body,
    with everyday intensifiers defused (`defuse_intensifiers`)."""
    norm = defuse_intensifiers(norm)
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


def embed(embedder: Embedder, views: Sequence[str], *, reference: bool = False) -> np.ndarray:
    """Embed already prepared views with the query prompt (what e5 was trained to use for short texts).

    `reference=True` for catalogue and FAQ texts (the encoder may keep them on disk); a person's
    message is never reference and stays in the encoder's memory cache only.
    """
    if not views:
        return np.zeros((0, 384), dtype=np.float32)
    if reference and "reference" in inspect.signature(embedder.encode).parameters:
        vectors = embedder.encode(list(views), prompt=QUERY_PROMPT, reference=True)  # type: ignore[call-arg]
    else:
        vectors = embedder.encode(list(views), prompt=QUERY_PROMPT)
    return np.asarray(vectors, dtype=np.float32)

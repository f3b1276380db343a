"""Serve the encoder's word-embedding table from a memory-mapped file instead of the heap.

multilingual-e5-small has 118 M parameters, 96 M of them in the word-embedding table (250k
SentencePiece pieces x 384 floats, 366 MB as float32). A message touches a few dozen rows, so the
table is looked up, never multiplied: mapped from a file in the cache folder, only the pages of rows
actually used are read in, and they are clean file pages the kernel can drop and share. The values
are the same float32 numbers, so the vectors are bit for bit those of the table in memory (a float16
table was tried first: within 1e-4 cosine, yet it moved two borderline crisis messages of our route
sets under the bar, so it was not kept).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)


def _tables(model: Any) -> list[tuple[Any, nn.Embedding]]:
    """(owner, table) of every transformer word-embedding table still held on the heap."""
    found = []
    for module in model.modules():
        embeddings = getattr(module, "embeddings", None)
        table = getattr(embeddings, "word_embeddings", None)
        if not isinstance(table, nn.Embedding) or getattr(table, "memory_mapped", False):
            continue
        if table.weight.dtype == torch.float32:
            found.append((embeddings, table))
    return found


def _write_once(path: Path, weight: torch.Tensor) -> bool:
    """The table as raw float32 at `path` (written atomically unless a file of the right size is there)."""
    size = weight.numel() * 4
    if path.is_file() and path.stat().st_size == size:
        return True
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(weight.detach().contiguous().numpy().tobytes())
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
        log.warning("could not write %s; the word embeddings stay in memory", path, exc_info=True)
        return False


def map_word_embeddings(model: Any, folder: Path, model_id: str) -> int:
    """Replace each word-embedding table of a SentenceTransformer by a read-only map of the same
    float32 values in `folder`; returns the bytes moved off the heap (0 when nothing was mapped)."""
    moved = 0
    for index, (embeddings, table) in enumerate(_tables(model)):
        path = folder / f"{model_id}-word-embeddings-{index}.f32"
        if not _write_once(path, table.weight):
            continue
        mapped = torch.from_file(str(path), shared=False, size=table.weight.numel(), dtype=torch.float32)
        table.weight = nn.Parameter(mapped.view(table.weight.shape), requires_grad=False)
        setattr(table, "memory_mapped", True)  # noqa: B010 - a plain attribute on a torch Module
        embeddings.word_embeddings = table
        moved += table.weight.numel() * 4
    return moved

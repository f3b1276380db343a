"""Keep the encoder's word-embedding table in half precision: the same vectors for ~180 MB less.

multilingual-e5-small has 118 M parameters, 96 M of them in the word-embedding table (250k
SentencePiece pieces x 384). A message touches a few dozen rows, so the table is looked up, not
multiplied: stored as float16 and widened to float32 row by row, it changes sentence vectors by
less than 1e-4 in cosine (the shipped weights come from 4-bit blocks with float16 scales, so half
precision is no coarser than the source). The transformer layers stay float32. The model id says so
(`bot.embeddings.encoder.COMPACT_TAG`), so vectors cached from the full model are not mixed in.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional


class HalfPrecisionEmbedding(nn.Module):
    """An `nn.Embedding` whose table is stored as float16 and whose output is float32."""

    def __init__(self, original: nn.Embedding) -> None:
        super().__init__()
        self.padding_idx = original.padding_idx
        self.num_embeddings, self.embedding_dim = original.num_embeddings, original.embedding_dim
        self.weight = nn.Parameter(original.weight.detach().to(torch.float16), requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return functional.embedding(ids, self.weight, self.padding_idx).to(torch.float32)


def compact_word_embeddings(model: Any) -> int:
    """Swap the word-embedding table of every transformer module of a SentenceTransformer for a
    half-precision one; returns the bytes saved (0 when the model has no such table)."""
    saved = 0
    for module in model.modules():
        embeddings = getattr(module, "embeddings", None)
        table = getattr(embeddings, "word_embeddings", None)
        if embeddings is not None and isinstance(table, nn.Embedding) and table.weight.dtype == torch.float32:
            embeddings.word_embeddings = HalfPrecisionEmbedding(table)
            saved += table.weight.numel() * 2
    return saved

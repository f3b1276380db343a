"""What the encoder keeps on disk, without loading the model: reference texts only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from bot.embeddings.encoder import Encoder, _cache_key, _DiskCache


def _fake_model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "modules.json").write_text("[]")  # enough for the model id; the model is never loaded here
    return folder


def test_reference_vectors_are_taken_over_from_the_old_cache_and_messages_are_not(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    encoder = Encoder(str(_fake_model(tmp_path / "model")), cache_dir=cache)
    catalogue_text, message = "路灯坏了", "我的电话是13812345678"
    legacy = _DiskCache(cache / f"{encoder.model_id}.sqlite")
    legacy.put_many(
        [(_cache_key("query: ", t), np.full(4, i + 1, "f4")) for i, t in enumerate((catalogue_text, message))]
    )
    legacy.close()

    vectors = encoder.encode([catalogue_text], reference=True)
    assert not encoder.loaded and encoder.stats.embedded == 0  # served from the old file, no model needed
    np.testing.assert_array_equal(vectors[0], np.full(4, 1, "f4"))
    encoder.close()
    with sqlite3.connect(cache / f"{encoder.model_id}.reference.sqlite") as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM vectors")]
    assert keys == [_cache_key("query: ", catalogue_text)]  # the message's hash was not copied

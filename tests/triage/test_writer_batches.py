"""Writers' batches (bot/triage/catalogue/writers.py, bot/data/writers/) and their import tool."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml

from benchmarks.datasets import SHARED_DATA
from bot.triage.catalogue import YamlCatalogueSource
from bot.triage.catalogue.lines import CatalogueError, parse_yaml
from bot.triage.catalogue.source import DEFAULT_DATA_DIR
from bot.triage.catalogue.writers import WRITERS, parse_writer_batch
from tools import writer_batch

SHIPPED = sorted((DEFAULT_DATA_DIR / WRITERS).glob("*.yml"))
"""Independent writers' batches and, named round-N.yml, the declines and referrals of scored fresh rounds."""


def _batches() -> list:
    return [parse_writer_batch(parse_yaml(p.read_text(encoding="utf-8"), p), p) for p in SHIPPED]


def test_five_independent_writers_each_with_a_persona_and_every_decline_and_referral() -> None:
    batches = [b for b, p in zip(_batches(), SHIPPED, strict=True) if not p.stem.startswith("round-")]
    assert len({b.writer for b in batches}) == len(batches) >= 5
    catalogue = YamlCatalogueSource().load()
    for b in batches:
        assert b.persona, b.writer
        for code, desk in catalogue.desks.items():
            kinds = b.desks[code]
            assert set(kinds["declines"]) == {e.id for e in desk.declines}, (b.writer, code)
            assert set(kinds["referrals"]) == {e.id for e in desk.referrals}, (b.writer, code)
        assert len(b.crisis_examples) >= 30 and len(b.crisis_negatives) >= 30


def test_every_batch_example_reaches_the_loaded_catalogue() -> None:
    catalogue = YamlCatalogueSource().load()
    for b in _batches():
        for code, kinds in b.desks.items():
            desk = catalogue.desks[code]
            entries = {("declines", e.id): e for e in desk.declines} | {("referrals", e.id): e for e in desk.referrals}
            for kind, per_entry in kinds.items():
                for entry_id, texts in per_entry.items():
                    assert set(texts) <= set(entries[(kind, entry_id)].examples), (b.writer, code, entry_id)
        assert set(b.crisis_examples) <= set(catalogue.safety.crisis_examples)
        assert set(b.crisis_negatives) <= set(catalogue.safety.crisis_negatives)


def test_declines_now_rest_on_more_than_a_hundred_examples_per_reason() -> None:
    catalogue = YamlCatalogueSource().load()
    for code, desk in catalogue.desks.items():
        for decline in desk.declines:
            assert len(decline.examples) >= 100, (code, decline.id, len(decline.examples))


def _cjk(text: str) -> int:
    return sum("\u3400" <= ch <= "\u9fff" for ch in text)


def _shingles(text: str) -> set[str]:
    """20-character pieces that are mostly Chinese, and 50-character pieces of anything: shorter English
    pieces are everyday phrases ("can you tell me where"), not copies."""
    cjk = {text[i : i + 20] for i in range(len(text) - 19) if _cjk(text[i : i + 20]) >= 15}
    return cjk | {text[i : i + 50] for i in range(len(text) - 49)}


def test_no_batch_text_shares_a_passage_with_the_benchmark_data() -> None:
    """Evaluation data stays outside: nothing of ../shared/data in the writers' examples."""
    assert SHARED_DATA.is_dir(), f"{SHARED_DATA} is needed beside the repo (CI puts ../shared there)"
    shingles: dict[str, str] = {}
    for b in _batches():
        texts = [*b.crisis_examples, *b.crisis_negatives]
        texts += [t for kinds in b.desks.values() for e in kinds.values() for ts in e.values() for t in ts]
        for text in texts:
            shingles.update(dict.fromkeys(_shingles(text), text))
    leaks = []
    for path in SHARED_DATA.rglob("*.jsonl"):
        with path.open(encoding="utf-8") as f:
            for line in f:
                hit = next(
                    (s for s in (line[i : i + w] for w in (20, 50) for i in range(len(line) - w + 1)) if s in shingles),
                    None,
                )
                if hit is not None:
                    leaks.append((path.name, shingles[hit]))
    assert leaks == []


def _data_copy(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    shutil.rmtree(data / WRITERS)
    return data


def test_the_tool_reviews_a_batch_before_writing_it(tmp_path: Path) -> None:
    data = _data_copy(tmp_path)
    shipped_decline = YamlCatalogueSource(data).load().desks["12345"].declines[0]
    rows = [
        {"desk": "12345", "entry": "decline:wishing_well", "text": "帮我求个好运气让我中彩票", "writer": "w"},
        {"desk": "12345", "entry": "decline:wishing_well", "text": "帮我求个好运气让我中彩票", "writer": "w"},
        {"desk": "12345", "entry": f"decline:{shipped_decline.id}", "text": shipped_decline.examples[0], "writer": "w"},
        {"desk": "12355", "entry": "refer:railway", "text": "学生票怎么在网上买", "writer": "w"},
        {"desk": "12355", "entry": "crisis", "text": "我把攒的药都放在枕头下面了", "writer": "w"},
        {"desk": "12355", "entry": "not_crisis", "text": "这次月考难到爆，数学最后一题直接裂开", "writer": "w"},
        {"desk": "12355", "entry": "not_crisis", "text": "我不想活了", "writer": "w"},  # a crisis word: refused
    ]
    source = tmp_path / "w.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert writer_batch.main([str(source), "--slug", "w", "--persona", "a test writer", "--data-dir", str(data)]) == 0
    doc = yaml.safe_load((data / WRITERS / "w.yml").read_text(encoding="utf-8"))
    assert doc["desks"]["12345"]["declines"] == {"wishing_well": ["帮我求个好运气让我中彩票"]}
    assert doc["desks"]["12355"]["referrals"] == {"railway": ["学生票怎么在网上买"]}
    assert doc["crisis"] == {
        "examples": ["我把攒的药都放在枕头下面了"],
        "negatives": ["这次月考难到爆，数学最后一题直接裂开"],
    }
    loaded = YamlCatalogueSource(data).load()
    railway = next(e for e in loaded.desks["12355"].referrals if e.id == "railway")
    assert "学生票怎么在网上买" in railway.examples
    assert "我把攒的药都放在枕头下面了" in loaded.safety.crisis_examples


def test_an_unknown_entry_stops_the_import(tmp_path: Path) -> None:
    data = _data_copy(tmp_path)
    source = tmp_path / "w.jsonl"
    row = {"desk": "12345", "entry": "decline:horoscope", "text": "帮我算一卦", "writer": "w"}
    source.write_text(json.dumps(row, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SystemExit, match="horoscope"):
        writer_batch.main([str(source), "--slug", "w", "--persona", "p", "--data-dir", str(data)])
    assert not (data / WRITERS / "w.yml").exists()


def test_a_batch_for_an_entry_the_catalogue_dropped_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = _data_copy(tmp_path)
    (data / WRITERS).mkdir()
    (data / WRITERS / "old.yml").write_text(
        yaml.safe_dump({"writer": "old", "persona": "p", "desks": {"12345": {"declines": {"gone": ["算命"]}}}}),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="bot.triage.catalogue"):
        catalogue = YamlCatalogueSource(data).load()
    assert "gone" in caplog.text
    assert all("算命" not in e.examples for e in catalogue.desks["12345"].declines)


def test_a_batch_without_its_writer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    with pytest.raises(CatalogueError, match="writer"):
        parse_writer_batch({"persona": "p", "desks": {}}, path)

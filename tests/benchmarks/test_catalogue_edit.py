"""The edit benchmark's edits still apply to the shipped catalogue and produce a valid one."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.catalogue_edit import BUNDLED, EDITS
from bot.triage.catalogue import YamlCatalogueSource


def test_every_edit_applies_and_lands_where_the_benchmark_says(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(BUNDLED, data)
    for _name, edit in EDITS:
        edit(data)
    catalogue = YamlCatalogueSource(data).load()
    assert any("任何情况下都不收费" in f.answer for f in catalogue.desks["12345"].faqs)
    examples = {d: {e for c in catalogue.desks[d].categories for e in c.examples} for d in ("12345", "12355")}
    assert "最近心里老是堵得慌，不知道找谁说" in examples["12355"]
    assert "楼下烧烤摊的油烟天天熏到半夜" in examples["12345"]
    assert "我把药都攒好了，就等今晚" in catalogue.safety.crisis_examples

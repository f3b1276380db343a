"""Staff edits saved by the console (an override folder) replace the bundled catalogue files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.triage.catalogue import DEFAULT_DATA_DIR, CatalogueError, YamlCatalogueSource


def test_an_override_file_replaces_the_bundled_one(tmp_path: Path) -> None:
    faq = yaml.safe_load((DEFAULT_DATA_DIR / "faq" / "12345.yml").read_text(encoding="utf-8"))
    faq["faqs"][0]["answer"] = "这是工作人员在控制台里改过的答案。"
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "12345.yml").write_text(yaml.safe_dump(faq, allow_unicode=True), encoding="utf-8")
    source = YamlCatalogueSource(override_dir=tmp_path)
    answers = [f.answer for f in source.load().desks["12345"].faqs]
    assert "这是工作人员在控制台里改过的答案。" in answers
    assert tmp_path / "faq" / "12345.yml" in source.files()
    assert YamlCatalogueSource().fingerprint() != source.fingerprint()


def test_without_overrides_the_bundled_files_serve(tmp_path: Path) -> None:
    assert YamlCatalogueSource(override_dir=tmp_path).files() == YamlCatalogueSource().files()


def test_a_broken_override_is_reported_with_its_own_path(tmp_path: Path) -> None:
    (tmp_path / "desks").mkdir()
    (tmp_path / "desks" / "12355.yml").write_text("desk: '12355'\ncategories: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as error:
        YamlCatalogueSource(override_dir=tmp_path).load()
    assert "12355.yml" in str(error.value.path) and str(tmp_path) in str(error.value.path)

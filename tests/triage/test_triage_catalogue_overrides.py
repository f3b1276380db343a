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


def test_safety_lessons_add_to_the_shipped_screen_without_replacing_it(tmp_path: Path) -> None:
    shipped = YamlCatalogueSource().load().safety
    lessons = tmp_path / "safety-lessons.yml"
    lessons.write_text(
        f"crisis:\n  examples: [最后一次跟大家说晚安]\n  negatives: [笑死我了直接原地去世, {shipped.crisis_negatives[0]}]\n",
        encoding="utf-8",
    )
    source = YamlCatalogueSource(override_dir=tmp_path)
    taught = source.load().safety
    assert taught.crisis_examples == (*shipped.crisis_examples, "最后一次跟大家说晚安")
    assert taught.crisis_negatives == (*shipped.crisis_negatives, "笑死我了直接原地去世")  # no duplicate
    assert taught.crisis_lexicon == shipped.crisis_lexicon and taught.crisis_patterns == shipped.crisis_patterns
    assert lessons in source.files() and source.fingerprint() != YamlCatalogueSource().fingerprint()


def test_a_broken_safety_lessons_file_is_reported_with_its_path_and_line(tmp_path: Path) -> None:
    (tmp_path / "safety-lessons.yml").write_text("crisis:\n  examples: [ok]\n  negatives: {a: 1}\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as error:
        YamlCatalogueSource(override_dir=tmp_path).load()
    assert str(error.value.path).endswith("safety-lessons.yml") and error.value.line == 3


def test_category_lessons_add_examples_on_top_of_the_desk_catalogue(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = YamlCatalogueSource().load().desks["12345"]
    first = shipped.categories[0]
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "12345.yml").write_text(
        f'desk: "12345"\nexamples:\n  {first.id}: [小区充电桩扫码没反应, {first.examples[0]}]\n  gone_category: [旧分类的示例]\n',
        encoding="utf-8",
    )
    with caplog.at_level("WARNING"):
        taught = YamlCatalogueSource(override_dir=tmp_path).load().desks["12345"]
    learned = taught.category(first.id)
    assert learned is not None and learned.examples == (*first.examples, "小区充电桩扫码没反应")
    assert taught.categories[1:] == shipped.categories[1:] and taught.referrals == shipped.referrals
    assert "gone_category" in caplog.text  # a renamed category does not take the catalogue down


def test_category_lessons_must_name_their_own_desk(tmp_path: Path) -> None:
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "12345.yml").write_text('desk: "12355"\nexamples: {}\n', encoding="utf-8")
    with pytest.raises(CatalogueError) as error:
        YamlCatalogueSource(override_dir=tmp_path).load()
    assert str(error.value.path).endswith("lessons/12345.yml") and error.value.line == 1

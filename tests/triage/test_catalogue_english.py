"""English in the catalogue: optional `name_en`, `reply_en`, `answer_en`, validated, used for English
conversations, with the Chinese text as the fallback; and the shipped catalogue has all of it."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.triage.catalogue import DEFAULT_DATA_DIR, CatalogueError, YamlCatalogueSource
from bot.triage.desk import Entry
from bot.triage.routing import decision_from_entry, in_language
from bot.triage.vocabulary import Route


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target, ignore=shutil.ignore_patterns("*.md"))
    for path in [*target.glob("desks/*.yml"), *target.glob("faq/*.yml")]:  # start from a catalogue without English
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not re.match(r"\s+(name_en|answer_en|reply_en):", line)]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return target


def _add_after(path: Path, anchor: str, line: str) -> None:
    """Insert `line` after the first line containing `anchor` (same indentation as that line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, text in enumerate(lines):
        if anchor in text:
            indent = text[: len(text) - len(text.lstrip())]
            lines.insert(i + 1, indent + line)
            break
    else:
        raise AssertionError(anchor)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_english_fields_are_read_when_present(data_dir: Path) -> None:
    desk, faq = data_dir / "desks" / "12345.yml", data_dir / "faq" / "12345.yml"
    _add_after(desk, "  - id: utilities", "  name_en: Water, power, gas and heating")
    _add_after(faq, "  - id: service_hours", "  answer_en: The 12345 hotline is open 24 hours a day, all year.")
    catalogue = YamlCatalogueSource(data_dir).load()
    d = catalogue.desk("12345")
    assert d.category("utilities").name_en == "Water, power, gas and heating"
    assert next(f for f in d.faqs if f.id == "service_hours").answer_en.startswith("The 12345 hotline")
    assert next(f for f in d.faqs if f.id == "cost").answer_en == ""


@pytest.mark.parametrize("value", ['""', "[a, b]", "42"])
def test_an_english_field_that_is_not_text_is_refused_with_its_line(data_dir: Path, value: str) -> None:
    faq = data_dir / "faq" / "12345.yml"
    _add_after(faq, "  - id: service_hours", f"  answer_en: {value}")
    with pytest.raises(CatalogueError, match="answer_en") as caught:
        YamlCatalogueSource(data_dir).load()
    assert "12345.yml" in str(caught.value)


def test_english_conversations_get_the_english_reply_else_the_chinese_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with_en = Entry(
        "refer:court", Route.REFER, "court", "法院", "12368", reply="请联系法院。", reply_en="Please contact the court."
    )
    without = Entry("refer:bank", Route.REFER, "bank", "银行", "95599", reply="请联系银行。")
    assert decision_from_entry("12345", with_en, 0.9, (), "en").reply == "Please contact the court."
    assert decision_from_entry("12345", with_en, 0.9, (), "zh-Hant").reply == "请联系法院。"  # converted on the way out
    with caplog.at_level(logging.WARNING, logger="bot.triage.routing"):
        first = decision_from_entry("12345", without, 0.9, (), "en")
        second = decision_from_entry("12345", without, 0.9, (), "en")
    assert first.reply == second.reply == "请联系银行。"
    assert len([r for r in caplog.records if "refer:bank" in r.getMessage()]) == 1
    ticket = Entry("ticket:utilities", Route.TICKET, "utilities", "水电气暖", name_en="Water and power")
    assert decision_from_entry("12345", ticket, 0.9, (), "en").category_name == "Water and power"
    assert in_language("12345", ticket, "zh-Hans", "name") == "水电气暖"
    assert np.isclose(decision_from_entry("12345", ticket, 0.9, (), "en").confidence, 0.9)


def test_the_shipped_catalogue_has_english_for_every_entry() -> None:
    """Every category has `name_en`, every referral and decline `reply_en`, every FAQ `answer_en`
    (the shipped files, bot/data/desks/*.yml and bot/data/faq/*.yml): without them an English speaker
    is answered in Chinese."""
    catalogue = YamlCatalogueSource(DEFAULT_DATA_DIR).load()
    missing: list[str] = []
    for code, desk in sorted(catalogue.desks.items()):
        missing += [f"{code} category {c.id}: name_en" for c in desk.categories if not c.name_en]
        missing += [f"{code} referral {r.id}: reply_en" for r in desk.referrals if not r.reply_en]
        missing += [f"{code} decline {x.id}: reply_en" for x in desk.declines if not x.reply_en]
        missing += [f"{code} faq {f.id}: answer_en" for f in desk.faqs if not f.answer_en]
    assert missing == [], f"{len(missing)} entries without English, e.g. {missing[:5]}"

"""The catalogue loader and store: broken files are refused with file and line, the last good
catalogue keeps serving, and an edit is picked up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.triage.catalogue import (
    DEFAULT_DATA_DIR,
    CatalogueError,
    CatalogueStore,
    YamlCatalogueSource,
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of the real bot/data to break."""
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def _line_of(path: Path, needle: str, start: int = 1) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_real_catalogue_loads() -> None:
    catalogue = YamlCatalogueSource().load()
    assert set(catalogue.desks) >= {"12345", "12355"}
    assert catalogue.channels["110"].emergency and not catalogue.channels["12345"].emergency
    desk = catalogue.desk("12345")
    assert desk.categories and all(c.examples and c.category_l1 for c in desk.categories)
    assert all(r.channel in catalogue.channels for r in desk.referrals)
    assert desk.faqs and catalogue.safety.crisis_examples and catalogue.conversation.smalltalk
    with pytest.raises(KeyError, match="unknown desk"):
        catalogue.desk("99999")


def test_yaml_syntax_error_names_file_and_line(data_dir: Path) -> None:
    path = data_dir / "desks" / "12355.yml"
    line = _line_of(path, "- id: legal")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = "\t" + lines[line - 1]  # YAML forbids tabs in indentation
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError) as err:
        YamlCatalogueSource(data_dir).load()
    assert err.value.path == str(path)
    assert err.value.line == line
    assert str(err.value).startswith(f"{path}:{err.value.line}: YAML syntax error")


def test_duplicate_id_points_at_the_second_one(data_dir: Path) -> None:
    path = data_dir / "desks" / "12345.yml"
    _replace(path, "  - id: utilities", "  - id: urban_management")
    with pytest.raises(CatalogueError, match="duplicate id 'urban_management'") as err:
        YamlCatalogueSource(data_dir).load()
    assert err.value.line == _line_of(
        path, "- id: urban_management", start=_line_of(path, "- id: urban_management") + 1
    )


def test_unknown_channel_code_is_refused(data_dir: Path) -> None:
    path = data_dir / "desks" / "12345.yml"
    first_channel = _line_of(path, "channel:", start=_line_of(path, "referrals:"))
    lines = path.read_text(encoding="utf-8").splitlines()
    indent = lines[first_channel - 1][: len(lines[first_channel - 1]) - len(lines[first_channel - 1].lstrip())]
    lines[first_channel - 1] = f'{indent}channel: "99999"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="unknown channel code '99999'") as err:
        YamlCatalogueSource(data_dir).load()
    assert (err.value.path, err.value.line) == (str(path), first_channel)


def test_empty_examples_are_refused(data_dir: Path) -> None:
    path = data_dir / "desks" / "12355.yml"
    path.write_text(
        'desk: "12355"\n'
        "categories:\n"
        "  - id: counselling\n"
        "    name: 心理咨询\n"
        "    description: 学习压力、家庭矛盾\n"
        "    examples: [最近压力好大]\n"
        "  - id: legal\n"
        "    name: 法律咨询\n"
        "    examples: []\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match="category legal: 'examples' must not be empty") as err:
        YamlCatalogueSource(data_dir).load()
    assert err.value.line == 9


def test_missing_field_is_refused(data_dir: Path) -> None:
    path = data_dir / "faq" / "12345.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: cost")
    answer = text.index("    answer:", start)
    end = text.index("\n", answer)
    path.write_text(text[:answer] + text[end + 1 :], encoding="utf-8")
    with pytest.raises(CatalogueError, match="faq cost: missing field 'answer'") as err:
        YamlCatalogueSource(data_dir).load()
    assert err.value.line == _line_of(path, "- id: cost")


def test_bad_safety_pattern_and_emergency_code_are_refused(data_dir: Path) -> None:
    path = data_dir / "safety.yml"
    _replace(path, "  patterns:\n", "  patterns:\n    - '(unclosed'\n")
    with pytest.raises(CatalogueError, match="bad pattern") as err:
        YamlCatalogueSource(data_dir).load()
    assert err.value.line == _line_of(path, "(unclosed")
    _replace(path, "    - '(unclosed'\n", "")
    _replace(path, '  "122":', '  "12345":')
    with pytest.raises(CatalogueError, match="not an emergency channel code"):
        YamlCatalogueSource(data_dir).load()


def test_store_keeps_the_last_good_catalogue_and_picks_up_edits(data_dir: Path) -> None:
    clock = FakeClock()
    store = CatalogueStore(YamlCatalogueSource(data_dir), min_interval=2.0, clock=clock)
    first = store.get()
    assert store.version == 1 and store.last_error is None

    path = data_dir / "conversation.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  - [broken\n", encoding="utf-8")
    clock.now += 0.5
    assert store.get() is first  # not looked at yet: within the interval
    clock.now += 2.0
    assert store.get() is first  # broken: the last good one keeps serving
    assert store.last_error is not None and str(path) in str(store.last_error)
    assert store.version == 1

    good = (DEFAULT_DATA_DIR / "conversation.yml").read_text(encoding="utf-8")
    path.write_text(good.replace("smalltalk:\n", "smalltalk:\n  - 您好呀客服\n", 1), encoding="utf-8")
    clock.now += 2.5
    second = store.get()
    assert second is not first and store.version == 2 and store.last_error is None
    assert "您好呀客服" in second.conversation.smalltalk
    assert second.content_hash != first.content_hash


def test_store_without_any_good_catalogue_raises(data_dir: Path) -> None:
    (data_dir / "channels.yml").write_text("channels: [", encoding="utf-8")
    store = CatalogueStore(YamlCatalogueSource(data_dir))
    with pytest.raises(CatalogueError, match=r"channels\.yml"):
        store.get()

"""bot/desks.py: desk profiles come from data, a broken file says what to fix, an unknown desk
still gets a usable profile, and the voice follows the profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import desks
from bot.desks import SHIPPED, DeskProfile, DeskProfileError, load_profiles, parse_profiles, profile
from bot.voice import is_youth, staff, you


@pytest.fixture
def restore_profiles() -> Iterator[None]:
    yield
    desks.use_profiles(None)


def test_the_shipped_desks_and_their_voices() -> None:
    assert desks.shipped_desks() == ("12345", "12355")
    assert profile("12355") == DeskProfile("12355", "12355青少年服务台", "12355", "youth")
    assert (you("12355"), staff("12355"), you("12345"), staff("12345")) == ("你", "老师", "您", "工作人员")


def test_an_unknown_desk_gets_a_public_profile_named_after_it() -> None:
    assert profile("99999") == DeskProfile("99999", "99999", "99999", "public")
    assert not is_youth("99999")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (["12345"], "mapping of desk"),
        ({"12399": "a title"}, "expected title, phone and audience"),
        ({"12399": {"title": "老年人服务", "phone": ""}}, "title and phone are required"),
        ({"12399": {"title": "老年人服务", "phone": "12399", "audience": "elderly"}}, "audience must be one of"),
        ({"12399": {"title": "老年人服务", "phone": "12399", "voice": "you"}}, "unknown field(s) voice"),
    ],
)
def test_a_broken_profile_says_which_desk_and_what_to_fix(data: object, says: str) -> None:
    with pytest.raises(DeskProfileError, match=r"desks\.yml") as error:
        parse_profiles(data, "desks.yml")
    assert says in str(error.value)


def test_a_deployment_file_adds_and_overrides_desk_by_desk(tmp_path: Path, restore_profiles: None) -> None:
    extra = tmp_path / "desks.yml"
    extra.write_text(
        '"12399": {title: 银龄服务热线, phone: "12399"}\n"12355": {title: 本市12355, phone: "12355", audience: youth}\n',
        encoding="utf-8",
    )
    desks.use_profiles(load_profiles(SHIPPED, extra))
    assert profile("12399") == DeskProfile("12399", "银龄服务热线", "12399", "public")
    assert profile("12355").title == "本市12355" and is_youth("12355")
    assert profile("12345").title == "12345政务服务便民热线"


def test_a_broken_deployment_file_falls_back_to_the_shipped_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_profiles: None, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "catalogue").mkdir()
    (tmp_path / "catalogue" / "desks.yml").write_text('"12399": [oops\n', encoding="utf-8")
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    desks.use_profiles(None)
    assert you("12355") == "你"  # still answers, from the shipped file
    assert "not valid YAML" in caplog.text

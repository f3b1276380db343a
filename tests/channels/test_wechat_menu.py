"""The desks' WeChat menus: within WeChat's limits, and published to the fake WeChat with the shared token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.wechat_menu import MenuError, load_menu, main
from tests.support.servers import serve_in_thread
from tools.fake_wechat import FakeWeChat


@pytest.mark.parametrize("desk", ["12345", "12355"])
def test_the_shipped_menus_are_valid(desk: str) -> None:
    menu = load_menu(desk)
    assert 1 <= len(menu["button"]) <= 3 and all(b["type"] == "click" and b["key"] for b in menu["button"])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("'1':\n" + "".join(f"  - {{name: b{i}, key: k{i}}}\n" for i in range(4)), "at most 3 top-level"),
        ("'1':\n  - {name: 一二三四五六, key: k}\n", "at most 16 bytes"),
        ("'1':\n  - {name: 菜单}\n", "needs a key"),
        ("'1':\n  - name: 菜单\n    sub_button:\n" + "      - {name: s, key: k}\n" * 6, "at most 5 sub-buttons"),
        ("'2': []\n", "no menu for desk 1"),
    ],
)
def test_a_menu_wechat_would_refuse_is_refused_here_with_what_to_change(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "menu.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MenuError, match=fragment):
        load_menu("1", path)


@pytest.fixture
def wechat() -> Iterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    server = serve_in_thread(fake.app())
    yield fake, server.url
    server.stop(timeout=5)


def test_publishing_sends_the_menu_to_wechat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wechat: tuple[FakeWeChat, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = wechat
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_WECHAT_API_BASE", url)
    monkeypatch.setenv("FRONTDOOR_WECHAT_12345_APPID", fake.app_id)
    monkeypatch.setenv("FRONTDOOR_WECHAT_12345_SECRET", fake.secret)
    monkeypatch.setenv("FRONTDOOR_WECHAT_12345_TOKEN", fake.token)
    assert main(["12345"]) == 0
    assert fake.menus == [load_menu("12345")] and fake.token_fetches == 1
    assert "published: 我要反映 / 查询进度 / 常见问题" in capsys.readouterr().out
    assert main(["12355"]) == 1  # no account for that desk: says which settings to set
    assert "FRONTDOOR_WECHAT_12355_APPID" in capsys.readouterr().err

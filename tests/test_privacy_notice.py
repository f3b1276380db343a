"""The privacy notice's texts: every desk voice and language says what is kept, for how long, who
sees it and how to have it deleted, with the retention figure from its one place."""

from __future__ import annotations

import pytest

from bot import privacy_notice
from bot.language import ENGLISH, SIMPLIFIED, TRADITIONAL


@pytest.mark.parametrize("desk", ["12345", "12355"])
def test_every_notice_says_what_how_long_who_and_how_to_delete(desk: str) -> None:
    days = privacy_notice.retention_days()
    zh = privacy_notice.notice(desk, SIMPLIFIED)
    assert zh.startswith(privacy_notice.MARK)
    assert "保存" in zh and f"{days}天" in zh and desk in zh and "删除" in zh and "转人工" in zh
    en = privacy_notice.notice(desk, ENGLISH)
    assert f"{days} days" in en and desk in en and "delete" in en and "talk to a person" in en
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    assert privacy_notice.notice(desk, TRADITIONAL) == zh  # converted by the gateway on its way out
    assert len(zh) <= 120  # brief: two or three lines on a phone


def test_the_youth_notice_says_ni_and_the_citizen_one_nin() -> None:
    assert "你" in privacy_notice.notice("12355") and "您" not in privacy_notice.notice("12355")
    assert "老师" in privacy_notice.notice("12355")
    assert "您" in privacy_notice.notice("12345")


def test_the_retention_figure_is_the_one_the_purge_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDOOR_RETAIN_CHAT_DAYS", raising=False)
    assert privacy_notice.retention_days() == 30
    monkeypatch.setenv("FRONTDOOR_RETAIN_CHAT_DAYS", "14")
    assert privacy_notice.retention_days() == 14 and "14天后删除" in privacy_notice.notice("12355")
    monkeypatch.delenv("FRONTDOOR_RETAIN_CHAT_DAYS")
    assert "7天后删除" in privacy_notice.notice("12355", days=7)
    assert "{" not in privacy_notice.notice("12345") and "{" not in privacy_notice.notice("12355", ENGLISH)

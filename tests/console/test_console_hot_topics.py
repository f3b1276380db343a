"""Hot topics: similar tickets cluster, labels are masked, a fast-growing cluster alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from console_support import Staff, login
from starlette.testclient import TestClient

from bot.console.hot_topics import TopicItem, find_topics, hashing_embedder
from bot.console.state import ConsoleState
from bot.tickets.models import Ticket
from tests.support.clock import START, FakeClock

LAMPS = [
    "幸福路小区路灯不亮了，晚上很黑",
    "幸福路小区的路灯不亮，已经一周",
    "幸福路小区路灯坏了不亮，出行不安全",
    "幸福路小区路灯又不亮了，请尽快修",
    "反映幸福路小区路灯不亮问题",
    "幸福路小区路灯不亮，电话13812345678",
]
NOISE = ["广场舞噪音太大扰民，晚上十点还在跳", "广场舞噪音扰民，晚上音响太吵", "小区广场舞噪音扰民严重，音响太大"]
OTHERS = ["公积金提取需要什么材料", "孩子入学户口问题咨询", "医保异地报销怎么办理", "农村宅基地审批流程"]


def items(now_hours_ago: dict[str, list[float]]) -> list[TopicItem]:
    out = []
    for n, (text, ages) in enumerate(now_hours_ago.items()):
        for k, age in enumerate(ages):
            out.append(
                TopicItem(n * 100 + k, f"12345-2026-{n:02d}{k:02d}", "12345", START - timedelta(hours=age), text)
            )
    return out


def test_similar_tickets_cluster_and_a_fast_grower_alerts() -> None:
    data: dict[str, list[float]] = {}
    for i, text in enumerate(LAMPS):
        data[text] = [i * 5.0]  # all six within the last 48 h
    for text in NOISE:
        data[text] = [10.0, 60.0]  # steady: as many before as now
    for text in OTHERS:
        data[text] = [100.0]
    run = find_topics(items(data), hashing_embedder(), START)
    by_label = {t.label: t for t in run.topics}
    lamp = next(t for t in run.topics if "路灯" in t.label)
    noise = next(t for t in run.topics if "广场舞" in t.label)
    assert (lamp.size, lamp.recent, lamp.previous, lamp.alert) == (6, 6, 0, True)
    assert (noise.size, noise.recent, noise.previous, noise.alert) == (6, 3, 3, False)
    assert run.topics[0] is lamp  # alerts first
    assert "路灯" in lamp.terms
    assert all("公积金" not in label for label in by_label)  # singletons are not topics
    assert all("13812345678" not in t.label for t in run.topics)
    assert run.embedder == "char-ngram-hashing" and run.items == len(LAMPS) + 2 * len(NOISE) + len(OTHERS)


def test_no_tickets_no_topics() -> None:
    run = find_topics([], hashing_embedder(), START)
    assert run.topics == [] and run.items == 0


def test_topics_page_and_alert_on_analytics(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket], console: ConsoleState, clock: FakeClock
) -> None:
    for text in LAMPS:
        new_ticket(summary=text)
        clock.advance(hours=1)
    for text in OTHERS:
        new_ticket(summary=text, desk="12355", conversation_id="12355:web:x")
    login(client, staff.supervisor)
    page = client.get("/console/topics?days=7")
    assert page.status_code == 200 and "预警" in page.text and "幸福路小区" in page.text
    assert "13812345678" not in page.text
    assert "热点预警" in client.get("/console/analytics").text
    login(client, staff.agent)
    assert client.get("/console/topics").status_code == 403

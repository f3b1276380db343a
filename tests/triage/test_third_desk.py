"""Adding a desk is a data change: a small third desk, loaded from a temp folder (catalogue and
profile), is triaged, speaks in its own voice and names its own line - no code knows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import desks
from bot.crisis_words import crisis_fallback
from bot.desks import SHIPPED, load_profiles
from bot.gateway import messages
from bot.triage.catalogue import CatalogueStore, YamlCatalogueSource
from bot.triage.engine import TriageEngine
from bot.triage.vocabulary import Route

THIRD = "12399"
FILES = {
    "desks.yml": f'"{THIRD}": {{title: 青年就业服务热线, phone: "{THIRD}", audience: youth}}\n',
    "channels.yml": 'channels:\n  "120": {name: 医疗急救, emergency: true}\n  "12333": {name: 人社服务}\n',
    "safety.yml": (
        "crisis:\n  lexicon: [不想活]\n  examples: [我想结束自己的生命, 活着没有意义了]\n"
        "  negatives: [笑死我了]\nemergency:\n"
        '  "120": {lexicon: [晕倒了], examples: [同事突然晕倒了, 有人倒地不起]}\n'
    ),
    "conversation.yml": "smalltalk: [你好, 谢谢, 再见]\nclarify: [有个问题, 在吗, 喂]\n",
    f"desks/{THIRD}.yml": f"""\
desk: "{THIRD}"
name: 青年就业服务热线
categories:
  - id: internship
    name: 实习权益
    description: 实习工资、实习期加班、实习单位不签协议
    examples: [实习单位不给工资, 实习每天加班到十点, 实习单位不签三方协议, 实习工资拖了两个月]
  - id: job_hunting
    name: 求职指导
    description: 简历、面试、求职方向
    examples: [简历怎么写, 面试总是挂, 不知道找什么工作, 第一次面试很紧张]
referrals:
  - id: labour_dispute
    channel: "12333"
    reason: 劳动争议由人社部门处理
    reply: 劳动合同纠纷请拨打12333。
    examples: [公司不签劳动合同, 被公司违法辞退, 社保不给交, 劳动仲裁怎么申请]
""",
}


@pytest.fixture
def third_desk(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    for name, text in FILES.items():
        path = data / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    desks.use_profiles(load_profiles(SHIPPED, data / "desks.yml"))
    yield data
    desks.use_profiles(None)


def test_a_third_desk_from_data_alone(engine: TriageEngine, third_desk: Path, tmp_path: Path) -> None:
    store = CatalogueStore(YamlCatalogueSource(third_desk), min_interval=0.0)
    third = TriageEngine(store, engine.embedder, cache_dir=tmp_path / "cache")

    ticket = third.decide("实习单位三个月不给工资", THIRD)
    assert (ticket.route, ticket.category, ticket.desk) == (Route.TICKET, "internship", THIRD)
    crisis = third.decide("我不想活了", THIRD)
    assert crisis.route is Route.CRISIS and "青年就业服务热线" in (crisis.reply or "")
    assert "你" in (third.decide("😀😀", THIRD).reply or "")  # its profile says youth: 你, not 您

    assert "12399" in messages.backend_down(THIRD) and "您" not in messages.backend_down(THIRD)
    assert "青年就业服务热线" in crisis_fallback(THIRD)

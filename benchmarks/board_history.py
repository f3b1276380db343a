"""Weak 12345 examples from the board's own history: the department that replied names the category.

Every message in `gov_messages/with_replies_2816.jsonl` carries the official reply, and the reply
usually says which department handled it ("经区住建局调查核实..."). That department is a cheap,
hand-free label: it follows the board's real dispatch rather than our guess of citizens' words.
Only department names are matched (never topic words), in the first `REPLY_HEAD` characters of the
reply; a message matching no category or several categories is dropped. Rows whose id or title is
also in labeled_495 (the test set) are dropped too; labeled_495 is read for nothing else.

The texts never leave memory and temp dirs made at eval time: `adapted_data_dir(tmp)` writes a copy
of the shipped 12345 catalogue with the weak examples appended, to be used as FRONTDOOR_DATA_DIR.

    python -m benchmarks.board_history     # per-category counts only (never the texts)
"""

from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from benchmarks.datasets import SHARED_DATA, gov_text
from bot.triage.catalogue import DEFAULT_DATA_DIR, YamlCatalogueSource

GOV = SHARED_DATA / "gov_messages"
REPLY_HEAD = 300
DESK = "12345"

# category id in bot/data/desks/12345.yml -> department names (space-separated substrings). Names only:
# a department is who handled the message; a topic word in a reply proves little.
DEPARTMENTS: dict[str, str] = {
    "housing_property": "住建局 住建委 住房和城乡建设 住房城乡建设 房产局 房管局 房地产管理局 住房保障 住保 公积金中心 公积金管理中心",
    "demolition_compensation": "征收办 房屋征收管理 房屋征收事务 征拆办 拆迁办",
    "urban_management": "城管 城市管理 规划局 规划分局 规划委",
    "utilities": "自来水公司 供水公司 水务集团 供电公司 供电局 燃气公司 燃气集团 热力公司",
    "public_transit": "公交公司 公交集团 公交总公司 地铁集团 轨道交通集团",
    "construction_safety": "质安站 质监站 建设工程质量 安全监督站 建管处 建筑管理处",
    "transport": "交通运输局 交通运输厅 交通运输委 交通局 运管处 运管所 运管局 道路运输管理 公路局 公路管理局 邮政管理局",
    "traffic_security": "交警 交通警察 公安 派出所 车管所",
    "environment": "生态环境局 生态环境厅 环保局 环境保护局 环保分局 环境监察 环境监测站",
    "labour_relations": "人社局 人社厅 人社部门 人社分局 人力资源和社会保障 人力资源社会保障 劳动保障监察 劳动监察 劳动人事争议仲裁 劳动仲裁",
    "social_insurance": "社保 医保 社会保险 医疗保障",
    "employment_training": "就业局 就业服务中心 人才交流中心 人才服务中心 职业技能鉴定",
    "education": "教育局 教体局 教育和体育局 教育体育局 教育厅 教委 招生考试 招考中心",
    "culture_sports": "文广新局 文化广电 文体局 体育局 文化局 文物局 文物管理",
    "health": "卫健 卫生健康 卫计 卫生计生 卫生和计划生育 卫生局 疾控 疾病预防控制 计生办",
    "food_drug": "食药监 食品药品监督 食品药品监管 药监局",
    "market_consumer": "商务局 市场监管 市场监督管理 工商局 工商分局 工商所 工商行政管理 质监局 质量技术监督 物价局 价格监督 消费者协会 消协",
    "tourism": "文旅 旅游局 旅游委 旅游发展 文化和旅游 文化旅游 文体旅",
    "rural_agriculture": "农业局 农业农村 农委 农业委员会 农林局 畜牧 水利局 林业局 扶贫办 农经站 农机局",
    "civil_affairs": "民政 残联 残疾人联合会 退役军人事务 老龄办 慈善总会",
    "land_resources": "国土资源 国土局 国土分局 国土所 自然资源",
    "economy_finance": "发改 发展和改革 发展改革 财政局 金融办 金融工作 地方金融监督 银保监 银监 国资委",
    "telecom_it": "通信管理局 工信 工业和信息化 科技局 知识产权局 电信公司 移动公司 联通公司",
    "government_services": "政务服务中心 政务服务局 政务服务管理局 政务服务和大数据 行政审批局 行政审批服务 机关事务 总工会 团委 妇联 民宗局 民族宗教 统战部 侨联 台办",
}
_PATTERNS = {cid: re.compile("|".join(map(re.escape, names.split()))) for cid, names in DEPARTMENTS.items()}


def category_of_reply(reply: str) -> str | None:
    """The one category whose department the reply names first thing, else None (none or several)."""
    head = (reply or "")[:REPLY_HEAD]
    hits = {cid for cid, pattern in _PATTERNS.items() if pattern.search(head)}
    return hits.pop() if len(hits) == 1 else None


def _rows(name: str) -> list[dict[str, Any]]:
    with (GOV / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def available() -> bool:
    """Both files present (a user's machine has no ../shared/data)."""
    return (GOV / "with_replies_2816.jsonl").is_file() and (GOV / "labeled_495.jsonl").is_file()


def weak_examples() -> dict[str, list[str]]:
    """category id -> texts (title + "\\n" + body, like the eval's labeled rows); {} when data is absent."""
    if not available():
        return {}
    test = _rows("labeled_495.jsonl")  # for de-duplication only
    test_ids = {str(r.get("id")) for r in test if r.get("id") is not None}
    test_titles = {(r.get("text") or "").strip() for r in test} - {""}
    out: dict[str, list[str]] = collections.defaultdict(list)
    for r in _rows("with_replies_2816.jsonl"):
        if str(r.get("id")) in test_ids or (r.get("text") or "").strip() in test_titles:
            continue
        cid = category_of_reply(r.get("reply") or "")
        text = gov_text(r)
        if cid is not None and text:
            out[cid].append(text)
    return dict(out)


def summary(examples: dict[str, list[str]]) -> dict[str, int]:
    """Counts per category (what may be logged: never the texts)."""
    return {cid: len(examples[cid]) for cid in sorted(examples)}


def adapted_data_dir(tmp: Path, examples: dict[str, list[str]] | None = None) -> Path | None:
    """Write the shipped 12345.yml plus the weak examples to tmp/catalogue/desks/12345.yml; return tmp.

    Use tmp as FRONTDOOR_DATA_DIR (or tmp/"catalogue" as the override dir). None, with a message,
    when the shared data is absent.
    """
    if examples is None:
        if not available():
            print("[board_history] ../shared/data/gov_messages not found: skipped", file=sys.stderr)
            return None
        examples = weak_examples()
    shipped = DEFAULT_DATA_DIR / "desks" / f"{DESK}.yml"
    doc = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    known = {c["id"] for c in doc["categories"]}
    unknown = set(examples) - known
    if unknown:
        raise ValueError(f"weak labels for categories not in {shipped.name}: {sorted(unknown)}")
    for c in doc["categories"]:
        c["examples"] = [*c["examples"], *examples.get(c["id"], [])]
    target = tmp / "catalogue" / "desks" / f"{DESK}.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000), encoding="utf-8")
    YamlCatalogueSource(override_dir=tmp / "catalogue").load()  # refuses a broken file (CatalogueError)
    return tmp


def main() -> int:
    if not available():
        print("[board_history] ../shared/data/gov_messages not found: skipped", file=sys.stderr)
        return 0
    counts = summary(weak_examples())
    print(json.dumps({"total": sum(counts.values()), "per_category": counts}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

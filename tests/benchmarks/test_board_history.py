"""The department -> category matcher of benchmarks/board_history.py, on replies written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks import board_history
from benchmarks.board_history import DEPARTMENTS, adapted_data_dir, category_of_reply
from bot.triage.catalogue import DEFAULT_DATA_DIR, YamlCatalogueSource

SHIPPED = yaml.safe_load((DEFAULT_DATA_DIR / "desks" / "12345.yml").read_text(encoding="utf-8"))
L1 = {c["id"]: c["category_l1"] for c in SHIPPED["categories"]}

EXPECTED_L1 = {
    "housing_property": "城乡建设",
    "demolition_compensation": "城乡建设",
    "urban_management": "城乡建设",
    "utilities": "城乡建设",
    "public_transit": "城乡建设",
    "construction_safety": "城乡建设",
    "transport": "交通运输",
    "traffic_security": "政法",
    "environment": "环境保护",
    "labour_relations": "劳动和社会保障",
    "social_insurance": "劳动和社会保障",
    "employment_training": "劳动和社会保障",
    "education": "教育文体",
    "culture_sports": "教育文体",
    "health": "卫生计生",
    "food_drug": "卫生计生",
    "market_consumer": "商贸旅游",
    "tourism": "商贸旅游",
    "rural_agriculture": "农村农业",
    "civil_affairs": "民政",
    "land_resources": "国土资源",
    "economy_finance": "经济管理",
    "telecom_it": "科技与信息产业",
    "government_services": "党务政务",
}


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        ("您好，来信已收到。经区住建局调查核实，该小区物业已整改。", "housing_property"),
        ("来信收悉。市城管执法支队已于当日到现场处理占道问题。", "urban_management"),
        ("您好，经县人力资源和社会保障局劳动保障监察大队调查，工资已发放。", "labour_relations"),
        ("您好！关于您咨询的医保报销问题，回复如下：", "social_insurance"),
        ("网友您好，区教育局高度重视，现答复如下。", "education"),
        ("经市卫健委核实，该诊所已被责令停业整顿。", "health"),
        ("您好，市交通运输局已约谈涉事出租车公司。", "transport"),
        ("经市场监管局调查，该商家存在价格欺诈行为，已立案。", "market_consumer"),
        ("您好！市文旅局已责成景区整改。", "tourism"),
        ("您好，经区生态环境局现场监测，噪声超标，已要求停工。", "environment"),
    ],
)
def test_a_named_department_gives_its_category(reply: str, category: str) -> None:
    assert category_of_reply(reply) == category
    assert L1[category] == EXPECTED_L1[category]


def test_two_departments_are_dropped() -> None:
    assert category_of_reply("经区城管局与区环保局联合执法，已拆除违规设施。") is None


def test_no_department_is_dropped() -> None:
    assert category_of_reply("你好，来信我们收到了，谢谢你一直关心这件事。") is None
    assert category_of_reply("") is None


def test_only_the_head_of_the_reply_counts() -> None:
    filler = "您好，您反映的情况我们已了解。" * 30
    assert category_of_reply(filler + "区教育局") is None
    assert category_of_reply("区教育局" + filler) == "education"


def test_topic_words_alone_do_not_label() -> None:
    # "个人社保" must not read as the 人社 department; "施工会" is not a 工会
    assert category_of_reply("您好，关于个人社保缴费年限的问题答复如下。") == "social_insurance"
    assert category_of_reply("您好，夜间施工会影响休息，我们已要求调整。") is None


def test_every_category_exists_with_the_expected_l1() -> None:
    assert set(DEPARTMENTS) <= set(L1)
    assert set(DEPARTMENTS) == set(EXPECTED_L1)
    for category in DEPARTMENTS:
        assert L1[category] == EXPECTED_L1[category], category


def test_adapted_catalogue_loads_and_keeps_the_rest(tmp_path: Path) -> None:
    weak = {"education": ["学校门口早上堵车很严重\n希望学校安排错峰放学"], "health": ["社区医院排队太久\n挂号难"]}
    data_dir = adapted_data_dir(tmp_path, weak)
    assert data_dir == tmp_path
    written = yaml.safe_load((tmp_path / "catalogue" / "desks" / "12345.yml").read_text(encoding="utf-8"))
    for shipped, adapted in zip(SHIPPED["categories"], written["categories"], strict=True):
        extra = weak.get(shipped["id"], [])
        assert adapted["examples"] == [*shipped["examples"], *extra]
        assert {k: v for k, v in adapted.items() if k != "examples"} == {
            k: v for k, v in shipped.items() if k != "examples"
        }
    assert {k: v for k, v in written.items() if k != "categories"} == {
        k: v for k, v in SHIPPED.items() if k != "categories"
    }
    desk = YamlCatalogueSource(override_dir=tmp_path / "catalogue").load().desk("12345")
    education = next(c for c in desk.categories if c.id == "education")
    assert education.examples[-1] == weak["education"][0]


def test_unknown_category_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in"):
        adapted_data_dir(tmp_path, {"no_such_category": ["x"]})


def test_absent_shared_data_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(board_history, "GOV", tmp_path / "missing")
    assert board_history.weak_examples() == {}
    assert adapted_data_dir(tmp_path) is None

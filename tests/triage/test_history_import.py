"""A hotline's past tickets imported as a history layer (bot/triage/history.py, make import-history)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.console.models import CatalogueVersion
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings
from bot.triage.catalogue import CatalogueStore, YamlCatalogueSource
from bot.triage.engine import TriageEngine
from bot.triage.history import (
    HistoryFileError,
    HistoryStore,
    engine_ranker,
    history_text,
    import_history,
    main,
    plan_batch,
    remove_batch,
)
from bot.triage.vocabulary import Route
from tests.triage.test_triage_engine import TINY_FILES

SAMPLE = Path(__file__).parent / "data" / "history_12345.csv"
"""30 rows written for this test: realistic 12345 complaints by id, name and first-level category, with
an empty text (line 19), an unknown category (line 20), a bad date (line 21), a repeated row (line 17
repeats line 2), a shipped catalogue example (line 18), two phone numbers and an ID number."""
NOW = datetime(2026, 12, 8, 10, 15, tzinfo=UTC)
PHONE, SPACED_PHONE, ID_NUMBER = "13812345678", "139 1234 5678", "110101199003077571"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history-db") / "frontdoor.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def store(tmp_path: Path, migrated: Path) -> Iterator[HistoryStore]:
    shutil.copyfile(migrated, tmp_path / "frontdoor.db")
    history = HistoryStore(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'frontdoor.db'}"))
    yield history
    history.close()


class LastCandidate:
    """A ranker that records what it was asked and takes the last candidate (the engine's is tested apart)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []

    def __call__(self, desk: str, texts: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[str]:
        self.asked += [(t, list(c)) for t, c in zip(texts, candidates, strict=True)]
        return [c[-1] for c in candidates]


def write(tmp_path: Path, text: str, name: str = "h.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def versions(store: HistoryStore) -> list[CatalogueVersion]:
    with store.sessions() as session:
        return list(session.scalars(select(CatalogueVersion).where(CatalogueVersion.kind == "history")))


def test_rows_are_checked_with_their_line_numbers_and_the_summary_counts_them(store: HistoryStore) -> None:
    report = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    assert [(e.line, e.reason) for e in report.errors] == [(19, "empty"), (20, "unknown_category"), (21, "bad_date")]
    unknown = report.errors[1].message
    assert "房产纠纷" in unknown and "urban_management" in unknown and "城乡建设" in unknown  # the valid values
    assert "2024-13-40" in report.errors[2].message
    assert (report.rows, report.added, dict(report.duplicates)) == (30, 25, {"file": 1, "catalogue": 1})
    summary = "\n".join(report.summary())
    assert "读取 30 行，加入 25 条，重复 2 条" in summary and "拒收（分类不存在）：1" in summary
    assert report.written and report.version == 1


def test_personal_data_is_masked_before_anything_is_stored(store: HistoryStore) -> None:
    import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    stored = store.path("12345").read_text(encoding="utf-8")
    for personal in (PHONE, SPACED_PHONE, ID_NUMBER, "1234 5678"):
        assert personal not in stored
    assert "110***********7571" in stored and "138****5678" in stored and "139****5678" in stored  # bot.privacy.mask
    (version,) = versions(store)
    assert ID_NUMBER not in version.content and PHONE not in version.content


def test_the_layer_adds_examples_on_top_of_the_shipped_catalogue(store: HistoryStore) -> None:
    shipped = YamlCatalogueSource().load().desks["12345"]
    import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    source = YamlCatalogueSource(override_dir=store.override_dir)
    layered = source.load().desks["12345"]
    lights = layered.category("urban_management")
    shipped_lights = shipped.category("urban_management")
    assert lights is not None and shipped_lights is not None
    assert lights.examples[: len(shipped_lights.examples)] == shipped_lights.examples
    # line 2 (masked); line 17 repeats it and line 18 is a shipped example: neither is added again
    assert lights.examples[len(shipped_lights.examples) :] == (
        "小区门口的路灯坏了一个多月，晚上老人散步看不见路，联系电话138****5678",
    )
    building = layered.category("construction_safety")
    assert building is not None and "小区垃圾分类点设在我家窗户底下，夏天臭得不行，申请挪一下位置" in building.examples
    assert layered.referrals == shipped.referrals
    assert store.path("12345") in source.files()
    assert source.fingerprint() != YamlCatalogueSource(override_dir=store.override_dir.parent / "none").fingerprint()


def test_ids_names_and_first_level_categories_are_placed(store: HistoryStore) -> None:
    ranker = LastCandidate()
    report = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=ranker)
    assert report.batch is not None
    placed = {t: cid for cid, texts in report.batch.examples.items() for t in texts}
    assert placed["我们楼已经停水两天了，物业说是自来水公司管道检修，但一直没有通知恢复时间"] == "utilities"  # a name
    assert placed["儿子幼儿园的伙食费每个月都收，但是菜单和实际吃的不一样"] == "education"  # an id
    # 环境保护 holds one category: no ranking needed; 城乡建设 holds six: the ranker chooses among exactly those
    assert placed["楼下新开的饭店油烟直排，每天中午晚上熏得窗户都不敢开"] == "environment"
    asked = dict(ranker.asked)
    assert "楼下新开的饭店油烟直排，每天中午晚上熏得窗户都不敢开" not in asked
    city = asked["12路公交车经常不按时刻表发车，早高峰要等四十分钟"]
    assert city == [
        "urban_management",
        "utilities",
        "public_transit",
        "housing_property",
        "demolition_compensation",
        "construction_safety",
    ]
    assert placed["12路公交车经常不按时刻表发车，早高峰要等四十分钟"] == "construction_safety"  # the ranker's choice


def test_a_first_level_category_goes_to_the_category_the_engine_ranks_highest(
    engine: TriageEngine, store: HistoryStore
) -> None:
    report = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=engine_ranker(store, engine))
    assert report.batch is not None
    placed = {t: cid for cid, texts in report.batch.examples.items() for t in texts}
    assert placed["12路公交车经常不按时刻表发车，早高峰要等四十分钟"] == "public_transit"
    assert placed["老房子拆迁补偿标准和邻村差距很大，想问问按什么政策定的"] == "demolition_compensation"
    assert placed["社保转移接续办了两个月还没到账，窗口一直让等"] == "social_insurance"


def test_the_same_file_again_adds_nothing_and_writes_nothing(store: HistoryStore) -> None:
    first = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    before = store.path("12345").read_text(encoding="utf-8")
    again = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    assert again.batch is None and not again.written
    # every row added before is a duplicate of the history now (line 17 too), line 18 still of the catalogue
    assert dict(again.duplicates) == {"history": first.added + 1, "catalogue": 1} and again.added == 0
    assert store.path("12345").read_text(encoding="utf-8") == before and len(versions(store)) == 1


def test_a_bad_file_writes_nothing(store: HistoryStore, tmp_path: Path) -> None:
    with pytest.raises(HistoryFileError, match="UTF-8"):
        import_history(
            store, "12345", write(tmp_path, "text,category\n路灯坏了,城乡建设\n", encoding="gbk"), author="t"
        )
    with pytest.raises(HistoryFileError, match="category"):
        import_history(store, "12345", write(tmp_path, "内容,分类\n路灯坏了,城乡建设\n"), author="t")
    every_row_bad = write(tmp_path, "text,category\n路灯坏了,不存在的分类\n,urban_management\n")
    report = import_history(store, "12345", every_row_bad, author="t")
    assert report.batch is None and [e.line for e in report.errors] == [2, 3]
    assert not store.path("12345").exists() and versions(store) == []


def test_strict_and_dry_run_write_nothing_and_huge_or_split_rows_are_refused(
    store: HistoryStore, tmp_path: Path
) -> None:
    text = (
        "\ufefftext,category,date\n"  # Excel's BOM
        '"小区电梯坏了一周没人修，\n老人只能爬十八楼",住房与物业,2024年3月5日\n'  # a quoted line break
        f"{'很长' * 3000},urban_management,\n"
        "公司欠薪,两个月了,labour_relations,2024-01-01\n"
    )
    path = write(tmp_path, text)
    report = import_history(store, "12345", path, author="t", strict=True)
    assert [(e.line, e.reason) for e in report.errors] == [(4, "too_long"), (5, "extra_fields")]
    assert report.added == 1 and not report.written and not store.path("12345").exists()
    dry = import_history(store, "12345", path, author="t", dry_run=True)
    assert dry.added == 1 and not dry.written and versions(store) == []
    done = import_history(store, "12345", path, author="t")
    assert done.written and done.batch is not None
    assert done.batch.examples == {"housing_property": ("小区电梯坏了一周没人修，\n老人只能爬十八楼",)}
    assert done.batch.extra["dates"] == {"first": "2024-03-05", "last": "2024-03-05"}


def test_a_batch_is_versioned_and_can_be_removed(store: HistoryStore, tmp_path: Path) -> None:
    first = import_history(store, "12345", SAMPLE, author="wang", now=NOW, ranker=LastCandidate())
    second = import_history(
        store,
        "12345",
        write(tmp_path, "text,category\n夜市摊位占道经营到半夜,urban_management\n"),
        author="li",
        now=NOW,
    )
    assert first.batch is not None and second.batch is not None and first.batch.id != second.batch.id
    assert [b.id for b in store.batches("12345")] == [first.batch.id, second.batch.id]

    version = remove_batch(store, "12345", first.batch.id, author="wang", now=NOW)
    assert version == 3
    assert [b.id for b in store.batches("12345")] == [second.batch.id]
    rows = sorted(versions(store), key=lambda v: v.version)
    assert [(v.version, v.author) for v in rows] == [(1, "wang"), (2, "li"), (3, "wang")]
    assert rows[0].details["batch"] == first.batch.id and rows[2].details["removed_batch"] == first.batch.id
    assert rows[2].content == store.path("12345").read_text(encoding="utf-8")
    live = json.loads((store.override_dir / "versions.json").read_text(encoding="utf-8"))
    assert live["history/12345.yml"]["version"] == 3
    desk = YamlCatalogueSource(override_dir=store.override_dir).load().desks["12345"]
    lights = desk.category("urban_management")
    assert lights is not None and "夜市摊位占道经营到半夜" in lights.examples
    assert not any("老人散步看不见路" in e for e in lights.examples)
    with pytest.raises(KeyError):
        remove_batch(store, "12345", first.batch.id, author="wang")


def test_the_command_line_lists_and_removes(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(store.settings.data_dir))
    monkeypatch.setenv("FRONTDOOR_DATABASE_URL", store.settings.database_url)
    report = import_history(store, "12345", SAMPLE, author="test", now=NOW, ranker=LastCandidate())
    assert report.batch is not None
    assert main(["list", "--desk", "12345"]) == 0
    assert report.batch.id in capsys.readouterr().out
    assert main(["remove", "--desk", "12345", "--batch", "no-such-batch"]) == 1
    assert report.batch.id in capsys.readouterr().err  # says which batches there are
    assert main(["remove", "--desk", "12345", "--batch", report.batch.id]) == 0
    assert store.batches("12345") == [] and len(versions(store)) == 2


def test_a_running_server_engine_refits_in_the_background_after_an_import(engine: TriageEngine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name, text in TINY_FILES.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(text, encoding="utf-8")
    override = tmp_path / "catalogue"
    source = YamlCatalogueSource(data, override_dir=override)
    catalogue = CatalogueStore(source, min_interval=0.0)
    tiny = TriageEngine(catalogue, engine.embedder, cache_dir=tmp_path / "cache", refit_in_background=True)
    tiny.decide("路灯坏了", "12345")
    before = tiny._current()
    fingerprint = source.fingerprint()

    csv_text = "text,category\n单位不给缴纳住房公积金,wages\n公司不交公积金也不交社保,wages\n公积金断缴了半年,wages\n"
    plan = plan_batch(csv_text.encode(), "h.csv", catalogue.get().desks["12345"], [], LastCandidate, NOW)
    assert plan.batch is not None
    (override / "history").mkdir(parents=True)
    (override / "history" / "12345.yml").write_text(history_text("12345", [plan.batch]), encoding="utf-8")
    time.sleep(0.01)
    assert source.fingerprint() != fingerprint
    tiny.decide("公积金断缴了半年", "12345")  # notices the file, answers from the previous models meanwhile
    assert tiny._current() is before or tiny._refit_thread is not None
    assert tiny.wait_for_refit(timeout=120)
    after = tiny._current()
    assert after.version > before.version and "12345" in after.refitted
    wages = after.catalogue.desks["12345"].category("wages")
    assert wages is not None and "公积金断缴了半年" in wages.examples
    decision = tiny.decide("公积金断缴了半年", "12345")
    assert (decision.route, decision.category) == (Route.TICKET, "wages")


def test_history_for_a_desk_the_file_does_not_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "12345.yml").write_text(yaml.safe_dump({"desk": "12355", "batches": []}), encoding="utf-8")
    from bot.triage.catalogue import CatalogueError

    with pytest.raises(CatalogueError, match="desk must be '12345'"):
        YamlCatalogueSource(override_dir=tmp_path).load()

"""The development import command, on small inputs (the real runs are in the notes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.db.engine import make_engine
from bot.settings import REPO_ROOT
from bot.tickets.repository import TicketStore


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_gov_messages", REPO_ROOT / "scripts" / "import_gov_messages.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_import_masks_is_idempotent_and_prints_masked_clusters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "id": f"m{i}",
            "text": f"幸福路小区路灯不亮问题{i}",
            "detail": f"我叫王小明，电话1381234{i:04d}，路灯坏了很久。",
            "time": f"2019/5/{1 + i % 3} 10:00:00",
        }
        for i in range(6)
    ] + [{"id": "x1", "text": "公积金提取咨询", "detail": "需要什么材料", "time": "2019-05-02 09:00:00"}]
    path = tmp_path / "sample.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    script = load_script()
    assert script.main(["--path", str(path), "--url", url, "--ngram"]) == 0
    out = capsys.readouterr().out
    assert "7 new" in out and "hot topics:" in out and "幸福路小区路灯不亮" in out
    assert "王小明" not in out and "13812340001" not in out
    assert script.main(["--path", str(path), "--url", url, "--no-topics"]) == 0
    assert "0 new, 7 already there" in capsys.readouterr().out
    engine = make_engine(url)
    try:
        ticket = TicketStore(engine).tickets_for_conversation("12345:rest:gov-messages-m1")[0]
        assert "王小明" not in ticket.summary_redacted and "1381234" not in ticket.summary_redacted
        assert ticket.created_at.isoformat().startswith("2019-05-02T02:00")  # 10:00 China time
        assert all("1381234" not in line.text for line in TicketStore(engine).transcript(ticket.id, masked=False))
    finally:
        engine.dispose()

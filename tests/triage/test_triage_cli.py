"""The `make triage` contract: one JSON line out per line in, same order, bad lines answered too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

from bot.settings import REPO_ROOT
from bot.triage.cli import OUTPUT_KEYS, parse_line, run
from bot.triage.engine import TriageEngine

LINES = [
    json.dumps({"text": "厨房着火了", "id": "a"}, ensure_ascii=False),
    "this is not json",
    json.dumps({"text": "你好"}, ensure_ascii=False),
    json.dumps({"no_text": "x"}),
    "",
    json.dumps([1, 2]),
    json.dumps({"text": "法院判决不公我要上诉"}, ensure_ascii=False),
    json.dumps({"text": 42}),
    json.dumps({"text": "你们能帮我吗", "history": ["我不想活了"]}, ensure_ascii=False),
    json.dumps({"text": "路灯坏了", "history": "not a list"}, ensure_ascii=False),
]


def _run(lines: list[str], **kwargs: object) -> tuple[list[dict[str, object]], str]:
    stdout, stderr = StringIO(), StringIO()
    run("12345", StringIO("\n".join(lines) + "\n"), stdout, stderr, **kwargs)  # type: ignore[arg-type]
    return [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


def test_one_line_out_per_line_in_same_order(engine: TriageEngine) -> None:
    out, _ = _run(LINES, batch_size=3, progress_every=0)
    assert len(out) == len(LINES)
    assert [o["route"] for o in out] == [
        "emergency",
        "clarify",
        "smalltalk",
        "clarify",
        "clarify",
        "clarify",
        "refer",
        "clarify",
        "crisis",
        "clarify",
    ]
    for o in out:
        assert set(OUTPUT_KEYS) <= set(o) and 0.0 <= o["confidence"] <= 1.0  # type: ignore[operator]
    assert [i for i, o in enumerate(out) if "error" in o] == [1, 3, 4, 5, 7, 9]
    assert out[0]["channel"] == "119" and out[6]["channel"] == "12368"


def test_cli_gives_what_decide_gives(engine: TriageEngine) -> None:
    texts = ["路灯坏了好几天了", "12345热线几点有人接电话", "单位拖欠我三个月工资"]
    out, _ = _run([json.dumps({"text": t}, ensure_ascii=False) for t in texts], progress_every=0)
    for o, t in zip(out, texts, strict=True):
        d = engine.decide(t, "12345").to_dict()
        assert o == {k: d[k] for k in OUTPUT_KEYS}
    assert out[2]["category_l1"] == "劳动和社会保障"


def test_progress_goes_to_stderr(engine: TriageEngine) -> None:
    out, err = _run([json.dumps({"text": "你好"})] * 5, batch_size=2, progress_every=2)
    assert len(out) == 5 and "[triage] 2 lines" in err and "done: 5 lines" in err


def test_explain_adds_reasons(engine: TriageEngine) -> None:
    out, _ = _run([json.dumps({"text": "厨房着火了"}, ensure_ascii=False)], progress_every=0, explain=True)
    assert out[0]["reply"].startswith("请立即拨打119") and out[0]["signals"]  # type: ignore[union-attr]


def test_parse_line() -> None:
    assert parse_line('{"text": "a", "history": ["b"]}') == ("a", ["b"])
    assert parse_line("{") == "not JSON: Expecting property name enclosed in double quotes"
    assert parse_line('{"text": null}') == 'no "text" string'


def test_command_line_process() -> None:
    """The real command: a fresh process, the model loaded once, stdin to stdout, exit 0."""
    payload = "\n".join(LINES[:4]) + "\n"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.triage.cli", "--desk", "12345"],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["route"] for o in out] == ["emergency", "clarify", "smalltalk", "clarify"]
    assert "done: 4 lines" in proc.stderr

    bad = subprocess.run(
        [sys.executable, "-m", "bot.triage.cli", "--desk", "99999"],
        input=payload,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )
    assert bad.returncode == 2 and "unknown desk" in bad.stderr and bad.stdout == ""

"""`make triage`: classify JSONL from stdin, one JSON line out per line in, same order.

    python -m bot.triage.cli --desk 12345 < in.jsonl > out.jsonl

Input: one JSON object per line with at least "text" (optionally "history": the previous user
messages of the conversation); other fields are ignored. Output keys: route, channel, category,
category_l1, faq_id, confidence (and "error" for a line that could not be read, which is answered
with route clarify, so line counts always match). `--explain` adds entry_id, reply and signals.

It calls `TriageEngine.decide_many`, the path the live bot's `decide` uses; the model loads once and
lines are decided in batches as they arrive (a batch never waits for more input than is already
there, so the command also works interactively).
"""

from __future__ import annotations

import argparse
import json
import select
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

from bot.triage.vocabulary import Route

OUTPUT_KEYS = ("route", "channel", "category", "category_l1", "faq_id", "confidence")
EXPLAIN_KEYS = ("entry_id", "reply", "signals")


def parse_line(line: str) -> tuple[str, list[str]] | str:
    """(text, history) of one input line, or an error message."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg}"
    if not isinstance(obj, dict):
        return "not a JSON object"
    text = obj.get("text")
    if not isinstance(text, str):
        return 'no "text" string'
    history = obj.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return '"history" must be a list of strings'
    return text, history


def error_output(message: str) -> dict[str, Any]:
    """The answer to an unreadable line: ask, and say why."""
    out: dict[str, Any] = dict.fromkeys(OUTPUT_KEYS)
    out.update(route=Route.CLARIFY.value, confidence=0.0, error=message)
    return out


def _batches(stream: IO[str], size: int) -> Iterator[list[str]]:
    """Lines in batches of at most `size`, never waiting for input that has not arrived yet."""
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\n"))
        if len(batch) >= size or not _more_ready(stream):
            yield batch
            batch = []
    if batch:
        yield batch


def _more_ready(stream: IO[str]) -> bool:
    try:
        return bool(select.select([stream], [], [], 0)[0])
    except (OSError, ValueError, TypeError):  # not a real file (tests pass StringIO): read on
        return True


def run(
    desk: str,
    stdin: IO[str],
    stdout: IO[str],
    stderr: IO[str],
    *,
    batch_size: int = 64,
    progress_every: int = 200,
    explain: bool = False,
) -> int:
    """Stream stdin to stdout; returns the number of lines answered."""
    from bot.triage.engine import get_engine

    engine = get_engine()
    started = time.monotonic()
    engine._current().catalogue.desk(desk)  # unknown desk: fail before reading anything
    done = 0
    next_report = progress_every
    for lines in _batches(stdin, batch_size):
        parsed = [parse_line(line) for line in lines]
        good = [(i, p) for i, p in enumerate(parsed) if isinstance(p, tuple)]
        decisions = engine.decide_many([p[0] for _, p in good], desk, [p[1] for _, p in good]) if good else []
        outputs: list[dict[str, Any]] = [error_output(p) if isinstance(p, str) else {} for p in parsed]
        for (i, _), decision in zip(good, decisions, strict=True):
            d = decision.to_dict()
            outputs[i] = {k: d[k] for k in OUTPUT_KEYS}
            if explain:
                outputs[i].update({k: d[k] for k in EXPLAIN_KEYS})
        for out in outputs:
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
        done += len(lines)
        if progress_every and done >= next_report:
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"[triage] {done} lines, {rate:.0f}/s", file=stderr, flush=True)
            next_report = done + progress_every
    if progress_every:
        print(f"[triage] done: {done} lines in {time.monotonic() - started:.1f} s", file=stderr, flush=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desk", required=True, help="desk code, e.g. 12345 or 12355")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--progress-every", type=int, default=200, help="stderr progress line every N lines (0: off)")
    parser.add_argument("--explain", action="store_true", help="also print entry_id, reply and signals")
    args = parser.parse_args(argv)
    try:
        run(
            args.desk,
            sys.stdin,
            sys.stdout,
            sys.stderr,
            batch_size=args.batch_size,
            progress_every=args.progress_every,
            explain=args.explain,
        )
    except KeyError as exc:
        print(f"triage: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head`: the reader left, nothing to report
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

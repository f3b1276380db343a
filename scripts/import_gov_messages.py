"""Development data: import the government message-board sample as tickets, then time hot-topic clustering.

    .venv-app/bin/python scripts/import_gov_messages.py               # into the configured database
    .venv-app/bin/python scripts/import_gov_messages.py --url sqlite:///var/dev-import.db --limit 500

Each message becomes a 12345 ticket at its original time (China time), with a masked summary and a
masked one-line transcript (the sample carries names and pseudonymous ids: nothing leaves here in
clear). Re-running imports nothing twice (idempotency key per message id). Then the hot-topic
clustering runs over the imported tickets and prints its time and a few clusters, masked, for the
release note. Never point this at a production database.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(REPO))

from bot.console.hot_topics import (  # noqa: E402
    EMBED_CHARS,
    TopicEmbedder,
    TopicRun,
    default_embedder,
    find_topics,
    hashing_embedder,
    load_items,
)
from bot.db.engine import make_engine  # noqa: E402
from bot.db.migrate import migrate  # noqa: E402
from bot.privacy import mask  # noqa: E402
from bot.settings import get_settings  # noqa: E402
from bot.tickets.repository import TicketStore  # noqa: E402
from bot.tickets.rules import CHINA_TZ  # noqa: E402

DEFAULT_PATH = REPO.parent / "shared" / "data" / "gov_messages" / "unlabeled_4326.jsonl"
SUMMARY_CHARS = 600
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")


def parse_time(value: str) -> datetime | None:
    """The sample's local (China) timestamps, as aware datetimes."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=CHINA_TZ)
        except (ValueError, AttributeError):
            continue
    return None


def read_rows(path: Path, limit: int | None) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle):
            if limit is not None and n >= limit:
                return
            if line.strip():
                yield json.loads(line)


class _Clock:
    """The store stamps tickets with its clock: set it to each message's own time."""

    def __init__(self) -> None:
        self.now = datetime.now(CHINA_TZ)

    def __call__(self) -> datetime:
        return self.now


def import_messages(store: TicketStore, clock: _Clock, rows: list[dict[str, Any]], desk: str) -> tuple[int, int]:
    """Create one ticket per message (idempotent); returns (new, already there). Prints progress."""
    created = existing = 0
    started = time.perf_counter()
    for n, row in enumerate(rows, start=1):
        title, detail = str(row.get("text") or "").strip(), str(row.get("detail") or "").strip()
        when = parse_time(str(row.get("time") or ""))
        if when is not None:
            clock.now = when
        key = f"gov-messages-{row.get('id', n)}"
        before = store.tickets_for_conversation(f"{desk}:rest:{key}", limit=1)
        if before:
            existing += 1
        else:
            store.create_ticket(
                desk=desk,
                route="ticket",
                conversation_id=f"{desk}:rest:{key}",
                channel="rest",
                idempotency_key=key,
                summary=(f"{title}。{detail}" if detail else title)[:SUMMARY_CHARS],
                triage_signals={"source": "gov_messages sample (development import)"},
                sla_first_response_hours=24,
                sla_resolution_hours=15 * 24,
                transcript=[("person", mask(f"{title}\n{detail}"))],
                actor="import",
            )
            created += 1
        if n % 250 == 0 or n == len(rows):
            rate = n / max(time.perf_counter() - started, 1e-6)
            print(
                f"\r  {n}/{len(rows)} messages ({created} new, {existing} already there), {rate:.0f}/s",
                end="",
                flush=True,
            )
    print()
    return created, existing


def warm_embeddings(embedder: TopicEmbedder, texts: list[str], chunk: int = 256) -> None:
    """Embed the summaries once, with progress (the encoder keeps them in its disk cache).

    The first run on a new machine pays for the model; clustering itself then reads cached vectors.
    """
    started = time.perf_counter()
    for start in range(0, len(texts), chunk):
        embedder.encode(texts[start : start + chunk])
        done = min(start + chunk, len(texts))
        print(
            f"\r  embedding summaries: {done}/{len(texts)} ({time.perf_counter() - started:.0f} s)", end="", flush=True
        )
    print()


def print_topics(run: TopicRun, shown: int) -> None:
    timings = ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in run.timings.items())
    print(
        f"hot topics: {len(run.topics)} clusters of >= 3 over {run.items} tickets in {run.seconds:.1f} s "
        f"({run.embedder}; {timings})"
    )
    for topic in run.topics[:shown]:
        alert = " [ALERT]" if topic.alert else ""
        print(
            f"  - {topic.size} tickets{alert}, {topic.first_at:%Y-%m-%d} .. {topic.last_at:%Y-%m-%d}; "
            f"words: {'、'.join(topic.terms)}"
        )
        print(f"    central: {mask(topic.label)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--path", type=Path, default=DEFAULT_PATH, help="JSONL file (default: the 4,326-message sample)"
    )
    parser.add_argument("--url", help="database URL (default: the configured one)")
    parser.add_argument("--desk", default="12345")
    parser.add_argument("--limit", type=int, help="import only the first N messages")
    parser.add_argument("--days", type=int, help="cluster only the last N days before the newest ticket (default: all)")
    parser.add_argument("--show", type=int, default=8, help="clusters to print")
    parser.add_argument("--no-topics", action="store_true", help="import only")
    parser.add_argument("--ngram", action="store_true", help="cluster with character n-grams instead of the model")
    args = parser.parse_args(argv)

    if not args.path.is_file():
        print(f"not found: {args.path} (the shared data folder sits next to the repository)", file=sys.stderr)
        return 1
    url = args.url or get_settings().database_url
    rows = list(read_rows(args.path, args.limit))
    print(f"importing {len(rows)} messages from {args.path.name} into {url.split('@')[-1]}")
    engine = make_engine(url)
    try:
        migrate(engine)
        clock = _Clock()
        import_messages(TicketStore(engine, clock=clock), clock, rows, args.desk)
        if args.no_topics:
            return 0
        times = [t for t in (parse_time(str(r.get("time") or "")) for r in rows) if t is not None]
        newest = max(times) if times else datetime.now(CHINA_TZ)
        since = newest - timedelta(days=args.days) if args.days else None
        embedder: TopicEmbedder = hashing_embedder() if args.ngram else default_embedder()
        items = load_items(engine, [args.desk], since, newest + timedelta(seconds=1))
        warm_embeddings(embedder, [item.text[:EMBED_CHARS] or "（空）" for item in items])
        started = time.perf_counter()
        run = find_topics(items, embedder, newest + timedelta(seconds=1))
        print_topics(run, args.show)
        total = time.perf_counter() - started
        verdict = "within" if total <= 60 else "OVER"
        print(f"clustering wall time {total:.1f} s ({verdict} the 60 s budget, with the embeddings cached)")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

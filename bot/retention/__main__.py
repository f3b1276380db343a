"""`python -m bot.retention purge [--dry-run] | export | erase | clean-caches` (make purge / export / erase / clean).

The database is the configured one (FRONTDOOR_DATABASE_URL or the data folder's SQLite file),
brought to the newest schema first.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.retention import caches, person
from bot.retention.purge import purge
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.retention", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("purge", help="apply the retention policy now")
    run.add_argument("--dry-run", action="store_true", help="print what would be removed; change nothing")
    for name, what in (
        ("export", "write everything held about one person to a JSON file"),
        ("erase", "erase one person's data everywhere"),
    ):
        sub = commands.add_parser(name, help=what)
        who = sub.add_mutually_exclusive_group(required=True)
        who.add_argument("--ticket", help="a ticket number, e.g. 12355-20261207-0003")
        who.add_argument("--conversation", help="a conversation id, <desk>:<channel>:<user>")
        sub.add_argument(
            "--actor", default=f"cli:{getpass.getuser()}", help="who asks (written to the staff audit log)"
        )
    commands.choices["export"].add_argument("--out", type=Path, help="the file (default: <data dir>/exports/...)")
    commands.choices["erase"].add_argument(
        "--yes", action="store_true", help="really erase (without it: what would go)"
    )
    commands.add_parser("clean-caches", help="delete every embedding vector cache file (make clean)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "clean-caches":
        print(f"removed {caches.clean(caches.embedding_dir(settings))} embedding cache file(s)")
        return 0
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if args.command == "purge":
            report = purge(engine, settings, dry_run=args.dry_run, progress=lambda line: print(line, file=sys.stderr))
            print(report.render())
            return 0
        try:
            subject = person.find(engine, ticket=args.ticket, conversation=args.conversation)
        except person.SubjectNotFound as exc:
            print(f"{exc}: check the number (the ticket page shows it) or the conversation id", file=sys.stderr)
            return 1
        held = person.export(engine, subject, settings)
        if args.command == "export":
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            name = (args.ticket or "conversation").replace("/", "_").replace(":", "_")
            out = args.out or settings.data_dir / "exports" / f"{name}-{stamp}.json"
            person.write_export(held, out)
            person.record_export(engine, args.actor, subject, held)
            print(f"wrote {out} ({json.dumps(person.counts(held), ensure_ascii=False)})")
            return 0
        if not args.yes:
            print(f"would erase tickets {subject.ticket_numbers} and {person.counts(held)}; run again with --yes")
            return 0
        done = person.erase(engine, subject, settings, actor=args.actor)
        print(f"erased tickets {subject.ticket_numbers}: {json.dumps(done, ensure_ascii=False)}")
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

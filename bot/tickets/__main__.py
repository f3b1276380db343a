"""`python -m bot.tickets migrate|current|bench`: the store's command line (used by make targets)."""

from __future__ import annotations

import argparse
import json
import sys

from bot.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.tickets", description=__doc__)
    parser.add_argument("--url", help="database URL (default: FRONTDOOR_DATABASE_URL or var/frontdoor.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the ticket schema to the newest revision")
    commands.add_parser("current", help="print the schema revision of the database")
    bench = commands.add_parser("bench", help="time ticket creation (use a throwaway database)")
    bench.add_argument("-n", type=int, default=500, help="number of tickets (default 500)")
    args = parser.parse_args(argv)
    url = args.url or get_settings().database_url

    from bot.db.engine import make_engine, normalize_url
    from bot.db.migrate import current_revision, migrate

    if args.command == "migrate":
        migrate(url)
        print(f"ticket store migrated: {normalize_url(url).render_as_string(hide_password=True)}")
    elif args.command == "current":
        engine = make_engine(url)
        try:
            print(current_revision(engine) or "(empty)")
        finally:
            engine.dispose()
    elif args.command == "bench":
        from benchmarks.tickets_bench import run_bench  # the benchmark is not part of the package

        print(json.dumps(run_bench(url, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

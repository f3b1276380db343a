"""Apply the retention policy: the database rules, the Rasa tracker store, log files, old caches.

Idempotent (a rule matches only what is still due) and safe to run twice or to interrupt: each
batch is its own short transaction, so the app keeps serving while a long purge runs. `dry_run`
runs the same statements in one transaction and rolls it back: the counts are exact, nothing
changes (on SQLite it holds the write lock for that time: ~2 s for 10,000 conversations).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, TextClause, bindparam, inspect, text

from bot.retention import caches, logs, tracker
from bot.retention.policy import RULES, Rule, days
from bot.settings import Settings
from bot.tickets.models import UTCDateTime

BATCH = 2000
EXPORT_DAYS = 7
"""Days an export written by `make export` stays in <data dir>/exports (it is handed to the person, not kept)."""
Progress = Callable[[str], None]


@dataclass
class Line:
    """What one rule did (or would do): `rows` removed or anonymised in `where`."""

    name: str
    where: str
    rows: int
    kept_days: int


@dataclass
class Report:
    dry_run: bool
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0

    def total(self) -> int:
        return sum(line.rows for line in self.lines)

    def by_table(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.where] = out.get(line.where, 0) + line.rows
        return out

    def render(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        rows = [f"{line.where:<28} {line.name:<32} {line.rows:>8}  (kept {line.kept_days} d)" for line in self.lines]
        head = f"{'where':<28} {'what':<32} {verb:>8}"
        return "\n".join([head, *rows, f"total {self.total()} in {self.seconds:.1f} s"])


def _statement(sql: str) -> TextClause:
    params = [bindparam(name, type_=UTCDateTime()) for name in ("cutoff", "now") if f":{name}" in sql]
    return text(sql).bindparams(*params)


def apply_rule(
    batches: Callable[[], AbstractContextManager[Connection]],
    rule: Rule,
    cutoff: datetime,
    now: datetime,
    progress: Progress,
) -> int:
    """Remove the rows of `rule` due at `cutoff`, batch by batch, each batch in `batches()`."""
    values = {"cutoff": cutoff, "now": now}
    with batches() as conn:
        count_sql = f"SELECT COUNT(*) FROM {rule.table} WHERE {rule.where}"
        due = int(conn.execute(_statement(count_sql), _bound(count_sql, values)).scalar_one())
    if not due:
        return 0
    chosen = f"SELECT {rule.key} FROM {rule.table} WHERE {rule.where} LIMIT {BATCH}"
    if rule.set_ is None:
        sql = f"DELETE FROM {rule.table} WHERE {rule.key} IN ({chosen})"
    else:
        sql = f"UPDATE {rule.table} SET {rule.set_} WHERE {rule.key} IN ({chosen})"
    statement = _statement(sql)
    done = 0
    while True:
        with batches() as conn:
            changed = conn.execute(statement, _bound(sql, values)).rowcount
        done += changed
        if due > BATCH:
            progress(f"  {rule.table}: {done}/{due}")
        if changed < BATCH:
            return done


def _bound(sql: str, values: dict[str, datetime]) -> dict[str, datetime]:
    return {k: v for k, v in values.items() if f":{k}" in sql}


@contextmanager
def _rolled_back(engine: Engine) -> Iterator[Callable[[], AbstractContextManager[Connection]]]:
    """For a dry run: every batch on one connection, in one transaction that is rolled back at the
    end, so the counts are exactly what a real run would remove (later rules see earlier ones)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield lambda: nullcontext(conn)
        finally:
            transaction.rollback()


def purge(
    engine: Engine,
    settings: Settings,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress = lambda _: None,
    tracker_dbs: list[Path] | None = None,
) -> Report:
    """Apply every rule of the policy; the report says per table what went (or would go)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    report = Report(dry_run)
    tables = set(inspect(engine).get_table_names())
    with _rolled_back(engine) if dry_run else nullcontext(engine.begin) as batches:
        for rule in RULES:
            if rule.table not in tables:
                continue
            kept = days(rule, settings)
            rows = apply_rule(batches, rule, now - timedelta(days=kept), now, progress)
            report.lines.append(Line(rule.name, rule.table, rows, kept))

    files = tracker.tracker_files(settings) if tracker_dbs is None else tracker_dbs
    chat_cutoff = now - timedelta(days=settings.retain_chat_days)
    count = tracker.count_older(files, chat_cutoff) if dry_run else tracker.delete_older(files, chat_cutoff)
    report.lines.append(Line("Rasa tracker events", "tracker store", count, settings.retain_chat_days))

    folder = logs.log_dir(settings)
    report.lines.append(
        Line(
            "log files past retention",
            "logs/",
            logs.prune(folder, settings.retain_log_days, now, dry_run=dry_run),
            settings.retain_log_days,
        )
    )
    report.lines.append(
        Line("log files rotated", "logs/", logs.rotate(folder, now, dry_run=dry_run), settings.retain_log_days)
    )

    exports = logs.prune(settings.data_dir / "exports", EXPORT_DAYS, now, dry_run=dry_run, pattern="*.json")
    report.lines.append(Line("export files", "exports/", exports, EXPORT_DAYS))

    legacy = caches.delete_legacy(caches.embedding_dir(settings), dry_run=dry_run)
    report.lines.append(Line("old embedding cache files", "embedding cache", legacy, 0))
    report.seconds = time.monotonic() - started
    return report

"""Learning from a hotline's own history: a deployment's past tickets as one more layer of examples.

    make import-history DESK=12345 FILE=history.csv        # python -m bot.triage.history import ...
    python -m bot.triage.history list --desk 12345
    python -m bot.triage.history remove --desk 12345 --batch <id>

The CSV file (UTF-8, with or without BOM; a header row; columns in any order, others ignored):

* `text` (required): what the person reported, as they said it (a title and body may be one text,
  title on the first line);
* `category` (required): a ticket category of the desk, by id (`urban_management`) or name
  (`城市管理与市政设施`), or, where the desk's categories carry one (12345), a first-level category
  `category_l1` (`城乡建设`). When that first-level category holds several of the desk's categories,
  the row goes to the one the triage engine ranks highest for its text among them;
* `date` (optional): when the ticket was filed (`2024-03-05`, `2024/3/5`, `2024-03-05 10:22`, ...);
  only the first and last date of a batch are kept;
* `department` (optional): who handled it; only a count per department is kept in the batch.

Every row is checked before anything is stored: a row without text, with a text longer than
`MAX_TEXT_CHARS`, with a category the desk does not have (the valid values are listed) or with a date
that cannot be read is refused, with its line number and what to do. Personal data is masked
(`bot.privacy.mask`: ID numbers, phones, addresses, names, ...) before anything else, so the
comparisons and the file only ever see the masked text; a long text is kept to its first
`STORED_CHARS` characters after masking (the classifiers read a title and 300 characters). A text
already in the file, in the catalogue (shipped, staff-taught) or in earlier history is a duplicate
and not added again.

The good rows become one batch of `history/<desk>.yml` in the console's override folder
(<FRONTDOOR_DATA_DIR>/catalogue/, format in bot/triage/catalogue/history.py), read on top of the
shipped desk catalogue, so a new release's catalogue still applies. Each import or removal is a new
version of that file in `catalogue_versions` (kind `history`), like an edit in the console, and goes
live the same way: the triage engine's catalogue store notices the file and servers refit in the
background; other instances get it through `CatalogueSync`. Nothing is written when no row can be
added (a wrong file, a wrong column, everything already imported), nor with `--dry-run`; with
`--strict`, nothing is written when any row is refused.
"""

from __future__ import annotations

import argparse
import collections
import csv
import getpass
import hashlib
import io
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.privacy import mask
from bot.settings import Settings
from bot.text import has_words, normalise
from bot.triage.catalogue import (
    CATEGORY_HISTORY,
    DeskCatalogue,
    HistoryBatch,
    YamlCatalogueSource,
    parse_history,
)

REQUIRED_COLUMNS = ("text", "category")
OPTIONAL_COLUMNS = ("date", "department")
MAX_TEXT_CHARS = 5000
"""Longer texts are refused: a past ticket is rarely this long; usually two rows ran together."""
STORED_CHARS = 500
"""Masked texts are kept to this many characters: the classifiers read a title (<= 80) and 300 more."""
MAX_DEPARTMENT_CHARS = 100
HEADER = (
    "# A deployment's past tickets (masked) as examples of this desk's categories, read on top of its\n"
    "# catalogue. Written by `python -m bot.triage.history` (make import-history); one batch per import,\n"
    "# removable: python -m bot.triage.history remove --desk <desk> --batch <id>.\n"
)
REASONS = {
    "empty": "没有文字",
    "too_long": f"文字超过{MAX_TEXT_CHARS}字",
    "unknown_category": "分类不存在",
    "bad_date": "日期无法识别",
    "bad_department": f"部门超过{MAX_DEPARTMENT_CHARS}字",
    "extra_fields": "字段比表头多",
}
"""Why a row is refused (key -> what the summary says)."""
DUPLICATES = {"file": "与本文件前面的行重复", "catalogue": "与受理目录中的示例重复", "history": "与之前导入的历史重复"}
_DATE = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)?\s*$")
_SPACE = re.compile(r"\s+")

Ranker = Callable[[str, Sequence[str], Sequence[Sequence[str]]], list[str]]
"""(desk, texts, candidate category ids of each) -> the chosen id of each (the engine's best among them)."""


class HistoryFileError(ValueError):
    """The whole file cannot be used (encoding, header): nothing is written."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    message: str


@dataclass
class ImportReport:
    """What an import did (or would do, on a dry run)."""

    file: str
    desk: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    duplicates: collections.Counter[str] = field(default_factory=collections.Counter)
    ignored_columns: list[str] = field(default_factory=list)
    batch: HistoryBatch | None = None
    version: int | None = None
    written: bool = False

    @property
    def added(self) -> int:
        return self.batch.added if self.batch is not None else 0

    @property
    def refused(self) -> collections.Counter[str]:
        return collections.Counter(e.reason for e in self.errors)

    def summary(self) -> list[str]:
        lines = [f"{self.file}：读取 {self.rows} 行，加入 {self.added} 条，重复 {sum(self.duplicates.values())} 条"]
        lines += [f"  重复（{DUPLICATES[k]}）：{n}" for k, n in sorted(self.duplicates.items())]
        lines += [f"  拒收（{REASONS[k]}）：{n}" for k, n in sorted(self.refused.items())]
        if self.ignored_columns:
            lines.append(f"  忽略的列：{', '.join(self.ignored_columns)}")
        if self.batch is not None:
            per = ", ".join(f"{cid} {len(t)}" for cid, t in sorted(self.batch.examples.items()))
            lines.append(f"  按分类：{per}")
            if self.written:
                lines.append(f"批次 {self.batch.id} 已写入 history/{self.desk}.yml（第{self.version}版）")
            else:
                lines.append(f"批次 {self.batch.id} 未写入")
        return lines


@dataclass(frozen=True)
class _Row:
    line: int
    text: str
    category: str
    date: str
    department: str


def read_rows(data: bytes) -> tuple[list[_Row], list[RowError], list[str]]:
    """The CSV's data rows (with the physical line each starts on), rows with too many fields, and
    the columns that are ignored. Raises HistoryFileError when the file as a whole is unusable."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFileError(f"文件不是 UTF-8 编码（第{exc.start + 1}个字节）：请另存为“CSV UTF-8”后再导入") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise HistoryFileError("文件是空的：第1行应为表头 text,category[,date,department]") from None
    except csv.Error as exc:
        raise HistoryFileError(f"第1行：CSV 格式错误（{exc}）") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        found = ", ".join(h for h in names if h) or "（无）"
        raise HistoryFileError(
            f"第1行：表头缺少 {', '.join(missing)} 列（找到：{found}）；表头应为 text,category[,date,department]"
            + ("；文件似乎用制表符分隔，请用逗号" if "\t" in ",".join(header) else "")
        )
    index = {n: i for i, n in reversed(list(enumerate(names)))}  # the first column of a name counts
    ignored = [h for h in names if h and h not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    rows: list[_Row] = []
    errors: list[RowError] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise HistoryFileError(f"第{start}行：CSV 格式错误（{exc}）；含逗号或换行的文字请用双引号括起来") from None
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue  # a blank line
        if len(fields) > len(header):
            errors.append(
                RowError(
                    start,
                    "extra_fields",
                    f"第{start}行：有 {len(fields)} 个字段，表头只有 {len(header)} 列；含逗号的文字请用双引号括起来",
                )
            )
            continue

        def cell(name: str, fields: list[str] = fields) -> str:
            i = index.get(name)
            return fields[i].strip() if i is not None and i < len(fields) else ""

        rows.append(_Row(start, cell("text"), cell("category"), cell("date"), cell("department")))
    return rows, errors, ignored


def parse_date(value: str) -> date | None:
    """A date in the usual export forms (2024-03-05, 2024/3/5, 2024年3月5日, with a time or not)."""
    m = _DATE.match(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def dedupe_key(text: str) -> str:
    """What two texts must share to be the same example: normalised, spaces ignored."""
    return _SPACE.sub("", normalise(text))


class CategoryResolver:
    """The `category` cell of a row -> candidate category ids of the desk (one, or an l1's several)."""

    def __init__(self, desk: DeskCatalogue) -> None:
        self.ids = {c.id.lower(): c.id for c in desk.categories}
        self.names = {c.name: c.id for c in desk.categories}
        self.l1: dict[str, list[str]] = collections.defaultdict(list)
        for c in desk.categories:
            if c.category_l1:
                self.l1[c.category_l1].append(c.id)

    def candidates(self, value: str) -> list[str]:
        value = value.strip()
        if value.lower() in self.ids:
            return [self.ids[value.lower()]]
        if value in self.names:
            return [self.names[value]]
        return list(self.l1.get(value, []))

    def valid_values(self) -> str:
        out = f"分类 id：{', '.join(self.ids.values())}；分类名称：{', '.join(self.names)}"
        if self.l1:
            out += f"；一级分类（category_l1）：{', '.join(self.l1)}"
        return out


def plan_batch(
    data: bytes,
    file_name: str,
    desk: DeskCatalogue,
    earlier: list[HistoryBatch],
    ranker: Callable[[], Ranker],
    now: datetime,
) -> ImportReport:
    """Read, check, mask and de-duplicate the file; the batch it would add (None when nothing to add).

    `ranker()` is asked for only when a row names a first-level category holding several categories.
    """
    report = ImportReport(file_name, desk.desk)
    rows, report.errors, report.ignored_columns = read_rows(data)
    report.rows = len(rows) + len(report.errors)
    resolver = CategoryResolver(desk)
    in_history = {dedupe_key(t) for b in earlier for texts in b.examples.values() for t in texts}
    in_catalogue = {
        dedupe_key(t)
        for entries in (desk.categories, desk.referrals, desk.declines)
        for e in entries
        for t in e.examples
    } | {dedupe_key(t) for f in desk.faqs for t in f.examples}
    seen: set[str] = set()
    accepted: list[tuple[_Row, str, list[str]]] = []
    listed_values = False
    dates: list[date] = []
    departments: collections.Counter[str] = collections.Counter()
    for row in rows:
        if not row.text or not has_words(row.text):
            report.errors.append(
                RowError(row.line, "empty", f"第{row.line}行：text 为空；请填写来电或留言的内容，或删去此行")
            )
            continue
        if len(row.text) > MAX_TEXT_CHARS:
            report.errors.append(
                RowError(
                    row.line,
                    "too_long",
                    f"第{row.line}行：text 有 {len(row.text)} 字，超过 {MAX_TEXT_CHARS} 字；"
                    "请检查是否几行连在了一起（引号未闭合），或只保留标题和正文开头",
                )
            )
            continue
        candidates = resolver.candidates(row.category)
        if not candidates:
            values = "" if listed_values else f"。可用的值：{resolver.valid_values()}"
            listed_values = True
            shown = row.category or "（空）"
            report.errors.append(
                RowError(
                    row.line,
                    "unknown_category",
                    f"第{row.line}行：服务台 {desk.desk} 没有分类“{shown}”；请改为分类 id、分类名称或一级分类{values}",
                )
            )
            continue
        when = None
        if row.date:
            when = parse_date(row.date)
            if when is None:
                report.errors.append(
                    RowError(
                        row.line, "bad_date", f"第{row.line}行：日期“{row.date}”无法识别；请写成 2024-03-05，或留空"
                    )
                )
                continue
        if len(row.department) > MAX_DEPARTMENT_CHARS:
            report.errors.append(
                RowError(
                    row.line,
                    "bad_department",
                    f"第{row.line}行：department 超过 {MAX_DEPARTMENT_CHARS} 字；请只写部门名称，或留空",
                )
            )
            continue
        stored = mask(row.text)[:STORED_CHARS].strip()
        key = dedupe_key(stored)
        duplicate = (
            "file" if key in seen else "history" if key in in_history else "catalogue" if key in in_catalogue else None
        )
        if duplicate is not None:
            report.duplicates[duplicate] += 1
            continue
        seen.add(key)
        accepted.append((row, stored, candidates))
        if when is not None:
            dates.append(when)
        if row.department:
            departments[mask(row.department)] += 1
    choices = [c[0] for _, _, c in accepted]
    ambiguous = [i for i, (_, _, c) in enumerate(accepted) if len(c) > 1]
    if ambiguous:
        ranked = ranker()(desk.desk, [accepted[i][1] for i in ambiguous], [accepted[i][2] for i in ambiguous])
        for i, chosen in zip(ambiguous, ranked, strict=True):
            choices[i] = chosen
    if not accepted:
        return report
    examples: dict[str, list[str]] = {}
    for (_, stored, _), cid in zip(accepted, choices, strict=True):
        examples.setdefault(cid, []).append(stored)
    digest = hashlib.sha256(data).hexdigest()[:6]
    batch_id = f"{now.strftime('%Y%m%d-%H%M%S')}-{digest}"
    taken = {b.id for b in earlier}
    n = 2
    while batch_id in taken:
        batch_id, n = f"{now.strftime('%Y%m%d-%H%M%S')}-{digest}-{n}", n + 1
    extra: dict[str, Any] = {}
    if dates:
        extra["dates"] = {"first": min(dates).isoformat(), "last": max(dates).isoformat()}
    if departments:
        extra["departments"] = dict(departments.most_common())
    if report.duplicates:
        extra["duplicates"] = sum(report.duplicates.values())
    if report.errors:
        extra["refused"] = dict(sorted(report.refused.items()))
    report.batch = HistoryBatch(
        batch_id,
        now.isoformat(timespec="seconds"),
        file_name,
        report.rows,
        {cid: tuple(t) for cid, t in examples.items()},
        extra,
    )
    report.errors.sort(key=lambda e: e.line)
    return report


def history_text(desk: str, batches: list[HistoryBatch]) -> str:
    """The `history/<desk>.yml` holding `batches` (oldest first)."""
    doc = {
        "desk": desk,
        "batches": [
            {
                "id": b.id,
                "imported_at": b.imported_at,
                "file": b.file,
                "rows": b.rows,
                **b.extra,
                "examples": {cid: list(t) for cid, t in b.examples.items()},
            }
            for b in batches
        ],
    }
    return HEADER + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000)


# -- the live files and their versions ---------------------------------------------------------------


class HistoryStore:
    """A desk's history file in a data dir, versioned in that deployment's database."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session] | None = None) -> None:
        from bot.console import overrides

        self.settings = settings
        self.override_dir = overrides.override_dir(settings)
        self._sessions = sessions
        self._engine: Engine | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            from bot.db.engine import make_engine, session_factory
            from bot.db.migrate import migrate

            self._engine = make_engine(self.settings.database_url)
            migrate(self._engine)
            self._sessions = session_factory(self._engine)
        return self._sessions

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def path(self, desk: str) -> Path:
        return self.override_dir / CATEGORY_HISTORY / f"{desk}.yml"

    def desk(self, desk: str) -> DeskCatalogue:
        """The desk as the engine serves it now (shipped, edits, lessons and history)."""
        desks = YamlCatalogueSource(override_dir=self.override_dir).load().desks
        if desk not in desks:
            raise HistoryFileError(f"没有服务台 {desk}（有：{', '.join(sorted(desks))}）")
        return desks[desk]

    def batches(self, desk: str) -> list[HistoryBatch]:
        path = self.path(desk)
        if not path.is_file():
            return []
        from bot.triage.catalogue import parse_yaml

        return parse_history(parse_yaml(path.read_text(encoding="utf-8"), path), path, desk)

    def publish(
        self,
        desk: str,
        batches: list[HistoryBatch],
        *,
        author: str,
        comment: str,
        details: dict[str, Any],
        now: datetime,
    ) -> int:
        """Write the file as the next version (refused when another import or removal got there first)."""
        from bot.console.catalogue_editor import latest, publish_version

        with self.sessions() as session:
            current = latest(session, desk, "history")
        version = publish_version(
            self.sessions,
            self.settings,
            desk,
            "history",
            history_text(desk, batches),
            base_version=current.version if current else 0,
            author=author,
            comment=comment,
            details=details,
            now=now,
        )
        self._audit(author, comment, {"desk": desk, "kind": "history", "version": version.version, **details})
        return int(version.version)

    def _audit(self, author: str, comment: str, details: dict[str, Any]) -> None:
        from bot.tickets.repository import TicketStore

        TicketStore(self.sessions).log_staff_action(
            staff_user=author, action="catalogue_saved", reason=comment[:1000], details=details
        )


def engine_ranker(store: HistoryStore, engine: Any = None) -> Ranker:
    """Ranks candidates with the triage engine on the catalogue being imported into (or `engine`)."""
    import numpy as np

    from bot.triage.embedding import embed, prepare

    if engine is None:
        from bot.triage.catalogue import CatalogueStore
        from bot.triage.engine import TriageEngine

        engine = TriageEngine(CatalogueStore(YamlCatalogueSource(override_dir=store.override_dir)))

    def rank(desk: str, texts: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[str]:
        model = engine._current().desks[desk]
        views = [prepare(t)[1] for t in texts]
        proba = model.proba(views, embed(engine.embedder, views))
        column = {c: i for i, c in enumerate(model.classifier.classes_)}
        out: list[str] = []
        for row, ids in zip(proba, candidates, strict=True):
            scores = [row[column[f"ticket:{cid}"]] if f"ticket:{cid}" in column else -1.0 for cid in ids]
            out.append(ids[int(np.argmax(scores))])
        return out

    return rank


def import_history(
    store: HistoryStore,
    desk: str,
    file: Path,
    *,
    author: str,
    now: datetime | None = None,
    dry_run: bool = False,
    strict: bool = False,
    ranker: Ranker | None = None,
) -> ImportReport:
    """Check `file` and, unless told not to or nothing can be added, add it as a new batch (a new version)."""
    now = now or datetime.now(UTC)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise HistoryFileError(f"无法读取 {file}：{exc.strerror or exc}") from None
    earlier = store.batches(desk)

    report = plan_batch(data, file.name, store.desk(desk), earlier, lambda: ranker or engine_ranker(store), now)
    if report.batch is None or dry_run or (strict and report.errors):
        return report
    comment = f"导入历史工单 {file.name}：批次 {report.batch.id}，{report.added} 条"
    details = {"batch": report.batch.id, "file": file.name, "rows": report.rows, "added": report.added}
    report.version = store.publish(
        desk, [*earlier, report.batch], author=author, comment=comment, details=details, now=now
    )
    report.written = True
    return report


def remove_batch(store: HistoryStore, desk: str, batch_id: str, *, author: str, now: datetime | None = None) -> int:
    """Take one batch out (a new version of the file); KeyError when the desk has no such batch."""
    batches = store.batches(desk)
    kept = [b for b in batches if b.id != batch_id]
    if len(kept) == len(batches):
        raise KeyError(batch_id)
    gone = next(b for b in batches if b.id == batch_id)
    comment = f"移除历史工单批次 {batch_id}（{gone.file}，{gone.added} 条）"
    return store.publish(
        desk, kept, author=author, comment=comment, details={"removed_batch": batch_id}, now=now or datetime.now(UTC)
    )


# -- command line -------------------------------------------------------------------------------------


def _author(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (a container without passwd entry)
        return "cli"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.triage.history", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("import", help="add a CSV of past tickets as a new batch")
    add.add_argument("--desk", required=True)
    add.add_argument("--file", required=True, type=Path)
    add.add_argument("--dry-run", action="store_true", help="check and summarise, write nothing")
    add.add_argument("--strict", action="store_true", help="write nothing when any row is refused")
    add.add_argument("--author", help="who imports (default cli:<user>)")
    show = commands.add_parser("list", help="the batches of a desk")
    show.add_argument("--desk", required=True)
    drop = commands.add_parser("remove", help="take one batch out again")
    drop.add_argument("--desk", required=True)
    drop.add_argument("--batch", required=True)
    drop.add_argument("--author", help="who removes (default cli:<user>)")
    args = parser.parse_args(argv)

    from bot.console.catalogue_editor import Conflict
    from bot.console.overrides import CatalogueInvalid
    from bot.settings import get_settings

    store = HistoryStore(get_settings())
    try:
        if args.command == "list":
            batches = store.batches(args.desk)
            if not batches:
                print(f"服务台 {args.desk} 没有导入的历史")
            for b in batches:
                per = ", ".join(f"{cid} {len(t)}" for cid, t in sorted(b.examples.items()))
                print(f"{b.id}  {b.imported_at}  {b.file}  读取 {b.rows} 行，加入 {b.added} 条  ({per})")
            return 0
        if args.command == "remove":
            try:
                version = remove_batch(store, args.desk, args.batch, author=_author(args.author))
            except KeyError:
                known = ", ".join(b.id for b in store.batches(args.desk)) or "（无）"
                print(f"服务台 {args.desk} 没有批次 {args.batch}（有：{known}）", file=sys.stderr)
                return 1
            print(f"批次 {args.batch} 已移除（history/{args.desk}.yml 第{version}版）")
            return 0
        try:
            report = import_history(
                store, args.desk, args.file, author=_author(args.author), dry_run=args.dry_run, strict=args.strict
            )
        except HistoryFileError as exc:
            print(f"未导入：{exc}", file=sys.stderr)
            return 1
        for error in report.errors:
            print(error.message, file=sys.stderr)
        for line in report.summary():
            print(line)
        if report.batch is None:
            print("未写入：没有可加入的行", file=sys.stderr)
            return 1 if report.errors or not report.rows else 0
        if not report.written and args.strict and report.errors:
            print("未写入：--strict 且有被拒收的行", file=sys.stderr)
            return 1
        return 0
    except (CatalogueInvalid, Conflict) as exc:
        print(f"未写入：{exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())

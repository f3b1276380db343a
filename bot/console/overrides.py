"""The override folder: where catalogue and FAQ edits made in the console go live, without retraining.

Contract with the triage engine (its CatalogueStore reloads on change):

* `<FRONTDOOR_DATA_DIR>/catalogue/desks/<desk>.yml` replaces `bot/data/desks/<desk>.yml`, and
  `<FRONTDOOR_DATA_DIR>/catalogue/faq/<desk>.yml` replaces `bot/data/faq/<desk>.yml` - whole files,
  same format (docs/catalogue-format.md), file by file; a desk without an override uses the bundled file.
* Only validated text is written, atomically (temporary file in the same folder, fsync, rename), so a
  reader sees the old file or the new one, never half of one.
* `<FRONTDOOR_DATA_DIR>/catalogue/versions.json` says which version of each file is live, who made it
  and when (the full history is the `catalogue_versions` table).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.settings import REPO_ROOT, Settings
from bot.triage.catalogue import CATEGORY_HISTORY, CATEGORY_LESSONS, SAFETY_LESSONS

BUNDLED_DIR = REPO_ROOT / "bot" / "data"
KIND_FOLDERS = {"desk": "desks", "faq": "faq", "lessons": CATEGORY_LESSONS, "history": CATEGORY_HISTORY}
"""Per-desk files by kind: the catalogue and FAQ (whole-file overrides of the bundled ones), the
staff-taught category examples (`lessons/<desk>.yml`) and the imported past tickets
(`history/<desk>.yml`, written by `python -m bot.triage.history`): additions the triage loader reads on top."""
SAFETY = "safety"
"""The kind of the safety screen's staff additions (`safety-lessons.yml`, read on top of the bundled
`safety.yml`): one file for all desks, edited by admins. The bundled screen itself is never replaced
from the console, so a release's new crisis words always apply."""
ALL_DESKS = "all"
"""The `desk` of the safety file in versions and URLs."""
SECTIONS = {"desk": ("categories", "referrals", "declines"), "faq": ("faqs",), "lessons": (), "history": ()}
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueInvalid(ValueError):
    """An edit that cannot go live; `line` is 1-based in the edited text when known."""

    def __init__(self, message: str, line: int | None = None, file: str | None = None) -> None:
        self.message, self.line, self.file = message, line, file
        where = f"{file} " if file else ""
        super().__init__(f"{where}第{line}行：{message}" if line else f"{where}{message}")


def override_dir(settings: Settings) -> Path:
    return settings.data_dir / "catalogue"


def relative(kind: str, desk: str) -> Path:
    if kind == SAFETY:
        return Path(SAFETY_LESSONS)
    return Path(KIND_FOLDERS[kind]) / f"{desk}.yml"


def override_path(settings: Settings, kind: str, desk: str) -> Path:
    return override_dir(settings) / relative(kind, desk)


def bundled_path(kind: str, desk: str) -> Path:
    return BUNDLED_DIR / relative(kind, desk)


def effective_path(settings: Settings, kind: str, desk: str) -> Path | None:
    """The file the triage engine uses for this desk and kind (override first), if any."""
    for path in (override_path(settings, kind, desk), bundled_path(kind, desk)):
        if path.is_file():
            return path
    return None


def read_effective(settings: Settings, kind: str, desk: str) -> str:
    path = effective_path(settings, kind, desk)
    return path.read_text(encoding="utf-8") if path else ""


def write_atomic(path: Path, text: str) -> None:
    """Write `text` so that readers see either the old or the new file (never a partial one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (not possible on every OS)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def record_live_version(settings: Settings, kind: str, desk: str, info: dict[str, Any]) -> None:
    manifest = override_dir(settings) / "versions.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data[relative(kind, desk).as_posix()] = info
    write_atomic(manifest, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


# -- validation ------------------------------------------------------------------------------------


def _desk_files(settings: Settings, kind: str) -> dict[str, Path]:
    """Every desk's effective file of one kind (bundled, replaced by overrides)."""
    files = {p.stem: p for p in (BUNDLED_DIR / KIND_FOLDERS[kind]).glob("*.yml")}
    files.update({p.stem: p for p in (override_dir(settings) / KIND_FOLDERS[kind]).glob("*.yml")})
    return files


@contextlib.contextmanager
def _candidate_tree(settings: Settings, kind: str, desk: str, text: str) -> Iterator[Path]:
    """A throwaway data folder: the effective catalogue with the edited file in place."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-catalogue-") as tmp:
        root = Path(tmp)
        for name in ("channels.yml", "safety.yml", "conversation.yml", SAFETY_LESSONS):
            for folder in (override_dir(settings), BUNDLED_DIR):  # what the engine reads: override first
                if (folder / name).is_file():
                    (root / name).symlink_to(folder / name)
                    break
        for each_kind in KIND_FOLDERS:
            folder = root / KIND_FOLDERS[each_kind]
            folder.mkdir()
            for stem, path in _desk_files(settings, each_kind).items():
                (folder / f"{stem}.yml").symlink_to(path)
        target = root / relative(kind, desk)
        target.unlink(missing_ok=True)
        target.write_text(text, encoding="utf-8")
        yield root


def validate(settings: Settings, kind: str, desk: str, text: str) -> None:
    """Refuse an edit that the triage engine would refuse (raises CatalogueInvalid with the line).

    The triage engine's own loader is used when it is importable, on the whole catalogue with the
    edit in place (so an FAQ id clashing with a category is caught too); otherwise a strict check of
    the documented format.
    """
    if not text.strip():
        raise CatalogueInvalid("内容为空")
    _check_syntax_and_desk(kind, desk, text)
    try:
        from bot.triage.catalogue import CatalogueError, YamlCatalogueSource
    except ImportError:
        _strict_check(kind, text)
        return
    with _candidate_tree(settings, kind, desk, text) as root:
        try:
            YamlCatalogueSource(root).load()
        except CatalogueError as exc:
            file = Path(exc.path)
            with contextlib.suppress(ValueError):
                file = file.relative_to(root)
            edited = file == relative(kind, desk)
            raise CatalogueInvalid(
                exc.message, exc.line, None if edited else f"（受此修改影响的文件 {file}）"
            ) from None


def _check_syntax_and_desk(kind: str, desk: str, text: str) -> Any:
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CatalogueInvalid(f"YAML 语法错误：{exc.problem or exc}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise CatalogueInvalid(f"YAML 错误：{exc}") from None
    if kind == SAFETY:
        if not isinstance(doc, dict) or not isinstance(doc.get("crisis"), dict):
            raise CatalogueInvalid("文件顶层必须是映射，并有 crisis 部分（examples 和/或 negatives）", 1)
        return doc
    if not isinstance(doc, dict):
        raise CatalogueInvalid("文件顶层必须是映射（desk: ...）", 1)
    if str(doc.get("desk", "")) != desk:
        raise CatalogueInvalid(f'desk 字段必须是 "{desk}"，与所编辑的服务台一致', 1)
    return doc


def _strict_check(kind: str, text: str) -> None:
    """The documented format, checked without the triage package (line numbers from yaml nodes)."""
    if kind in (SAFETY, "lessons", "history"):
        return  # _check_syntax_and_desk saw the top level; the rest needs the triage package
    doc = yaml.load(text, Loader=_SAFE_LOADER)
    node = yaml.compose(text, Loader=_SAFE_LOADER)
    required = {"desk": ("categories",), "faq": ("faqs",)}[kind]
    fields = {
        "categories": ("name", "examples"),
        "referrals": ("channel", "reply", "examples"),
        "declines": ("reply", "examples"),
        "faqs": ("question", "paraphrases", "answer"),
    }
    seen: set[str] = set()
    for section in SECTIONS[kind]:
        entries = doc.get(section)
        if entries is None:
            if section in required:
                raise CatalogueInvalid(f"缺少 {section} 部分", 1)
            continue
        if not isinstance(entries, list) or (section in required and not entries):
            raise CatalogueInvalid(f"{section} 必须是非空列表", _key_line(node, section))
        spans = {s.index: s for s in entry_spans(text) if s.section == section}
        for i, entry in enumerate(entries):
            line = spans[i].start if i in spans else _key_line(node, section)
            if not isinstance(entry, dict):
                raise CatalogueInvalid(f"{section} 第{i + 1}项必须是映射", line)
            entry_id = entry.get("id")
            if not isinstance(entry_id, str) or not _ID.match(entry_id):
                raise CatalogueInvalid(f"{section} 第{i + 1}项的 id 必须是 snake_case", line)
            if entry_id in seen:
                raise CatalogueInvalid(f"id {entry_id} 重复", line)
            seen.add(entry_id)
            for name in fields[section]:
                value = entry.get(name)
                if value in (None, "", []):
                    raise CatalogueInvalid(f"{entry_id}：缺少 {name}", line)
                if name in ("examples", "paraphrases") and not (
                    isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
                ):
                    raise CatalogueInvalid(f"{entry_id}：{name} 必须是文字列表", line)


def _key_line(node: Any, key: str) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if getattr(key_node, "value", None) == key:
                return int(key_node.start_mark.line) + 1
    return None


# -- entries (per-entry editing) ---------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySpan:
    """Where one entry (a category, referral, decline or FAQ) sits in the file: lines start..end (1-based)."""

    section: str
    index: int
    id: str
    start: int
    end: int


def entry_spans(text: str) -> list[EntrySpan]:
    """Entries of the file in order, with their line ranges (comments between entries go with the next)."""
    try:
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    lines = text.splitlines()
    spans: list[EntrySpan] = []
    for key_node, value_node in root.value:
        if not isinstance(value_node, yaml.SequenceNode):
            continue
        items = value_node.value
        for i, item in enumerate(items):
            start = item.start_mark.line  # 0-based line of "- id: ..."
            if i + 1 < len(items):
                end = items[i + 1].start_mark.line
            else:
                end = item.end_mark.line + (1 if item.end_mark.column > 0 else 0)
            while end > start + 1 and not lines[end - 1].strip():
                end -= 1  # trailing blank lines stay in the file, not in the entry
            entry_id = ""
            if isinstance(item, yaml.MappingNode):
                for k, v in item.value:
                    if getattr(k, "value", None) == "id":
                        entry_id = str(getattr(v, "value", ""))
            spans.append(EntrySpan(str(key_node.value), i, entry_id, start + 1, end))
    return spans


def entry_text(text: str, span: EntrySpan) -> str:
    lines = text.splitlines()
    return "\n".join(lines[span.start - 1 : span.end]) + "\n"


def replace_entry(text: str, span: EntrySpan, new_entry: str) -> str:
    """The file with one entry's lines replaced (everything else, comments included, untouched)."""
    lines = text.splitlines()
    replacement = new_entry.rstrip("\n").splitlines()
    result = [*lines[: span.start - 1], *replacement, *lines[span.end :]]
    return "\n".join(result) + "\n"


def add_to_list(text: str, path: tuple[str, ...], item: str, header: str = "") -> str | None:
    """The file with `item` appended to the list at `path` (e.g. ("crisis", "examples")); None when
    the list already holds it.

    A non-empty block list gets one more line (everything else untouched); otherwise (an empty or
    missing file, no such list yet) the document is written out again, after `header` (comment lines).
    """
    node = _compose(text)
    for key in path:
        node = _child(node, key)
    if isinstance(node, yaml.SequenceNode) and any(getattr(v, "value", None) == item for v in node.value):
        return None
    appended = _append_line(text, node, item)
    if appended is not None:
        return appended
    doc = yaml.load(text, Loader=_SAFE_LOADER) or {}
    if not isinstance(doc, dict):
        raise CatalogueInvalid("文件顶层必须是映射", 1)
    parent = doc
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
        if not isinstance(parent, dict):
            raise CatalogueInvalid(f"{key} 必须是映射")
    parent[path[-1]] = [*(parent.get(path[-1]) or []), item]
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10_000)


def _child(node: Any, key: str) -> Any:
    """The value node of `key` in a mapping node, else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _compose(text: str) -> Any:
    try:
        return yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogueInvalid(f"YAML 语法错误：{exc}", line=mark.line + 1 if mark else None) from exc


def _append_line(text: str, sequence: Any, item: str) -> str | None:
    """`text` with one more `- "item"` line after the last item of a non-empty block list, else None."""
    if not isinstance(sequence, yaml.SequenceNode) or sequence.flow_style or not sequence.value:
        return None
    quoted = json.dumps(item, ensure_ascii=False)  # a JSON string is a valid double-quoted YAML scalar
    last = sequence.value[-1].end_mark
    at = last.line if last.column == 0 else last.line + 1
    lines = text.splitlines()
    lines.insert(at, " " * sequence.start_mark.column + "- " + quoted)
    return "\n".join(lines) + "\n"


# -- categories for the ticket page -------------------------------------------------------------------

_category_cache: dict[Path, tuple[int, list[dict[str, str]]]] = {}


def categories(settings: Settings, desk: str) -> list[dict[str, str]]:
    """The desk's ticket categories (id, name, category_l1) from the live file; cached per file version."""
    path = effective_path(settings, "desk", desk)
    if path is None:
        return []
    stamp = path.stat().st_mtime_ns
    cached = _category_cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError):
        return cached[1] if cached else []
    result = [
        {"id": str(c["id"]), "name": str(c.get("name", c["id"])), "category_l1": str(c.get("category_l1") or "")}
        for c in (doc or {}).get("categories") or []
        if isinstance(c, dict) and c.get("id")
    ]
    _category_cache[path] = (stamp, result)
    return result

"""Catalogue and FAQ editor: change what the bot routes and answers, in the browser, without retraining.

Every accepted edit is a numbered version in `catalogue_versions` (who, when, why, full text) and is
written atomically to the override folder (see overrides.py), which the triage engine reloads. An edit
the triage engine would refuse is refused here first, with the line and the reason. Two supervisors
editing the same file at once: the second save is refused (its base version is no longer the latest)
instead of silently undoing the first.
"""

from __future__ import annotations

import difflib
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response

from bot.console import overrides
from bot.console.models import CatalogueVersion
from bot.console.web import Ctx, HttpError, not_found, page
from bot.db.engine import READ_ONLY
from bot.settings import Settings

KINDS = ("desk", "faq", "lessons")
HISTORY_ROWS = 50


class Conflict(Exception):
    pass


def _target(ctx: Ctx) -> tuple[str, str]:
    """(desk, kind) of the path: a desk file the member serves, or the safety file (`all/safety`) for admins."""
    desk, kind = ctx.request.path_params["desk"], ctx.request.path_params["kind"]
    if kind == overrides.SAFETY and desk == overrides.ALL_DESKS:
        if not ctx.member.can("safety"):
            raise HttpError(403, "安全筛查文件服务所有服务台，由管理员编辑。")
        return desk, kind
    if kind not in KINDS or not ctx.member.sees(desk):
        raise not_found()
    return desk, kind


def latest(session: Session, desk: str, kind: str) -> CatalogueVersion | None:
    return session.scalars(
        select(CatalogueVersion)
        .where(CatalogueVersion.desk == desk, CatalogueVersion.kind == kind)
        .order_by(CatalogueVersion.version.desc())
        .limit(1)
    ).first()


def history(ctx: Ctx, desk: str, kind: str) -> list[CatalogueVersion]:
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        return list(
            session.scalars(
                select(CatalogueVersion)
                .where(CatalogueVersion.desk == desk, CatalogueVersion.kind == kind)
                .order_by(CatalogueVersion.version.desc())
                .limit(HISTORY_ROWS)
            )
        )


def save_version(
    ctx: Ctx, desk: str, kind: str, text: str, *, base_version: int, comment: str, details: dict[str, Any]
) -> CatalogueVersion:
    """Validate, then in one transaction: check the base, add the version, write the live file.

    The file is written inside the transaction: if writing fails, no version is recorded; if another
    save won the race, nothing is written.
    """
    version = publish_version(
        ctx.state.sessions,
        ctx.state.settings,
        desk,
        kind,
        text,
        base_version=base_version,
        author=ctx.member.username,
        comment=comment,
        details=details,
        now=ctx.state.now(),
    )
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username,
        action="catalogue_saved",
        reason=comment[:1000] or None,
        details={"desk": desk, "kind": kind, "version": version.version, **version.details},
    )
    return version


def publish_version(
    sessions: sessionmaker[Session],
    settings: Settings,
    desk: str,
    kind: str,
    text: str,
    *,
    base_version: int,
    author: str,
    comment: str,
    details: dict[str, Any],
    now: datetime,
) -> CatalogueVersion:
    """`save_version` without a console request (the history import's command line uses it too):
    validate, check the base, add the version and write the live file in one transaction."""
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    overrides.validate(settings, kind, desk, text)
    bundled = _bundled(kind, desk)
    if bundled:  # lets the editor say when a release changed the file this version replaces
        details = {**details, "bundled_sha256": hashlib.sha256(bundled.encode()).hexdigest()}
    digest = hashlib.sha256(text.encode()).hexdigest()
    with sessions.begin() as session:
        current = latest(session, desk, kind)
        current_no = current.version if current else 0
        if current_no != base_version:
            raise Conflict(
                f"这个文件已被 {current.author if current else '他人'} 改到第{current_no}版，请重新打开后再改。"
            )
        version = CatalogueVersion(
            desk=desk,
            kind=kind,
            version=current_no + 1,
            content=text,
            sha256=digest,
            author=author,
            comment=comment[:1000] or None,
            created_at=now,
            details=details,
        )
        session.add(version)
        session.flush()
        overrides.write_atomic(overrides.override_path(settings, kind, desk), text)
    overrides.record_live_version(
        settings,
        kind,
        desk,
        {"version": version.version, "author": version.author, "at": version.created_at.isoformat(), "sha256": digest},
    )
    return version


def _editor(
    ctx: Ctx,
    desk: str,
    kind: str,
    *,
    entry: str = "",
    text: str | None = None,
    error: str | None = None,
    error_line: int | None = None,
    status: int = 200,
    base_version: int | None = None,
) -> Response:
    live = overrides.read_effective(ctx.state.settings, kind, desk)
    spans = overrides.entry_spans(live)
    span = next((s for s in spans if s.id == entry), None) if entry else None
    if entry and span is None:
        raise not_found()
    versions = history(ctx, desk, kind)
    if base_version is None:
        base_version = versions[0].version if versions else 0
    if text is None:
        text = overrides.entry_text(live, span) if span else live
    source = "override" if overrides.override_path(ctx.state.settings, kind, desk).is_file() else "bundled"
    bundled = _bundled(kind, desk) if source == "override" else ""
    stale = bundled_changed_since(versions[0] if versions else None, bundled)
    release_diff: list[str] = []
    if stale:
        diff = difflib.unified_diff(bundled.splitlines(), live.splitlines(), "随程序发布", "当前生效", lineterm="")
        release_diff = list(diff)[:2000]
    return ctx.render(
        "catalogue_edit.html",
        status=status,
        desk=desk,
        kind=kind,
        entry=span,
        spans=spans,
        text=text,
        error=error,
        error_line=error_line,
        versions=versions,
        base_version=base_version,
        source=source,
        stale=stale,
        release_diff=release_diff,
    )


@page("catalogue")
def index(ctx: Ctx) -> Response:
    """The files one may edit, with their live version (the safety screen's for admins)."""
    files = [(desk, kind) for desk in ctx.member.desks for kind in KINDS]
    if ctx.member.can("safety"):
        files.append((overrides.ALL_DESKS, overrides.SAFETY))
    rows: list[dict[str, Any]] = []
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        for desk, kind in files:
            version = latest(session, desk, kind)
            override = overrides.override_path(ctx.state.settings, kind, desk).is_file()
            rows.append(
                {
                    "desk": desk,
                    "kind": kind,
                    "latest": version,
                    "override": override,
                    "exists": overrides.effective_path(ctx.state.settings, kind, desk) is not None,
                    "stale": override and bundled_changed_since(version, _bundled(kind, desk)),
                }
            )
    return ctx.render("catalogue_index.html", rows=rows, folder=overrides.override_dir(ctx.state.settings))


@page("catalogue")
def edit(ctx: Ctx) -> Response:
    """GET: the whole file, or one entry (?entry=<id>), in a textarea, with the version history."""
    desk, kind = _target(ctx)
    return _editor(ctx, desk, kind, entry=ctx.request.query_params.get("entry", ""))


@page("catalogue")
def save(ctx: Ctx) -> Response:
    """POST: validate and publish a new version (whole file, or one entry spliced into the live file)."""
    desk, kind = _target(ctx)
    content = ctx.form.get("content") if ctx.form is not None else None
    if not isinstance(content, str):
        raise HttpError(400, "缺少内容。")
    entry = ctx.field("entry")
    comment = ctx.field("comment")
    try:
        base = int(ctx.field("base_version") or "0")
    except ValueError:
        raise HttpError(400, "版本号无效。") from None
    live = overrides.read_effective(ctx.state.settings, kind, desk)
    text, line_offset, details = content, 0, {}
    if entry:
        span = next((s for s in overrides.entry_spans(live) if s.id == entry), None)
        if span is None:
            raise not_found()
        text = overrides.replace_entry(live, span, content)
        line_offset, details = span.start - 1, {"entry": entry}
    if text.replace("\r\n", "\n").rstrip("\n") == live.rstrip("\n"):
        return _editor(ctx, desk, kind, entry=entry, text=content, error="内容没有变化，未保存。", status=400)
    try:
        version = save_version(ctx, desk, kind, text, base_version=base, comment=comment, details=details)
    except overrides.CatalogueInvalid as exc:
        line: int | None = None
        where = ""
        entry_lines = content.rstrip("\n").count("\n") + 1
        # yaml often notices an error on the line after it: the first line after the entry still counts
        if exc.line and not exc.file and entry and line_offset < exc.line <= line_offset + entry_lines + 1:
            line = min(exc.line - line_offset, entry_lines)
            where = f"本条目第{line}行："
        elif exc.line:
            line = None if (entry or exc.file) else exc.line
            where = f"文件第{exc.line}行："
        message = f"未保存，内容有误。{exc.file or ''}{where}{exc.message}"
        return _editor(
            ctx, desk, kind, entry=entry, text=content, error=message, error_line=line, status=400, base_version=base
        )
    except Conflict as exc:
        return _editor(ctx, desk, kind, entry=entry, text=content, error=str(exc), status=409, base_version=base)
    return ctx.redirect(f"/console/catalogue/{desk}/{kind}", ok="saved", v=str(version.version))


def _version(ctx: Ctx, desk: str, kind: str) -> tuple[CatalogueVersion, CatalogueVersion | None]:
    try:
        number = int(ctx.request.path_params["version"])
    except (ValueError, OverflowError):
        raise not_found() from None
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        rows = session.scalars(
            select(CatalogueVersion).where(
                CatalogueVersion.desk == desk,
                CatalogueVersion.kind == kind,
                CatalogueVersion.version.in_((number, number - 1)),
            )
        ).all()
    found = {r.version: r for r in rows}
    if number not in found:
        raise not_found()
    return found[number], found.get(number - 1)


@page("catalogue")
def show_version(ctx: Ctx) -> Response:
    """GET: one version and what it changed compared with the one before (or the bundled file)."""
    desk, kind = _target(ctx)
    version, previous = _version(ctx, desk, kind)
    before = previous.content if previous else _bundled(kind, desk)
    diff = list(
        difflib.unified_diff(
            before.splitlines(), version.content.splitlines(), "之前", f"第{version.version}版", lineterm="", n=2
        )
    )
    return ctx.render("catalogue_version.html", desk=desk, kind=kind, version=version, diff=diff[:2000])


def bundled_changed_since(version: CatalogueVersion | None, bundled: str) -> bool:
    """Whether the shipped file (text `bundled`) changed - a new release - after `version`, which
    replaces it, was saved. Then the live override lacks whatever the release added to that file.
    Versions saved before the hash was recorded say nothing (False).
    """
    recorded = (version.details or {}).get("bundled_sha256") if version is not None else None
    return bool(recorded and bundled) and recorded != hashlib.sha256(bundled.encode()).hexdigest()


def _bundled(kind: str, desk: str) -> str:
    path = overrides.bundled_path(kind, desk)
    return path.read_text(encoding="utf-8") if path.is_file() else ""


@page("catalogue")
def restore(ctx: Ctx) -> Response:
    """POST: publish an old version again, as a new version (history is never rewritten)."""
    desk, kind = _target(ctx)
    version, _previous = _version(ctx, desk, kind)
    with ctx.state.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        current = session.scalar(
            select(func.max(CatalogueVersion.version)).where(
                CatalogueVersion.desk == desk, CatalogueVersion.kind == kind
            )
        )
    try:
        save_version(
            ctx,
            desk,
            kind,
            version.content,
            base_version=int(current or 0),
            comment=f"恢复到第{version.version}版",
            details={"restored_from": version.version},
        )
    except (overrides.CatalogueInvalid, Conflict) as exc:
        raise HttpError(409, f"无法恢复：{exc}") from None
    return ctx.redirect(f"/console/catalogue/{desk}/{kind}", ok="saved")

"""Staff accounts (admins only) and the staff audit log.

An admin creates accounts, sets roles and desks, disables accounts, resets passwords (the member
chooses a new one at the next login) and resets two-step verification for a lost phone; the last
active admin cannot remove their own admin rights (nobody could manage accounts after that).
Every change is written to the staff audit log.
"""

from __future__ import annotations

from starlette.responses import Response

from bot.console.accounts import AccountError
from bot.console.labels import ROLE
from bot.console.models import Role
from bot.console.web import Ctx, HttpError, not_found, page

AUDIT_ROWS = 200


def _render(ctx: Ctx, error: str | None = None, status: int = 200) -> Response:
    return ctx.render(
        "staff.html",
        status=status,
        users=ctx.state.accounts.list_users(),
        roles=ROLE,
        desks=ctx.state.settings.desks,
        error=error,
    )


@page("staff")
def staff_list(ctx: Ctx) -> Response:
    """GET: the accounts and the form for a new one."""
    return _render(ctx)


@page("staff")
def create(ctx: Ctx) -> Response:
    """POST: a new account (the admin passes the first password on in person; it is never shown again,
    and the member must replace it at the first login)."""
    try:
        user = ctx.state.accounts.create_user(
            ctx.field("username"),
            ctx.field("password"),
            role=ctx.field("role") if ctx.field("role") in ROLE else "",
            desks=ctx.fields("desks"),
            display_name=ctx.field("display_name") or None,
            must_change_password=True,
        )
    except (AccountError, ValueError) as exc:
        return _render(ctx, error=str(exc) if isinstance(exc, AccountError) else "请选择角色。", status=400)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username,
        action="staff_created",
        details={"username": user.username, "role": user.role, "desks": list(user.desks)},
    )
    return ctx.redirect("/console/staff", ok="user_created")


def _guard_last_admin(ctx: Ctx, username: str, role: str | None, active: bool | None) -> None:
    target = ctx.state.accounts.get(username)
    if target is None:
        raise not_found()
    losing_admin = target.role == Role.ADMIN.value and ((role and role != Role.ADMIN.value) or active is False)
    if losing_admin and ctx.state.accounts.count_admins() <= 1:
        raise HttpError(409, "这是最后一个在岗管理员，不能取消其管理员身份或停用。")


@page("staff")
def update(ctx: Ctx) -> Response:
    """POST: role, desks, active flag of an account (disabling ends its sessions at once)."""
    username = ctx.request.path_params["username"]
    role = ctx.field("role") or None
    if role is not None and role not in ROLE:
        return _render(ctx, error="未知的角色。", status=400)
    active = ctx.field("active") == "1"
    _guard_last_admin(ctx, username, role, active)
    try:
        user = ctx.state.accounts.update_user(
            username,
            role=role,
            desks=ctx.fields("desks") or None,
            active=active,
            display_name=ctx.field("display_name") or None,
        )
    except AccountError as exc:
        return _render(ctx, error=str(exc), status=400)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username,
        action="staff_updated",
        details={"username": user.username, "role": user.role, "desks": list(user.desks), "active": user.active},
    )
    return ctx.redirect("/console/staff", ok="user_updated")


@page("staff")
def reset_password(ctx: Ctx) -> Response:
    """POST: a new password for an account; all its sessions end and the member replaces it at login."""
    username = ctx.request.path_params["username"]
    if ctx.state.accounts.get(username) is None:
        raise not_found()
    try:
        ctx.state.accounts.set_password(username, ctx.field("password"))
    except AccountError as exc:
        return _render(ctx, error=str(exc), status=400)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username, action="staff_password_reset", details={"username": username}
    )
    return ctx.redirect("/console/staff", ok="password")


@page("staff")
def reset_mfa(ctx: Ctx) -> Response:
    """POST: two-step verification off for an account (a lost phone, no recovery code left); its
    sessions end, and a supervisor or admin sets it up again at the next login."""
    username = ctx.request.path_params["username"]
    if ctx.state.accounts.get(username) is None:
        raise not_found()
    ctx.state.accounts.reset_mfa(username)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username, action="staff_mfa_reset", details={"username": username}
    )
    return ctx.redirect("/console/staff", ok="mfa_reset")


@page("audit")
def audit(ctx: Ctx) -> Response:
    """GET: the newest entries of the staff audit log (who looked at or revealed what, and why)."""
    ticket = ctx.request.query_params.get("ticket", "")
    ticket_id = int(ticket) if ticket.isdigit() and len(ticket) < 12 else None
    entries = ctx.state.store.staff_audit_log(ticket_id=ticket_id, limit=AUDIT_ROWS)
    return ctx.render("audit.html", entries=entries, ticket_id=ticket_id)

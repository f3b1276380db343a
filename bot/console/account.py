"""My account: change my password, set up two-step verification (TOTP), recovery codes.

Every member may change their own password (the current one first) and set up MFA. The same pages
serve the steps a login may owe (accounts.pending_stage): a password an admin set must be replaced,
and supervisors and admins must set up MFA when FRONTDOOR_CONSOLE_REQUIRE_MFA is on. A finished step
starts a fresh session (and a password change ends every other session of the account).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from bot.console import mfa
from bot.console.accounts import STAGE_ENROL, STAGE_PASSWORD, AccountError, LoginThrottled, hash_token
from bot.console.auth import enter, next_step, throttled_message
from bot.console.web import Ctx, client_ip, page, session_cookie_token, set_session_cookie


@page("queue")
def overview(ctx: Ctx) -> Response:
    """GET: what protects this account (MFA on or off, recovery codes left) and links to change it."""
    left = ctx.state.accounts.recovery_codes_left(ctx.member.id) if ctx.member.mfa_enabled else 0
    return ctx.render("account.html", recovery_left=left)


def _end_this_session(ctx: Ctx) -> None:
    token = session_cookie_token(ctx.request, ctx.secret)
    if token:
        ctx.state.accounts.end_session(token)


@page("queue", stages=[STAGE_PASSWORD])
def change_password(ctx: Ctx) -> Response:
    """GET: the form. POST: current password, new one twice; every session of the account ends."""
    forced = ctx.stage == STAGE_PASSWORD
    if ctx.request.method == "GET":
        return ctx.render("account_password.html", forced=forced)
    new = ctx.field("new_password")
    error = None
    if new != ctx.field("new_password_again"):
        error = "两次输入的新密码不一致。"
    else:
        try:
            ctx.state.accounts.change_own_password(ctx.member.id, ctx.field("current_password"), new)
        except AccountError as exc:
            error = f"{exc}。"
    if error:
        return ctx.render("account_password.html", status=400, forced=forced, error=error)
    ctx.state.store.log_staff_action(
        staff_user=ctx.member.username, action="password_changed", details={"forced": forced}
    )
    member = ctx.state.accounts.member(ctx.member.id)
    # the session got here past the code (a pending "password" step comes after "mfa")
    stage = next_step(ctx.state, member, mfa_done=True)
    target = "/console/" if forced else "/console/account?ok=password_changed"
    return enter(ctx.request, ctx.state, ctx.secret, member, stage, target, signing_in=forced)


def _show_codes(ctx: Ctx, codes: list[str], *, new_session: bool) -> Response:
    """The recovery codes, shown once. After set-up the browser moves to a fresh session first."""
    if not new_session:
        return ctx.render("recovery_codes.html", codes=codes)
    _end_this_session(ctx)
    member = ctx.state.accounts.member(ctx.member.id)
    stage = next_step(ctx.state, member, mfa_done=True)
    token = ctx.state.accounts.start_session(member, client_ip(ctx.request), stage)
    fresh = Ctx(ctx.request, ctx.state, member, hash_token(token), ctx.secret, stage)
    response = fresh.render("recovery_codes.html", codes=codes)
    set_session_cookie(response, ctx.request, ctx.secret, token)
    return response


@page("queue", stages=[STAGE_ENROL])
def enrol(ctx: Ctx) -> Response:
    """GET: the secret and otpauth URI for an authenticator app. POST: a code from the app turns MFA on."""
    if ctx.member.mfa_enabled:
        return RedirectResponse("/console/account", status_code=303)
    secret = ctx.state.accounts.enrolment_secret(ctx.member.id)
    context: dict[str, Any] = {
        "secret": mfa.grouped(secret),
        "uri": mfa.uri(secret, ctx.member.username),
        "required": ctx.stage == STAGE_ENROL,
    }
    if ctx.request.method == "GET":
        return ctx.render("account_mfa.html", **context)
    if not context["required"]:  # from a full session: the password again (see reauthenticate)
        refused = _password_refused(ctx)
        if refused:
            return ctx.render("account_mfa.html", status=refused[0], error=refused[1], **context)
    codes = ctx.state.accounts.confirm_enrolment(ctx.member.id, ctx.field("code"))
    if codes is None:
        error = "验证码不正确。请确认手机时间准确，输入验证器上当前显示的6位数字。"
        return ctx.render("account_mfa.html", status=400, error=error, **context)
    ctx.state.store.log_staff_action(staff_user=ctx.member.username, action="mfa_enabled")
    return _show_codes(ctx, codes, new_session=True)


def _password_refused(ctx: Ctx) -> tuple[int, str] | None:
    """(status, message) when the password field is wrong or the account must wait; None when right."""
    try:
        ok = ctx.state.accounts.reauthenticate(ctx.member.id, ctx.field("password"), client_ip(ctx.request))
    except LoginThrottled as exc:
        return 429, throttled_message(exc)
    return None if ok else (400, "当前密码不正确，请重新输入。")


@page("queue")
def new_recovery_codes(ctx: Ctx) -> Response:
    """POST: a fresh set of recovery codes (the old ones stop working); the password is asked again."""
    if not ctx.member.mfa_enabled:
        return RedirectResponse("/console/account", status_code=303)
    refused = _password_refused(ctx)
    if refused:
        left = ctx.state.accounts.recovery_codes_left(ctx.member.id)
        return ctx.render("account.html", status=refused[0], error=refused[1], recovery_left=left)
    codes = ctx.state.accounts.new_recovery_codes(ctx.member.id)
    ctx.state.store.log_staff_action(staff_user=ctx.member.username, action="mfa_recovery_codes_renewed")
    return _show_codes(ctx, codes, new_session=False)

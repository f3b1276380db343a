"""Login, the second step (the MFA code) and logout: the console's pages before a full session.

The login form is protected against CSRF by a signed double-submit nonce (see csrf.py); a failed
login says the same thing whether the name exists or not; the limits (throttle.py) answer 429 with
the wait in minutes. A correct password starts a session that still owes its remaining steps
(accounts.pending_stage): the code, a forced new password, setting up MFA; each step done starts a
fresh session, and only a session that owes nothing opens the console.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.console import csrf, throttle
from bot.console.accounts import STAGE_MFA, LoginThrottled, StaffMember, pending_stage
from bot.console.state import ConsoleState, get_state
from bot.console.web import (
    STAGE_PAGES,
    Ctx,
    client_ip,
    cookie_is_secure,
    delete_session_cookie,
    error_page,
    page,
    secure,
    session_cookie_token,
    set_session_cookie,
)
from bot.settings import MissingSecretError

WHY = {
    "idle": "超过30分钟未操作，已自动退出，请重新登录。",
    "expired": "登录已超过12小时，请重新登录。",
    "unfinished": "登录步骤超过10分钟未完成，请重新登录。",
}


def safe_next(target: str | None) -> str:
    """Only console paths on this site: `next` must never become an open redirect."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


def throttled_message(exc: LoginThrottled) -> str:
    return f"登录失败次数过多，请在 {throttle.minutes(exc.retry_after)} 分钟后再试。"


def _login_page(request: Request, secret: str, *, error: str | None = None, status: int = 200) -> Response:
    state = get_state(request)
    nonce = csrf.new_login_nonce()
    context = {
        "member": None,
        "error": error,
        "notice": WHY.get(request.query_params.get("why", "")),
        "next": safe_next(request.query_params.get("next")),
        "csrf_token": csrf.login_token(secret, nonce),
        "username": "",
    }
    response = state.templates.TemplateResponse(request, "login.html", context, status_code=status)
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request.app),
        path="/console/login",
    )
    return secure(response)


def next_step(state: ConsoleState, member: StaffMember, *, mfa_done: bool) -> str | None:
    return pending_stage(member, require_mfa=state.settings.console_require_mfa, mfa_done=mfa_done)


def enter(
    request: Request,
    state: ConsoleState,
    secret: str,
    member: StaffMember,
    stage: str | None,
    target: str,
    *,
    signing_in: bool = True,
) -> Response:
    """Start the session for the step `stage` (None: the console itself) and send the browser there.

    `signing_in`: the end of a login (audited as "login"), not a new session after a password change.
    """
    ip = client_ip(request)
    token = state.accounts.start_session(member, ip, stage)
    if stage is None and signing_in:
        state.store.log_staff_action(staff_user=member.username, action="login", details={"ip": ip})
    response = RedirectResponse(target if stage is None else STAGE_PAGES[stage], status_code=303)
    set_session_cookie(response, request, secret, token)
    return secure(response)


async def login(request: Request) -> Response:
    """GET: the form. POST: check CSRF, the limits, then the password; start a (possibly pending) session."""
    state = get_state(request)
    try:
        secret = state.settings.secret_key
    except MissingSecretError:
        return error_page(request, state, 503, "控制台未配置：请设置 FRONTDOOR_SECRET_KEY。")
    if request.method == "GET":
        return _login_page(request, secret)
    form = await request.form()
    given = form.get(csrf.FIELD)
    if not csrf.valid_login_token(
        secret, request.cookies.get(csrf.LOGIN_COOKIE), given if isinstance(given, str) else None
    ):
        return error_page(request, state, 403, "登录页面已过期（CSRF 校验失败），请刷新后重试。")
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    try:
        member = await run_in_threadpool(state.accounts.login, username, password, client_ip(request))
    except LoginThrottled as exc:
        response = _login_page(request, secret, error=throttled_message(exc), status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if member is None:
        return _login_page(request, secret, error="用户名或密码不正确。", status=401)
    stage = next_step(state, member, mfa_done=False)
    target = safe_next(str(form.get("next") or ""))
    response = await run_in_threadpool(enter, request, state, secret, member, stage, target)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/console/login")
    return response


@page("queue", stages=[STAGE_MFA])
def mfa_step(ctx: Ctx) -> Response:
    """GET: ask for the code. POST: check it (or a recovery code); the session then owes the next step."""
    if ctx.stage != STAGE_MFA:
        return ctx.redirect("/console/")
    if ctx.request.method == "GET":
        return ctx.render("login_mfa.html")
    try:
        how = ctx.state.accounts.verify_mfa(ctx.member.id, ctx.field("code"), client_ip(ctx.request))
    except LoginThrottled as exc:
        response = ctx.render("login_mfa.html", status=429, error=throttled_message(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if how is None:
        return ctx.render("login_mfa.html", status=401, error="验证码不正确或已用过，请输入验证器上的新验证码。")
    token = session_cookie_token(ctx.request, ctx.secret)
    if token:
        ctx.state.accounts.end_session(token)
    member = ctx.state.accounts.member(ctx.member.id)
    if how == "recovery":
        left = ctx.state.accounts.recovery_codes_left(member.id)
        ctx.state.store.log_staff_action(
            staff_user=member.username, action="mfa_recovery_code_used", details={"left": left}
        )
    return enter(ctx.request, ctx.state, ctx.secret, member, next_step(ctx.state, member, mfa_done=True), "/console/")


@page("queue", stages=STAGE_PAGES)
def logout(ctx: Ctx) -> Response:
    """End the session in the database, not only in the browser (also a half-finished login)."""
    token = session_cookie_token(ctx.request, ctx.secret)
    if token:
        ctx.state.accounts.end_session(token)
    ctx.state.store.log_staff_action(staff_user=ctx.member.username, action="logout")
    response = RedirectResponse("/console/login", status_code=303)
    delete_session_cookie(response, ctx.request)
    return response

"""Login and logout pages (the only console pages without a session).

The login form is protected against CSRF by a signed double-submit nonce (see csrf.py); a failed
login says the same thing whether the name exists or not; the rate limit answers 429 with the wait.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.console import csrf
from bot.console.accounts import LoginThrottled
from bot.console.state import get_state
from bot.console.web import (
    SESSION_COOKIE,
    Ctx,
    client_ip,
    error_page,
    page,
    secure,
    session_cookie_token,
    set_session_cookie,
)
from bot.settings import MissingSecretError

WHY = {"idle": "超过30分钟未操作，已自动退出，请重新登录。", "expired": "登录已超过12小时，请重新登录。"}


def safe_next(target: str | None) -> str:
    """Only console paths on this site: `next` must never become an open redirect."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


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
        secure=request.url.scheme == "https",
        path="/console/login",
    )
    return secure(response)


async def login(request: Request) -> Response:
    """GET: the form. POST: check CSRF, the rate limit, then the password; start a session."""
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
    ip = client_ip(request)
    try:
        member = await run_in_threadpool(state.accounts.login, username, password, ip)
    except LoginThrottled as exc:
        minutes = max(1, round(exc.retry_after / 60))
        response = _login_page(request, secret, error=f"登录失败次数过多，请约{minutes}分钟后再试。", status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if member is None:
        return _login_page(request, secret, error="用户名或密码不正确。", status=401)
    token = await run_in_threadpool(state.accounts.start_session, member, ip)
    await run_in_threadpool(
        state.store.log_staff_action, staff_user=member.username, action="login", details={"ip": ip}
    )
    target = safe_next(str(form.get("next") or ""))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, secret, token)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/console/login")
    return secure(response)


@page("queue")
def logout(ctx: Ctx) -> Response:
    """End the session in the database, not only in the browser."""
    token = session_cookie_token(ctx.request, ctx.secret)
    if token:
        ctx.state.accounts.end_session(token)
    ctx.state.store.log_staff_action(staff_user=ctx.member.username, action="logout")
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response

"""The plumbing every console page shares: sign-in check, role check, CSRF check, rendering, headers.

Every console endpoint is wrapped by `page(permission)`, so none can forget a check: no session ->
the login page; a role below the permission -> 403; a POST without the session's CSRF token -> 403.
Handlers are plain functions run in the thread pool (the store is synchronous); `async def` handlers
are awaited (the reply handler pushes to Telegram).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.console import csrf
from bot.console.accounts import SessionInfo, StaffMember
from bot.console.state import ConsoleState, get_state
from bot.settings import MissingSecretError, Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "fd_session"
SECURE_SESSION_COOKIE = "__Host-fd_session"
"""The name when the cookie is Secure: browsers accept a __Host- cookie only with Secure, Path=/ and no
Domain, so neither a sibling subdomain nor plain http can plant or overwrite it."""
HSTS = "max-age=31536000"
SESSION_SALT = "frontdoor-console-session"
MAX_FORM_FIELD_CHARS = 200_000  # a whole catalogue file fits; anything larger is not a staff edit

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

# Fixed confirmation texts for ?ok=<code> after a redirect (never reflect free text from the URL).
OK_MESSAGES = {
    "claimed": "已认领。",
    "assigned": "已分派。",
    "transferred": "已转办，首办责任人不变。",
    "status": "状态已更新。",
    "category": "分类已更新。班长可在“纠正与学习”页把这条诉求加入该分类的示例，机器人以后会分得更准。",
    "note": "备注已保存。",
    "erased": "这位群众的个人信息已删除或匿名化；工单编号和处理记录（不含内容）保留，审计日志已记录。",
    "reply": "回复已发送给群众。",
    "handoff_staff": "已由人工接管会话，机器人暂停回复。",
    "handoff_bot": "已把会话交还机器人。",
    "follow_up": "回访结果已记录。",
    "saved": "已保存并生效。",
    "lesson_taught": "已加入示例。分诊引擎在后台重新学习，通常半分钟内生效，类似的诉求以后会按这次的纠正处理。",
    "lesson_dismissed": "已忽略这条纠正，文件未改动。",
    "safety_feedback": "已记录对安全筛查的反馈（管理员在“纠正与学习”页处理）。漏判的危机请同时按危机流程处理。",
    "user_created": "账号已创建。",
    "user_updated": "账号已更新。",
    "password": "密码已重置，该账号的登录会话已全部退出。对方下次登录时须自行设置新密码。",
    "password_changed": "密码已修改。其他设备上的登录已全部退出。",
    "mfa_reset": "已重置该账号的两步验证，其登录会话已全部退出。对方下次登录时需重新设置。",
    "recovery_codes": "已生成新的恢复码，旧的恢复码已作废。",
}

# Where a session that still owes a login step is sent (see accounts.pending_stage).
STAGE_PAGES = {"mfa": "/console/login/mfa", "password": "/console/account/password", "enrol": "/console/account/mfa"}


class HttpError(Exception):
    """Raised by handlers to answer with an error page (404 hides what exists; 403 says "not yours")."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found() -> HttpError:
    return HttpError(404, "没有找到这个页面，或者您无权查看。")


@dataclass
class Ctx:
    """One request as a handler sees it: who, which state, the checked form."""

    request: Request
    state: ConsoleState
    member: StaffMember
    session_id: str
    secret: str
    stage: str | None = None
    form: FormData | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def csrf_token(self) -> str:
        return csrf.session_token(self.secret, self.session_id)

    def field(self, name: str, default: str = "") -> str:
        """A form field as stripped text ('' when absent; a file upload counts as absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        ok = self.request.query_params.get("ok", "")
        context.setdefault("ok_message", OK_MESSAGES.get(ok))
        context.update(member=self.member, csrf_token=self.csrf_token, request=self.request, stage=self.stage)
        response = self.state.templates.TemplateResponse(self.request, template, context, status_code=status)
        return response

    def redirect(self, path: str, ok: str | None = None, **params: str) -> RedirectResponse:
        query = {**params, **({"ok": ok} if ok else {})}
        url = path + ("?" + urlencode(query) if query else "")
        return RedirectResponse(url, status_code=303)


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class HstsMiddleware:
    """Strict-Transport-Security on every console response (pages, redirects, static files)
    when the cookie is Secure (FRONTDOOR_COOKIE_SECURE): the console is then served over https only,
    and browsers must not fall back to plain http, where the cookie would not be sent anyway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not cookie_is_secure(scope["app"]):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def cookie_is_secure(app: Any) -> bool:
    """The console's cookie setting: the console state's settings, else the app's, else the environment."""
    console = getattr(app.state, "console", None)
    settings = console.settings if console is not None else getattr(app.state, "settings", None)
    return bool((settings or Settings()).cookie_secure)


def session_cookie_name(secure_cookie: bool) -> str:
    return SECURE_SESSION_COOKIE if secure_cookie else SESSION_COOKIE


def error_page(request: Request, state: ConsoleState | None, status: int, message: str) -> Response:
    if state is None:
        return secure(HTMLResponse(f"<!doctype html><html lang='zh-CN'><p>{message}</p></html>", status_code=status))
    response = state.templates.TemplateResponse(
        request, "error.html", {"message": message, "status": status, "member": None}, status_code=status
    )
    return secure(response)


def serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SESSION_SALT)


def session_cookie_token(request: Request, secret: str) -> str | None:
    raw = request.cookies.get(session_cookie_name(cookie_is_secure(request.app)))
    if not raw:
        return None
    try:
        token = serializer(secret).loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def set_session_cookie(response: Response, request: Request, secret: str, token: str) -> None:
    """HttpOnly, SameSite=Lax (links from alerts keep working; POSTs need the CSRF token anyway),
    Path=/ and no Domain. Secure with the __Host- prefix unless FRONTDOOR_COOKIE_SECURE says otherwise
    (by default only a loopback FRONTDOOR_HOST serves it over plain http). No max-age: the session ends
    with the browser or the idle timeout, whichever comes first."""
    secure_cookie = cookie_is_secure(request.app)
    response.set_cookie(
        session_cookie_name(secure_cookie),
        serializer(secret).dumps(token),
        httponly=True,
        samesite="lax",
        secure=secure_cookie,
        path="/",
    )


def delete_session_cookie(response: Response, request: Request) -> None:
    secure_cookie = cookie_is_secure(request.app)
    response.delete_cookie(
        session_cookie_name(secure_cookie), path="/", secure=secure_cookie, httponly=True, samesite="lax"
    )


def login_redirect(request: Request, why: str | None = None) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # an action URL cannot be opened after login: go back to the queue
        target = "/console/"
    params = {"next": target}
    if why in ("idle", "expired", "unfinished"):
        params["why"] = why
    return RedirectResponse("/console/login?" + urlencode(params, quote_via=quote), status_code=303)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


Handler = Callable[[Ctx], Response | Awaitable[Response]]


def page(
    permission: str = "queue", stages: Iterable[str] = ()
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler with the sign-in, role and (for POST) CSRF checks.

    A session that still owes a login step (`SessionInfo.stage`) opens only the pages that name that
    step in `stages`; any other page sends it to its step's page.
    """
    allowed = frozenset(stages)

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        is_async = inspect.iscoroutinefunction(handler)

        async def endpoint(request: Request) -> Response:
            state = get_state(request)
            try:
                secret = state.settings.secret_key
            except MissingSecretError:
                return error_page(request, state, 503, "控制台未配置：请设置 FRONTDOOR_SECRET_KEY。")
            token = session_cookie_token(request, secret)
            info: SessionInfo | None = None
            why: str | None = None
            if token:
                info, why = await run_in_threadpool(state.accounts.resolve_session, token)
            if info is None:
                response: Response = login_redirect(request, why)
                if token:
                    delete_session_cookie(response, request)
                return secure(response)
            if info.stage is not None and info.stage not in allowed:
                return secure(RedirectResponse(STAGE_PAGES.get(info.stage, "/console/login"), status_code=303))
            if not info.member.can(permission):
                return error_page(request, state, 403, "您的角色没有这个权限。")
            ctx = Ctx(request, state, info.member, info.session_id, secret, info.stage)
            if request.method == "POST":
                try:
                    ctx.form = await request.form(max_part_size=MAX_FORM_FIELD_CHARS * 4)
                except Exception:  # malformed bodies are the client's problem, said plainly
                    return error_page(request, state, 400, "表单无法解析。")
                given = ctx.form.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
                if not csrf.valid_session_token(secret, info.session_id, given if isinstance(given, str) else None):
                    log.warning("console POST %s refused: missing or wrong CSRF token", request.url.path)
                    return error_page(request, state, 403, "请求已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
            try:
                if is_async:
                    result = await handler(ctx)  # type: ignore[misc]
                else:
                    result = await run_in_threadpool(handler, ctx)
            except HttpError as exc:
                return error_page(request, state, exc.status, exc.message)
            for name, value in ctx.extra_headers.items():
                result.headers[name] = value
            return secure(result)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return decorate

"""`python -m bot.console create-admin|bench`: the console's command line.

create-admin reads the password from FRONTDOOR_ADMIN_PASSWORD or asks for it twice (never echoed). The
admin chose it, so it is not a password to change at the first login; two-step verification is set up
at that login when FRONTDOOR_CONSOLE_REQUIRE_MFA is on (the default).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from bot.settings import get_settings


def _password() -> str:
    given = get_settings().admin_password
    if given:
        return given
    if not sys.stdin.isatty():
        raise SystemExit("no terminal to ask for the password: set FRONTDOOR_ADMIN_PASSWORD")
    first = getpass.getpass("新管理员密码（至少10个字符）: ")
    if getpass.getpass("再输入一次: ") != first:
        raise SystemExit("两次输入的密码不一致")
    return first


def create_admin(url: str, username: str, desks: list[str], display_name: str | None) -> int:
    from bot.console.accounts import AccountError, StaffAccounts
    from bot.console.models import Role
    from bot.db.engine import make_engine, session_factory
    from bot.db.migrate import migrate
    from bot.tickets.models import utcnow

    engine = make_engine(url)
    try:
        migrate(engine)
        accounts = StaffAccounts(session_factory(engine), clock=utcnow)
        try:
            member = accounts.create_user(
                username, _password(), role=Role.ADMIN, desks=desks, display_name=display_name
            )
        except AccountError as exc:
            print(f"未创建：{exc}", file=sys.stderr)
            return 1
    finally:
        engine.dispose()
    unknown = [d for d in member.desks if d not in get_settings().desks]
    print(f"管理员 {member.username} 已创建，服务台：{', '.join(member.desks)}。登录：/console/login")
    if get_settings().console_require_mfa:
        print("首次登录时，输入密码后需用手机验证器应用（TOTP）设置两步验证，并保存恢复码。")
    if unknown:
        print(f"注意：{', '.join(unknown)} 不在 FRONTDOOR_DESKS 中。", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console", description=__doc__)
    parser.add_argument("--url", help="database URL (default: FRONTDOOR_DATABASE_URL or var/frontdoor.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an admin account (the first one, or another)")
    admin.add_argument("--username", required=True)
    admin.add_argument("--desk", action="append", required=True, help="a desk the admin serves (repeatable)")
    admin.add_argument("--name", help="display name (default: the username)")
    bench = commands.add_parser("bench", help="p95 render times of queue, ticket and analytics pages")
    bench.add_argument("-n", type=int, default=10_000, help="tickets to seed (default 10000)")
    args = parser.parse_args(argv)
    if args.command == "create-admin":
        return create_admin(args.url or get_settings().database_url, args.username, args.desk, args.name)
    from benchmarks.console_bench import run_bench  # a benchmark: runs from the checkout

    print(json.dumps(run_bench(args.n), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

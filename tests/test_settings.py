"""bot/settings.py: every FRONTDOOR_* variable is read there (and listed by Settings.variables()), the
README's settings table documents exactly those, and the settings moved there keep their defaults and
say what is wrong with a bad value.
"""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

import pytest

import bot.settings as settings_module
from bot.settings import (
    DEFAULT_STAFF_HOURS,
    REPO_ROOT,
    TELEGRAM_TOKEN_PREFIX,
    WECHAT_KF_PARTS,
    WECHAT_KF_PREFIX,
    WECHAT_PARTS,
    WECHAT_PREFIX,
    MissingSecretError,
    Settings,
    get_settings,
)

README = REPO_ROOT / "README.md"
VARIABLE = re.compile(r"^FRONTDOOR_[A-Z0-9_]+$")
# composes the environments of the processes it starts / sets a throwaway secret for its own run
MAY_READ_THE_ENVIRONMENT = {"bot/settings.py", "bot/launcher.py"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(settings_module, "_warned", set())  # each test sees its own warnings


def read_by_settings() -> set[str]:
    return {name for name, _ in Settings.variables()}


# --- every FRONTDOOR_* variable is read by the settings, and listed ------------------------------


def test_the_settings_list_each_variable_once_with_its_attribute() -> None:
    names = [name for name, _ in Settings.variables()]
    assert len(names) == len(set(names))
    assert len(names) > 20
    for name, attribute in Settings.variables():
        assert name.startswith("FRONTDOOR_")
        assert attribute in Settings.__dataclass_fields__ or hasattr(Settings, attribute), attribute


def test_the_settings_module_reads_no_variable_it_does_not_list() -> None:
    """Guards the list itself: every FRONTDOOR_* name written in bot/settings.py is one it lists."""
    tree = ast.parse((REPO_ROOT / "bot" / "settings.py").read_text(encoding="utf-8"))
    written = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and VARIABLE.match(node.value)
    }
    per_desk = (
        {f"{TELEGRAM_TOKEN_PREFIX}<desk>"}
        | {f"{WECHAT_PREFIX}<desk>_{part}" for part in WECHAT_PARTS}
        | {f"{WECHAT_KF_PREFIX}<desk>_{part}" for part in WECHAT_KF_PARTS}
    )
    assert written - {TELEGRAM_TOKEN_PREFIX, WECHAT_PREFIX, WECHAT_KF_PREFIX} == read_by_settings() - per_desk


def _environment_reads(path: Path) -> list[tuple[int, str]]:
    """(line, key) of each os.environ.get/pop/setdefault/[...] or os.getenv whose key is a FRONTDOOR_*
    literal or not a literal at all (a constant holding a name would hide the read)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            target = ast.unparse(node.func)
            if target in {"os.getenv", "os.environ.get", "os.environ.pop", "os.environ.setdefault"}:
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            key = node.slice
        if key is None:
            continue
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)) or key.value.startswith("FRONTDOOR_"):
            found.append((node.lineno, ast.unparse(key)))
    return found


def test_only_the_settings_read_frontdoor_variables_in_bot_and_actions() -> None:
    offenders = []
    for folder in ("bot", "actions"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if relative not in MAY_READ_THE_ENVIRONMENT:
                offenders += [f"{relative}:{line} reads {key}" for line, key in _environment_reads(path)]
    assert not offenders, "read these through bot.settings.Settings instead:\n" + "\n".join(offenders)


# --- the README's settings table and the settings agree -----------------------------------------


def documented(readme: str) -> set[str]:
    """The FRONTDOOR_* names in backticks in the first column of the README's `## Settings` table."""
    section = re.search(r"^## Settings\n(.*?)(?=^## |\Z)", readme, flags=re.MULTILINE | re.DOTALL)
    assert section is not None, "README.md has no '## Settings' section"
    names = set()
    for line in section.group(1).splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            names.update(n for n in re.findall(r"`([^`]+)`", cells[1]) if n.startswith("FRONTDOOR_"))
    return names


def test_every_variable_the_settings_read_is_in_the_readme() -> None:
    missing = read_by_settings() - documented(README.read_text(encoding="utf-8"))
    assert not missing, f"add a row to the README's settings table for: {sorted(missing)}"


def test_every_frontdoor_variable_in_the_readme_is_read_by_the_settings() -> None:
    unread = documented(README.read_text(encoding="utf-8")) - read_by_settings()
    assert not unread, f"the README documents variables that nothing reads: {sorted(unread)}"


def test_a_removed_readme_row_is_noticed() -> None:
    readme = README.read_text(encoding="utf-8")
    for name in ("FRONTDOOR_FOLLOW_UP_INTERVAL", f"{TELEGRAM_TOKEN_PREFIX}<desk>", "FRONTDOOR_RASA_TOKEN"):
        without = "\n".join(line for line in readme.splitlines() if not line.startswith(f"| `{name}`"))
        assert without != readme, name
        assert documented(readme) - documented(without) == {name}  # and the first test names it


# --- the settings moved into Settings -----------------------------------------------------------


def test_defaults_of_the_moved_settings() -> None:
    settings = get_settings()
    assert settings.staff_hours == DEFAULT_STAFF_HOURS == "12355=09:00-18:00"
    assert settings.follow_up_interval == 60.0
    assert settings.warm_up is False
    assert settings.admin_password is None


def test_the_moved_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=08:30-17:30")
    monkeypatch.setenv("FRONTDOOR_FOLLOW_UP_INTERVAL", "2.5")
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "1")
    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", " a long password ")
    settings = get_settings()
    assert settings.staff_hours == "12345=08:30-17:30"
    assert settings.follow_up_interval == 2.5
    assert settings.warm_up is True
    assert settings.admin_password == " a long password "  # exactly as given, as before
    assert "a long password" not in repr(settings)  # a secret: read when asked for, never stored


def test_staff_hours_keep_the_default_for_a_desk_the_setting_does_not_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.intake.hours import staff_hours

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=08:30-17:30")
    assert [hours.describe() if hours else None for hours in map(staff_hours, ("12345", "12355", "9"))] == [
        "08:30-17:30",
        "09:00-18:00",
        None,
    ]


def test_a_bad_staff_hours_part_is_skipped_with_a_warning_that_says_what_to_write(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.intake.hours import staff_hours

    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=8-17")
    with caplog.at_level(logging.WARNING):
        assert staff_hours("12345") is None  # still 7x24
    assert "FRONTDOOR_STAFF_HOURS: ignoring '12345=8-17' (expected desk=HH:MM-HH:MM or desk=24h)" in caplog.text


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("-5", 0.0), (" 30 ", 30.0)])
def test_the_follow_up_interval_is_never_negative(monkeypatch: pytest.MonkeyPatch, value: str, seconds: float) -> None:
    from bot.followups.runtime import interval_seconds

    monkeypatch.setenv("FRONTDOOR_FOLLOW_UP_INTERVAL", value)
    assert get_settings().follow_up_interval == interval_seconds() == seconds


def test_a_bad_follow_up_interval_uses_the_default_and_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The app still starts (as before); the warning names the variable, the value and what to set, once."""
    monkeypatch.setenv("FRONTDOOR_FOLLOW_UP_INTERVAL", "every minute")
    with caplog.at_level(logging.WARNING):
        assert get_settings().follow_up_interval == 60.0
        assert get_settings().follow_up_interval == 60.0
    warnings = [r.getMessage() for r in caplog.records if "FRONTDOOR_FOLLOW_UP_INTERVAL" in r.getMessage()]
    assert warnings == [
        "FRONTDOOR_FOLLOW_UP_INTERVAL is not a number ('every minute'); using 60 s. "
        "Set it to the seconds between follow-up runs, or 0 to turn them off."
    ]


def test_a_warm_up_value_other_than_1_is_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "yes")
    with caplog.at_level(logging.WARNING):
        assert get_settings().warm_up is False
    assert "FRONTDOOR_WARM_UP is 'yes'; no warm-up. Set it to 1" in caplog.text
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "0")
    caplog.clear()
    assert get_settings().warm_up is False and not caplog.text


def test_the_action_server_starts_even_when_a_setting_is_bad(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from actions import warm_up

    monkeypatch.setenv("SANIC_WORKER_NAME", "Sanic-Server-0-0")
    monkeypatch.setenv("FRONTDOOR_WARM_UP", "1")
    monkeypatch.setenv("FRONTDOOR_RASA_REPLICAS", "many")
    assert warm_up.wanted() is False
    assert "FRONTDOOR_RASA_REPLICAS must be a whole number" in caplog.text


def test_create_admin_takes_the_password_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.console.__main__ import _password

    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", "a-long-admin-password")
    assert _password() == "a-long-admin-password"


# --- bad values of the other settings name the variable -----------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FRONTDOOR_PORT", "eighty", "FRONTDOOR_PORT must be a whole number (default 8000), not 'eighty'"),
        ("FRONTDOOR_ACTION_PORT", "5055.5", "FRONTDOOR_ACTION_PORT must be a whole number (default 5055)"),
        ("FRONTDOOR_RASA_TIMEOUT", "10s", "FRONTDOOR_RASA_TIMEOUT must be a number (default 10), not '10s'"),
        ("FRONTDOOR_TORCH_THREADS", "65", "FRONTDOOR_TORCH_THREADS must be from 0 to 64, not 65"),
        ("FRONTDOOR_RASA_PORT", "", "FRONTDOOR_RASA_PORT must be a whole number from 1 to 65535, not ''"),
    ],
)
def test_a_bad_number_names_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings()


def test_the_documented_defaults() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.action_server_port) == ("127.0.0.1", 8000, 5055)
    assert (settings.rasa_url, settings.rasa_port, settings.rasa_replicas) == ("http://127.0.0.1:5005", 5005, 1)
    assert (settings.rasa_timeout_seconds, settings.torch_threads, settings.desks) == (10.0, 0, ("12345", "12355"))
    assert settings.data_dir == REPO_ROOT / "var"
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'frontdoor.db'}"
    assert settings.embedding_model == str(settings.cache_dir / "models" / "multilingual-e5-small")
    assert settings.action_url is settings.telegram_webhook_url is settings.telegram_staff_chat_id is None
    assert settings.telegram_base_url is settings.telegram_webhook_secret is Settings.telegram_token("12345") is None


def test_a_missing_secret_says_which_variable_to_set() -> None:
    with pytest.raises(MissingSecretError, match=r"FRONTDOOR_SECRET_KEY is not set\. Set it in the environment"):
        _ = Settings().secret_key


def test_settings_stay_light_to_import_for_the_rasa_environment() -> None:
    """The Rasa 3.10 environment imports parts of bot/: bot.settings uses the standard library only."""
    tree = ast.parse((REPO_ROOT / "bot" / "settings.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "logging", "os", "collections", "dataclasses", "pathlib", "typing"}


# --- WeChat accounts per desk -------------------------------------------------------------------


def test_a_desk_without_wechat_settings_has_no_account() -> None:
    assert Settings.wechat_account("12345") is None
    assert get_settings().wechat_api_base == "https://api.weixin.qq.com"


def test_a_wechat_account_is_read_per_desk_and_keeps_its_secrets_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    for part, value in {"APPID": "wx1", "SECRET": "s3cret", "TOKEN": "tok3n", "AES_KEY": "k" * 43}.items():
        monkeypatch.setenv(f"{WECHAT_PREFIX}12355_{part}", value)
    account = Settings.wechat_account("12355")
    assert account is not None and (account.app_id, account.secret, account.token) == ("wx1", "s3cret", "tok3n")
    assert account.aes_key == "k" * 43 and account.aes_key_previous is None
    assert "s3cret" not in repr(account) and "tok3n" not in repr(account)
    assert Settings.wechat_account("12345") is None


def test_a_half_configured_wechat_account_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{WECHAT_PREFIX}12345_APPID", "wx1")
    with pytest.raises(MissingSecretError, match="FRONTDOOR_WECHAT_12345_SECRET, FRONTDOOR_WECHAT_12345_TOKEN"):
        Settings.wechat_account("12345")


def test_a_desk_without_wechat_kf_settings_has_no_kf_account() -> None:
    assert Settings.wechat_kf_account("12355") is None
    assert get_settings().wechat_kf_api_base == "https://qyapi.weixin.qq.com"


def test_a_wechat_kf_account_is_read_per_desk_and_keeps_its_secrets_out_of_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {"CORPID": "ww1", "SECRET": "kfs3cret", "OPEN_KFID": "wk1", "TOKEN": "kftok3n", "AES_KEY": "k" * 43}
    for part, value in values.items():
        monkeypatch.setenv(f"{WECHAT_KF_PREFIX}12355_{part}", value)
    account = Settings.wechat_kf_account("12355")
    assert account is not None and (account.corp_id, account.open_kfid, account.secret) == ("ww1", "wk1", "kfs3cret")
    assert account.aes_key == "k" * 43 and account.aes_key_previous is None
    assert "kfs3cret" not in repr(account) and "kftok3n" not in repr(account)
    assert Settings.wechat_kf_account("12345") is None and Settings.wechat_account("12355") is None


def test_a_half_configured_wechat_kf_account_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{WECHAT_KF_PREFIX}12355_CORPID", "ww1")
    monkeypatch.setenv(f"{WECHAT_KF_PREFIX}12355_SECRET", "s")
    with pytest.raises(
        MissingSecretError, match="FRONTDOOR_WECHAT_KF_12355_OPEN_KFID, FRONTDOOR_WECHAT_KF_12355_TOKEN"
    ):
        Settings.wechat_kf_account("12355")

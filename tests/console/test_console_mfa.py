"""bot/console/mfa.py: TOTP steps with drift and replay, recovery codes; accounts' MFA state."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from console_support import Staff

from bot.console import mfa
from bot.console.accounts import AccountError
from bot.console.state import ConsoleState
from tests.support.clock import FakeClock


def test_a_code_matches_its_step_and_one_either_side_only(clock: FakeClock) -> None:
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = clock()
    step = totp.timecode(now)
    assert mfa.matching_step(secret, totp.at(now), now, None) == step
    assert mfa.matching_step(secret, totp.at(now - timedelta(seconds=30)), now, None) == step - 1
    assert mfa.matching_step(secret, totp.at(now + timedelta(seconds=30)), now, None) == step + 1
    assert mfa.matching_step(secret, totp.at(now - timedelta(seconds=90)), now, None) is None
    assert mfa.matching_step(secret, " ".join(totp.at(now)), now, None) == step  # spaces typed in are fine
    assert mfa.matching_step(secret, "12345", now, None) is None
    assert mfa.matching_step(secret, totp.at(now), now, after=step) is None  # a replay
    assert mfa.matching_step(secret, totp.at(now), now, after=step - 1) == step


def test_the_uri_names_the_issuer_the_account_and_the_secret() -> None:
    uri = mfa.uri("JBSWY3DPEHPK3PXP", "wang.sup")
    assert uri.startswith("otpauth://totp/") and "wang.sup" in uri and "secret=JBSWY3DPEHPK3PXP" in uri
    assert "issuer=" in uri
    assert mfa.grouped("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP"


def test_recovery_codes_are_random_hashed_per_account_and_forgiving_to_type() -> None:
    codes = mfa.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(c) == 14 and c[4] == c[9] == "-" for c in codes)
    code = codes[0]
    assert mfa.hash_recovery_code(1, code) == mfa.hash_recovery_code(1, code.lower().replace("-", " "))
    assert mfa.hash_recovery_code(1, code) != mfa.hash_recovery_code(2, code)
    assert mfa.looks_like_recovery_code(code) and not mfa.looks_like_recovery_code("123456")


def test_enrolment_keeps_its_secret_until_confirmed_and_only_then_turns_on(
    console: ConsoleState, staff: Staff, clock: FakeClock
) -> None:
    member = console.accounts.get(staff.supervisor)
    assert member is not None
    secret = console.accounts.enrolment_secret(member.id)
    assert console.accounts.enrolment_secret(member.id) == secret  # a reload shows the same secret
    assert console.accounts.confirm_enrolment(member.id, "000000") is None
    assert not console.accounts.member(member.id).mfa_enabled
    codes = console.accounts.confirm_enrolment(member.id, pyotp.TOTP(secret).at(clock()))
    assert codes is not None and len(codes) == 10
    assert console.accounts.member(member.id).mfa_enabled
    with pytest.raises(AccountError):
        console.accounts.enrolment_secret(member.id)  # set up already: no second secret


def test_verify_refuses_the_enrolment_step_and_accepts_each_recovery_code_once(
    console: ConsoleState, staff: Staff, clock: FakeClock
) -> None:
    member = console.accounts.get(staff.admin)
    assert member is not None
    secret = console.accounts.enrolment_secret(member.id)
    first = pyotp.TOTP(secret).at(clock())
    codes = console.accounts.confirm_enrolment(member.id, first) or []
    assert console.accounts.verify_mfa(member.id, first, "10.0.0.1") is None  # used to confirm
    clock.advance(seconds=30)
    later = pyotp.TOTP(secret).at(clock())
    assert console.accounts.verify_mfa(member.id, later, "10.0.0.1") == "totp"
    assert console.accounts.verify_mfa(member.id, later, "10.0.0.1") is None
    assert console.accounts.verify_mfa(member.id, codes[3], "10.0.0.1") == "recovery"
    assert console.accounts.verify_mfa(member.id, codes[3], "10.0.0.1") is None
    assert console.accounts.recovery_codes_left(member.id) == 9
    renewed = console.accounts.new_recovery_codes(member.id)
    assert console.accounts.verify_mfa(member.id, codes[4], "10.0.0.1") is None  # the old set is void
    assert console.accounts.verify_mfa(member.id, renewed[0], "10.0.0.1") == "recovery"

"""TOTP codes (RFC 6238, through pyotp) and one-time recovery codes for the console's second factor.

Why it is built this way:

* a code is accepted for its own 30-second step and one step either side (clocks of phones drift),
  and only for a step later than the last one accepted: the same code cannot be used twice, not even
  within its window (ASVS 2.8.4);
* recovery codes are random (12 characters of base32: 60 bits), shown once, and stored as SHA-256 of
  the account id and the code: with that much randomness a slow hash adds nothing, and a database
  leak yields no usable code;
* nothing here touches the database; `accounts.py` keeps the secret, the last step and the codes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "前门工作台"
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # base32 without 0/O, 1/I look-alikes


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code, or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step `code` belongs to (within the drift), if it is later than `after`; else None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):  # compare every candidate: no early exit on timing
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            found = current + offset
    if found is None or (after is not None and found <= after):
        return None
    return found


def new_recovery_codes() -> list[str]:
    """Codes formatted for reading aloud and writing down: XXXX-XXXX-XXXX."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_recovery_code(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{normalise_recovery_code(code)}".encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_recovery_code(code)) == 12

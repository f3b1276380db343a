"""WeChat Official Account callback security: signatures, safe-mode AES and XML, in our own small code.

Why our own code and not wechatpy: wechatpy 1.8.18 (2021) is synchronous (`requests`), stops at
Python 3.7 in its classifiers and pulls six, xmltodict, optionaldict and requests; 2.0.0a26 is a
pre-release from 2022. What the channel needs from it is about a hundred lines, all checked against
wechatpy's `crypto/base.py` and `crypto/__init__.py` (MIT) and WeChat's documentation:

- signature: SHA1 of the sorted strings (token, timestamp, nonce[, Encrypt]) joined without separator;
- safe mode: key = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16]; plaintext =
  16 random bytes + 4-byte big-endian length + message + AppID, PKCS#7-padded to 32-byte blocks;
- XML: the standard library's parser (expat, no external entities), and any DOCTYPE/ENTITY refused
  before parsing, so neither an entity bomb nor an external entity can reach it.

The one package added is `cryptography` (AES), which is maintained and ships wheels.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with a 32-byte block), not AES's 16


class SignatureError(ValueError):
    """The request was not signed with this account's Token (or the ciphertext is not ours)."""


def signature(*parts: str) -> str:
    """SHA1 hex of the sorted parts, as WeChat signs callbacks (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected: str, *parts: str) -> bool:
    return hmac.compare_digest(signature(*parts).encode(), (expected or "").lower().encode())


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The flat <xml> of a callback as {tag: text}; ValueError for anything else (DOCTYPE refused)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise ValueError("XML with a DOCTYPE or entity declaration is refused")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise ValueError(f"not XML: {exc}") from None
    if root.tag != "xml":
        raise ValueError("the root element must be <xml>")
    return {child.tag: (child.text or "") for child in root}


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: dict[str, str | int]) -> str:
    """<xml> with strings as CDATA and numbers as they are (WeChat's own layout)."""
    inner = "".join(
        f"<{key}>{value}</{key}>" if isinstance(value, int) else f"<{key}>{_cdata(value)}</{key}>"
        for key, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


def text_reply(to_user: str, from_user: str, content: str, now: int | None = None) -> str:
    """A passive text reply (被动回复) to a message from `to_user` sent to the account `from_user`."""
    return render_xml(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": int(now if now is not None else time.time()),
            "MsgType": "text",
            "Content": content,
        }
    )


class Cipher32:
    """AES-256-CBC with one EncodingAESKey, in WeChat's message layout."""

    def __init__(self, encoding_aes_key: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("an EncodingAESKey has 43 characters (letters and digits)")
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("the EncodingAESKey does not decode to 32 bytes")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, message: str, app_id: str, random16: bytes | None = None) -> str:
        body = message.encode("utf-8")
        plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str, app_id: str) -> str:
        """The message; SignatureError when the padding, length or AppID do not match (wrong key or forged)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except ValueError:
            raise SignatureError("the ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise SignatureError("the ciphertext has a wrong length")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise SignatureError("bad padding: wrong EncodingAESKey")
        content = plain[16:-pad]
        if len(content) < 4:
            raise SignatureError("too short")
        (length,) = struct.unpack(">I", content[:4])
        message, tail = content[4 : 4 + length], content[4 + length :]
        if len(message) != length or tail.decode("utf-8", "replace") != app_id:
            raise SignatureError("the message is not for this AppID (wrong EncodingAESKey?)")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError("the message is not UTF-8") from None


class MessageCrypto:
    """Safe mode of one account: the current EncodingAESKey, and the previous one while WeChat may still use it."""

    def __init__(self, token: str, app_id: str, aes_key: str, previous_aes_key: str | None = None) -> None:
        self.token, self.app_id = token, app_id
        self.current = Cipher32(aes_key)
        self.previous = Cipher32(previous_aes_key) if previous_aes_key else None

    def decrypt(self, encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Check msg_signature over the ciphertext, then decrypt with the current key, else the previous."""
        if not check_signature(msg_signature, self.token, timestamp, nonce, encrypted):
            raise SignatureError("msg_signature does not match")
        try:
            return self.current.decrypt(encrypted, self.app_id)
        except SignatureError:
            if self.previous is None:
                raise
            return self.previous.decrypt(encrypted, self.app_id)

    def decrypt_message(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The inner XML of an encrypted callback body (<xml><ToUserName/><Encrypt/></xml>)."""
        encrypted = parse_xml(body).get("Encrypt", "")
        if not encrypted:
            raise SignatureError("safe mode: the body has no <Encrypt>")
        return self.decrypt(encrypted, msg_signature, timestamp, nonce)

    def encrypt_reply(self, xml: str, nonce: str, timestamp: str | None = None) -> str:
        """The encrypted envelope of a passive reply, signed like WeChat expects (always the current key)."""
        stamp = timestamp or str(int(time.time()))
        encrypted = self.current.encrypt(xml, self.app_id)
        return render_xml(
            {
                "Encrypt": encrypted,
                "MsgSignature": signature(self.token, stamp, nonce, encrypted),
                "TimeStamp": int(stamp) if stamp.isdigit() else stamp,
                "Nonce": nonce,
            }
        )

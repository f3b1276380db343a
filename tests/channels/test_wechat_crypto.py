"""Signatures, safe-mode AES and XML of bot/channels/wechat_crypto.py, checked against an independent
construction of WeChat's layout (random 16 + big-endian length + message + AppID, PKCS#7 to 32 bytes)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wechat_crypto import (
    Cipher32,
    MessageCrypto,
    SignatureError,
    check_signature,
    parse_xml,
    signature,
)

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the admin panel makes them
APP_ID = "wx1234567890abcdef"


def _raw_cipher() -> Cipher[modes.CBC]:
    key = base64.b64decode(KEY + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted(["token", "1700000000", "nonce"])).encode()).hexdigest()
    assert signature("token", "1700000000", "nonce") == expected
    assert check_signature(expected.upper(), "nonce", "token", "1700000000")
    assert not check_signature(expected, "token", "1700000001", "nonce")


def test_encryption_follows_wechats_layout() -> None:
    encrypted = Cipher32(KEY).encrypt("<xml>你好</xml>", APP_ID, random16=b"R" * 16)
    decryptor = _raw_cipher().decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    assert len(plain) % 32 == 0
    pad = plain[-1]
    body = "<xml>你好</xml>".encode()
    assert plain[:-pad] == b"R" * 16 + struct.pack(">I", len(body)) + body + APP_ID.encode()


def test_decryption_of_an_independently_made_message_and_its_checks() -> None:
    body = "<xml><Content>路灯</Content></xml>".encode()
    plain = b"0123456789abcdef" + struct.pack(">I", len(body)) + body + APP_ID.encode()
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    encryptor = _raw_cipher().encryptor()
    encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    assert Cipher32(KEY).decrypt(encrypted, APP_ID) == body.decode()
    with pytest.raises(SignatureError):
        Cipher32(KEY).decrypt(encrypted, "wx-another-account")
    with pytest.raises(SignatureError):
        Cipher32("Z" * 43).decrypt(encrypted, APP_ID)


def test_message_signature_and_the_previous_key() -> None:
    old, new = KEY, "B" * 43
    sender = MessageCrypto("tok", APP_ID, old)
    envelope = parse_xml(sender.encrypt_reply("<xml><A>1</A></xml>", "nonce1", "1700000000"))
    receiver = MessageCrypto("tok", APP_ID, new, previous_aes_key=old)
    assert receiver.decrypt(envelope["Encrypt"], envelope["MsgSignature"], "1700000000", "nonce1") == (
        "<xml><A>1</A></xml>"
    )
    with pytest.raises(SignatureError):
        receiver.decrypt(envelope["Encrypt"], envelope["MsgSignature"], "1700000001", "nonce1")
    with pytest.raises(SignatureError):
        MessageCrypto("tok", APP_ID, new).decrypt(envelope["Encrypt"], envelope["MsgSignature"], "1700000000", "nonce1")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
        b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>',
        b"not xml",
        b"<other><A>1</A></other>",
    ],
)
def test_entities_and_non_wechat_xml_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_xml(body)


def test_a_key_of_the_wrong_length_is_refused_with_what_to_set() -> None:
    with pytest.raises(ValueError, match="43 characters"):
        Cipher32("short")

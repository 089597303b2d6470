"""Encryption of secrets the product must store and use again (webhook URLs, signing secrets): Fernet
(AES-128-CBC with HMAC-SHA256), keys derived with HKDF-SHA256.

The key material is IAMREVIEW_FIELD_KEY when set (comma-separated: the first encrypts, every one
decrypts, so a key can be rotated), else SECRET_KEY. SECRET_KEY_FALLBACKS and, when a field key is set,
SECRET_KEY too are kept for decryption only, so that values stored before a change of key stay readable
until `manage.py rotate_field_key` re-encrypts them with the first key.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret none of the configured keys decrypts (the key changed and the old one is gone)."""


def _derive(material: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"iamreview", info=b"field-encryption").derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(key)


@cache
def _fernet(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(m)) for m in materials])


def _materials() -> tuple[str, ...]:
    ordered = [*settings.IAMREVIEW_FIELD_KEYS, settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return tuple(dict.fromkeys(m for m in ordered if m))


def encrypt(plaintext: str) -> str:
    """Ciphertext (text, safe for a TextField) of `plaintext`, with the current key; empty stays empty."""
    if not plaintext:
        return ""
    return _fernet(_materials()).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _fernet(_materials()).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "This secret was stored with a key that is no longer configured (IAMREVIEW_FIELD_KEY or "
            "SECRET_KEY changed): enter it again."
        ) from exc


def reencrypt(ciphertext: str) -> str:
    """The same secret under the current first key (for key rotation)."""
    if not ciphertext:
        return ""
    try:
        return _fernet(_materials()).rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("A stored secret no configured key decrypts.") from exc


def mask(secret: str, *, keep: int = 4) -> str:
    """Enough to recognise a secret, never enough to use it: the last `keep` characters only."""
    if not secret:
        return ""
    if len(secret) <= keep * 4:
        return "••••"
    return "••••" + secret[-keep:]

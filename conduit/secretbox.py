"""Encryption at rest for the passwords of mail servers (Fernet, keys from the environment).

MAILFLOW_ENCRYPTION_KEYS holds one or more Fernet keys, comma-separated: the first encrypts,
all decrypt, so a key can be rotated by putting the new one first.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted with the configured keys."""


@cache
def _box() -> MultiFernet:
    keys = settings.MAILFLOW_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "MAILFLOW_ENCRYPTION_KEYS is not set: it encrypts mail server passwords. Generate one "
            "with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MAILFLOW_ENCRYPTION_KEYS holds a value that is not a Fernet key ({exc}): each key "
            "is 32 url-safe base64-encoded bytes, as Fernet.generate_key() prints."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "A stored password cannot be decrypted: MAILFLOW_ENCRYPTION_KEYS no longer holds the "
            "key it was encrypted with. Put the old key back (after the new one) or enter the "
            "password again."
        ) from exc


class EncryptedPassword:
    """For models with a ``password_encrypted`` field: ``password`` reads and writes it in
    clear text, the database only ever holds it encrypted."""

    password_encrypted: str

    @property
    def password(self) -> str:
        return decrypt(self.password_encrypted) if self.password_encrypted else ""

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = encrypt(value) if value else ""

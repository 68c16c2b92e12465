"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import invalid
from api.i18n import _

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(
            field,
            _(
                "a password needs at least {MIN_PASSWORD_LENGTH} characters",
                MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH,
            ),
        )
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so that timing does not reveal unknown phones.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

"""Password hashing with argon2id."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import invalid
from api.i18n import _

_hasher = PasswordHasher()
# argon2 is heavy (64 MiB and four lanes per hash, each lane a core): sign-ins check passwords
# in a small pool of their own, off the event loop and apart from the default executor (files,
# DNS), one hash per two cores, so that a burst of sign-ins queues here and leaves the event
# loop its share of the CPU.
_HASHING = ThreadPoolExecutor(
    max_workers=max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="argon2"
)
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


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in the hashing pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_HASHING, verify_password, password_hash, password)

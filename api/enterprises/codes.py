"""Validation of the identifiers people type: credit codes and phone numbers."""

from __future__ import annotations

import re

from api.errors import invalid
from api.i18n import _

# GB 32100-2015: 18 characters from 31 symbols (no I, O, S, V, Z); the last is a check character.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PHONE = re.compile(r"^1[3-9]\d{9}$")


def credit_check_char(body: str) -> str:
    """The 18th character for a 17-character body."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(body, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(raw: str, field: str = "creditCode") -> str:
    code = raw.strip().upper()
    if len(code) != 18:
        raise invalid(
            field, _("a unified social credit code has 18 characters, got {count}", count=len(code))
        )
    bad = sorted({c for c in code if c not in CREDIT_ALPHABET})
    if bad:
        raise invalid(
            field, _("a unified social credit code cannot contain {value}", value="".join(bad))
        )
    if credit_check_char(code[:17]) != code[17]:
        raise invalid(field, _("the unified social credit code's check character does not match"))
    return code


def normalize_phone(raw: str, field: str = "phone") -> str:
    phone = re.sub(r"[\s-]", "", raw.strip())
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE.match(phone):
        raise invalid(field, _("a phone number is 11 digits starting with 13–19, e.g. 13800000000"))
    return phone

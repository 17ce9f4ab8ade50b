"""CPR numbers: validation (no modulus-11, issued since 2007), masking, keyed hashing."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from .errors import Invalid

_CPR = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


def normalise(raw: str) -> str:
    """Return the CPR as DDMMYYXXXX or raise Invalid (the message never repeats the number)."""
    m = _CPR.match(raw.strip())
    if not m:
        raise Invalid("A CPR number has ten digits, DDMMYY-XXXX.", code="invalid_cpr")
    dd, mm, yy, seq = m.groups()
    year = _century(int(yy), int(seq[0])) + int(yy)
    try:
        date(year, int(mm), int(dd))
    except ValueError:
        raise Invalid("The CPR number does not start with a valid birth date.",
                      code="invalid_cpr") from None
    return f"{dd}{mm}{yy}{seq}"


def _century(yy: int, digit7: int) -> int:
    # Danish CPR century rule (7th digit + year).
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def mask(cpr: str | None) -> str | None:
    """DDMMYY-XXXX: the birth date stays visible, the serial never."""
    if not cpr:
        return None
    return f"{cpr[:6]}-XXXX"


def pretty(cpr: str) -> str:
    return f"{cpr[:6]}-{cpr[6:]}"


def keyed_hash(cpr: str, key: bytes) -> str:
    """HMAC-SHA256 of the CPR: lets the audit log be searched per citizen without the number."""
    return hmac.new(key, cpr.encode(), hashlib.sha256).hexdigest()

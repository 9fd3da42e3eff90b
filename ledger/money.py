"""Money as integers in ten-thousandths of the currency unit.

1.00 CNY is 10_000. Amounts never pass through a float: decimal strings at
the edges are parsed digit by digit and formatted with exactly four decimals.
"""

from __future__ import annotations

import re

SCALE = 10_000
_MONEY_RE = re.compile(r"^([+-]?)(\d{1,15})(?:\.(\d{1,4}))?$")


class MoneyFormatError(ValueError):
    """Raised for a money string that is not a plain decimal with at most four places."""


def parse_money(text: str | int) -> int:
    """Parse `"12.34"` into 123400. Refuses floats, exponents and a fifth decimal."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise MoneyFormatError(f"money must be a decimal string, not {type(text).__name__}")
    if isinstance(text, int):
        return text * SCALE
    match = _MONEY_RE.match(text.strip())
    if match is None:
        raise MoneyFormatError(
            f"{text!r} is not an amount: use a decimal like 12.34 with at most 4 decimals"
        )
    sign, units, frac = match.groups()
    value = int(units) * SCALE + int((frac or "").ljust(4, "0"))
    return -value if sign == "-" else value


def format_money(amount: int) -> str:
    """Format 123400 as `"12.3400"`: always four decimals, a leading minus if negative."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"money amounts are int ten-thousandths, not {type(amount).__name__}")
    sign = "-" if amount < 0 else ""
    units, frac = divmod(abs(amount), SCALE)
    return f"{sign}{units}.{frac:04d}"


def parse_positive_money(text: str | int) -> int:
    """Parse an amount that must be greater than zero."""
    value = parse_money(text)
    if value <= 0:
        raise MoneyFormatError(f"amount must be greater than zero, got {text!r}")
    return value

"""Money as integers in ten-thousandths of the currency unit.

1.00 CNY is 10_000. Amounts never pass through a float: decimal strings at
the edges are parsed digit by digit (ASCII digits only) and formatted with
exactly four decimals.

Guarantee: no amount and no balance the ledger accepts is larger than
`MAX_AMOUNT` (99,999,999,999.9999). Every money column of every view is a
64-bit integer, about 9,200 times that, so any sum the views keep (house
accounts, revenue, report totals) fits with room to spare.
"""

from __future__ import annotations

import re

SCALE = 10_000
CURRENCY = "CNY"
#: The one declared maximum of an amount or a balance, in ten-thousandths (11 integer digits).
MAX_AMOUNT = 10**15 - 1
#: What a view column holds (BIGINT on PostgreSQL, INTEGER on SQLite).
COLUMN_MAX = 2**63 - 1
#: An optional minus, 1-11 ASCII digits, an optional point and 1-4 digits: no plus, no spaces.
_MONEY_RE = re.compile(r"(-?)([0-9]{1,11})(?:\.([0-9]{1,4}))?", re.ASCII)


class MoneyFormatError(ValueError):
    """Raised for a money string that is not a plain decimal with at most four places."""


def parse_money(text: str | int) -> int:
    """Parse `"12.34"` into 123400. Refuses floats, exponents, a fifth decimal, digits other
    than ASCII 0-9, a plus sign, spaces around the number and anything past `MAX_AMOUNT`."""
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise MoneyFormatError("money must be a decimal string such as 12.34")
    if isinstance(text, int):
        return check_amount(text * SCALE)
    match = _MONEY_RE.fullmatch(text)
    if match is None:
        raise MoneyFormatError(
            f"{text!r} is not an amount: use a decimal like 12.34 with at most 4 decimals"
            f" and at most {format_money(MAX_AMOUNT)}"
        )
    sign, units, frac = match.groups()
    value = int(units) * SCALE + int((frac or "").ljust(4, "0"))
    return check_amount(-value if sign == "-" else value)


def check_amount(amount: int) -> int:
    """Return `amount` if it is an int no larger than the declared maximum either way."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise MoneyFormatError("an amount must be a whole number of ten-thousandths")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyFormatError(f"an amount is at most {money_text(MAX_AMOUNT)}")
    return amount


def format_money(amount: int) -> str:
    """Format 123400 as `"12.3400"`: always four decimals, a leading minus if negative."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"money amounts are int ten-thousandths, not {type(amount).__name__}")
    sign = "-" if amount < 0 else ""
    units, frac = divmod(abs(amount), SCALE)
    return f"{sign}{units}.{frac:04d}"


def money_text(amount: int) -> str:
    """Money as a person reads it in a message: `"2.5000 CNY"`."""
    return f"{format_money(amount)} {CURRENCY}"


def parse_positive_money(text: str | int) -> int:
    """Parse an amount that must be greater than zero."""
    value = parse_money(text)
    if value <= 0:
        raise MoneyFormatError(f"amount must be greater than zero, got {text!r}")
    return value

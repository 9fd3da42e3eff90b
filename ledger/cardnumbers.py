"""Card and voucher numbers: cryptographically random, Luhn-checked.

A number is `body + check digit`; the body comes from `secrets`, its first
digit is never 0 (numbers print and type without losing a digit). The check
digit catches every single-digit typo and most transpositions before the
ledger is even asked.
"""

from __future__ import annotations

import secrets

from ledger.errors import InvalidRequest

#: Total digits (with the check digit) of each kind's number and PIN.
NUMBER_DIGITS = {"callback": 10, "voucher": 16}
PIN_DIGITS = {"callback": 6, "voucher": 10}


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_number(number: str) -> bool:
    return number.isascii() and number.isdigit() and len(number) >= 2 and (
        luhn_digit(number[:-1]) == number[-1]
    )


def new_number(kind: str) -> str:
    digits = NUMBER_DIGITS[kind] - 1
    low = 10 ** (digits - 1)
    body = str(low + secrets.randbelow(9 * low))
    return body + luhn_digit(body)


def check_card_number(number: str) -> str:
    if not isinstance(number, str) or not is_valid_number(number):
        raise InvalidRequest(f"{number!r} is not a card number (bad digits or check digit)")
    return number

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


_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2d, minus 9 when over 9


def luhn_digit(body: str) -> str:
    rev = body[::-1]
    total = sum(map(int, rev[0::2].translate(_DOUBLED))) + sum(map(int, rev[1::2]))
    return str(-total % 10)


def is_valid_number(number: str) -> bool:
    return number.isascii() and number.isdigit() and len(number) >= 2 and (
        luhn_digit(number[:-1]) == number[-1]
    )


def new_number(kind: str) -> str:
    return new_numbers(kind, 1)[0]


def new_numbers(kind: str, n: int) -> list[str]:
    """n numbers of `kind` from one read of the OS random source (uniform, no modulo bias)."""
    low = 10 ** (NUMBER_DIGITS[kind] - 2)
    bodies = [str(low + r) for r in uniform_draws(9 * low, n)]
    return [b + luhn_digit(b) for b in bodies]


def uniform_draws(span: int, n: int) -> list[int]:
    """n uniform integers in [0, span) by rejection sampling over 64-bit draws."""
    limit = (1 << 64) // span * span
    out: list[int] = []
    while len(out) < n:
        raw = secrets.token_bytes(8 * (n - len(out)))
        draws = (int.from_bytes(raw[i : i + 8], "big") for i in range(0, len(raw), 8))
        out.extend(x % span for x in draws if x < limit)
    return out


def check_card_number(number: str) -> str:
    if not isinstance(number, str) or not is_valid_number(number):
        raise InvalidRequest(f"{number!r} is not a card number (bad digits or check digit)")
    return number

"""What text and numbers the ledger accepts: only what every view can store.

Guarantees: no event the ledger records holds a control character (NUL
included), a lone surrogate, or an integer a 64-bit view column cannot
hold. Commands check their own inputs with `check_text` (a clear message
naming the field); `check_storable` looks at every recorded event before it
is saved, so a field a command forgot is refused, not stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ledger.errors import InvalidRequest
from ledger.money import COLUMN_MAX

#: C0 and C1 control characters, DEL, and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The longest free text a command takes (a reason, a memo, a label).
MAX_TEXT = 500
#: The most digits of a calling and of a called number (the SIP server requirements of the
#: source documents); separators and a leading + are not counted.
MAX_CALLER_DIGITS, MAX_CALLEE_DIGITS = 20, 28
_DIGITS = frozenset("0123456789")


def has_control(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def check_text(value: Any, what: str, max_len: int = MAX_TEXT, *, required: bool = False) -> str:
    """Return `value` if it is a string of at most `max_len` characters without control characters."""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be text")
    if required and not value.strip():
        raise InvalidRequest(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidRequest(f"{what} is at most {max_len} characters")
    if has_control(value):
        raise InvalidRequest(f"{what} must not contain control characters")
    return value


def check_digits(value: str, what: str, most: int) -> str:
    """Return `value` if it holds at most `most` ASCII digits."""
    if len(value) > most and sum(c in _DIGITS for c in value) > most:
        raise InvalidRequest(f"{what} has at most {most} digits")
    return value


def check_storable(events: Iterable[Any]) -> None:
    """Refuse (InvalidRequest) any event holding text or a number that a view could not store.

    It runs on the hook path, so it walks each event once without recursion, and most text
    passes `str.isprintable` (C speed) before the regex looks at it.
    """
    for event in events:
        pending: list[Any] = list(vars(event).values())
        while pending:
            value = pending.pop()
            kind = type(value)
            if kind is str:
                if not value.isprintable() and _UNSTORABLE.search(value):
                    raise InvalidRequest("text must not contain control characters")
            elif kind is int:
                if not -COLUMN_MAX <= value <= COLUMN_MAX:
                    raise InvalidRequest(f"a number is out of range (at most {COLUMN_MAX} either way)")
            elif kind is dict:
                pending.extend(value)
                pending.extend(value.values())
            elif kind is list or kind is tuple:
                pending.extend(value)
            elif isinstance(value, str | int) and not isinstance(value, bool):
                pending.append(str(value) if isinstance(value, str) else int(value))

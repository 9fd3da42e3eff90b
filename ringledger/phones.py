"""Phone numbers at the edge: parsed with phonenumbers into E.164."""

from __future__ import annotations

import phonenumbers

from ledger.errors import InvalidRequest


def to_e164(raw: str, region: str = "CN") -> str:
    """`13800138000`, `+86 138 0013 8000` → `+8613800138000`; invalid input raises InvalidRequest."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidRequest(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidRequest(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

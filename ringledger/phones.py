"""Phone numbers at the edge: the number plan's one normaliser, with its error as a bad request."""

from __future__ import annotations

from ledger.errors import InvalidRequest
from rating.numberplan import InvalidNumber
from rating.numberplan import to_e164 as _to_e164


def to_e164(raw: str) -> str:
    """`13800138000`, `+86 138 0013 8000` → `+8613800138000`; what the hooks would refuse raises InvalidRequest."""
    try:
        return _to_e164(raw)
    except InvalidNumber as err:
        raise InvalidRequest(str(err)) from None

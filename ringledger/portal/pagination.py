"""Cursor pagination over keyset order: no gaps and no duplicates while rows are added.

A cursor is the sort key of the last row seen (opaque base64 JSON); the next
page is `key > cursor` in the same order, never an OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any

from ledger.errors import InvalidRequest

MAX_PAGE = 500


def encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


MAX_CURSOR_TEXT = 200
MAX_CURSOR_INT = 2**63 - 1  # what every BIGINT column holds


def decode(cursor: str | None, *types: type) -> list[Any] | None:
    """The sort key in `cursor`, one value of each of `types` (str or int); anything else is a bad request.

    A cursor is client input: a value of the wrong type, out of a column's
    range or holding control characters is refused here, before it reaches SQL.
    """
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest("not a cursor from this API") from None
    if not isinstance(key, list) or len(key) != len(types):
        raise InvalidRequest("not a cursor from this API")
    for value, kind in zip(key, types, strict=True):
        if kind is int:
            ok = type(value) is int and 0 <= value <= MAX_CURSOR_INT
        else:
            ok = type(value) is str and len(value) <= MAX_CURSOR_TEXT and value.isprintable()
        if not ok:
            raise InvalidRequest("not a cursor from this API")
    return key


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidRequest(f"first must be 1 to {MAX_PAGE}")
    return first


def connection(rows: Sequence[Any], first: int, key: Callable[[Any], Sequence[Any]]) -> dict[str, Any]:
    """`rows` holds up to first + 1 rows (the extra one only says there is a next page)."""
    edges = [{"cursor": encode(key(r)), "node": r} for r in rows[:first]]
    return {
        "edges": edges,
        "page_info": {"has_next_page": len(rows) > first, "end_cursor": edges[-1]["cursor"] if edges else None},
    }

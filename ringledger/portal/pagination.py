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
from ledger.money import COLUMN_MAX
from ledger.text import has_control

MAX_PAGE = 500


def encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode()


def decode(cursor: str | None, types: Sequence[type]) -> list[Any] | None:
    """The sort key in `cursor`, each part of the type the listing sorts by; anything else is a 4xx."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest("not a cursor from this API") from None
    if not isinstance(key, list) or len(key) != len(types) or not all(map(_fits, key, types)):
        raise InvalidRequest("not a cursor from this API")
    return key


def _fits(part: Any, kind: type) -> bool:
    if kind is int:
        return isinstance(part, int) and not isinstance(part, bool) and 0 <= part <= COLUMN_MAX
    return isinstance(part, str) and len(part) <= 200 and not has_control(part)


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

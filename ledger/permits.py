"""Call permissions: which call categories a holder may dial, and prefixes always allowed or refused.

One rule type for every holder — a phone bar's booth and any account. Permissions
are stored as `{"categories": [...], "allow": [...], "deny": [...]}`; the
blacklist (`deny`) wins over the whitelist (`allow`), which wins over the
categories. Emergency and service numbers are never refused.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import InvalidRequest

#: What a holder may be permitted to dial, named as the number plan classifies calls
#: (`rating.numberplan`: local, national, mobile, hmt = Hong Kong/Macau/Taiwan, international).
CATEGORIES = ("local", "national", "mobile", "hmt", "international")
#: Emergency and service numbers (the plan's `special`) are never refused by permissions.
ALWAYS = ("special",)
MAX_PREFIXES = 100


def check_permissions(categories: Any, allow: Any = (), deny: Any = ()) -> dict[str, list[str]]:
    """The permissions as stored: known categories, prefixes of ASCII digits (a leading + is dropped)."""
    if not isinstance(categories, (list, tuple)) or any(c not in CATEGORIES for c in categories):
        raise InvalidRequest(f"categories are some of {', '.join(CATEGORIES)}")
    lists: dict[str, list[str]] = {}
    for what, prefixes in (("allow", allow), ("deny", deny)):
        if not isinstance(prefixes, (list, tuple)) or len(prefixes) > MAX_PREFIXES:
            raise InvalidRequest(f"{what} is a list of at most {MAX_PREFIXES} prefixes")
        cleaned = []
        for p in prefixes:
            digits = p[1:] if isinstance(p, str) and p.startswith("+") else p
            if not isinstance(digits, str) or not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 20):
                raise InvalidRequest(f"a prefix in {what} is 1 to 20 ASCII digits (with or without +), got {p!r}")
            cleaned.append(digits)
        lists[what] = sorted(set(cleaned))
    return {"categories": [c for c in CATEGORIES if c in categories], **lists}


def refusal(permissions: dict[str, list[str]], e164: str, category: str, holder: str = "this booth") -> str | None:
    """Why a holder with these permissions may not dial `e164` (None: it may)."""
    digits = e164.lstrip("+")
    if category in ALWAYS:
        return None
    denied = next((p for p in permissions["deny"] if digits.startswith(p)), None)
    if denied is not None:
        return f"prefix {denied} is blacklisted for {holder}"
    if any(digits.startswith(p) for p in permissions["allow"]):
        return None
    if category not in permissions["categories"]:
        return f"{holder} may not dial {category} numbers"
    return None

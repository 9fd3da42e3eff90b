"""The price a card is sold at: face value, or less (a discount), never more, never below zero."""

from __future__ import annotations

from ledger.errors import InvalidRequest
from ledger.money import money_text


def check_sale_price(face: int, price: int | None) -> int:
    """`price` checked against `face` (None: sold at face value)."""
    if price is None:
        return face
    if isinstance(price, bool) or not isinstance(price, int):
        raise InvalidRequest(f"a price must be an integer of ten-thousandths, got {price!r}")
    if price < 0:
        raise InvalidRequest(f"a price must be zero or more, got {money_text(price)}; nothing sold")
    if price > face:
        raise InvalidRequest(
            f"a card is sold at its face value {money_text(face)} or less, not {money_text(price)}; nothing sold")
    return price

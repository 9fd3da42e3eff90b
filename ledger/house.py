"""House accounts: the counter side of every customer posting.

They are not aggregates; their balances come from the general-ledger
projection. Names are stable strings because stored events name them.
Sign convention for every posting: positive credits an account (what the
house owes a customer, revenue earned), negative debits it (cash received,
money owed to us); the postings of one event sum to zero.
"""

from __future__ import annotations

VOUCHER_FLOAT = "house:voucher_float"
CARD_SALES = "house:card_sales"
ADJUSTMENTS = "house:adjustments"
CANCELLED_CARDS = "house:cancelled_cards"
DEPOSITS = "house:deposits"
#: What the house gave up selling cards below face value (face - price paid), a debit.
CARD_DISCOUNTS = "house:discounts:cards"


def revenue(service: str, category: str) -> str:
    """Revenue account for a service and call category, e.g. `house:revenue:direct:local`."""
    return f"house:revenue:{service}:{category}"


def sale_postings(float_account: str, face: int, price: int) -> list[tuple[str, int]]:
    """A card sold at `price` for `face`: the float gets face, cash the price, the discount the rest."""
    out = [(float_account, face), (CARD_SALES, -price)]
    if face - price:
        out.append((CARD_DISCOUNTS, price - face))
    return out


def is_house(account: str) -> bool:
    return account.startswith("house:")

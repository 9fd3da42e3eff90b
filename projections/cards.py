"""Card library view (卡库): batches and every card's state, for browsing and inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.accounts import Account
from ledger.batches import CardBatch
from ledger.vouchers import Voucher
from projections.base import Item, Projection

_STATUS = {
    Voucher.Sold: "sold",
    Voucher.Redeemed: "redeemed",
    Voucher.Cancelled: "cancelled",
    Account.Activated: "sold",
    Account.Cancelled: "cancelled",
    Voucher.PinLockedOut: "locked",
    Account.PinLockedOut: "locked",  # a callback card's row; other accounts have none
}
#: Every state a card row can be in.
CARD_STATUSES = ("issued", "sold", "locked", "redeemed", "cancelled")
_UNLOCKED = (Voucher.PinUnlocked, Account.PinUnlocked)  # back to the state the event names


def _price(event: Any) -> int | None:
    """What a card sold for, from its sale event (None for every other event)."""
    return event.price if type(event) in (Voucher.Sold, Account.Activated) else None


class CardsView(Projection):
    name = "cards"
    tables = ["card_batches", "cards"]
    ddl = [
        "CREATE TABLE IF NOT EXISTS {p}card_batches ("
        " name TEXT PRIMARY KEY, kind TEXT NOT NULL, face BIGINT NOT NULL, count INTEGER NOT NULL,"
        " plan TEXT, issued_at TEXT NOT NULL, actor TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}cards ("
        " number TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, batch TEXT NOT NULL,"
        " serial INTEGER NOT NULL, face BIGINT NOT NULL, status TEXT NOT NULL, account TEXT,"
        " updated_at TEXT NOT NULL, price BIGINT, sold_at TEXT)",
        "CREATE INDEX IF NOT EXISTS {p}cards_batch ON {p}cards (batch, serial)",
        "CREATE INDEX IF NOT EXISTS {p}cards_status ON {p}cards (batch, status)",
        "CREATE INDEX IF NOT EXISTS {p}cards_sold ON {p}cards (sold_at)",
    ]

    def apply(self, cur: Any, items: Sequence[Item]) -> None:
        new: list[tuple[Any, ...]] = []
        faces: dict[str, int] = {}
        for _, e in items:
            kind = type(e)
            if kind is CardBatch.Issued:
                cur.execute(
                    self.q("INSERT INTO {p}card_batches VALUES (?, ?, ?, ?, ?, ?, ?)"),
                    (e.name, e.kind, e.face, e.count, e.plan, e.timestamp.isoformat(), e.actor),
                )
                faces[e.name] = e.face
            elif kind is Voucher.Issued:
                new.append((e.number, e.originator_id.hex, "voucher", e.batch, e.serial, e.face, "issued", None,
                            e.timestamp.isoformat(), None, None))
            elif kind is Account.Opened and e.batch:
                face = faces.get(e.batch)
                if face is None:
                    cur.execute(self.q("SELECT face FROM {p}card_batches WHERE name = ?"), (e.batch,))
                    found = cur.fetchone()
                    face = faces[e.batch] = found[0] if found else 0
                new.append((e.number, e.originator_id.hex, "callback", e.batch, e.serial or 0, face, "issued",
                            e.number, e.timestamp.isoformat(), None, None))
            elif kind in _STATUS or kind in _UNLOCKED:
                if new:
                    self._flush(cur, new)
                status = _STATUS[kind] if kind in _STATUS else e.card_status
                cur.execute(
                    self.q("UPDATE {p}cards SET status = ?, account = COALESCE(?, account), updated_at = ?,"
                           " price = COALESCE(?, price), sold_at = COALESCE(?, sold_at) WHERE id = ?"),
                    (status, getattr(e, "account", None), e.timestamp.isoformat(), _price(e),
                     e.timestamp.isoformat() if _price(e) is not None else None, e.originator_id.hex),
                )
        self._flush(cur, new)

    def _flush(self, cur: Any, new: list[tuple[Any, ...]]) -> None:
        if new:
            self.db.insert_many(cur, self.t("cards"), new)
            new.clear()

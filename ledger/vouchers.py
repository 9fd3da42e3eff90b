"""Recharge vouchers (充值卡): single use, PIN-protected bearer value.

Life: issued → sold (its face enters the voucher float) → redeemed into an
account (once) or cancelled (its float moves to a house account). The
redemption and the account's credit are saved in one transaction, and the
voucher's version makes a second, racing redemption collide.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.errors import (
    CardAlreadySold,
    CardCancelled,
    CardNotActive,
    InvalidRequest,
    PinLocked,
    VoucherAlreadyRedeemed,
    WrongPin,
)
from ledger.house import VOUCHER_FLOAT, sale_postings
from ledger.ids import voucher_id
from ledger.pins import MAX_PIN_TRIES
from ledger.sales import check_sale_price

ISSUED, SOLD, REDEEMED, CANCELLED = "issued", "sold", "redeemed", "cancelled"


class Voucher(Aggregate):
    class Issued(Aggregate.Created):
        number: str
        batch: str
        serial: int
        face: int
        pvv: str
        actor: str

    def __init__(self, number: str, batch: str, serial: int, face: int, pvv: str, actor: str) -> None:
        self.number = number
        self.batch = batch
        self.serial = serial
        self.face = face
        self.pvv = pvv
        self.status = ISSUED
        self.pin_failures = 0
        self.redeemed_into: str | None = None

    @classmethod
    def issued_event(cls, number: str, batch: str, serial: int, face: int, pvv: str, actor: str) -> Voucher.Issued:
        """The creation event alone, for bulk issue: saved without building the aggregate."""
        return cls.Issued(
            originator_id=voucher_id(number),
            originator_version=cls.INITIAL_VERSION,
            originator_topic=_TOPIC,
            timestamp=cls.Issued.create_timestamp(),
            number=number,
            batch=batch,
            serial=serial,
            face=face,
            pvv=pvv,
            actor=actor,
        )

    class Sold(Aggregate.Event):
        """Sold at `price` (face value or less): the float gets the face, the discount the difference."""

        class_version = 2
        face: int
        actor: str
        price: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["price"] = state["face"]  # sold before prices: every card went at face value

        def apply(self, voucher: Voucher) -> None:
            voucher.status = SOLD

        def postings(self) -> list[tuple[str, int]]:
            return sale_postings(VOUCHER_FLOAT, self.face, self.price)

    def sell(self, actor: str, price: int | None = None) -> None:
        if self.status == CANCELLED:
            raise CardCancelled(f"voucher {self.number} is cancelled")
        if self.status != ISSUED:
            raise CardAlreadySold(f"voucher {self.number} is already {self.status}")
        price = check_sale_price(self.face, price)
        self.trigger_event(self.Sold, face=self.face, actor=actor, price=price)

    class Redeemed(Aggregate.Event):
        """Marks the voucher used; the money moves in the account's Credited event."""

        account: str
        phone: str
        actor: str

        def apply(self, voucher: Voucher) -> None:
            voucher.status = REDEEMED
            voucher.redeemed_into = self.account

    def check_redeemable(self) -> None:
        if self.status == REDEEMED:
            raise VoucherAlreadyRedeemed(f"voucher {self.number} was already redeemed")
        if self.status == CANCELLED:
            raise CardCancelled(f"voucher {self.number} is cancelled")
        if self.status != SOLD:
            raise CardNotActive(f"voucher {self.number} has not been sold (activated)")

    def redeem(self, account: str, phone: str, actor: str) -> None:
        self.check_redeemable()
        self.trigger_event(self.Redeemed, account=account, phone=phone, actor=actor)

    class PinFailed(Aggregate.Event):
        actor: str

        def apply(self, voucher: Voucher) -> None:
            voucher.pin_failures += 1

    class PinLockedOut(Aggregate.Event):
        """The last allowed wrong PIN: the voucher is locked until an operator unlocks it."""

        actor: str

    class PinUnlocked(Aggregate.Event):
        """An operator unlocked the voucher; `card_status` is the state it is back in (issued or sold)."""

        actor: str
        reason: str
        card_status: str

        def apply(self, voucher: Voucher) -> None:
            voucher.pin_failures = 0

    @property
    def pin_locked(self) -> bool:
        return self.pin_failures >= MAX_PIN_TRIES

    def verify_pin(self, ok: bool, actor: str) -> None:
        if self.pin_locked:
            raise PinLocked(f"voucher {self.number} is locked after {MAX_PIN_TRIES} wrong PINs")
        if not ok:
            self.trigger_event(self.PinFailed, actor=actor)
            if self.pin_locked:
                self.trigger_event(self.PinLockedOut, actor=actor)
                raise PinLocked(f"wrong PIN; voucher {self.number} is now locked")
            raise WrongPin(f"wrong PIN ({MAX_PIN_TRIES - self.pin_failures} tries left)")

    def unlock(self, actor: str, reason: str) -> None:
        if not self.pin_locked:
            raise InvalidRequest(f"voucher {self.number} is not locked")
        self.trigger_event(self.PinUnlocked, actor=actor, reason=reason, card_status=self.status)

    class Cancelled(Aggregate.Event):
        amount: int
        counter: str
        actor: str
        reason: str

        def apply(self, voucher: Voucher) -> None:
            voucher.status = CANCELLED

        def postings(self) -> list[tuple[str, int]]:
            if not self.amount:
                return []
            return [(VOUCHER_FLOAT, -self.amount), (self.counter, self.amount)]

    def cancel(self, counter: str, actor: str, reason: str = "") -> None:
        if self.status == CANCELLED:
            raise CardCancelled(f"voucher {self.number} is already cancelled")
        if self.status == REDEEMED:
            raise VoucherAlreadyRedeemed(f"voucher {self.number} was redeemed; cancel the account's credit instead")
        amount = self.face if self.status == SOLD else 0
        self.trigger_event(self.Cancelled, amount=amount, counter=counter, actor=actor, reason=reason)


_TOPIC = get_topic(Voucher)

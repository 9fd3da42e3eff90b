"""Customer accounts: subscribers, callback cards and phone-bar deposits.

Invariant: `available = balance - sum(holds)` never goes below zero (a hold
is reserved, and extended slice by slice, only out of what is available). Every
command checks first (raising a named error) and only then records its
event; state changes only inside events. Money events carry `postings()`
naming both sides, so the general ledger balances to zero event by event.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.errors import (
    AccountClosed,
    AmountTooLarge,
    AccountNotActive,
    AccountNotEmpty,
    CardAlreadySold,
    DuplicateHold,
    HoldNotFound,
    InsufficientFunds,
    InvalidRequest,
    PinLocked,
    WrongPin,
)
from ledger.house import sale_postings
from ledger.ids import account_id
from ledger.money import MAX_AMOUNT, money_text
from ledger.pins import MAX_PIN_TRIES
from ledger.sales import check_sale_price

KINDS = ("subscriber", "callback", "phonebar")
ACTIVE, ISSUED, SUSPENDED, CLOSED = "active", "issued", "suspended", "closed"


def _positive(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidRequest(f"amount must be a positive integer of ten-thousandths, got {amount!r}")
    if amount > MAX_AMOUNT:
        raise AmountTooLarge(f"an amount is at most {money_text(MAX_AMOUNT)}, got {money_text(amount)}")
    return amount


class Account(Aggregate):
    """A prepaid account; its id is derived from its number."""

    #: A phone bar's own tariff for its walk-in customers (its `plan` is the operator's wholesale one).
    retail_plan: str | None = None
    #: What the account may dial (`ledger.permits`), set by the operator; None: anything it can pay for.
    permissions: dict[str, list[str]] | None = None

    class Opened(Aggregate.Created):
        number: str
        kind: str
        status: str
        plan: str | None
        pvv: str | None
        batch: str | None
        serial: int | None
        actor: str

    def __init__(
        self,
        number: str,
        kind: str,
        status: str,
        plan: str | None,
        pvv: str | None,
        batch: str | None,
        serial: int | None,
        actor: str,
    ) -> None:
        self.number = number
        self.kind = kind
        self.status = status
        self.plan = plan
        self.pvv = pvv
        self.batch = batch
        self.balance = 0
        self.held = 0
        self.holds: dict[str, list[int]] = {}  # hold id -> [amount, used]
        self.phones: list[str] = []
        self.pin_failures = 0

    @classmethod
    def open(
        cls,
        number: str,
        kind: str,
        actor: str,
        *,
        plan: str | None = None,
        pvv: str | None = None,
        batch: str | None = None,
        serial: int | None = None,
        status: str = ACTIVE,
    ) -> Account:
        if kind not in KINDS:
            raise InvalidRequest(f"account kind must be one of {', '.join(KINDS)}")
        return cls._create(
            cls.Opened,
            id=account_id(number),
            number=number,
            kind=kind,
            status=status,
            plan=plan,
            pvv=pvv,
            batch=batch,
            serial=serial,
            actor=actor,
        )

    @classmethod
    def issued_card_event(cls, number: str, plan: str | None, pvv: str, batch: str, serial: int, actor: str) -> Account.Opened:
        """The creation event of an unsold callback card, for bulk issue (no aggregate built)."""
        return cls.Opened(
            originator_id=account_id(number),
            originator_version=cls.INITIAL_VERSION,
            originator_topic=_TOPIC,
            timestamp=cls.Opened.create_timestamp(),
            number=number,
            kind="callback",
            status=ISSUED,
            plan=plan,
            pvv=pvv,
            batch=batch,
            serial=serial,
            actor=actor,
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> Account:
        """A fast copy for the repository cache: only the containers are mutable."""
        clone = object.__new__(type(self))
        state = self.__dict__.copy()
        state["holds"] = {k: list(v) for k, v in self.holds.items()}
        state["phones"] = list(self.phones)
        state["_pending_events"] = list(self._pending_events)
        clone.__dict__.update(state)
        return clone

    @property
    def available(self) -> int:
        return self.balance - self.held

    # --- checks -----------------------------------------------------------

    def _check_usable(self) -> None:
        if self.status == CLOSED:
            raise AccountClosed(f"account {self.number} is closed")
        if self.status != ACTIVE:
            raise AccountNotActive(f"account {self.number} is {self.status}")

    def _check_not_closed(self) -> None:
        if self.status == CLOSED:
            raise AccountClosed(f"account {self.number} is closed")

    def _check_affordable(self, amount: int) -> None:
        if amount > self.available:
            raise InsufficientFunds(
                f"account {self.number} has {money_text(self.available)} available, needs {money_text(amount)}"
            )

    def _check_room(self, amount: int) -> None:
        """A balance never passes the declared maximum (every view column holds it)."""
        if self.balance + amount > MAX_AMOUNT:
            raise AmountTooLarge(
                f"account {self.number} would hold {money_text(self.balance + amount)},"
                f" more than the maximum {money_text(MAX_AMOUNT)}"
            )

    # --- money ------------------------------------------------------------

    class Credited(Aggregate.Event):
        amount: int
        counter: str
        actor: str
        memo: str

        def apply(self, account: Account) -> None:
            account.balance += self.amount

        def postings(self) -> list[tuple[str, int]]:
            return [(self.originator_id.hex, self.amount), (self.counter, -self.amount)]

    def check_credit(self, amount: int) -> None:
        """Raise the refusal `credit(amount)` would raise; record nothing."""
        _positive(amount)
        self._check_not_closed()
        self._check_room(amount)

    def credit(self, amount: int, counter: str, actor: str, memo: str = "") -> None:
        self.check_credit(amount)
        self.trigger_event(self.Credited, amount=amount, counter=counter, actor=actor, memo=memo)

    class Debited(Aggregate.Event):
        amount: int
        counter: str
        actor: str
        memo: str

        def apply(self, account: Account) -> None:
            account.balance -= self.amount

        def postings(self) -> list[tuple[str, int]]:
            return [(self.originator_id.hex, -self.amount), (self.counter, self.amount)]

    def debit(self, amount: int, counter: str, actor: str, memo: str = "") -> None:
        _positive(amount)
        self._check_usable()
        self._check_affordable(amount)
        self.trigger_event(self.Debited, amount=amount, counter=counter, actor=actor, memo=memo)

    class TransferredOut(Aggregate.Event):
        amount: int
        to_account: str  # hex id of the receiving account
        to_number: str
        actor: str

        def apply(self, account: Account) -> None:
            account.balance -= self.amount

        def postings(self) -> list[tuple[str, int]]:
            return [(self.originator_id.hex, -self.amount), (self.to_account, self.amount)]

    class TransferredIn(Aggregate.Event):
        """The receiving side of a transfer; its posting is carried by TransferredOut."""

        amount: int
        from_number: str
        actor: str

        def apply(self, account: Account) -> None:
            account.balance += self.amount

    def transfer_to(self, other: Account, amount: int, actor: str) -> None:
        _positive(amount)
        if other.id == self.id:
            raise InvalidRequest("cannot transfer an account's balance to itself")
        self._check_usable()
        other._check_not_closed()
        self._check_affordable(amount)
        other._check_room(amount)
        self.trigger_event(
            self.TransferredOut,
            amount=amount,
            to_account=other.id.hex,
            to_number=other.number,
            actor=actor,
        )
        other.trigger_event(other.TransferredIn, amount=amount, from_number=self.number, actor=actor)

    # --- holds ------------------------------------------------------------

    class FundsReserved(Aggregate.Event):
        hold: str
        amount: int
        actor: str

        def apply(self, account: Account) -> None:
            account.holds[self.hold] = [self.amount, 0]
            account.held += self.amount

    def reserve(self, hold: str, amount: int, actor: str) -> None:
        _positive(amount)
        self._check_usable()
        if hold in self.holds:
            raise DuplicateHold(f"hold {hold} is already open")
        self._check_affordable(amount)
        self.trigger_event(self.FundsReserved, hold=hold, amount=amount, actor=actor)

    class HoldExtended(Aggregate.Event):
        """More money held on an open hold (the next slice of a call's grant); nothing is charged."""

        hold: str
        amount: int
        actor: str

        def apply(self, account: Account) -> None:
            account.holds[self.hold][0] += self.amount
            account.held += self.amount

    def extend_hold(self, hold: str, amount: int, actor: str) -> None:
        """Hold `amount` more on an open hold; refused (InsufficientFunds) beyond what is available."""
        self._hold(hold)
        _positive(amount)
        self._check_usable()
        self._check_affordable(amount)
        self.trigger_event(self.HoldExtended, hold=hold, amount=amount, actor=actor)

    class HoldUsageReported(Aggregate.Event):
        hold: str
        used: int

        def apply(self, account: Account) -> None:
            account.holds[self.hold][1] = self.used

    def report_usage(self, hold: str, used: int) -> None:
        entry = self._hold(hold)
        if used < 0 or used > entry[0]:
            raise InvalidRequest(f"usage {money_text(used)} is outside hold {hold} of {money_text(entry[0])}")
        self.trigger_event(self.HoldUsageReported, hold=hold, used=used)

    class HoldSettled(Aggregate.Event):
        """Charges `amount` (at most the hold) and releases the rest of the hold."""

        hold: str
        amount: int
        counter: str
        actor: str
        flags: str

        def apply(self, account: Account) -> None:
            held, _ = account.holds.pop(self.hold)
            account.held -= held
            account.balance -= self.amount

        def postings(self) -> list[tuple[str, int]]:
            if not self.amount:
                return []
            return [(self.originator_id.hex, -self.amount), (self.counter, self.amount)]

    def settle(self, hold: str, amount: int, counter: str, actor: str, flags: str = "") -> None:
        entry = self._hold(hold)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise InvalidRequest(f"settle amount must be a non-negative integer, got {amount!r}")
        if amount > entry[0]:
            raise InsufficientFunds(
                f"settle of {money_text(amount)} exceeds hold {hold} of {money_text(entry[0])}")
        self.trigger_event(
            self.HoldSettled, hold=hold, amount=amount, counter=counter, actor=actor, flags=flags
        )

    class HoldReleased(Aggregate.Event):
        hold: str
        actor: str

        def apply(self, account: Account) -> None:
            held, _ = account.holds.pop(self.hold)
            account.held -= held

    def release(self, hold: str, actor: str) -> None:
        self._hold(hold)
        self.trigger_event(self.HoldReleased, hold=hold, actor=actor)

    def _hold(self, hold: str) -> list[int]:
        try:
            return self.holds[hold]
        except KeyError:
            raise HoldNotFound(f"no open hold {hold} on account {self.number}") from None

    # --- life cycle -------------------------------------------------------

    class StatusChanged(Aggregate.Event):
        status: str
        actor: str
        reason: str

        def apply(self, account: Account) -> None:
            account.status = self.status

    def suspend(self, actor: str, reason: str = "") -> None:
        self._check_usable()
        self.trigger_event(self.StatusChanged, status=SUSPENDED, actor=actor, reason=reason)

    def resume(self, actor: str, reason: str = "") -> None:
        self._check_not_closed()
        if self.status != SUSPENDED:
            raise AccountNotActive(f"account {self.number} is {self.status}, not suspended")
        self.trigger_event(self.StatusChanged, status=ACTIVE, actor=actor, reason=reason)

    def close(self, actor: str, reason: str = "") -> None:
        self._check_not_closed()
        if self.holds:
            raise AccountNotEmpty(f"account {self.number} has {len(self.holds)} open holds")
        if self.balance:
            raise AccountNotEmpty(
                f"account {self.number} still holds {money_text(self.balance)}; transfer or adjust it first")
        if self.phones:
            raise AccountNotEmpty(f"account {self.number} still has bound numbers; unbind them first")
        self.trigger_event(self.StatusChanged, status=CLOSED, actor=actor, reason=reason)

    class Activated(Aggregate.Event):
        """A sold card: its face value comes in from card sales, `price` is what the buyer paid."""

        class_version = 2
        face: int
        actor: str
        price: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["price"] = state["face"]  # sold before prices: every card went at face value

        def apply(self, account: Account) -> None:
            account.status = ACTIVE
            account.balance += self.face

        def postings(self) -> list[tuple[str, int]]:
            if not self.face:
                return []
            return sale_postings(self.originator_id.hex, self.face, self.price)

    def activate(self, face: int, actor: str, price: int | None = None) -> None:
        self._check_not_closed()
        if self.status != ISSUED:
            raise CardAlreadySold(f"card {self.number} is already {self.status}")
        if isinstance(face, bool) or not isinstance(face, int) or face < 0:
            raise InvalidRequest(f"face value must be zero or more, got {face!r}")
        price = check_sale_price(face, price)
        self._check_room(face)
        self.trigger_event(self.Activated, face=face, actor=actor, price=price)

    class Cancelled(Aggregate.Event):
        """A cancelled card: what it held moves to a house account."""

        amount: int
        counter: str
        actor: str
        reason: str

        def apply(self, account: Account) -> None:
            account.balance -= self.amount
            account.status = CLOSED

        def postings(self) -> list[tuple[str, int]]:
            if not self.amount:
                return []
            return [(self.originator_id.hex, -self.amount), (self.counter, self.amount)]

    def cancel(self, counter: str, actor: str, reason: str = "") -> None:
        self._check_not_closed()
        if self.holds:
            raise AccountNotEmpty(f"card {self.number} has calls in progress")
        if self.phones:
            raise AccountNotEmpty(f"card {self.number} still has bound numbers; unbind them first")
        self.trigger_event(
            self.Cancelled, amount=self.balance, counter=counter, actor=actor, reason=reason
        )

    # --- phones and PIN ---------------------------------------------------

    class NumberBound(Aggregate.Event):
        phone: str
        actor: str

        def apply(self, account: Account) -> None:
            account.phones.append(self.phone)

    class NumberUnbound(Aggregate.Event):
        phone: str
        actor: str

        def apply(self, account: Account) -> None:
            account.phones.remove(self.phone)

    def bind(self, phone: str, actor: str) -> None:
        self._check_usable()
        if phone not in self.phones:
            self.trigger_event(self.NumberBound, phone=phone, actor=actor)

    def unbind(self, phone: str, actor: str) -> None:
        if phone in self.phones:
            self.trigger_event(self.NumberUnbound, phone=phone, actor=actor)

    class RetailPlanSet(Aggregate.Event):
        plan: str | None
        actor: str

        def apply(self, account: Account) -> None:
            account.retail_plan = self.plan

    def set_retail_plan(self, plan: str | None, actor: str) -> None:
        self._check_not_closed()
        if self.kind != "phonebar":
            raise InvalidRequest(f"account {self.number} is a {self.kind}; only a phone bar has a retail tariff")
        self.trigger_event(self.RetailPlanSet, plan=plan, actor=actor)

    class CallPermissionsSet(Aggregate.Event):
        """The operator set (or with None cleared) what this account may dial."""

        permissions: dict[str, list[str]] | None
        actor: str

        def apply(self, account: Account) -> None:
            account.permissions = self.permissions

    def set_call_permissions(self, permissions: dict[str, list[str]] | None, actor: str) -> None:
        self._check_not_closed()
        self.trigger_event(self.CallPermissionsSet, permissions=permissions, actor=actor)

    class PinChanged(Aggregate.Event):
        pvv: str
        actor: str

        def apply(self, account: Account) -> None:
            account.pvv = self.pvv
            account.pin_failures = 0

    def change_pin(self, pvv: str, actor: str) -> None:
        self._check_not_closed()
        if self.pin_locked:
            self.unlock_pin(actor, "PIN reset")
        self.trigger_event(self.PinChanged, pvv=pvv, actor=actor)

    class PinFailed(Aggregate.Event):
        actor: str

        def apply(self, account: Account) -> None:
            account.pin_failures += 1

    class PinVerified(Aggregate.Event):
        actor: str

        def apply(self, account: Account) -> None:
            account.pin_failures = 0

    class PinLockedOut(Aggregate.Event):
        """The last allowed wrong PIN: locked until an operator unlocks it or resets the PIN."""

        actor: str

    class PinUnlocked(Aggregate.Event):
        """The wrong-PIN lockout was lifted; `card_status` is a callback card's state in the card library."""

        actor: str
        reason: str
        card_status: str

        def apply(self, account: Account) -> None:
            account.pin_failures = 0

    @property
    def pin_locked(self) -> bool:
        return self.pin_failures >= MAX_PIN_TRIES

    def unlock_pin(self, actor: str, reason: str) -> None:
        if not self.pin_locked:
            raise InvalidRequest(f"account {self.number} is not locked")
        card_status = "issued" if self.status == ISSUED else "cancelled" if self.status == CLOSED else "sold"
        self.trigger_event(self.PinUnlocked, actor=actor, reason=reason, card_status=card_status)

    def verify_pin(self, ok: bool, actor: str) -> None:
        """Record a PIN try. Raises WrongPin or PinLocked (both saved: tries are counted)."""
        if self.pin_locked:
            raise PinLocked(f"account {self.number} is locked after {MAX_PIN_TRIES} wrong PINs")
        if not ok:
            self.trigger_event(self.PinFailed, actor=actor)
            if self.pin_locked:
                self.trigger_event(self.PinLockedOut, actor=actor)
                raise PinLocked(f"wrong PIN; account {self.number} is now locked")
            raise WrongPin(f"wrong PIN ({MAX_PIN_TRIES - self.pin_failures} tries left)")
        if self.pin_failures:
            self.trigger_event(self.PinVerified, actor=actor)

    def summary(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "status": self.status,
            "balance": self.balance,
            "held": self.held,
            "available": self.available,
            "phones": list(self.phones),
            "plan": self.plan,
            "batch": self.batch,
        }


_TOPIC = get_topic(Account)

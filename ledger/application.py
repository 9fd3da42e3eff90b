"""The ledger application: commands over accounts, cards, vouchers and holds.

Every command runs in a unit of work: load, check, record, save in one
transaction. A version conflict (another thread or process wrote first)
evicts the cached copies and runs the command again; a refusal computed from
a cached copy is checked once more against fresh state before it is
returned. Commands given an operation id are idempotent: the first answer is
recorded with the effects and returned to every repeat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import IntegrityError

from ledger import house
from ledger.accounts import Account
from ledger.batches import CARD_KINDS, CardBatch
from ledger.cardnumbers import (
    NUMBER_DIGITS,
    PIN_DIGITS,
    new_number,
    new_numbers,
    uniform_draws,
)
from ledger.call_ids import tariff_id
from ledger.errors import (
    AccountExists,
    AmountTooLarge,
    AccountNotFound,
    BatchNotFound,
    CardNotFound,
    InvalidRequest,
    LedgerError,
    NumberNotBound,
    PinLocked,
    WrongPin,
)
from ledger.forwarding import Business
from ledger.freshness import CacheSync
from ledger.house import is_house
from ledger.ids import account_id, batch_id, operation_id, phone_id, voucher_id
from ledger.missed_calls import MissedCallBox
from ledger.operations import Operation
from ledger.permits import CATEGORIES, check_permissions
from ledger.phones import PhoneBinding
from ledger.pins import MAX_PIN_TRIES, PinHasher, check_pin_format
from ledger.sales import check_sale_price
from ledger.money import MAX_AMOUNT, money_text
from ledger.tariff_book import TariffBook, TariffNotFound
from ledger.text import check_storable, check_text
from ledger.unit_of_work import UnitOfWork, evict
from ledger.vouchers import Voucher

Command = Callable[[UnitOfWork], dict[str, Any]]
MAX_ATTEMPTS = 50


class Busy(LedgerError):
    code = "busy"


class Ledger(Application[UUID]):
    """The event-sourced ledger. Construct it with an eventsourcing env dict."""

    name = "ringledger"
    #: Accounts and forwarded businesses and missed-call boxes gain events with every call: loading them stays flat.
    snapshotting_intervals: ClassVar[dict[type, int]] = {Account: 500, Business: 500, MissedCallBox: 500}

    def __init__(self, env: dict[str, str] | None = None, *, pin_hasher: PinHasher) -> None:
        super().__init__(env)
        self.pins = pin_hasher
        #: Port: a house account's balance as the general ledger shows it (the composition root wires
        #: the view; without one, only single amounts and customer balances are bounded).
        self.house_balance: Callable[[str], int] = lambda name: 0
        #: Follows the log for other processes' writes (set by the composition root).
        self.sync: CacheSync | None = None

    def fresh(self) -> None:
        """Bring the aggregate cache up to the store: what other processes wrote is evicted."""
        if self.sync is not None:
            self.sync.catch_up()

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """The library's save, collecting our aggregates without runtime Protocol checks.

        `ProcessingEvent.collect_events` tests every object against two
        runtime-checkable Protocols (about 16 µs each); our objects are
        concrete `Aggregate`s, so a plain isinstance does. The recording,
        snapshotting and notification steps are the library's own.
        """
        processing = ProcessingEvent[UUID]()
        others = []
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing.events.extend(obj.collect_events())
                processing.aggregates[obj.id] = obj
            elif isinstance(obj, DomainEvent):
                processing.events.append(obj)
            elif obj is not None:
                others.append(obj)
        processing.collect_events(*others, **kwargs)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return recordings

    # --- execution ----------------------------------------------------------

    def execute(self, command: Command, op: tuple[str, str] | None = None) -> dict[str, Any]:
        """Run one command to completion: retried on conflict, idempotent under `op`."""
        rechecked = False
        for _ in range(MAX_ATTEMPTS):
            self.fresh()
            uow = UnitOfWork(self)
            if op is not None:
                done = uow.find(operation_id(op[0]), Operation)
                if done is not None:
                    return done.answer_for(op[1])
            try:
                result = command(uow)
            except LedgerError as err:
                if err.commits_events:
                    check_storable(uow.pending_events())
                    try:
                        uow.commit()
                    except IntegrityError:
                        uow.evict()
                        continue
                    raise
                if not rechecked and uow.touched:
                    # The refusal may come from a stale cached copy: look again.
                    rechecked = True
                    uow.evict()
                    continue
                raise
            if op is not None:
                uow.add(Operation.record(op[0], op[1], result))
            try:
                check_storable(uow.pending_events())
            except InvalidRequest:
                uow.evict()
                raise
            try:
                uow.commit()
            except IntegrityError:
                uow.evict()
                continue
            return result
        raise Busy("the ledger is too busy to complete this command; retry")

    def execute_many(
        self, commands: Sequence[tuple[Command, tuple[str, str] | None]]
    ) -> list[dict[str, Any] | LedgerError]:
        """Group commit: run many commands in one unit of work and one transaction.

        A conflicting save runs the group again on fresh state (twice at
        most), then each command on its own. A refusal in the group is
        re-checked on its own after the save. A command that recorded events
        and then raised (it broke "check first, then record") spoils the
        group's in-memory state: the group is dropped and each command runs
        on its own.
        """
        for _ in range(3):
            self.fresh()
            uow = UnitOfWork(self)
            outcome = self._group(uow, commands)
            if outcome is None:
                break
            results, recheck = outcome
            try:
                check_storable(uow.pending_events())
            except InvalidRequest:
                break  # one command recorded what no view can store: each runs on its own
            try:
                uow.commit()
            except IntegrityError:
                uow.evict()
                continue
            for i in recheck:
                results[i] = self._capture(*commands[i])
            return results
        uow.evict()
        return [self._capture(c, op) for c, op in commands]

    def _group(
        self, uow: UnitOfWork, commands: Sequence[tuple[Command, tuple[str, str] | None]]
    ) -> tuple[list[dict[str, Any] | LedgerError], list[int]] | None:
        results: list[dict[str, Any] | LedgerError] = []
        recheck: list[int] = []
        for i, (command, op) in enumerate(commands):
            pending = uow.pending_count()
            try:
                if op is not None:
                    done = uow.find(operation_id(op[0]), Operation)
                    if done is not None:
                        results.append(done.answer_for(op[1]))
                        continue
                result = command(uow)
                if op is not None:
                    uow.add(Operation.record(op[0], op[1], result))
                results.append(result)
            except LedgerError as err:
                if not err.commits_events:
                    if uow.pending_count() != pending:
                        return None
                    recheck.append(i)
                results.append(err)
        return results, recheck

    def _capture(self, command: Command, op: tuple[str, str] | None) -> dict[str, Any] | LedgerError:
        try:
            return self.execute(command, op)
        except LedgerError as err:
            return err

    # --- look-ups -----------------------------------------------------------

    def _check_house(self, moves: dict[str, int]) -> None:
        """A house account's balance never passes the declared maximum either way.

        Read from the general-ledger view, which every view column (64-bit,
        about 9,200 times the maximum) bounds with room for commands that race.
        """
        for name, delta in moves.items():
            assert is_house(name)
            after = self.house_balance(name) + delta
            if abs(after) > MAX_AMOUNT:
                raise AmountTooLarge(
                    f"{name} would reach {money_text(after)}, past the maximum {money_text(MAX_AMOUNT)}"
                )

    @staticmethod
    def _tariff(uow: UnitOfWork, plan: str | None) -> str | None:
        """`plan` if a tariff of that name is published (None stays None), else unknown_tariff."""
        if plan is None:
            return None
        check_text(plan, "a tariff name", 40)
        book = uow.find(tariff_id(plan), TariffBook)
        if book is None or not book.plans:
            raise TariffNotFound(f"no tariff {plan}")
        return plan

    @staticmethod
    def _account(uow: UnitOfWork, number: str) -> Account:
        return uow.get(account_id(number), Account, lambda: AccountNotFound(f"no account {number}"))

    @staticmethod
    def _voucher(uow: UnitOfWork, number: str) -> Voucher:
        return uow.get(voucher_id(number), Voucher, lambda: CardNotFound(f"no voucher {number}"))

    def account(self, number: str) -> Account:
        """Fresh state of one account (no older than the store)."""
        if self.sync is None:
            evict(self, [account_id(number)])
        self.fresh()
        return self._account(UnitOfWork(self), number)

    def account_for_phone(self, phone: str) -> str:
        self.fresh()
        binding = UnitOfWork(self).find(phone_id(phone), PhoneBinding)
        if binding is None or binding.account is None:
            raise NumberNotBound(f"{phone} is not bound to any account")
        return binding.account

    # --- accounts -----------------------------------------------------------

    def open_account(
        self,
        kind: str,
        actor: str,
        *,
        number: str | None = None,
        plan: str | None = None,
        pin: str | None = None,
        op_id: str | None = None,
    ) -> dict[str, Any]:
        if number is not None and not (number.isascii() and number.isdigit() and 4 <= len(number) <= 20):
            raise InvalidRequest("an account number is 4 to 20 digits")
        if pin is not None:
            check_pin_format(pin)
        chosen = number or new_number("callback")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            if uow.find(account_id(chosen), Account) is not None:
                raise AccountExists(f"account {chosen} already exists")
            self._tariff(uow, plan)
            pvv = self.pins.pvv(chosen, pin) if pin else None
            account = uow.add(Account.open(chosen, kind, actor, plan=plan, pvv=pvv))
            return account.summary()

        return self.execute(command, self._op(op_id, "open", kind, chosen, plan))

    def adjust(self, number: str, amount: int, actor: str, reason: str, op_id: str | None = None) -> dict[str, Any]:
        """Operator adjustment: positive credits, negative debits, against house adjustments."""
        check_text(reason, "an adjustment's reason", required=True)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise InvalidRequest("an adjustment amount is a non-zero integer")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            if amount > 0:
                account.check_credit(amount)
            self._check_house({house.ADJUSTMENTS: -amount})
            if amount > 0:
                account.credit(amount, house.ADJUSTMENTS, actor, reason)
            else:
                account.debit(-amount, house.ADJUSTMENTS, actor, reason)
            return account.summary()

        return self.execute(command, self._op(op_id, "adjust", number, amount, reason))

    def deposit(self, number: str, amount: int, actor: str, memo: str = "", op_id: str | None = None) -> dict[str, Any]:
        """Cash paid in at the counter (a phone-bar deposit, a subscriber top-up)."""
        check_text(memo, "a memo")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.check_credit(amount)
            self._check_house({house.DEPOSITS: -amount})
            account.credit(amount, house.DEPOSITS, actor, memo or "deposit")
            return account.summary()

        return self.execute(command, self._op(op_id, "deposit", number, amount))

    def debit_command(self, number: str, amount: int, counter: str, actor: str, memo: str = "") -> Command:
        check_text(memo, "a memo")
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.debit(amount, counter, actor, memo)
            return {"number": number, "balance": account.balance, "available": account.available}

        return command

    def debit(
        self, number: str, amount: int, counter: str, actor: str, memo: str = "", op_id: str | None = None
    ) -> dict[str, Any]:
        return self.execute(
            self.debit_command(number, amount, counter, actor, memo),
            self._op(op_id, "debit", number, amount, counter),
        )

    def transfer(
        self, source: str, target: str, amount: int, actor: str, op_id: str | None = None
    ) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            a = self._account(uow, source)
            b = self._account(uow, target)
            a.transfer_to(b, amount, actor)
            return {"from": a.summary(), "to": b.summary(), "amount": amount}

        return self.execute(command, self._op(op_id, "transfer", source, target, amount))

    def set_status(self, number: str, action: str, actor: str, reason: str = "") -> dict[str, Any]:
        if action not in ("suspend", "resume", "close"):
            raise InvalidRequest(f"unknown status action {action!r}")
        check_text(reason, "a reason")

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            getattr(account, action)(actor, reason)
            return account.summary()

        return self.execute(command)

    def set_retail_plan(self, number: str, plan: str | None, actor: str) -> dict[str, Any]:
        """Name the tariff a phone bar charges its walk-in customers (None: no retail pricing)."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            if account.kind == "phonebar":  # any other kind is refused by the account itself
                self._tariff(uow, plan)
            account.set_retail_plan(plan, actor)
            return {**account.summary(), "retail_plan": account.retail_plan}

        return self.execute(command)

    def set_call_permissions(self, number: str, permissions: dict[str, Any] | None, actor: str) -> dict[str, Any]:
        """What an account may dial: categories, prefixes always allowed and refused (None: no limits)."""
        rules = None if permissions is None else check_permissions(
            permissions.get("categories", list(CATEGORIES)), permissions.get("allow", []), permissions.get("deny", []))

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.set_call_permissions(rules, actor)
            return {**account.summary(), "permissions": account.permissions}

        return self.execute(command)

    def bind(self, number: str, phone: str, actor: str) -> dict[str, Any]:
        check_text(phone, "a phone number", 32, required=True)
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            binding = uow.find(phone_id(phone), PhoneBinding) or uow.add(PhoneBinding.register(phone))
            binding.bind(number, actor)
            account.bind(phone, actor)
            return account.summary()

        return self.execute(command)

    def unbind(self, phone: str, actor: str, number: str | None = None) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            binding = uow.find(phone_id(phone), PhoneBinding)
            if binding is None or binding.account is None:
                raise NumberNotBound(f"{phone} is not bound to any account")
            account = self._account(uow, binding.account)
            binding.unbind(number, actor)
            account.unbind(phone, actor)
            return account.summary()

        return self.execute(command)

    def change_pin(self, number: str, new_pin: str, actor: str, old_pin: str | None = None) -> dict[str, Any]:
        """Set a new PIN. With `old_pin` (a subscriber's own change) the old one is verified first.

        A malformed PIN is refused before any try is counted: only a well-formed wrong PIN counts.
        """
        check_pin_format(new_pin)
        if old_pin is not None:
            check_pin_format(old_pin)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            if old_pin is not None:
                account.verify_pin(self.pins.matches(number, old_pin, account.pvv), actor)
            account.change_pin(self.pins.pvv(number, new_pin), actor)
            return {"number": number, "pin_changed": True}

        return self.execute(command)

    def verify_pin(self, number: str, pin: str, actor: str) -> dict[str, Any]:
        check_pin_format(pin)  # malformed is not wrong: it uses up no try
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.verify_pin(self.pins.matches(number, pin, account.pvv), actor)
            return {"number": number, "verified": True}

        return self.execute(command)

    def check_pin(self, number: str, pin: str, actor: str) -> dict[str, Any]:
        """Check an account's (or callback card's) PIN for an IVR, the portal or the CLI.

        A wrong PIN is an answer, not an error: `verified` false, `reason`
        `wrong_pin` or `pin_locked`, and `tries_left`. Every wrong try is
        recorded and counts toward the lockout; a malformed PIN is refused
        (InvalidPin) and counts nothing.
        """
        check_pin_format(pin)
        try:
            self.verify_pin(number, pin, actor)
        except (WrongPin, PinLocked) as err:
            left = max(0, MAX_PIN_TRIES - self.account(number).pin_failures)
            return {"number": number, "verified": False, "reason": err.code, "tries_left": left}
        return {"number": number, "verified": True, "reason": None, "tries_left": MAX_PIN_TRIES}

    # --- holds (real-time charging) ------------------------------------------

    def reserve(self, number: str, hold: str, amount: int, actor: str) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.reserve(hold, amount, actor)
            return {"number": number, "hold": hold, "amount": amount, "available": account.available}

        return self.execute(command)

    def settle(self, number: str, hold: str, amount: int, counter: str, actor: str, flags: str = "") -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.settle(hold, amount, counter, actor, flags)
            return {"number": number, "hold": hold, "charged": amount, "balance": account.balance}

        return self.execute(command)

    def release(self, number: str, hold: str, actor: str) -> dict[str, Any]:
        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = self._account(uow, number)
            account.release(hold, actor)
            return {"number": number, "hold": hold, "available": account.available}

        return self.execute(command)

    # --- cards ---------------------------------------------------------------

    def issue_batch(
        self,
        kind: str,
        count: int,
        face: int,
        actor: str,
        *,
        name: str,
        plan: str | None = None,
        chunk: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> list[tuple[int, str, str]]:
        """Issue `count` cards; returns (serial, number, PIN) once: PINs are never stored.

        Numbers are unique across all batches: a clash with an earlier batch
        collides on the derived id and that card is drawn again.
        """
        if kind not in CARD_KINDS:
            raise InvalidRequest(f"card kind must be one of {', '.join(CARD_KINDS)}")
        if not isinstance(count, int) or not 1 <= count <= 1_000_000:
            raise InvalidRequest("a batch has 1 to 1,000,000 cards")
        if not isinstance(face, int) or face < 0:
            raise InvalidRequest("face value must be zero or more")
        if not name or len(name) > 40 or not name.replace("-", "").replace("_", "").isalnum():
            raise InvalidRequest("a batch name is 1-40 letters, digits, '-' or '_'")
        if face > MAX_AMOUNT:
            raise AmountTooLarge(f"a face value is at most {money_text(MAX_AMOUNT)}")
        if UnitOfWork(self).find(batch_id(name), CardBatch) is not None:
            raise InvalidRequest(f"batch {name} already exists")
        self._tariff(UnitOfWork(self), plan)
        pin_len = PIN_DIGITS[kind]
        issued: list[tuple[int, str, str]] = []
        seen: set[str] = set()
        first: list[Any] = [CardBatch.issue(name, kind, face, count, plan, actor)]
        serial = 0
        while serial < count:
            size = min(chunk, count - serial)
            numbers: list[str] = []
            while len(numbers) < size:
                for number in new_numbers(kind, size - len(numbers)):
                    if number not in seen:
                        seen.add(number)
                        numbers.append(number)
            pins = [str(p).zfill(pin_len) for p in uniform_draws(10**pin_len, size)]
            rows = [(serial + i + 1, n, p) for i, (n, p) in enumerate(zip(numbers, pins, strict=True))]
            rows = self._save_cards(kind, name, face, plan, actor, rows, first, seen)
            first = []
            issued.extend(rows)
            serial += len(rows)
            if progress is not None:
                progress(len(rows))
        return issued

    def _save_cards(
        self,
        kind: str,
        batch: str,
        face: int,
        plan: str | None,
        actor: str,
        rows: list[tuple[int, str, str]],
        extra: list[Any],
        seen: set[str],
    ) -> list[tuple[int, str, str]]:
        pvv = self.pins.pvv
        while True:
            if kind == "voucher":
                aggs = [Voucher.issued_event(n, batch, s, face, pvv(n, p), actor) for s, n, p in rows]
            else:
                aggs = [Account.issued_card_event(n, plan, pvv(n, p), batch, s, actor) for s, n, p in rows]
            try:
                self.save(*extra, *aggs)
                return rows
            except IntegrityError:
                # A number drawn before, in an earlier batch: draw those again.
                fresh = []
                for s, n, p in rows:
                    if (voucher_id(n) if kind == "voucher" else account_id(n)) in self.repository:
                        while n in seen:
                            n = new_number(kind)
                        seen.add(n)
                    fresh.append((s, n, p))
                rows = fresh

    def sell_cards(self, numbers: Iterable[str], kind: str, face: int, actor: str, chunk: int = 1000,
                   price: int | None = None) -> int:
        """Activate (sell) cards at `price` each (default: face value); already-sold ones refuse the whole list.

        A price below face books the difference to the card-discount house account;
        above face or below zero is refused before anything is sold.
        """
        numbers = list(numbers)
        price = check_sale_price(face, price)
        sold = 0
        for start in range(0, len(numbers), chunk):
            part = numbers[start : start + chunk]

            def command(uow: UnitOfWork, part: list[str] = part) -> dict[str, Any]:
                n = len(part)
                moves = {house.CARD_SALES: -price * n, house.CARD_DISCOUNTS: (price - face) * n}
                if kind == "voucher":
                    moves[house.VOUCHER_FLOAT] = face * n
                self._check_house(moves)
                for number in part:
                    if kind == "voucher":
                        self._voucher(uow, number).sell(actor, price)
                    else:
                        self._account(uow, number).activate(face, actor, price)
                return {"sold": n}

            sold += self.execute(command)["sold"]
        return sold

    def cancel_card(self, number: str, actor: str, reason: str = "") -> dict[str, Any]:
        check_text(reason, "a reason")
        def command(uow: UnitOfWork) -> dict[str, Any]:
            voucher = uow.find(voucher_id(number), Voucher)
            if voucher is not None:
                self._check_house({house.CANCELLED_CARDS: voucher.face if voucher.status == "sold" else 0})
                voucher.cancel(house.CANCELLED_CARDS, actor, reason)
                return {"number": number, "kind": "voucher", "status": voucher.status}
            account = self._account(uow, number)
            if account.kind != "callback":
                raise CardNotFound(f"{number} is an account, not a card")
            self._check_house({house.CANCELLED_CARDS: account.balance})
            account.cancel(house.CANCELLED_CARDS, actor, reason)
            return {"number": number, "kind": "callback", "status": account.status}

        return self.execute(command)

    def unlock_card(self, number: str, actor: str, reason: str) -> dict[str, Any]:
        """Lift a wrong-PIN lockout of a voucher or a callback card (an operator's decision, recorded)."""

        def command(uow: UnitOfWork) -> dict[str, Any]:
            voucher = uow.find(voucher_id(number), Voucher)
            if voucher is not None:
                voucher.unlock(actor, reason)
                return {"number": number, "kind": "voucher", "status": voucher.status, "locked": False}
            account = self._account(uow, number)
            account.unlock_pin(actor, reason)
            return {"number": number, "kind": account.kind, "status": account.status, "locked": False}

        return self.execute(command)

    def redeem_voucher(
        self, number: str, pin: str, phone: str, actor: str, op_id: str | None = None
    ) -> dict[str, Any]:
        """Credit a voucher's face to the account bound to `phone`; at most once.

        A malformed PIN is refused before any try is counted: only a well-formed wrong PIN counts.
        """
        check_pin_format(pin)
        check_text(phone, "a phone number", 32, required=True)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            voucher = self._voucher(uow, number)
            voucher.verify_pin(self.pins.matches(number, pin, voucher.pvv), actor)
            binding = uow.find(phone_id(phone), PhoneBinding)
            if binding is None or binding.account is None:
                raise NumberNotBound(f"{phone} is not bound to any account")
            account = self._account(uow, binding.account)
            voucher.check_redeemable()
            account.credit(voucher.face, house.VOUCHER_FLOAT, actor, f"voucher {number}")
            voucher.redeem(account.number, phone, actor)
            return {"voucher": number, "account": account.number, "amount": voucher.face, "balance": account.balance}

        return self.execute(command, self._op(op_id, "redeem", number, phone))

    def batch(self, name: str) -> CardBatch:
        self.fresh()
        found = UnitOfWork(self).find(batch_id(name), CardBatch)
        if found is None:
            raise BatchNotFound(f"no batch {name}")
        return found

    @staticmethod
    def _op(op_id: str | None, *request: Any) -> tuple[str, str] | None:
        if op_id is None:
            return None
        check_text(op_id, "an operation id", 200, required=True)
        return op_id, json.dumps(request, separators=(",", ":"))


__all__ = ["NUMBER_DIGITS", "Busy", "Ledger"]

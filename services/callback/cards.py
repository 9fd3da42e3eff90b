"""Callback cards by phone: bind a card to the caller's number with its PIN, recharge by voucher, the balance.

The same rules whichever way the subscriber comes in (SMS, the IVR hooks):

* a bind checks the card's PIN first, and a wrong PIN is recorded and counts
  toward the card's lockout (five lock it), whatever else is wrong; the
  binding and the account's record of it are saved together, so a number is
  bound to one card at a time;
* a recharge is `Ledger.redeem_voucher`, the same command the CLI and the
  portal run: a voucher credits once, into the account bound to the number;
* a refusal a subscriber must hear (wrong PIN, locked, unknown card, number
  bound elsewhere, voucher used …) is an answer with `reason`, never an error;
  malformed input (a card that is not digits, a PIN that is not 6-10 digits)
  raises InvalidRequest/InvalidPin and changes nothing.
"""

from __future__ import annotations

from typing import Any

from ledger.accounts import Account
from ledger.cardnumbers import check_card_number
from ledger.errors import CardNotFound, InvalidRequest, LedgerError
from ledger.ids import account_id, phone_id, voucher_id
from ledger.phones import PhoneBinding
from ledger.pins import MAX_PIN_TRIES, check_pin_format
from ledger.unit_of_work import UnitOfWork
from ledger.vouchers import Voucher
from services.charging import Charging

#: Refusals answered to the subscriber (with `reason`); any other error is the caller's or the store's.
REFUSALS = frozenset({
    "wrong_pin", "pin_locked", "unknown_account", "unknown_card", "number_already_bound", "number_not_bound",
    "account_not_active", "account_closed", "card_not_active", "card_cancelled", "voucher_already_redeemed",
})
#: Account kinds a subscriber may bind to a phone by PIN.
BINDABLE = ("callback", "subscriber")


def check_account_number(number: str, what: str = "a card number") -> str:
    if not isinstance(number, str) or not (number.isascii() and number.isdigit() and 4 <= len(number) <= 20):
        raise InvalidRequest(f"{what} is 4 to 20 digits")
    return number


class CallbackCards:
    def __init__(self, charging: Charging) -> None:
        self.charging = charging
        self.ledger = charging.ledger

    def bind(self, card: str, pin: str, phone: str, actor: str) -> dict[str, Any]:
        """Bind `card` to `phone` (any format the number plan reads) if `pin` is the card's PIN."""
        check_account_number(card)
        check_pin_format(pin)
        e164 = self.charging.normalise(phone)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            account = uow.find(account_id(card), Account)
            if account is None or account.kind not in BINDABLE:
                raise CardNotFound(f"no callback card {card}")
            account.verify_pin(self.ledger.pins.matches(card, pin, account.pvv), actor)
            binding = uow.find(phone_id(e164), PhoneBinding) or uow.add(PhoneBinding.register(e164))
            binding.bind(card, actor)
            account.bind(e164, actor)
            return {"bound": True, "reason": None, "message": None, "card": card, "phone": e164,
                    "balance": account.balance, "tries_left": MAX_PIN_TRIES}

        try:
            return self.ledger.execute(command)
        except LedgerError as err:
            return self._refused(err, card=card, phone=e164, bound=False,
                                 tries_left=self._tries_left(account_id(card), Account))

    def recharge(self, voucher: str, pin: str, phone: str, actor: str, op_id: str | None = None) -> dict[str, Any]:
        """Redeem `voucher` into the account bound to `phone`; a repeat with `op_id` returns the first answer."""
        check_card_number(voucher)
        check_pin_format(pin)
        e164 = self.charging.normalise(phone)
        try:
            done = self.ledger.redeem_voucher(voucher, pin, e164, actor, op_id=op_id)
        except LedgerError as err:
            return self._refused(err, voucher=voucher, phone=e164, recharged=False,
                                 tries_left=self._tries_left(voucher_id(voucher), Voucher))
        return {"recharged": True, "reason": None, "message": None, "voucher": voucher, "phone": e164,
                "account": done["account"], "amount": done["amount"], "balance": done["balance"],
                "tries_left": MAX_PIN_TRIES}

    def balance(self, phone: str) -> dict[str, Any]:
        """The balance of the account bound to `phone` (or of an account number), as fresh as the store."""
        return self.charging.balance(phone)

    def _tries_left(self, aggregate_id: Any, kind: type[Account] | type[Voucher]) -> int | None:
        self.ledger.fresh()
        found = UnitOfWork(self.ledger).find(aggregate_id, kind)
        return None if found is None else max(0, MAX_PIN_TRIES - found.pin_failures)

    @staticmethod
    def _refused(err: LedgerError, **answer: Any) -> dict[str, Any]:
        if err.code not in REFUSALS:
            raise err
        return {**answer, "reason": err.code, "message": str(err)}

"""The ledger's named errors. Each carries a machine-readable `code`.

The HTTP, GraphQL and CLI edges translate these once: a 4xx with
`{"error": code, "message": str(err)}`, a GraphQL `extensions.code`, or a
CLI exit code 2.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal by the ledger. Nothing was changed when it is raised
    (except where `commits_events` says the refusal itself is recorded)."""

    code = "ledger_error"
    #: When true, events recorded before the raise (a failed PIN try) are saved.
    commits_events = False


class InvalidRequest(LedgerError):
    code = "invalid_request"


class AmountTooLarge(InvalidRequest):
    """An amount, or the balance it would leave, past the declared maximum (`ledger.money.MAX_AMOUNT`)."""

    code = "amount_too_large"


class NotFound(LedgerError):
    code = "not_found"


class AccountNotFound(NotFound):
    code = "unknown_account"


class CardNotFound(NotFound):
    code = "unknown_card"


class BatchNotFound(NotFound):
    code = "unknown_batch"


class HoldNotFound(NotFound):
    code = "unknown_hold"


class AccountExists(LedgerError):
    code = "account_exists"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class AccountClosed(LedgerError):
    code = "account_closed"


class AccountNotActive(LedgerError):
    code = "account_not_active"


class AccountNotEmpty(LedgerError):
    code = "account_not_empty"


class NumberAlreadyBound(LedgerError):
    code = "number_already_bound"


class NumberNotBound(LedgerError):
    code = "number_not_bound"


class InvalidPin(InvalidRequest):
    """A PIN that is not a PIN at all (not digits, wrong length): bad input, never a wrong try."""


class WrongPin(LedgerError):
    code = "wrong_pin"
    commits_events = True


class PinLocked(LedgerError):
    code = "pin_locked"
    commits_events = True


class CardNotActive(LedgerError):
    code = "card_not_active"


class CardAlreadySold(LedgerError):
    code = "card_already_sold"


class VoucherAlreadyRedeemed(LedgerError):
    code = "voucher_already_redeemed"


class CardCancelled(LedgerError):
    code = "card_cancelled"


class DuplicateHold(LedgerError):
    code = "duplicate_hold"


class IdempotencyConflict(LedgerError):
    """The same operation id was used before for a different request."""

    code = "idempotency_conflict"


class StoreUnavailable(LedgerError):
    """The event store did not answer (outage, lost connection, lock timeout): retry later.

    Raised for a command whose transaction did not complete; a switch treats
    it as "fail closed" (HTTP 503).
    """

    code = "unavailable"

"""The recurring-fee use cases: subscribe, cancel, list, and charge what is due at an instant.

Guarantees:

* each period of a subscription is charged at most once, however often and
  in however many processes `charge_due` runs: the charge is an event on the
  subscription (a second one collides on its version) saved with an
  idempotency record derived from the subscription and the period;
* a fee is debited whole from what is available, or not at all: an account
  that cannot pay it has its subscription suspended with the fee as arrears,
  and no balance ever goes below zero;
* a suspended subscription resumes as soon as its account can pay all the
  arrears (on the next run of the job, or when asked), paying them in one
  debit; billing then goes on from the period the resumption falls in;
* bad input (an unknown account, a malformed service name, a fee out of
  range) is refused before anything is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger.accounts import ACTIVE as ACCOUNT_ACTIVE
from ledger.accounts import Account
from ledger.application import Ledger
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.fee_periods import MONTHLY
from ledger.ids import account_id
from ledger.operations import Operation
from ledger.subscriptions import (
    ACTIVE,
    CANCELLED,
    ENDED,
    SUSPENDED,
    Subscription,
    SubscriptionExists,
    SubscriptionNotFound,
    check_terms,
    subscription_id,
)
from ledger.text import check_text
from ledger.unit_of_work import UnitOfWork
from projections import subscriptions as view

SYSTEM = "system:fees"
STATUSES = (ACTIVE, SUSPENDED, CANCELLED, ENDED)
#: How many periods one run bills for one subscription (after a long outage the rest follow on the next runs).
MAX_PERIODS_PER_RUN = 24


class Subscriptions:
    def __init__(self, ledger: Ledger, views: Any, clock: Callable[[], datetime], timezone: str,
                 fresh: Callable[[], None]) -> None:
        self.ledger = ledger
        self.views = views
        self.clock = clock
        self.timezone = timezone
        self.fresh = fresh

    # --- helpers -----------------------------------------------------------------

    @staticmethod
    def _names(account: Any, service: Any) -> None:
        check_text(account, "an account number", 20, required=True)
        check_text(service, "a service name", 64, required=True)

    @staticmethod
    def _account(uow: UnitOfWork, number: str) -> Account:
        return uow.get(account_id(number), Account, lambda: AccountNotFound(f"no account {number}"))

    @staticmethod
    def _subscription(uow: UnitOfWork, account: str, service: str) -> Subscription:
        return uow.get(subscription_id(account, service), Subscription,
                       lambda: SubscriptionNotFound(f"account {account} has no subscription to {service}"))

    @staticmethod
    def _available(account: Account) -> int:
        """What a fee may take: nothing from an account that cannot be debited (suspended or closed)."""
        return account.available if account.status == ACCOUNT_ACTIVE else 0

    # --- commands ----------------------------------------------------------------

    def subscribe(self, account: str, service: str, fee: int, actor: str, *, period: str = MONTHLY,
                  anchor_day: int | None = None, term: int = 0) -> dict[str, Any]:
        """Subscribe an account to a service; the first period's fee is charged at once (or left unpaid)."""
        self._names(account, service)
        now = self.clock()
        anchor = anchor_day if anchor_day is not None else now.astimezone(ZoneInfo(self.timezone)).day
        check_terms(service, fee, period, anchor, term, self.timezone)

        def command(uow: UnitOfWork) -> dict[str, Any]:
            payer = self._account(uow, account)
            if payer.status == "closed":
                raise AccountNotFound(f"account {account} is closed")
            if uow.find(subscription_id(account, service), Subscription) is not None:
                raise SubscriptionExists(f"account {account} already has a subscription to {service}")
            uow.add(Subscription.subscribe(account, service, fee, period, anchor, term, self.timezone, now, actor))
            return {}

        self.ledger.execute(command)
        return self.charge(account, service, now)

    def cancel(self, account: str, service: str, actor: str, reason: str = "") -> dict[str, Any]:
        """No fee is charged after this; arrears stay shown."""
        self._names(account, service)
        check_text(reason, "a reason")
        now = self.clock()

        def command(uow: UnitOfWork) -> dict[str, Any]:
            found = self._subscription(uow, account, service)
            found.cancel(now, actor, reason)
            return found.summary()

        return self.ledger.execute(command)

    def charge(self, account: str, service: str, now: datetime | None = None) -> dict[str, Any]:
        """Bring one subscription up to `now`: pay its arrears if the account can, then bill each period begun.

        Returns its summary with `charged` (the periods charged now), `paid` (arrears paid now) and `outcome`
        of the last step (`charged`, `unpaid`, `resumed`, `ended`, or None when nothing was due)."""
        self._names(account, service)
        at = now or self.clock()

        def command(uow: UnitOfWork) -> dict[str, Any]:
            sub = self._subscription(uow, account, service)
            payer = self._account(uow, account)
            charged: list[str] = []
            paid = 0
            outcome = None
            if sub.status == SUSPENDED and sub.arrears <= self._available(payer):
                periods = list(sub.unpaid)
                paid = sub.resume(self._available(payer), at, SYSTEM)
                payer.debit(paid, sub.revenue_account, SYSTEM, f"arrears {service} {','.join(periods)}")
                outcome = "resumed"
            for _ in range(MAX_PERIODS_PER_RUN):
                period = sub.next_period
                step = sub.charge(self._available(payer), at)
                if step is None:
                    break
                outcome = step
                if step != "charged":
                    break
                payer.debit(sub.fee, sub.revenue_account, SYSTEM, f"fee {service} {period}")
                uow.add(Operation.record(f"fee:{sub.id.hex}:{period}", "", {"period": period, "amount": sub.fee}))
                charged.append(period)
            return {**sub.summary(), "charged": charged, "paid": paid, "outcome": outcome, "balance": payer.balance}

        return self.ledger.execute(command)

    def settle_arrears(self, account: str, now: datetime | None = None) -> list[dict[str, Any]]:
        """After money came in: resume each suspended subscription of `account` whose arrears it can now pay
        (in the order of their services, each paid whole). Returns the ones resumed."""
        check_text(account, "an account number", 20, required=True)
        at = now or self.clock()
        self.fresh()
        suspended = view.subscriptions(self.views, account=account, status=SUSPENDED)
        done = [self.charge(account, s["service"], at) for s in suspended]
        return [d for d in done if d["paid"]]

    def charge_due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Charge every subscription due at `now` and resume every suspended one its account can now pay.

        What is due is read from the subscriptions view (rebuilt from events); each charge is checked again on
        the subscription's own events, so a row read late charges nothing twice. Returns what changed."""
        at = now or self.clock()
        self.fresh()
        todo = dict.fromkeys(view.due(self.views, at) + view.payable_arrears(self.views))
        done = []
        for account, service in todo:
            result = self.charge(account, service, at)
            if result["outcome"] is not None:
                done.append(result)
        return done

    # --- reads ---------------------------------------------------------------------

    def list(self, account: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """An unknown account or status is refused: a typo must not read as "no subscriptions"."""
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"a subscription's status is one of {', '.join(STATUSES)}")
        if account is not None:
            check_text(account, "an account number", 20, required=True)
            self.ledger.account(account)
        self.fresh()
        return view.subscriptions(self.views, account=account, status=status)

    def history(self, account: str, service: str | None = None) -> list[dict[str, Any]]:
        check_text(account, "an account number", 20, required=True)
        self.ledger.account(account)
        self.fresh()
        return view.history(self.views, account, service)

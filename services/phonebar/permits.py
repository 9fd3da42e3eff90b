"""What charging asks the phone-bar service on the hook path: may this booth dial this number,
and did this charge take the deposit under the owner's alert threshold.

Both read only aggregates (never a view), in the charge's own unit of work.
"""

from __future__ import annotations

from datetime import datetime

from ledger.accounts import Account
from ledger.booths import Booth, booth_id
from ledger.permits import refusal
from ledger.money import format_money
from ledger.phonebars import PhoneBar, phonebar_id
from ledger.unit_of_work import UnitOfWork
from rating.numberplan import Destination

#: The text of the owner's SMS ({bar}, {balance}, {threshold} filled in).
ALERT_TEXT = "话吧{bar}预存款余额{balance}元，已低于提醒值{threshold}元，请及时充值。"


def booth_refusal(uow: UnitOfWork, account: Account, booth: str | None,
                  destination: Destination) -> tuple[str, str] | None:
    """(reason, message) when the bar's booth may not make this call; None when it may.

    A bar with no booths defined accepts any booth name (or none), as before booths existed.
    """
    if account.kind != "phonebar":
        return None
    bar = uow.find(phonebar_id(account.number), PhoneBar)
    if bar is None or not bar.booths:
        return None
    if booth is None or booth not in bar.booths:
        return "unknown_booth", f"bar {account.number} has no booth {booth!r}"
    found = uow.find(booth_id(account.number, booth), Booth)
    if found is None or not found.active:
        return "unknown_booth", f"bar {account.number} has no booth {booth!r}"
    why = refusal(found.permissions, destination.e164, destination.category)
    return ("booth_not_permitted", why) if why else None


def note_charge(uow: UnitOfWork, account: Account, charged: int, at: datetime) -> None:
    """After a charge to a bar's deposit: record the owner's alert if it crossed the threshold."""
    if account.kind != "phonebar" or charged <= 0:
        return
    bar = uow.find(phonebar_id(account.number), PhoneBar)
    if bar is None or bar.threshold is None:
        return
    body = ALERT_TEXT.format(bar=account.number, balance=format_money(account.balance),
                             threshold=format_money(bar.threshold))
    bar.note_balance(account.balance + charged, account.balance, at, body)

"""What charging asks of an account's own call permissions: may it dial this number.

The operator sets them on the account (`Account.set_call_permissions`); the rules are the
booths' (`ledger.permits`). An account without permissions may dial anything it can pay for.
"""

from __future__ import annotations

from ledger.accounts import Account
from ledger.permits import refusal

#: The refusal reason of a call the account's permissions forbid (a booth's own is `booth_not_permitted`).
NOT_PERMITTED = "not_permitted"


def account_refusal(account: Account, e164: str, category: str) -> tuple[str, str] | None:
    """(reason, message) when the account may not dial `e164` (of the number plan's `category`); None when it may."""
    if account.permissions is None:
        return None
    why = refusal(account.permissions, e164, category, f"account {account.number}")
    return (NOT_PERMITTED, why) if why else None

"""Issuing, revoking and checking API keys (bearer tokens) for the portal and the hooks.

`authenticate(ledger, token)` is the one check every edge uses: it reads the
key's record fresh from the event store (so a revocation made by another
process counts at once) and answers a `Principal` or None. Tokens are never
stored or logged; only their SHA-256 digest is recorded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from ledger.accounts import Account
from ledger.apikeys import ApiKey, KeyNotFound, apikey_id, key_id_of
from ledger.application import Ledger
from ledger.errors import AccountNotFound, InvalidRequest
from ledger.forwarding import Business, BusinessNotFound, business_id
from ledger.ids import account_id
from ledger.unit_of_work import UnitOfWork, evict

TOKEN_PREFIX = "rlk_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a key's id, its role and (for a bar owner) the bar's account number."""

    key_id: str
    role: str
    bar: str | None = None

    @property
    def business(self) -> str | None:
        """For a business key: the forwarded number (E.164) whose calls, bill and agents it sees."""
        return self.bar if self.role == "business" else None

    @property
    def actor(self) -> str:
        """The actor recorded in every event this key causes."""
        return f"key:{self.key_id}"


def create_key(ledger: Ledger, role: str, actor: str, *, bar: str | None = None, label: str = "") -> tuple[str, Principal]:
    """Issue a key; returns (token, principal). The token is shown to the caller once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def command(uow: UnitOfWork) -> dict[str, Any]:
        if bar is not None and role != "business":
            account = uow.find(account_id(bar), Account)
            if account is None:
                raise AccountNotFound(f"no account {bar}")
            if account.kind != "phonebar":
                raise InvalidRequest(f"account {bar} is a {account.kind} account, not a phone bar")
        if role == "business" and bar is not None and uow.find(business_id(bar), Business) is None:
            raise BusinessNotFound(f"no forwarding profile for {bar} (name it in E.164, e.g. +861062340000)")
        key = uow.add(ApiKey.create(token, role, bar, label, actor))
        return {"key_id": key.key_id}

    ledger.execute(command)
    return token, Principal(key_id_of(token), role, bar)


def revoke_key(ledger: Ledger, key_id: str, actor: str, reason: str = "") -> dict[str, Any]:
    def command(uow: UnitOfWork) -> dict[str, Any]:
        key = uow.find(apikey_id(key_id), ApiKey)
        if key is None:
            raise KeyNotFound(f"no API key {key_id}")
        key.revoke(actor, reason)
        return {"key_id": key_id, "revoked": True}

    return ledger.execute(command)


def authenticate(ledger: Ledger, token: str | None) -> Principal | None:
    """The principal for a bearer token, or None for a missing, unknown or revoked one."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    aggregate_id = apikey_id(key_id_of(token))
    evict(ledger, [aggregate_id])
    key = UnitOfWork(ledger).find(aggregate_id, ApiKey)
    if key is None or not key.matches(token):
        return None
    return Principal(key.key_id, key.role, key.bar)

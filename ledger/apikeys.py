"""API keys for the portal and the switch hooks: roles, scope and revocation as events.

The key itself (the bearer token) is shown once and never stored: the
aggregate records only its SHA-256 digest. The aggregate id is derived from
the key id (the first 16 hex digits of that digest), so a presented token
leads straight to its record, and a revoked key stays revoked for good.
"""

from __future__ import annotations

import hashlib
import hmac
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError
from ledger.ids import NAMESPACE

ROLES = ("operator", "auditor", "bar_owner", "switch", "business")
#: Roles scoped to one thing, named in the key's `bar` field: a phone bar's account, a business's forwarded number.
SCOPED_ROLES = ("bar_owner", "business")
KEY_ID_HEX = 16


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_id_of(token: str) -> str:
    return token_digest(token)[:KEY_ID_HEX]


def apikey_id(key_id: str) -> UUID:
    return uuid5(NAMESPACE, "apikey:" + key_id)


class ApiKey(Aggregate):
    """Invariant: a bar_owner key names exactly one bar and a business key one forwarded number (both in
    `bar`, the key's scope); other roles name none."""

    class Created(Aggregate.Created):
        key_id: str
        digest: str
        role: str
        bar: str | None
        label: str
        actor: str

    def __init__(self, key_id: str, digest: str, role: str, bar: str | None, label: str, actor: str) -> None:
        self.key_id = key_id
        self.digest = digest
        self.role = role
        self.bar = bar
        self.label = label
        self.revoked = False

    @classmethod
    def create(cls, token: str, role: str, bar: str | None, label: str, actor: str) -> ApiKey:
        if role not in ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
        if (role in SCOPED_ROLES) != (bar is not None):
            raise InvalidRequest("a bar_owner key needs --bar (a phonebar account), a business key --business "
                                 "(a forwarded number); other roles take neither")
        digest = token_digest(token)
        key_id = digest[:KEY_ID_HEX]
        return cls._create(
            cls.Created, id=apikey_id(key_id), key_id=key_id, digest=digest, role=role, bar=bar, label=label,
            actor=actor,
        )

    def matches(self, token: str) -> bool:
        return not self.revoked and hmac.compare_digest(self.digest, token_digest(token))

    class Revoked(Aggregate.Event):
        key_id: str
        actor: str
        reason: str

        def apply(self, key: ApiKey) -> None:
            key.revoked = True

    def revoke(self, actor: str, reason: str = "") -> None:
        if self.revoked:
            raise KeyAlreadyRevoked(f"key {self.key_id} is already revoked")
        self.trigger_event(self.Revoked, key_id=self.key_id, actor=actor, reason=reason)


class KeyNotFound(LedgerError):
    code = "unknown_key"


class KeyAlreadyRevoked(LedgerError):
    code = "key_revoked"

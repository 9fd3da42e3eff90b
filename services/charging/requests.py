"""What charging is asked and what it answers: the request, the policy, refusals, number lookups."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from ledger.accounts import Account
from ledger.errors import LedgerError
from rating.numberplan import DialPlan, InvalidNumber, classify, to_e164
from rating.rate import MAX_CALL_SECONDS
from rating.tariffs import RateRow

SERVICES = ("direct", "callback", "conference", "forward", "phonebar", "missed_call")
REASONS = ("insufficient_funds", "unknown_account", "no_rate", "blacklisted", "account_closed", "duplicate_call",
           "booth_not_permitted", "unknown_booth",
           "not_forwarded", "outside_schedule", "no_agent_free")  # the last three: forwarded calls
EXPIRY_ACTOR = "system:expiry"
GRANT_ACTOR = "system:grant-timer"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChargingPolicy:
    hold_ttl: int = 600
    low_balance: int = 20_000
    max_call_seconds: int = MAX_CALL_SECONDS
    default_plan: str = ""
    dial_plan: DialPlan = field(default_factory=DialPlan)
    #: The slice: seconds granted (and held for) at authorize and added by each extension.
    grant_seconds: int = 300
    #: A grant is extended once less than this is left of it (at a report, or by the ledger's timer).
    grant_lead: int = 60
    #: Without a log-following ledger (`Ledger.sync`): how long a cached tariff or
    #: blacklist is trusted before it is read again. With one (every container), a
    #: cached tariff or blacklist is dropped as soon as the log shows it changed.
    refresh_seconds: float = 5.0


    def __post_init__(self) -> None:
        if self.grant_seconds < 1 or self.grant_lead < 0:
            raise ValueError("grant_seconds is at least 1 and grant_lead at least 0")

    @property
    def lead(self) -> int:
        """The lead, less than one slice (so that a report right after an extension never extends again)."""
        return min(self.grant_lead, self.grant_seconds - 1)


@dataclass(frozen=True)
class CallRequest:
    """An authorize request as the switch sent it (already parsed at the edge)."""

    call_id: str
    caller: str
    callee: str
    service: str
    account: str | None = None
    booth: str | None = None
    forwarded_from: str | None = None
    conference_id: str | None = None
    switch: str | None = None
    #: A cap on the grant below the policy's longest call, in seconds (None: no cap of its own). The
    #: callback service grants its two legs together, each no longer than the bridged call both can pay.
    cap_seconds: int | None = None

    def fingerprint(self) -> str:
        """The request as canonical JSON: a retry has the same one, another call a different one."""
        return orjson.dumps({f: getattr(self, f) for f in _REQUEST_FIELDS}, option=orjson.OPT_SORT_KEYS).decode()


_REQUEST_FIELDS = tuple(f.name for f in fields(CallRequest))


class Refusal(Exception):
    def __init__(self, reason: str, message: str, account: Account | None = None,
                 destination: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.account, self.destination = reason, message, account, destination


@lru_cache(maxsize=8192)
def e164_of(raw: str, plan: DialPlan) -> str | None:
    try:
        return to_e164(raw, plan)
    except InvalidNumber:
        return None


@lru_cache(maxsize=8192)
def caller_area(e164: str | None, plan: DialPlan) -> str | None:
    if e164 is None:
        return None
    try:
        return classify(e164, plan).area
    except InvalidNumber:
        return None


@lru_cache(maxsize=8192)
def classify_callee(callee: str, plan: DialPlan, area: str | None) -> Any:
    return classify(callee, plan, area)


@lru_cache(maxsize=1024)
def _row(rate_json: str) -> RateRow:
    return RateRow.from_dict(json.loads(rate_json))


def rate_row_of(rate: dict[str, Any]) -> RateRow:
    return _row(json.dumps(rate, sort_keys=True))


@dataclass(frozen=True)
class RatedDestination:
    e164: str
    category: str


def refusal_answer(call: str, reason: str, message: str, account: Account | None = None,
                    destination: dict[str, Any] | None = None, low_balance: int = 0) -> dict[str, Any]:
    return {
        "call_id": call,
        "authorized": False,
        "reason": reason,
        "message": message,
        "max_seconds": 0,
        "granted_seconds": 0,
        "account": account.number if account else None,
        "balance": account.balance if account else None,
        "available": account.available if account else None,
        "hold": 0,
        "low_balance": bool(account and account.available < low_balance),
        "destination": destination,
        "rate": None,
    }


class NoRateForCall(LedgerError):
    code = "no_rate"

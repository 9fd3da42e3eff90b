"""Wire models of the switch hook contract (DESIGN "Switch hook contract (REST, v1)").

Money leaves as decimal strings with four places ("12.3400"); seconds are
whole numbers; instants are ISO 8601 with an offset, in the years 2000 to
2099; identifiers (call id, booth …) are refused, not trimmed, when padded
with whitespace. Requests ignore
unknown fields (switches add their own); answers may gain fields, never
lose or rename one. Request fields are strictly typed (`"60"` is not a
number) and text holds no control characters, so whatever is accepted can
be stored by every view.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from ledger.errors import InvalidRequest
from ledger.instants import check_instant
from ledger.money import format_money
from ledger.text import MAX_CALLEE_DIGITS, MAX_CALLER_DIGITS, check_digits

#: Text without C0/C1 control characters (NUL included) or DEL.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"


def _unpadded(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not begin or end with whitespace")
    return value


def _sane_instant(value: Any) -> Any:
    try:
        return check_instant(value, "the instant")
    except InvalidRequest as err:
        raise ValueError(str(err).removeprefix("the instant ")) from None


def _digits(most: int) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return check_digits(value, "the number", most)
        except InvalidRequest as err:
            raise ValueError(str(err).removeprefix("the number ")) from None

    return AfterValidator(check)


#: An identifier a switch sends: printable, and not padded (" x" is not "x").
Text64 = Annotated[str, Field(min_length=1, max_length=64, pattern=PRINTABLE), AfterValidator(_unpadded)]
#: A calling number: as Text64, with at most 20 digits (separators and + not counted).
Caller = Annotated[Text64, _digits(MAX_CALLER_DIGITS)]
#: A called number: as Text64, with at most 28 digits.
Callee = Annotated[Text64, _digits(MAX_CALLEE_DIGITS)]
CallId = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE), AfterValidator(_unpadded)]
#: An instant with an offset, in the years 2000 to 2099 (ledger.instants).
Instant = Annotated[AwareDatetime, AfterValidator(_sane_instant)]
Service = Literal["direct", "callback", "conference", "forward", "phonebar", "missed_call"]
Reason = Literal["insufficient_funds", "unknown_account", "no_rate", "blacklisted", "account_closed",
                 "duplicate_call", "booth_not_permitted", "unknown_booth", "not_permitted",
                 "not_forwarded", "outside_schedule", "no_agent_free"]
Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{4}$", examples=["12.3400"])]
Seconds = Annotated[int, Field(ge=0, le=86_400)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class AuthorizeBody(_Body):
    call_id: CallId
    caller: Caller
    callee: Callee
    service: Service
    account: Annotated[str, Field(pattern=r"^[0-9]{4,20}$")] | None = None
    booth: Text64 | None = None
    forwarded_from: Text64 | None = None
    conference_id: Text64 | None = None
    switch: Text64 | None = None


class AnswerBody(_Body):
    answered_at: Instant | None = None


class InterimBody(_Body):
    used_seconds: Seconds


class EndBody(_Body):
    billsec: Seconds
    ended_at: Instant | None = None
    cause: Annotated[str, Field(max_length=64, pattern=PRINTABLE)] = ""


class Destination(BaseModel):
    e164: str
    category: str
    prefix: str | None
    name: str | None


class Rate(BaseModel):
    plan: str
    version: int
    price_per_minute: Money
    band: str | None
    first_increment: int
    next_increment: int
    connect_fee: Money
    minimum_charge: Money


class Forward(BaseModel):
    #: The business's forwarded number (E.164) the call is served for.
    business: str
    #: The agent or destination chosen (E.164): the number the switch dials, and the one the leg is rated on.
    agent: str
    destination: str
    #: The calling number to present on the outgoing leg, and the greeting to play the caller.
    presented_number: str
    greeting: str


class AuthorizeAnswer(BaseModel):
    call_id: str
    authorized: bool
    reason: Reason | None
    message: str | None
    max_seconds: int
    #: Seconds granted (held for): the first slice, or what the balance pays for if less; 0 when refused.
    granted_seconds: int
    account: str | None
    balance: Money | None
    available: Money | None
    hold: Money
    low_balance: bool
    destination: Destination | None
    rate: Rate | None
    #: A forwarded call (service `forward`): whom it is served for and where it goes.
    forward: Forward | None = None


class AnswerAnswer(BaseModel):
    call_id: str
    status: str
    max_seconds: int
    granted_seconds: int


class InterimAnswer(BaseModel):
    call_id: str
    continue_: bool = Field(alias="continue")
    #: Seconds the call may still run from `used_seconds` (0 when it must stop).
    max_seconds: int
    used: Money
    #: Seconds granted in all, and the money held for them.
    granted_seconds: int
    hold: Money
    #: The account's available money is under the low-balance threshold (play the warning).
    low_balance: bool
    #: Why the call must stop (`insufficient_funds`, `max_call_seconds`, `account_closed`, or the call's
    #: status once it has ended); null while it may go on.
    reason: str | None


class EndAnswer(BaseModel):
    call_id: str
    charged: Money
    cost: Money
    balance: Money | None
    available: Money | None
    low_balance: bool
    billsec: int
    flags: str


class BalanceAnswer(BaseModel):
    account: str
    balance: Money
    available: Money
    low_balance: bool
    status: str


class PinVerifyBody(BaseModel):
    pin: str = Field(min_length=1, max_length=32, description="The PIN the caller keyed in (never logged).")


class PinVerifyAnswer(BaseModel):
    account: str
    verified: bool
    #: None when verified, else `wrong_pin` or `pin_locked`.
    reason: str | None
    tries_left: int


class ErrorAnswer(BaseModel):
    error: str
    message: str


# --- answers from the charging service (int money) to the wire -------------------

_MONEY_FIELDS = ("balance", "available", "hold", "charged", "cost", "used")


def wire(answer: dict[str, Any]) -> dict[str, Any]:
    """Format every money field of a service answer as a decimal string."""
    out = dict(answer)
    for key in _MONEY_FIELDS:
        value = out.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = format_money(value)
    rate = out.get("rate")
    if rate:
        out["rate"] = {**rate, **{k: format_money(rate[k]) for k in ("price_per_minute", "connect_fee",
                                                                    "minimum_charge")}}
    return out

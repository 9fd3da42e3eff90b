"""Wire models of the callback hooks and the SMS inlet (same rules as `adapters.http.models`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from adapters.http.models import PRINTABLE, Callee, Caller, Money, Text64, _Body

CallId = Annotated[str, Field(min_length=1, max_length=180, pattern=PRINTABLE)]
Digits = Annotated[str, Field(pattern=r"^[0-9]{4,20}$", description="4-20 ASCII digits")]
Pin = Annotated[str, Field(pattern=r"^[0-9]{6,10}$", description="6-10 digits keyed by the caller (never logged)")]
Billsec = Annotated[int, Field(ge=0, le=86_400)]


class PlaceBody(_Body):
    call_id: CallId
    caller: Caller
    access_number: Text64


class PlaceAnswer(BaseModel):
    call_id: str
    reject: bool
    callback: bool
    reason: str | None
    message: str | None
    account: str | None
    subscriber: str | None
    leg_a: str | None
    max_seconds: int
    balance: Money | None
    available: Money | None
    low_balance: bool


class DestinationBody(_Body):
    destination: Callee


class DestinationAnswer(BaseModel):
    call_id: str
    bridged: bool
    reason: str | None
    message: str | None
    max_seconds: int
    leg_a: str | None
    leg_b: str | None
    warn_after_seconds: int
    low_balance: bool
    balance: Money | None
    available: Money | None


class CallbackEndBody(_Body):
    leg_a_billsec: Billsec | None = None
    leg_b_billsec: Billsec | None = None
    cause: Annotated[str, Field(max_length=64, pattern=PRINTABLE)] = ""


class CallbackEndAnswer(BaseModel):
    call_id: str
    status: str
    charged: Money
    leg_a_charged: Money
    leg_b_charged: Money
    account: str
    balance: Money
    available: Money
    low_balance: bool


class BindBody(_Body):
    caller: Caller
    card: Digits
    pin: Pin


class BindAnswer(BaseModel):
    bound: bool
    reason: str | None
    message: str | None
    card: str
    phone: str
    balance: Money | None = None
    tries_left: int | None


class RechargeBody(_Body):
    call_id: CallId
    caller: Caller
    voucher: Annotated[str, Field(pattern=r"^[0-9]{16}$", description="the voucher's 16 digits")]
    pin: Pin


class RechargeAnswer(BaseModel):
    recharged: bool
    reason: str | None
    message: str | None
    voucher: str
    phone: str
    account: str | None = None
    amount: Money | None = None
    balance: Money | None = None
    tries_left: int | None


PhoneText = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 -]{2,30}$", description="a phone number")]


class InboundSms(_Body):
    sender: PhoneText = Field(alias="from")
    recipient: PhoneText | None = Field(default=None, alias="to")
    text: Annotated[str, Field(min_length=1, max_length=1000, pattern=PRINTABLE)]


class SmsMessage(BaseModel):
    id: str
    sender: str = Field(serialization_alias="from")
    recipient: str = Field(serialization_alias="to")
    text: str


class InboundAnswer(BaseModel):
    received: bool
    replies: list[SmsMessage]

"""What Asterisk sends, parsed at the edge: the AGI variable block of a call, and the AMI `Cdr` event.

A frame that does not fit raises `ValueError` (pydantic's `ValidationError`
is one) with a message naming the field; nothing reaches the ledger then.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The CDR user field that marks a call the ledger authorized: `rl:<call id>`.
USERFIELD_PREFIX = "rl:"
#: The call id of a call authorized by AGI: `ast-` and the channel's unique id.
CALL_ID_PREFIX = "ast-"

_UNIQUEID = re.compile(r"[0-9A-Za-z._-]{1,150}")
_LOCAL_TIME = "%Y-%m-%d %H:%M:%S"


class AgiCall(BaseModel):
    """The variables of an AGI request that charging needs (`agi_` prefix dropped)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    network_script: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=200)
    uniqueid: str
    callerid: str = Field(min_length=1, max_length=64)
    extension: str = Field(min_length=1, max_length=64)
    accountcode: str = Field(default="", max_length=64)
    arg_1: str = Field(default="", max_length=200)
    arg_2: str = Field(default="", max_length=200)
    arg_3: str = Field(default="", max_length=200)
    arg_4: str = Field(default="", max_length=200)
    arg_5: str = Field(default="", max_length=200)

    @field_validator("uniqueid")
    @classmethod
    def _a_unique_id(cls, value: str) -> str:
        if _UNIQUEID.fullmatch(value) is None:
            raise ValueError("agi_uniqueid is 1-150 letters, digits, dots, dashes")
        return value

    @property
    def script(self) -> str:
        """`authorize` of `agi://host:4573/authorize?x=1`."""
        return self.network_script.split("?", 1)[0].strip("/")

    @property
    def call_id(self) -> str:
        return CALL_ID_PREFIX + self.uniqueid


def parse_agi_call(variables: dict[str, str]) -> AgiCall:
    missing = [f"agi_{n}" for n in ("network_script", "channel", "uniqueid", "callerid", "extension")
               if not variables.get(n)]
    if missing:
        raise ValueError(f"missing AGI variables: {', '.join(missing)}")
    return AgiCall.model_validate(variables)


class CdrEvent(BaseModel):
    """The AMI `Cdr` event (cdr_manager); times are the switch's local wall clock."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    unique_id: str = Field(alias="uniqueid")
    linked_id: str = Field(default="", alias="linkedid")
    channel: str = Field(default="", alias="channel")
    user_field: str = Field(default="", alias="userfield")
    billable_seconds: int = Field(alias="billableseconds", ge=0, le=86_400)
    end_time: str = Field(default="", alias="endtime")
    disposition: str = Field(default="", alias="disposition", max_length=40)

    @field_validator("billable_seconds", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise ValueError("BillableSeconds is a whole number of seconds")
        return int(value)

    @property
    def call_id(self) -> str | None:
        """The ledger's call id when this CDR is of a call the ledger authorized, else None."""
        if self.user_field.startswith(USERFIELD_PREFIX):
            return self.user_field[len(USERFIELD_PREFIX):] or None
        return None

    def ended_at(self, zone: ZoneInfo) -> datetime | None:
        """`EndTime` as an aware instant in the switch's zone (None when empty)."""
        if not self.end_time:
            return None
        try:
            return datetime.strptime(self.end_time, _LOCAL_TIME).replace(tzinfo=zone)
        except ValueError:
            raise ValueError(f"EndTime {self.end_time[:30]!r} is not YYYY-MM-DD HH:MM:SS") from None


def headers_of(message: Any) -> dict[str, str]:
    """An AMI message as a plain dict of its `Key: Value` headers, keys in lower case (AMI keys are not
    case-sensitive); the first value of a repeated key."""
    out: dict[str, str] = {}
    for key, value in dict(message).items():
        out[str(key).lower()] = value[0] if isinstance(value, list) and value else str(value)
    return out

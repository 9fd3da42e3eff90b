"""Money, DateTime and Date scalars: decimal strings and ISO 8601 at the edge, never floats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ariadne import ScalarType

from ledger.errors import InvalidRequest
from ledger.money import format_money, parse_money

money = ScalarType("Money")
date_time = ScalarType("DateTime")
day = ScalarType("Date")


@money.serializer
def serialize_money(value: int) -> str:
    return format_money(value)


@money.value_parser
def parse_money_value(value: Any) -> int:
    if not isinstance(value, str):
        raise InvalidRequest("Money is a decimal string such as \"12.3400\", not a number")
    return parse_money(value)


@date_time.serializer
def serialize_datetime(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


@date_time.value_parser
def parse_datetime(value: Any) -> datetime:
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(f"{value!r} is not an ISO 8601 instant") from None
    if instant.utcoffset() is None:
        raise InvalidRequest(f"{value!r} has no time zone; add one, e.g. +08:00")
    return instant


@day.serializer
def serialize_date(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


@day.value_parser
def parse_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a day: use YYYY-MM-DD") from None


SCALARS = [money, date_time, day]

"""Advertisement texts appended to missed-call notices (通知广告), chosen by time band, number prefix and user group.

One aggregate holds every advert by name. An advert applies when each of
its conditions that is set holds: the local hour is in its band
(`from_hour` ≤ hour < `to_hour`, a band may wrap past midnight), the
recipient's number starts with its prefix, the recipient's user group is
its group. Of the adverts that apply, the most specific wins (a group
beats a prefix, a longer prefix a shorter one, a band no band); ties go to
the first name in order. None applies: the notice goes without one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, NotFound
from ledger.ids import derived_id
from ledger.text import check_text

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
#: An advert leaves room in one 70-character Chinese SMS for the notice itself.
MAX_ADVERT = 40


def adverts_id() -> Any:
    return derived_id("missed_call_adverts")


def check_advert(name: Any, text: Any, from_hour: Any, to_hour: Any, prefix: Any, group: Any) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidRequest("an advert's name is 1 to 32 lower-case letters, digits, - or _")
    check_text(text, "an advert's text", MAX_ADVERT, required=True)
    for hour in (from_hour, to_hour):
        if hour is not None and (isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 24):
            raise InvalidRequest("a time band's hours are 0 to 24")
    if (from_hour is None) != (to_hour is None) or (from_hour is not None and from_hour == to_hour):
        raise InvalidRequest("a time band has both hours, and they differ")
    if prefix is not None and (not isinstance(prefix, str) or not re.fullmatch(r"\+[0-9]{1,15}", prefix)):
        raise InvalidRequest("a number prefix is + and up to 15 digits, e.g. +86139")
    if group is not None:
        check_text(group, "a user group", 32, required=True)


class Adverts(Aggregate):
    class Started(Aggregate.Created):
        actor: str

    def __init__(self, actor: str) -> None:
        self.adverts: dict[str, dict[str, Any]] = {}

    @classmethod
    def start(cls, actor: str) -> Adverts:
        return cls._create(cls.Started, id=adverts_id(), actor=actor)

    class AdvertSet(Aggregate.Event):
        name: str
        text: str
        from_hour: int | None
        to_hour: int | None
        prefix: str | None
        group: str | None
        actor: str

        def apply(self, book: Adverts) -> None:
            book.adverts[self.name] = {"name": self.name, "text": self.text, "from_hour": self.from_hour,
                                       "to_hour": self.to_hour, "prefix": self.prefix, "group": self.group}

    class AdvertRemoved(Aggregate.Event):
        name: str
        actor: str

        def apply(self, book: Adverts) -> None:
            del book.adverts[self.name]

    def set(self, name: str, text: str, from_hour: int | None, to_hour: int | None, prefix: str | None,
            group: str | None, actor: str) -> None:
        check_advert(name, text, from_hour, to_hour, prefix, group)
        self.trigger_event(self.AdvertSet, name=name, text=text, from_hour=from_hour, to_hour=to_hour,
                           prefix=prefix, group=group, actor=actor)

    def remove(self, name: str, actor: str) -> None:
        if name not in self.adverts:
            raise AdvertNotFound(f"no advert {name}")
        self.trigger_event(self.AdvertRemoved, name=name, actor=actor)

    def choose(self, at: datetime, tz: str, number: str, group: str | None) -> str | None:
        return choose(list(self.adverts.values()), at.astimezone(ZoneInfo(tz)).hour, number, group)


def _in_band(hour: int, start: int, end: int) -> bool:
    return start <= hour < end if start < end else hour >= start or hour < end


def choose(adverts: list[dict[str, Any]], hour: int, number: str, group: str | None) -> str | None:
    """The text of the most specific advert that applies, or None."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for ad in sorted(adverts, key=lambda a: a["name"]):
        if ad["group"] is not None and ad["group"] != group:
            continue
        if ad["prefix"] is not None and not number.startswith(ad["prefix"]):
            continue
        if ad["from_hour"] is not None and not _in_band(hour, ad["from_hour"], ad["to_hour"]):
            continue
        rank = (ad["group"] is not None, len(ad["prefix"] or ""), ad["from_hour"] is not None)
        score = (int(rank[0]), rank[1], int(rank[2]))
        if best is None or score > best:
            best, chosen = score, ad["text"]
    return chosen


class AdvertNotFound(NotFound):
    code = "unknown_advert"

"""Missed-call notification (来电提醒): one box per callee's number, holding its missed calls and notices.

A notice window is the calls of one caller within one local hour (the
operator's zone): the SMS for it names the caller, that hour and the count.
A window waits (`pending`) until the switch reports the callee reachable;
then it is claimed (`NoticeSent`, with the text) in the same transaction
that reads it, and only then handed to the SMS gateway. A caller's request
to be told when the callee is reachable again is served the same way, its
fee debited from the requester's account in the claiming transaction.

Invariants:

* a call id is recorded at most once (a switch retry records nothing);
* a window or a request is claimed at most once while pending: two reports
  of the callee coming back collide on this aggregate's version, and the
  loser finds nothing pending, so each SMS goes out once;
* a send the gateway refused puts its window (or request) back to pending
  (`NoticeFailed`, `ReachableNoticeFailed`, the fee credited back);
* a window or request left pending for `VALIDITY` (24 h, the SMS validity)
  after its first call lapses and is never sent;
* the owner's PIN is kept as a keyed hash; `MAX_PIN_TRIES` wrong tries in a
  row lock it until the operator resets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from ledger.errors import InvalidRequest, LedgerError, PinLocked, WrongPin
from ledger.ids import derived_id
from ledger.pins import MAX_PIN_TRIES

#: The causes a switch reports, and the subscription each needs (来话提示 off / out of area, 遇忙提示 busy).
CAUSES = {"busy": "busy", "off": "off", "unreachable": "off", "out_of_area": "off"}
SERVICES = {"busy": "missed_call_busy", "off": "missed_call_off"}
VALIDITY = timedelta(hours=24)
PENDING, SENT, LAPSED = "pending", "sent", "lapsed"


def box_id(callee: str) -> Any:
    return derived_id(f"missed_calls:{callee}")


def window_key(caller: str, at: datetime, tz: str) -> str:
    """`+8613800138000@2026-11-25T14`: one caller's calls within one local hour."""
    return f"{caller}@{at.astimezone(ZoneInfo(tz)):%Y-%m-%dT%H}"


class MissedCallBox(Aggregate):
    class Opened(Aggregate.Created):
        callee: str
        tz: str
        actor: str

    def __init__(self, callee: str, tz: str, actor: str) -> None:
        self.callee = callee
        self.tz = tz
        self.calls: list[str] = []
        #: window key -> caller, first_at, last_at, count, status
        self.windows: dict[str, dict[str, Any]] = {}
        #: request id -> requester, notify, account, at, status
        self.requests: dict[str, dict[str, Any]] = {}
        self.comebacks: list[str] = []
        #: Reported reachable since the last missed call (notices may go out now).
        self.reachable = False
        self.pvv: str | None = None
        self.pin_failures = 0
        self.group: str | None = None

    @classmethod
    def open(cls, callee: str, tz: str, actor: str) -> MissedCallBox:
        return cls._create(cls.Opened, id=box_id(callee), callee=callee, tz=tz, actor=actor)

    # --- queries -----------------------------------------------------------------

    def pending_windows(self) -> list[str]:
        return [k for k, w in self.windows.items() if w["status"] == PENDING]

    def pending_requests(self) -> list[str]:
        return [k for k, r in self.requests.items() if r["status"] == PENDING]

    @property
    def pin_locked(self) -> bool:
        return self.pin_failures >= MAX_PIN_TRIES

    # --- missed calls and notices ----------------------------------------------------

    class CallMissed(Aggregate.Event):
        call_id: str
        caller: str
        cause: str
        account: str
        at: datetime
        window: str

        def apply(self, box: MissedCallBox) -> None:
            box.calls.append(self.call_id)
            box.reachable = False
            w = box.windows.get(self.window)
            if w is None:
                box.windows[self.window] = {"caller": self.caller, "first_at": self.at, "last_at": self.at,
                                            "count": 1, "status": PENDING, "cause": CAUSES[self.cause]}
            else:
                w["count"] += 1
                w["last_at"] = max(w["last_at"], self.at)

    def miss(self, call_id: str, caller: str, cause: str, account: str, at: datetime) -> dict[str, Any] | None:
        """Record a missed call; None when this call id was recorded before (nothing changes)."""
        if cause not in CAUSES:
            raise InvalidRequest(f"a cause is one of {', '.join(CAUSES)}")
        if call_id in self.calls:
            return None
        key = window_key(caller, at, self.tz)
        if key in self.windows and self.windows[key]["status"] != PENDING:
            key = f"{key}#{sum(1 for k in self.windows if k.startswith(key))}"  # a later batch of that hour
        self.trigger_event(self.CallMissed, call_id=call_id, caller=caller, cause=cause, account=account, at=at,
                           window=key)
        return {"window": key, "count": self.windows[key]["count"]}

    class NoticeSent(Aggregate.Event):
        """The window's notice was claimed for sending with this text (the gateway gets it after the save)."""

        window: str
        recipient: str
        body: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.windows[self.window]["status"] = SENT

    class NoticeFailed(Aggregate.Event):
        window: str
        error: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.windows[self.window]["status"] = PENDING

    class NoticeLapsed(Aggregate.Event):
        window: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.windows[self.window]["status"] = LAPSED

    class CameBack(Aggregate.Event):
        """The switch reported the callee reachable again (registration, attach, or a busy line gone idle)."""

        event_id: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.comebacks.append(self.event_id)
            box.reachable = True

    def came_back(self, event_id: str, at: datetime) -> bool:
        """Record the report; False when this report id was recorded before."""
        if event_id in self.comebacks:
            return False
        self.trigger_event(self.CameBack, event_id=event_id, at=at)
        return True

    def claim_notice(self, window: str, body: str, at: datetime) -> None:
        if self.windows[window]["status"] != PENDING:
            raise InvalidRequest(f"notice {window} is not pending")
        self.trigger_event(self.NoticeSent, window=window, recipient=self.callee, body=body, at=at)

    def notice_failed(self, window: str, error: str, at: datetime) -> None:
        if self.windows[window]["status"] == SENT:
            self.trigger_event(self.NoticeFailed, window=window, error=error[:300], at=at)

    def lapse(self, now: datetime) -> list[str]:
        """Lapse every window and request pending since `VALIDITY` or longer; returns what lapsed."""
        done = []
        for key in self.pending_windows():
            if now - self.windows[key]["first_at"] >= VALIDITY:
                self.trigger_event(self.NoticeLapsed, window=key, at=now)
                done.append(key)
        for key in self.pending_requests():
            if now - self.requests[key]["at"] >= VALIDITY:
                self.trigger_event(self.ReachableRequestLapsed, request=key, at=now)
                done.append(key)
        return done

    # --- reachable-again requests --------------------------------------------------

    class ReachableRequested(Aggregate.Event):
        request: str
        requester: str
        notify: str
        account: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.requests[self.request] = {"requester": self.requester, "notify": self.notify,
                                          "account": self.account, "at": self.at, "status": PENDING}

    def request_reachable(self, request: str, requester: str, notify: str, account: str, at: datetime) -> bool:
        """Record a caller's request; False when this request id was recorded before."""
        if request in self.requests:
            return False
        self.trigger_event(self.ReachableRequested, request=request, requester=requester, notify=notify,
                           account=account, at=at)
        return True

    class ReachableNoticeSent(Aggregate.Event):
        """Claimed for sending; `amount` was debited from the requester's account in the same save."""

        request: str
        recipient: str
        body: str
        amount: int
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.requests[self.request]["status"] = SENT

    class ReachableNoticeUnpaid(Aggregate.Event):
        """The requester's account could not pay the notice: nothing was sent, nothing debited."""

        request: str
        amount: int
        available: int
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.requests[self.request]["status"] = "unpaid"

    class ReachableNoticeFailed(Aggregate.Event):
        """The gateway refused the text: the fee was credited back in the same save, the request waits again."""

        request: str
        amount: int
        error: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.requests[self.request]["status"] = PENDING

    class ReachableRequestLapsed(Aggregate.Event):
        request: str
        at: datetime

        def apply(self, box: MissedCallBox) -> None:
            box.requests[self.request]["status"] = LAPSED

    def claim_reachable(self, request: str, body: str, amount: int, at: datetime) -> None:
        if self.requests[request]["status"] != PENDING:
            raise InvalidRequest(f"request {request} is not pending")
        self.trigger_event(self.ReachableNoticeSent, request=request, recipient=self.requests[request]["notify"],
                           body=body, amount=amount, at=at)

    def reachable_unpaid(self, request: str, amount: int, available: int, at: datetime) -> None:
        self.trigger_event(self.ReachableNoticeUnpaid, request=request, amount=amount, available=available, at=at)

    def reachable_failed(self, request: str, amount: int, error: str, at: datetime) -> None:
        self.trigger_event(self.ReachableNoticeFailed, request=request, amount=amount, error=error[:300], at=at)

    # --- the owner's PIN -----------------------------------------------------------------

    class PinSet(Aggregate.Event):
        pvv: str
        actor: str

        def apply(self, box: MissedCallBox) -> None:
            box.pvv = self.pvv
            box.pin_failures = 0

    class PinFailed(Aggregate.Event):
        actor: str

        def apply(self, box: MissedCallBox) -> None:
            box.pin_failures += 1

    class PinVerified(Aggregate.Event):
        actor: str

        def apply(self, box: MissedCallBox) -> None:
            box.pin_failures = 0

    class PinLockedOut(Aggregate.Event):
        actor: str

    def set_pin(self, pvv: str, actor: str) -> None:
        self.trigger_event(self.PinSet, pvv=pvv, actor=actor)

    def verify_pin(self, ok: bool, actor: str) -> None:
        """Record a PIN try. Raises NoPin, WrongPin or PinLocked (the last two are saved: tries count)."""
        if self.pvv is None:
            raise NoPin(f"{self.callee} has no PIN for the owner's menu; set one first")
        if self.pin_locked:
            raise PinLocked(f"the owner's PIN of {self.callee} is locked after {MAX_PIN_TRIES} wrong tries")
        if not ok:
            self.trigger_event(self.PinFailed, actor=actor)
            if self.pin_locked:
                self.trigger_event(self.PinLockedOut, actor=actor)
                raise PinLocked(f"wrong PIN; the owner's PIN of {self.callee} is now locked")
            raise WrongPin(f"wrong PIN ({MAX_PIN_TRIES - self.pin_failures} tries left)")
        if self.pin_failures:
            self.trigger_event(self.PinVerified, actor=actor)


    # --- the subscriber's user group (chooses adverts) --------------------------------------

    class GroupSet(Aggregate.Event):
        group: str | None
        actor: str

        def apply(self, box: MissedCallBox) -> None:
            box.group = self.group

    def set_group(self, group: str | None, actor: str) -> None:
        if group != self.group:
            self.trigger_event(self.GroupSet, group=group, actor=actor)


class NoPin(LedgerError):
    code = "no_pin"


class NotSubscribed(LedgerError):
    code = "not_subscribed"


class SubscriptionSuspended(LedgerError):
    code = "subscription_suspended"

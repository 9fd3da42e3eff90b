"""The CallSession aggregate on its own: opened once, closed once, corrected by appending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.call_ids import call_id
from ledger.charging import CallNotOpen, CallSession
from ledger.errors import InvalidRequest

AT = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def authorized(hold: int = 24_000, max_seconds: int = 1440) -> CallSession:
    fields: dict[str, Any] = dict(
        call_id="c-1", request="{}", account="8000000001", caller="+8613800138000", callee="01062345678",
        callee_e164="+861062345678", category="local", destination_prefix=None, destination_name="Local",
        service="direct", booth=None, bar=None, switch="sw1", plan="demo", plan_version=1,
        rate={"name": "Local", "price_per_minute": 1000}, hold=hold, max_seconds=max_seconds,
        authorized_at=AT, expires_at=AT + timedelta(seconds=600), actor="switch:sw1",
        answer={"authorized": True},
    )
    return CallSession.authorize(**fields)


def test_a_session_id_is_derived_from_the_switch_call_id() -> None:
    assert authorized().id == call_id("c-1")
    assert call_id("c-1") != call_id("c-2")


def test_an_ended_call_charges_at_most_its_hold_and_cannot_end_twice() -> None:
    session = authorized(hold=5_000)
    session.answered(AT)
    session.end(billsec=4000, answered_at=AT, ended_at=AT + timedelta(seconds=4000), cause="normal",
                cost=6_700, flags="capped", actor="sw", answer={"charged": 5_000})
    assert session.status == "ended" and session.charged == 5_000
    with pytest.raises(CallNotOpen):
        session.end(billsec=1, answered_at=AT, ended_at=AT, cause="", cost=1, flags="", actor="sw", answer={})


def test_interim_reports_never_go_backwards() -> None:
    session = authorized()
    session.report_interim(120, 2_000)
    session.report_interim(60, 1_000)  # a retried older report
    assert (session.used_seconds, session.used) == (120, 2_000)
    assert session.seconds_left == 1440 - 120


def test_an_expired_call_is_charged_its_last_reported_usage() -> None:
    session = authorized()
    session.report_interim(300, 5_000)
    session.expire(AT + timedelta(hours=1), "system:expiry")
    assert session.status == "expired" and session.charged == 5_000 and session.billsec == 300
    with pytest.raises(CallNotOpen):
        session.expire(AT + timedelta(hours=2), "system:expiry")


def test_a_rerating_appends_a_correction_and_keeps_the_original_charge() -> None:
    session = authorized()
    session.end(billsec=125, answered_at=AT, ended_at=AT, cause="", cost=3_000, flags="", actor="sw", answer={})
    difference = session.rerate(plan="demo", plan_version=2, rate={}, billsec=125, cost=1_800, actor="op")
    assert difference == -1_200
    assert session.charged == 3_000 and session.cost == 1_800 and session.plan_version == 2


def test_a_refused_call_cannot_be_answered() -> None:
    session = CallSession.refuse(
        call_id="c-9", request="{}", account=None, caller="x", callee="y", service="direct", booth=None,
        switch=None, reason="unknown_account", message="m", refused_at=AT, actor="sw", answer={"reason": "x"},
    )
    with pytest.raises(CallNotOpen):
        session.answered(AT)


def test_a_hold_expires_ttl_after_its_last_report_and_never_earlier() -> None:
    session = authorized(max_seconds=1440)
    session.report_interim(1, 0, reported_at=AT + timedelta(seconds=100), ttl=600)  # still ringing
    assert session.expires_at == AT + timedelta(seconds=700)
    session.answered(AT + timedelta(seconds=120), reported_at=AT + timedelta(seconds=121), ttl=600)
    assert session.expires_at == AT + timedelta(seconds=120 + 1440 + 600)  # the granted time, then TTL
    session.report_interim(60, 1_000, reported_at=AT + timedelta(seconds=180), ttl=600)
    assert session.expires_at == AT + timedelta(seconds=120 + 1440 + 600)  # an early report moves nothing
    session.report_interim(1430, 24_000, reported_at=AT + timedelta(seconds=3000), ttl=600)
    assert session.expires_at == AT + timedelta(seconds=3600)  # a late report: TTL after it


def test_a_grant_only_grows_and_its_end_moves_the_expiry() -> None:
    session = authorized(hold=5_000, max_seconds=300)
    session.answered(AT, ttl=600)
    assert session.expires_at == AT + timedelta(seconds=300 + 600)
    session.extend_grant(max_seconds=600, hold=10_000, at_seconds=250, reported_at=AT + timedelta(seconds=250),
                         ttl=600, actor="switch")
    assert (session.max_seconds, session.hold) == (600, 10_000)
    assert session.expires_at == AT + timedelta(seconds=600 + 600)  # TTL after the new grant's end
    with pytest.raises(InvalidRequest):
        session.extend_grant(max_seconds=599, hold=10_000, at_seconds=260, reported_at=None, ttl=600, actor="x")
    with pytest.raises(InvalidRequest):
        session.extend_grant(max_seconds=600, hold=10_000, at_seconds=260, reported_at=None, ttl=600, actor="x")


def test_a_call_is_cut_once_and_a_closed_call_is_never_cut() -> None:
    session = authorized()
    session.answered(AT)
    assert session.cut("insufficient_funds", 1440, AT, "switch") is True
    assert session.cut("insufficient_funds", 1450, AT, "switch") is False  # recorded once
    assert session.cut_reason == "insufficient_funds"
    assert [type(e).__name__ for e in session.pending_events].count("CallCut") == 1
    session.end(billsec=1440, answered_at=AT, ended_at=AT, cause="", cost=24_000, flags="cut", actor="sw",
                answer={})
    with pytest.raises(CallNotOpen):
        session.cut("insufficient_funds", 1440, AT, "switch")

"""The rules of a business's forwarding profile: schedule hours, the caller blacklist, the call distributor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidRequest
from ledger.forwarding import Business, UnknownAgent, check_schedule

A, B, C = "+861062345601", "+861062345602", "+861062345603"
MONDAY_10 = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)  # 10:00 Monday in Beijing


def business(agents: list[str] = [A, B, C], distribution: str = "even") -> Business:  # noqa: B006
    b = Business.register("+861062340000", "7100000001", "Asia/Shanghai", "test")
    b.set_profile("+861062340000", "", list(agents), distribution, "test")
    return b


def at(local: str) -> datetime:
    """A Beijing wall-clock time as a UTC instant."""
    return datetime.fromisoformat(local + "+08:00").astimezone(UTC)


def test_without_rules_the_number_is_forwarded_at_every_hour() -> None:
    b = business()
    assert all(b.forwards_at(MONDAY_10 + timedelta(hours=h)) for h in range(0, 24 * 7, 5))


def test_the_schedule_is_read_in_the_operator_zone_with_the_end_excluded() -> None:
    b = business()
    b.set_schedule([{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"},
                    {"days": [6], "start": "20:00", "end": "24:00"}], "test")
    assert b.forwards_at(at("2024-05-06T09:00:00"))  # Monday 09:00 Beijing = Monday 01:00 UTC
    assert b.forwards_at(at("2024-05-06T17:59:59"))
    assert not b.forwards_at(at("2024-05-06T18:00:00"))
    assert not b.forwards_at(at("2024-05-06T08:59:00"))
    assert b.forwards_at(at("2024-05-11T23:59:00"))  # Saturday night until midnight
    assert not b.forwards_at(at("2024-05-12T10:00:00"))  # Sunday


@pytest.mark.parametrize("rules", [
    [{"days": [0], "start": "09:00", "end": "10:00"}],
    [{"days": [], "start": "09:00", "end": "10:00"}],
    [{"days": [True], "start": "09:00", "end": "10:00"}],
    [{"days": [1], "start": "9:00", "end": "10:00"}],
    [{"days": [1], "start": "10:00", "end": "10:00"}],
    [{"days": [1], "start": "24:00", "end": "24:00"}],
    [{"days": [1], "start": "09:60", "end": "10:00"}],
    [{"days": [1], "start": "09:00"}],
    "09:00-18:00",
])
def test_a_malformed_schedule_is_refused(rules: object) -> None:
    with pytest.raises(InvalidRequest):
        check_schedule(rules)


def test_the_blacklist_refuses_whole_numbers_and_prefixes() -> None:
    b = business()
    b.set_blacklist(["+8613700137000"], ["86170", "+86171"], "test")
    assert b.blocks("+8613700137000") and b.blocks("+8617012345678") and b.blocks("+8617198765432")
    assert not b.blocks("+8613700137001") and not b.blocks("+8613900139000")


def test_the_least_served_free_agent_gets_the_call_ties_in_profile_order() -> None:
    b = business()
    picks = []
    for i in range(9):
        agent = b.choose(MONDAY_10)
        assert agent is not None
        picks.append(agent)
        b.route(f"c{i}", agent, "+8613900139000", MONDAY_10)
        b.finish(f"c{i}", "answered", MONDAY_10, MONDAY_10, MONDAY_10, 10, 0)
    assert picks == [A, B, C] * 3


def test_a_busy_agent_is_skipped_and_counts_start_again_each_local_day() -> None:
    b = business()
    b.route("c1", A, "x", MONDAY_10)  # A holds a call
    b.mark_agent(B, True, "test")  # B is away
    assert b.choose(MONDAY_10) == C
    b.route("c2", C, "x", MONDAY_10)
    assert b.choose(MONDAY_10) is None  # every agent busy
    with pytest.raises(InvalidRequest):
        b.route("c3", A, "x", MONDAY_10)  # a busy agent cannot be given a call
    b.finish("c1", "abandoned", MONDAY_10, None, MONDAY_10 + timedelta(seconds=12), 0, 0)
    b.finish("c2", "answered", MONDAY_10, MONDAY_10, MONDAY_10, 5, 0)
    b.mark_agent(B, False, "test")
    assert b.choose(MONDAY_10) == B  # not counted while away: the least served
    # Just after midnight in Beijing (16:00 UTC) a new period starts: the counts are forgotten.
    tuesday = at("2024-05-07T00:00:01")
    assert b.served_in(b.period_of(tuesday)) == {}
    b.route("c4", C, "x", tuesday)
    assert b.served == {C: 1} and b.period == "2024-05-07"


def test_in_order_hunts_the_first_free_destination() -> None:
    b = business(distribution="in_order")
    b.route("c1", A, "x", MONDAY_10)
    assert b.choose(MONDAY_10) == B
    b.finish("c1", "answered", MONDAY_10, MONDAY_10, MONDAY_10, 10, 0)
    assert b.choose(MONDAY_10) == A  # however many calls A had


def test_an_unknown_agent_cannot_be_marked_and_the_number_cannot_serve_itself() -> None:
    b = business()
    with pytest.raises(UnknownAgent):
        b.mark_agent("+861000000000", True, "test")
    with pytest.raises(InvalidRequest):
        b.set_profile("+861062340000", "", ["+861062340000"], "even", "test")
    with pytest.raises(InvalidRequest):
        b.set_profile("+861062340000", "", [A, A], "even", "test")


def test_a_finished_call_records_the_wait_and_frees_its_agent_once() -> None:
    b = business([A])
    b.route("c1", A, "x", MONDAY_10)
    b.finish("c1", "abandoned", MONDAY_10, None, MONDAY_10 + timedelta(seconds=17), 0, 0)
    b.finish("c1", "expired", MONDAY_10, None, MONDAY_10 + timedelta(seconds=600), 0, 0)  # once only
    finished = [e for e in b.collect_events() if isinstance(e, Business.CallFinished)]
    assert [(e.outcome, e.waited) for e in finished] == [("abandoned", 17)]
    assert b.choose(MONDAY_10) == A

"""Forwarded calls are shared evenly among a business's agents (the seed's ACD rule), on both stores.

The least-served free agent of the local day gets the next call, ties in the
profile's order; a busy agent is skipped and not counted; with no agent free
the call is refused (`no_agent_free`) and nothing is held.
"""

from __future__ import annotations

import threading
from collections import Counter

from ringledger.container import Container
from tests.charging_support import trial_balance
from tests.forwarding_support import ACCOUNT, AGENTS, NUMBER, open_shop


def test_a_thousand_calls_over_seven_agents_are_shared_within_one(container: Container) -> None:
    shop = open_shop(container)
    open_calls: list[str] = []
    for i in range(1000):
        answer = shop.offer(f"acd-{i}")
        assert answer["authorized"], answer
        open_calls.append(answer["call_id"])
        if len(open_calls) == 3:  # three calls at a time: the oldest hangs up after 30 s of talk
            oldest = open_calls.pop(0)
            shop.charging.answer(oldest)
            shop.charging.end(oldest, 30)
    for call in open_calls:
        shop.charging.end(call, 0)
    counts = Counter(row["agent"] for row in shop.forwarding.calls(NUMBER, limit=2000))
    assert set(counts) == set(AGENTS) and sum(counts.values()) == 1000
    assert max(counts.values()) - min(counts.values()) <= 1
    stats = {s["agent"]: s for s in shop.forwarding.statistics(NUMBER)}
    assert sum(s["answered"] for s in stats.values()) == 998
    assert sum(s["abandoned"] for s in stats.values()) == 2
    # 998 calls of 30 s, one minute each at 0.10 (local from the business's Beijing number).
    assert shop.forwarding.bill(NUMBER)["charged"] == 998 * 1000
    assert container.ledger.account(ACCOUNT).balance == 500_0000 - 998 * 1000
    assert trial_balance(container) == 0


def test_a_busy_agent_is_skipped_and_not_counted(container: Container) -> None:
    shop = open_shop(container, agents=AGENTS[:3])
    first = shop.offer("c1")  # agent 1 takes a call and keeps it
    assert first["forward"]["agent"] == AGENTS[0]
    shop.forwarding.mark_agent(NUMBER, AGENTS[1], True, "test")  # agent 2 is marked away
    picks = []
    for i in range(4):
        answer = shop.offer(f"c{i + 2}")
        picks.append(answer["forward"]["agent"])
        shop.charging.end(answer["call_id"], 0)
    assert picks == [AGENTS[2]] * 4  # only agent 3 is free
    shop.charging.end("c1", 0)
    shop.forwarding.mark_agent(NUMBER, AGENTS[1], False, "test")
    # Agent 2 was never counted while away: the least served, it gets calls until it catches up.
    nxt = []
    for i in range(3):
        answer = shop.offer(f"d{i}")
        nxt.append(answer["forward"]["agent"])
        shop.charging.end(answer["call_id"], 0)
    assert nxt == [AGENTS[1], AGENTS[0], AGENTS[1]]  # ties go by the profile's order
    counts = Counter(row["agent"] for row in shop.forwarding.calls(NUMBER))
    assert counts == {AGENTS[0]: 2, AGENTS[1]: 2, AGENTS[2]: 4}


def test_no_agent_free_refuses_and_holds_nothing(container: Container) -> None:
    shop = open_shop(container, agents=AGENTS[:2])
    assert shop.offer("a")["authorized"] and shop.offer("b")["authorized"]
    held = container.ledger.account(ACCOUNT).available
    refused = shop.offer("c")
    assert (refused["authorized"], refused["reason"], refused["hold"]) == (False, "no_agent_free", 0)
    assert container.ledger.account(ACCOUNT).available == held
    rows = {r["call_id"]: r for r in shop.forwarding.calls(NUMBER)}
    assert rows["c"]["outcome"] == "refused" and rows["c"]["reason"] == "no_agent_free"


def test_calls_racing_for_agents_never_share_one(container: Container) -> None:
    shop = open_shop(container)
    answers: list[dict] = []
    lock = threading.Lock()

    def offer(i: int) -> None:
        a = shop.offer(f"race-{i}")
        with lock:
            answers.append(a)

    threads = [threading.Thread(target=offer, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [a["forward"]["agent"] for a in answers if a["authorized"]]
    assert sorted(taken) == sorted(AGENTS)  # seven calls, one per agent
    assert sorted(a["reason"] for a in answers if not a["authorized"]) == ["no_agent_free"] * 3


def test_an_expired_forwarded_call_frees_its_agent(container: Container) -> None:
    shop = open_shop(container, agents=AGENTS[:1])
    assert shop.offer("lost")["authorized"]  # the switch never reports the end
    assert shop.offer("next")["reason"] == "no_agent_free"
    shop.clock.advance(shop.charging.policy.hold_ttl + 1)
    expired = shop.charging.expire_stale_holds(shop.clock(), ["lost"])
    assert [e["call_id"] for e in expired] == ["lost"]
    assert shop.offer("after")["forward"]["agent"] == AGENTS[0]
    rows = {r["call_id"]: r["outcome"] for r in shop.forwarding.calls(NUMBER)}
    assert rows == {"lost": "expired", "next": "refused", "after": "open"}
    assert trial_balance(container) == 0


def test_the_forwarding_view_rebuilt_from_zero_equals_the_live_one(container: Container) -> None:
    from projections.forwarding import ForwardingView
    from projections.runner import Projector

    shop = open_shop(container, agents=AGENTS[:2])
    shop.forwarding.set_schedule(NUMBER, [{"days": [1], "start": "08:00", "end": "20:00"}], "test")
    shop.forwarding.set_blacklist(NUMBER, ["+8613700137000"], ["86170"], "test")
    for i in range(5):
        shop.offer(f"r{i}")
        if i % 2:
            shop.charging.answer(f"r{i}")
        shop.charging.end(f"r{i}", 30 if i % 2 else 0)
    shop.offer("pest", caller="+8617012345678")
    container.catch_up()
    scratch = Projector(container.ledger, container.views, [ForwardingView], prefix="scratch_")
    try:
        scratch.run()
        live = {k: v for k, v in container.projector.dump().items() if k in ForwardingView.tables}
        assert live["forwarded_calls"] and scratch.dump() == live
    finally:
        scratch.drop()
        scratch.close()

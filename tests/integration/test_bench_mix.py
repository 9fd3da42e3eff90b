"""The charging benchmark's services mix does what a switch does, on each store.

Every kind of cycle in the mix runs against the real app (in process, the
clock fixed at 10:00 Beijing on a Monday, peak in the demo tariff): each
completes, charges what its calls cost, and leaves no money held; a cycle
whose step is refused is reported as failed, not counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench.charging_mix import (
    BARS,
    FLOAT,
    KINDS,
    SUBSCRIBERS,
    Failed,
    bar_number,
    prepare_mix_in,
    run_cycle,
    subscriber,
)
from ringledger.container import Container
from ringledger.server import create_app
from services.fakes import FixedClock
from tests.charging_support import PEAK, set_up, trial_balance

TOKEN = "bench-mix-token"
DIRECT = "7000000001"
#: What each kind costs at peak: direct 45 s local (0.10/min); a booth 45 s local; a callback 75 s of
#: leg A to the subscriber's mobile (0.20/min, 2 min) and 45 s of leg B local; a conference 50 s of the
#: initiator's leg to a mobile and 45 s of a local participant.
COST = {"direct": 1000, "phonebar": 1000, "callback": 4000 + 1000, "conference": 2000 + 1000}
STEPS = {"direct": ["authorize direct", "answer", "interim", "end"],
         "phonebar": ["authorize phonebar", "answer", "end"],
         "callback": ["callback/calls", "callback/destination", "answer", "answer", "end", "end", "callback/end"],
         "conference": ["conferences", "authorize conference", "answer", "conferences/legs",
                        "conferences/participants", "authorize conference", "answer", "conferences/legs",
                        "conferences/legs", "end", "end"]}


def balances(c: Container, numbers: list[str]) -> int:
    return sum(c.ledger.account(n).balance for n in numbers)


def test_each_cycle_of_the_mix_completes_charges_its_calls_and_holds_nothing(container: Container) -> None:
    set_up(container, FLOAT, number=DIRECT, phone=None)
    prepare_mix_in(container)
    container.settings.switch_tokens = "bench=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    subscribers = [subscriber(i)[0] for i in range(SUBSCRIBERS)]
    bars = [bar_number(i) for i in range(BARS)]
    app = create_app(container)
    app.state.charging.clock = FixedClock(PEAK)
    app.state.conferences.clock = FixedClock(PEAK)
    with TestClient(app) as client:
        async def send(path: str, body: dict[str, Any]) -> tuple[int, str]:
            r = client.post(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            return r.status_code, r.text

        rng = random.Random(7)
        for kind in KINDS:
            for n in range(2):
                steps = asyncio.run(run_cycle(kind, send, f"t-{kind}-{n}", rng, [DIRECT]))
                assert [label for label, _ in steps] == STEPS[kind]

        # A refused step fails the cycle: an account the ledger does not know is not authorized.
        with pytest.raises(Failed, match="authorize direct: unexpected answer"):
            asyncio.run(run_cycle("direct", send, "t-unknown", rng, ["7999999999"]))

    assert container.ledger.account(DIRECT).balance == FLOAT - 2 * COST["direct"]
    assert balances(container, bars) == BARS * FLOAT - 2 * COST["phonebar"]
    assert balances(container, subscribers) == SUBSCRIBERS * FLOAT - 2 * (COST["callback"] + COST["conference"])
    for number in [DIRECT, *bars, *subscribers]:
        assert container.ledger.account(number).holds == {}, number
    assert trial_balance(container) == 0

"""Switches retry and race: a callback is placed, bridged and ended once, whatever arrives twice at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ringledger.container import Container
from services.callback import CallbackPolicy, Callbacks
from services.fakes import RecordingDialer
from tests.charging_support import set_up, trial_balance

CARD, PHONE = "8000000001", "+8613900139000"


def test_racing_requests_place_one_callback_bridge_it_once_and_end_it_once(container: Container) -> None:
    charging = set_up(container, 20_0000, number=CARD, phone=PHONE, kind="callback")
    dialer = RecordingDialer()
    callbacks = Callbacks(charging, dialer, CallbackPolicy(setup_seconds=90))

    with ThreadPoolExecutor(8) as pool:
        placed = list(pool.map(lambda _: callbacks.place("race-1", PHONE, "95013", "switch:test"), range(8)))
        assert all(p == placed[0] for p in placed) and placed[0]["callback"] is True
        assert len(dialer.originated) == 1  # rung back once

        bridged = list(pool.map(lambda _: callbacks.bridge("race-1", "01062345678", "switch:test"), range(8)))
        assert all(b == bridged[0] for b in bridged) and bridged[0]["bridged"] is True
        account = container.ledger.account(CARD)
        assert sorted(account.holds) == ["race-1-a", "race-1-b"]  # each leg held once
        assert account.held == bridged[0]["hold"] <= 20_0000

        ended = list(pool.map(lambda _: callbacks.end("race-1", 100, 70, "normal_clearing", "switch:test"),
                              range(8)))
    assert all(e == ended[0] for e in ended)
    # Leg A 100 s mobile (2 minutes, 0.40), leg B 70 s local (2 minutes, 0.20), charged once.
    assert (ended[0]["charged"], ended[0]["balance"]) == (6000, 20_0000 - 6000)
    assert container.ledger.account(CARD).held == 0 and trial_balance(container) == 0

"""Numbers at the edges: one normaliser, and ranges newer than the metadata rated by prefix."""

from __future__ import annotations

from ringledger.container import Container
from ringledger.phones import to_e164
from tests.charging_support import ACCOUNT, call, set_up


def test_a_number_bound_at_the_edge_is_found_by_the_switch_hook(container: Container) -> None:
    # Regression: the CLI and portal normalised "62345678" to +8662345678 while the
    # hooks read it as the Beijing line +861062345678, so the binding was never found.
    charging = set_up(container, 10_0000, phone=None)
    container.ledger.bind(ACCOUNT, to_e164("62345678"), "test")
    answer = charging.authorize(call("b1", caller="010 6234 5678"))
    assert answer["authorized"] and answer["account"] == ACCOUNT


def test_a_macau_range_newer_than_the_metadata_is_rated_by_its_prefix(container: Container) -> None:
    charging = set_up(container, 10_0000)
    answer = charging.authorize(call("m1", callee="00853 4812 3456"))
    assert answer["authorized"], answer
    assert answer["destination"]["e164"] == "+85348123456"
    assert answer["destination"]["category"] == "hmt"
    assert answer["rate"]["price_per_minute"] == 1_5000  # the deck's 853 row, not a refusal


def test_an_impossible_international_number_is_still_refused(container: Container) -> None:
    charging = set_up(container, 10_0000)
    answer = charging.authorize(call("m2", callee="00853 481"))
    assert not answer["authorized"] and answer["reason"] == "no_rate"

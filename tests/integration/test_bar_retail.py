"""A phone bar's retail tariff: booth calls priced for the walk-in customer, shown with the margin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ringledger.container import Container
from tests.integration.portal_support import BAR_A, BAR_B, TODAY, Portal, make_calls, on_business_day, open_portal

RETAIL_DECK = """prefix,category,name,price_per_minute,first_increment,next_increment,connect_fee,minimum_charge,peak_price,offpeak_price,offpeak_start,offpeak_end
,mobile,Mobile (walk-in),0.5000,60,60,,,,,,
"""
PUBLISH = 'mutation($deck: String!) { publishTariff(plan: "bar-retail", effectiveFrom: "2020-01-01T00:00:00+08:00", deck: $deck) { version } }'
SET = 'mutation($n: String!, $p: String) { setRetailPlan(number: $n, plan: $p) { number } }'


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    with on_business_day(container):
        yield open_portal(container)


def statement(portal: Portal, who: str) -> dict:
    answer = portal.gql(who, f'{{ barStatement(from: "{TODAY}", to: "{TODAY}") {{ rows {{ answered cost retail margin }} csv }} }}')
    return answer["data"]["barStatement"]


def test_booth_calls_are_priced_at_the_bar_s_retail_tariff_with_the_margin(portal: Portal) -> None:
    assert portal.gql("operator", PUBLISH, deck=RETAIL_DECK)["data"]["publishTariff"]["version"] == 1
    assert portal.gql("operator", SET, n=BAR_A, p="bar-retail")["data"]["setRetailPlan"]["number"] == BAR_A
    make_calls(portal.container, BAR_A, 2)  # 65 s to a mobile each: wholesale 2 min x 0.20, retail 2 min x 0.50
    make_calls(portal.container, BAR_B, 1)  # bar B has no retail tariff
    rows = statement(portal, "bar_a")["rows"]
    assert rows == [{"answered": 2, "cost": "0.8000", "retail": "2.0000", "margin": "1.2000"}]
    assert "retail,margin" in statement(portal, "bar_a")["csv"].splitlines()[0]
    assert statement(portal, "bar_b")["rows"][0]["retail"] == "0.0000"
    views = portal.container.views
    assert views.query("SELECT retail FROM cdrs WHERE bar = ? ORDER BY call_id", (BAR_A,)) == [(10_000,), (10_000,)]
    # The retail price is the bar's business: no ledger money moves for it.
    assert views.query("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM gl_balances") == [(0,)]
    assert portal.container.ledger.account(BAR_A).balance == 100_0000 - 8_000


def test_only_an_operator_sets_a_retail_tariff_and_only_on_a_phone_bar(portal: Portal) -> None:
    refused = portal.gql("bar_a", SET, n=BAR_A, p="bar-retail")
    assert refused["errors"][0]["extensions"]["code"] == "forbidden"
    assert portal.container.ledger.account(BAR_A).retail_plan is None
    portal.container.ledger.open_account("subscriber", "test", number="7300001")
    wrong = portal.gql("operator", SET, n="7300001", p="bar-retail")
    assert wrong["errors"][0]["extensions"]["code"] == "invalid_request"


def test_the_bar_statement_exports_as_csv_from_the_cli(portal: Portal, settings, tmp_path) -> None:
    from typer.testing import CliRunner

    from ringledger.cli import app
    from tests.support import settings_env

    portal.gql("operator", PUBLISH, deck=RETAIL_DECK)
    portal.gql("operator", SET, n=BAR_A, p="bar-retail")
    make_calls(portal.container, BAR_A, 1)
    env = {k: v for k, v in settings_env(settings).items() if k.startswith("RINGLEDGER_")}
    out = tmp_path / "bar.csv"
    result = CliRunner().invoke(app, ["reports", "calls", "--bar", BAR_A, "--csv", str(out)], env=env)
    assert result.exit_code == 0, result.output
    header, row = out.read_text().splitlines()
    assert header == "day,attempts,answered,asr,acd,minutes,cost,retail,margin"
    assert row.endswith(",0.4000,1.0000,0.6000")

"""Phone bars through the portal: booths, board and checkout in GraphQL, the printable bill page."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ringledger.container import Container
from tests.integration.portal_support import BAR_A, BAR_B, Portal, make_calls, on_business_day, open_portal

ADD = 'mutation($bar: String, $name: String!, $p: BoothPermissionsInput) { addBooth(bar: $bar, name: $name, permissions: $p) { bar name categories allow deny } }'
CHECKOUT = 'mutation($bar: String, $booth: String!) { checkoutBooth(bar: $bar, booth: $booth) { bill retailTotal costTotal printPath html lines { callId dialled billsec retail } } }'


@pytest.fixture
def portal(container: Container) -> Iterator[Portal]:
    with on_business_day(container):
        yield open_portal(container)


def code(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


def test_an_operator_and_the_bar_owner_manage_booths_and_check_one_out(portal: Portal) -> None:
    added = portal.gql("operator", ADD, bar=BAR_A, name="3", p={"categories": ["mobile"], "deny": ["+86139"]})
    assert added["data"]["addBooth"] == {"bar": BAR_A, "name": "3", "categories": ["mobile"], "allow": [],
                                         "deny": ["86139"]}
    # The owner adds a booth to its own bar without naming it.
    assert portal.gql("bar_a", ADD, name="4")["data"]["addBooth"]["categories"] == [
        "local", "national", "mobile", "hmt", "international"]
    make_calls(portal.container, BAR_A, 2, booth="3")  # 65 s each to a mobile: 0.40 at the demo tariff
    board = portal.gql("bar_a", "{ boothBoard { booth state elapsed running } }")["data"]["boothBoard"]
    assert board == [{"booth": "3", "state": "idle", "elapsed": 0, "running": "0.0000"},
                     {"booth": "4", "state": "idle", "elapsed": 0, "running": "0.0000"}]
    bill = portal.gql("bar_a", CHECKOUT, booth="3")["data"]["checkoutBooth"]
    assert (bill["bill"], bill["retailTotal"], bill["costTotal"]) == (1, "0.8000", "0.8000")
    assert [line["billsec"] for line in bill["lines"]] == [65, 65]
    assert "<table>" in bill["html"] and "0.8000" in bill["html"]
    # The checkout is recorded with the owner's key as its actor.
    portal.container.catch_up()
    assert portal.container.views.query("SELECT actor FROM booth_bills WHERE bar = ?", (BAR_A,)) == [
        (f"key:{portal.key_ids['bar_a']}",)]
    again = portal.gql("bar_a", CHECKOUT, booth="3")
    assert code(again) == "nothing_to_bill"
    listed = portal.gql("operator", f'{{ boothBills(bar: "{BAR_A}") {{ booth bill calls retailTotal }} }}')
    assert listed["data"]["boothBills"] == [{"booth": "3", "bill": 1, "calls": 2, "retailTotal": "0.8000"}]
    # The printable page, with the owner's key.
    page = portal.client.get(bill["printPath"], headers={"Authorization": f"Bearer {portal.tokens['bar_a']}"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "13800138000" in page.text and '<td class="n" id="total">0.8000</td>' in page.text


def test_the_bill_page_is_only_for_the_bar_s_owner_and_the_house(portal: Portal) -> None:
    portal.gql("operator", ADD, bar=BAR_A, name="3")
    make_calls(portal.container, BAR_A, 1, booth="3")
    path = portal.gql("operator", CHECKOUT, bar=BAR_A, booth="3")["data"]["checkoutBooth"]["printPath"]

    def get(who: str | None, where: str = path) -> tuple[int, object]:
        headers = {"Authorization": f"Bearer {portal.tokens[who]}"} if who else {}
        response = portal.client.get(where, headers=headers)
        body = response.json() if response.headers["content-type"].startswith("application/json") else None
        return response.status_code, body and body["error"]

    assert get("operator")[0] == get("auditor")[0] == get("bar_a")[0] == 200
    assert get("bar_b") == (403, "forbidden") and get("switch") == (403, "forbidden")
    assert get(None) == (401, "unauthenticated")
    assert get("operator", f"/bars/{BAR_A}/booths/3/bills/9") == (404, "unknown_bill")


def test_a_bar_owner_cannot_touch_another_bar_and_an_auditor_changes_nothing(portal: Portal) -> None:
    portal.gql("operator", ADD, bar=BAR_B, name="1")
    for mutation, variables in ((ADD, {"bar": BAR_B, "name": "2"}), (CHECKOUT, {"bar": BAR_B, "booth": "1"}),
                                ('mutation { setLowDepositAlert(bar: "5550002", threshold: "5.0000", phone: "13900139000") { bar } }', {})):
        assert code(portal.gql("bar_a", mutation, **variables)) == "forbidden"
        assert code(portal.gql("auditor", mutation, **variables)) == "forbidden"
    assert code(portal.gql("bar_a", f'{{ boothBoard(bar: "{BAR_B}") {{ booth }} }}')) == "forbidden"
    assert portal.gql("operator", f'{{ booths(bar: "{BAR_B}") {{ name }} }}')["data"]["booths"] == [{"name": "1"}]


def test_bad_portal_input_is_refused_with_a_code_and_changes_nothing(portal: Portal) -> None:
    head = portal.container.ledger.recorder.max_notification_id()
    cases = [
        (ADD, {"bar": BAR_A, "name": ""}, "invalid_request"),
        (ADD, {"bar": BAR_A, "name": "1", "p": {"categories": ["space"]}}, "invalid_request"),
        (ADD, {"bar": BAR_A, "name": "1", "p": {"categories": [], "allow": ["x1"]}}, "invalid_request"),
        (ADD, {"name": "1"}, "invalid_request"),  # an operator names the bar
        (ADD, {"bar": "8000000001", "name": "1"}, "unknown_account"),
        (CHECKOUT, {"bar": BAR_A, "booth": "9"}, "unknown_booth"),
        ('mutation { removeBooth(bar: "5550001", name: "9") }', {}, "unknown_booth"),
        ('mutation { setBoothPermissions(bar: "5550001", name: "9", permissions: {categories: ["local"]}) { name } }',
         {}, "unknown_booth"),
        ('mutation { setLowDepositAlert(bar: "5550001", threshold: "5.0000") { bar } }', {}, "invalid_request"),
        ('mutation { setLowDepositAlert(bar: "5550001", threshold: "5.00001", phone: "139") { bar } }', {},
         "invalid_money"),
    ]
    portal.gql("operator", ADD, bar=BAR_A, name="5")
    head = portal.container.ledger.recorder.max_notification_id()
    cases.append(('mutation { setBoothPermissions(bar: "5550001", name: "5", permissions: {categories: ["mobile"], '
                  'deny: ["86 139"]}) { name } }', {}, "invalid_request"))
    cases.append((ADD, {"bar": BAR_A, "name": "5"}, "booth_exists"))
    for query, variables, expected in cases:
        assert code(portal.gql("operator", query, **variables)) == expected, (query, variables)
    assert portal.container.ledger.recorder.max_notification_id() == head


def test_the_owner_sets_the_low_deposit_alert_and_reads_it_back(portal: Portal) -> None:
    set_ = portal.gql("bar_a", 'mutation { setLowDepositAlert(threshold: "50.0000", phone: "13900139000") { threshold phone } }')
    assert set_["data"]["setLowDepositAlert"] == {"threshold": "50.0000", "phone": "+8613900139000"}
    read = portal.gql("bar_a", "{ lowDepositAlert { bar threshold phone } }")["data"]["lowDepositAlert"]
    assert read == {"bar": BAR_A, "threshold": "50.0000", "phone": "+8613900139000"}


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists() and os.environ.get("CI") != "true",
                    reason="Debian chromium is not installed here (.ci/run installs it; no browser is downloaded)")
def test_the_printed_bill_renders_in_a_headless_browser(portal: Portal, tmp_path: Path) -> None:
    portal.gql("operator", ADD, bar=BAR_A, name="3")
    make_calls(portal.container, BAR_A, 1, booth="3")
    html = portal.gql("operator", CHECKOUT, bar=BAR_A, booth="3")["data"]["checkoutBooth"]["html"]
    page = tmp_path / "bill.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "bill.pdf"
    profile = tmp_path / "profile"
    done = subprocess.run(["/usr/bin/chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           f"--print-to-pdf={pdf}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and pdf.read_bytes().startswith(b"%PDF"), done.stderr
    dom = subprocess.run(["/usr/bin/chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'id="total">0.4000<' in dom.stdout

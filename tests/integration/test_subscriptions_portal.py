"""Recurring fees through the portal: operators subscribe and cancel, a bar owner reads only its own."""

from __future__ import annotations

from ringledger.container import Container
from tests.integration.portal_support import BAR_A, BAR_B, open_portal

SUBSCRIBE = ("mutation ($input: SubscribeInput!) { subscribe(input: $input) { account service fee period status"
             " arrears unpaidPeriods paidPeriods dueAt history { period outcome amount } } }")
LIST = "query ($account: String) { feeSubscriptions(account: $account) { account service status arrears } }"


def test_an_operator_subscribes_and_cancels_and_a_fee_the_deposit_cannot_pay_shows_as_arrears(
        container: Container) -> None:
    portal = open_portal(container)  # each bar holds 100.00
    off = portal.gql("operator", SUBSCRIBE, input={"account": BAR_A, "service": "missed_call_off", "fee": "2.00"})
    sub = off["data"]["subscribe"]
    assert (sub["status"], sub["fee"], sub["arrears"], sub["paidPeriods"]) == ("active", "2.0000", "0.0000", 1)
    assert [h["outcome"] for h in sub["history"]] == ["charged"] and sub["dueAt"] is not None
    lease = portal.gql("operator", SUBSCRIBE, input={"account": BAR_A, "service": "lease:pbx", "fee": "500.00"})
    leased = lease["data"]["subscribe"]
    assert (leased["status"], leased["arrears"], leased["dueAt"]) == ("suspended", "500.0000", None)
    assert len(leased["unpaidPeriods"]) == 1
    assert container.ledger.account(BAR_A).balance == 98_0000  # only the missed-call fee was taken

    cancelled = portal.gql("operator", 'mutation { cancelSubscription(account: "%s", service: "lease:pbx",'
                           ' reason: "returned") { status arrears } }' % BAR_A)
    assert cancelled["data"]["cancelSubscription"] == {"status": "cancelled", "arrears": "500.0000"}
    # The bar owner sees its own subscriptions with the arrears, and nothing of another bar.
    own = portal.gql("bar_a", LIST, account=None)["data"]["feeSubscriptions"]
    assert {(s["service"], s["status"], s["arrears"]) for s in own} == {
        ("missed_call_off", "active", "0.0000"), ("lease:pbx", "cancelled", "500.0000")}
    assert portal.gql("bar_a", LIST, account=BAR_B)["errors"][0]["extensions"]["code"] == "forbidden"
    assert portal.gql("bar_b", LIST, account=None)["data"]["feeSubscriptions"] == []


def test_only_an_operator_changes_subscriptions_and_bad_input_changes_nothing(container: Container) -> None:
    portal = open_portal(container)
    head = container.ledger.recorder.max_notification_id()
    good = {"account": BAR_A, "service": "missed_call_busy", "fee": "2.00"}
    for who in ("auditor", "bar_a"):
        assert portal.gql(who, SUBSCRIBE, input=good)["errors"][0]["extensions"]["code"] == "forbidden"
    for bad, code in [({**good, "service": "Busy!"}, "invalid_request"), ({**good, "fee": "0.00"}, "invalid_request"),
                      ({**good, "period": "yearly"}, "invalid_request"), ({**good, "anchorDay": 40}, "invalid_request"),
                      ({**good, "account": "5550009"}, "unknown_account")]:
        answer = portal.gql("operator", SUBSCRIBE, input=bad)
        assert answer["errors"][0]["extensions"]["code"] == code, (bad, answer)
    missing = portal.gql("operator", 'mutation { cancelSubscription(account: "%s", service: "missed_call_busy")'
                         ' { status } }' % BAR_A)
    assert missing["errors"][0]["extensions"]["code"] == "unknown_subscription"
    assert container.ledger.recorder.max_notification_id() == head


def test_a_deposit_through_the_portal_resumes_a_suspended_subscription_and_pays_its_arrears(
        container: Container) -> None:
    portal = open_portal(container)  # 100.00
    lease = portal.gql("operator", SUBSCRIBE, input={"account": BAR_B, "service": "lease:pos", "fee": "150.00"})
    assert lease["data"]["subscribe"]["status"] == "suspended"
    paid_in = portal.gql("operator", 'mutation { deposit(number: "%s", amount: "60.00") { balance } }' % BAR_B)
    assert paid_in["data"]["deposit"]["balance"] == "10.0000"  # 160.00 less the 150.00 of arrears
    listed = portal.gql("bar_b", LIST, account=None)["data"]["feeSubscriptions"]
    assert listed == [{"account": BAR_B, "service": "lease:pos", "status": "active", "arrears": "0.0000"}]

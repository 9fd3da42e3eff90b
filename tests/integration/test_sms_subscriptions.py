"""Missed-call subscriptions (来话提示, 遇忙提示) turned on and off by SMS, on each store.

The sender's bound account is subscribed at 2.00 a month, the first month
charged at once; a second "on" or an "off" of what is not on is answered
and changes nothing; a number with no account is told to bind first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ringledger.charging import build_charging
from ringledger.container import Container
from ringledger.subscriptions import build_subscriptions
from services.callback import CallbackCards
from services.fakes import RecordingSmsGateway
from services.ports import Text
from services.sms_commands import SmsCommands
from tests.charging_support import set_up

ACCOUNT, PHONE = "8000000077", "+8613900139077"
NOW = datetime(2027, 1, 10, 2, 0, tzinfo=UTC)


def test_a_subscriber_turns_both_missed_call_alerts_on_and_one_off_by_text(container: Container) -> None:
    set_up(container, 5_0000, number=ACCOUNT, phone=PHONE)
    gateway = RecordingSmsGateway()
    charging = build_charging(container.settings, container.ledger, clock=lambda: NOW)
    commands = SmsCommands(gateway, CallbackCards(charging))
    gateway.subscribe(commands.handle)

    def text(body: str, sender: str = PHONE) -> str:
        gateway.receive(sender, body)
        return gateway.sent[-1].body

    def state() -> dict[str, str]:
        return {s["service"]: s["status"] for s in build_subscriptions(container, lambda: NOW).list(ACCOUNT)}

    assert text("KTLD") == "来话提示已开通，月费2.0000元，本月已扣，余额3.0000元。"
    assert text("busy") == "Busy-call alerts on: 2.0000 a month, this month paid. Balance 1.0000."
    assert state() == {"missed_call_off": "active", "missed_call_busy": "active"}
    assert container.ledger.account(ACCOUNT).balance == 1_0000

    # Asked twice, or with words too many: answered, nothing changes.
    events = container.ledger.recorder.max_notification_id()
    assert text("开通来话提示") == "您已办理过来话提示，请联系客服。"
    assert text("KTLD now").startswith("格式错误")
    assert container.ledger.recorder.max_notification_id() == events

    assert text("QXLD") == "来话提示已取消，下月起不再扣费。"
    assert text("QXLD") == "您未开通来话提示。"
    assert text("ALERTSOFF") == "Missed-call alerts is not on."
    assert state() == {"missed_call_off": "cancelled", "missed_call_busy": "active"}
    assert container.ledger.account(ACCOUNT).balance == 1_0000

    # A number with no account is told how to bind one; nothing is subscribed.
    assert text("KTYM", "+8613900139078").startswith("本机号码未绑定卡")
    assert [t.recipient for t in gateway.sent].count("+8613900139078") == 1


def test_a_subscription_the_balance_cannot_pay_is_taken_suspended_and_the_reply_says_so(
        container: Container) -> None:
    set_up(container, 1_0000, number=ACCOUNT, phone=PHONE)
    gateway = RecordingSmsGateway()
    commands = SmsCommands(gateway, CallbackCards(build_charging(container.settings, container.ledger,
                                                                 clock=lambda: NOW)), language="en")
    gateway.subscribe(commands.handle)
    gateway.receive(PHONE, "KTYM")
    assert gateway.sent[-1].body == ("Busy-call alerts on, but the balance cannot pay this month's 2.0000: "
                                     "it is charged after a top-up.")
    (sub,) = build_subscriptions(container, lambda: NOW).list(ACCOUNT)
    assert (sub["service"], sub["status"], sub["arrears"]) == ("missed_call_busy", "suspended", 2_0000)
    assert container.ledger.account(ACCOUNT).balance == 1_0000

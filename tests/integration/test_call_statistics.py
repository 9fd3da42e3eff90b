"""ASR and ACD count a call as answered when it has talk time, whether or not the answer was reported."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.charging import CallRequest, Charging
from ringledger.container import Container
from tests.integration.portal_support import BAR_A, make_calls, open_portal, peak_today


def test_a_call_ended_with_billsec_but_no_answer_report_counts_as_answered(container: Container) -> None:
    portal = open_portal(container)
    make_calls(container, BAR_A, 1, billsec=60)  # answered and reported
    charging = Charging(container.ledger, clock=peak_today)
    # The switch never sent `answer`, but billed 120 s at the end.
    charging.authorize(CallRequest(call_id="no-answer-report", caller="+862150001234", callee="13800138000",
                                   service="phonebar", account=BAR_A, booth="3"))
    charging.end("no-answer-report", 120)
    # And a call that really went unanswered.
    charging.authorize(CallRequest(call_id="unanswered", caller="+862150001234", callee="13800138000",
                                   service="phonebar", account=BAR_A, booth="3"))
    charging.end("unanswered", 0)
    container.catch_up()
    day = peak_today().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    rows = portal.gql("operator", f'{{ callStatistics(from: "{day}", to: "{day}", bar: "{BAR_A}") '
                                  "{ rows { attempts answered asr acd minutes } } }")["data"]["callStatistics"]["rows"]
    assert rows == [{"attempts": 3, "answered": 2, "asr": 0.6667, "acd": 90.0, "minutes": 3.0}]

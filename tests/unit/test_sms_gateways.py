"""The SMS gateways fit their ports; an outbound text's rules hold on the aggregate alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.sms.kannel import KannelGateway, KannelRefused
from adapters.sms.smpp import SmppGateway
from ledger.outbound_sms import BadReport, NotRetryable, OutboundSms, backoff
from services.ports import SmsGateway, TracksDelivery

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def kannel(handler: object = None) -> KannelGateway:
    gateway = KannelGateway("http://kannel.test/cgi-bin/sendsms", "u", "p", sender="10690000",
                            dlr_url="http://ledger.test/v1/sms/dlr?token=t", smsc="op")
    if handler is not None:
        gateway._client = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return gateway


def test_both_gateways_fit_the_ports() -> None:
    smpp = SmppGateway("127.0.0.1", 1, "id", "pw", sender="10690000")
    for gateway in (kannel(), smpp):
        assert isinstance(gateway, SmsGateway) and isinstance(gateway, TracksDelivery)


def test_kannel_is_asked_for_every_report_under_our_id_with_its_dlr_value_left_for_it_to_fill() -> None:
    asked: list[httpx.Request] = []

    def sendsms(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(202, text="0: Accepted for delivery")

    assert kannel(sendsms).send_tracked("+8613900139000", "余额", "sms-" + "a" * 32) == "sms-" + "a" * 32
    query = {k: v[0] for k, v in parse_qs(urlsplit(str(asked[0].url)).query).items()}
    assert (query["to"], query["from"], query["text"], query["coding"], query["dlr-mask"], query["smsc"]) == \
        ("+8613900139000", "10690000", "余额", "2", "31", "op")
    assert query["dlr-url"] == "http://ledger.test/v1/sms/dlr?token=t&ref=sms-" + "a" * 32 + "&status=%d"


@pytest.mark.parametrize("status, text, up", [(403, "Authorization failed for sendsms", False),
                                              (503, "Sending failed.", False), (400, "Invalid receiver", True),
                                              (202, "4: something else", True)])
def test_a_text_kannel_does_not_accept_is_an_error_and_kannel_is_down_when_it_would_refuse_any(
        status: int, text: str, up: bool) -> None:
    gateway = kannel(lambda request: httpx.Response(status, text=text))
    with pytest.raises(KannelRefused):
        gateway.send_tracked("+8613900139000", "hi", "sms-" + "b" * 32)
    assert gateway.health()["up"] is up


def test_a_sent_text_is_never_tried_again_and_a_failed_one_waits_a_doubling_backoff() -> None:
    sms = OutboundSms.queue("sms-1", "10690000", "+8613900139000", "hi", NOW, "test")
    sms.attempt(NOW)
    sms.failed("down", NOW)
    with pytest.raises(NotRetryable):
        sms.attempt(NOW + timedelta(seconds=29))  # not due yet
    sms.attempt(NOW + timedelta(seconds=30))
    with pytest.raises(NotRetryable):
        sms.attempt(NOW + timedelta(days=1))  # its outcome is unknown: it may have been accepted
    sms.sent("test", "g-1", NOW)
    with pytest.raises(NotRetryable):
        sms.attempt(NOW + timedelta(days=1))
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert sms.report(1, NOW) is True and sms.report(2, NOW) is False and sms.state == "delivered"
    with pytest.raises(BadReport):
        sms.report(3, NOW)


def test_the_access_log_never_shows_kannel_s_token_or_a_text_with_its_pin() -> None:
    import logging

    from adapters.http.sms_gateway import RedactQuery

    def line(path: str) -> str:
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                                   ("127.0.0.1:5000", "GET", path, "1.1", 200), None)
        assert RedactQuery().filter(record)
        return record.getMessage()

    assert line("/v1/sms/kannel/inbound?from=%2B86139&text=BD+3066762513+123456&token=secret") == \
        '127.0.0.1:5000 - "GET /v1/sms/kannel/inbound?… HTTP/1.1" 200'
    assert "secret" not in line("/v1/sms/dlr?ref=sms-1&status=8&token=secret")
    assert line("/v1/calls/x/end?y=1").endswith('"GET /v1/calls/x/end?y=1 HTTP/1.1" 200')


@pytest.mark.parametrize("env, problem", [
    ({"sms": "kannel"}, "RINGLEDGER_KANNEL_DLR_URL"), ({"sms": "smpp"}, "RINGLEDGER_SMPP_SYSTEM_ID"),
    ({"sms": "email"}, "log, kannel or smpp")])
def test_a_gateway_without_its_settings_stops_the_server_at_start_with_the_reason(env: dict[str, str],
                                                                                  problem: str) -> None:
    from pydantic import ValidationError

    from ringledger.config import Settings

    with pytest.raises(ValidationError, match=problem):
        Settings(**env)

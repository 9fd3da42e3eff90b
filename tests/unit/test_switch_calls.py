"""The one way in for a switch's JSON request: what the switch hears for each failure, and that nothing runs."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

from adapters.http.errors import Unauthorized, json_response
from adapters.http.switch_calls import switch_call
from ledger.errors import AccountNotFound, InvalidPin


class Body(BaseModel):
    number: str


def switch_of(header: str | None) -> str:
    if header != "Bearer good":
        raise Unauthorized("unknown switch token")
    return "pbx1"


def app_with(work: Any, calls: list[tuple[Any, str]]) -> TestClient:
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        def call(body: Any, actor: str) -> dict[str, Any]:
            calls.append((body, actor))
            return work()

        outcome = await switch_call(request, switch_of, Body, call)
        return outcome if isinstance(outcome, Response) else json_response(outcome)

    return TestClient(app)


def raising(exc: Exception) -> Any:
    def work() -> Any:
        raise exc
    return work


@pytest.mark.parametrize(("work", "status", "code"), [
    (lambda: {"ok": True}, 200, None),
    (raising(AccountNotFound("no account 8000000009")), 404, "unknown_account"),
    (raising(InvalidPin("a PIN is 6 to 10 digits")), 422, "invalid_request"),
    (raising(OperationalError("connection refused")), 503, "unavailable"),
])
def test_the_service_s_answer_or_its_refusal_reaches_the_switch(work: Any, status: int, code: str | None) -> None:
    calls: list[tuple[Any, str]] = []
    answer = app_with(work, calls).post("/hook", json={"number": "13800138000"},
                                        headers={"Authorization": "Bearer good"})
    assert answer.status_code == status, answer.text
    assert answer.json().get("error") == code
    assert calls == [(Body(number="13800138000"), "switch:pbx1")]


def test_a_bad_token_or_a_bad_body_never_reaches_the_service() -> None:
    calls: list[tuple[Any, str]] = []
    client = app_with(lambda: {"ok": True}, calls)
    unknown = client.post("/hook", json={"number": "1"}, headers={"Authorization": "Bearer bad"})
    assert (unknown.status_code, unknown.json()["error"]) == (401, "unauthorized")
    assert unknown.headers["WWW-Authenticate"] == "Bearer"
    malformed = client.post("/hook", content=b"{not json", headers={"Authorization": "Bearer good"})
    assert (malformed.status_code, malformed.json()["error"]) == (422, "invalid_request")
    assert calls == []


def test_an_unexpected_error_is_not_dressed_up_as_a_refusal() -> None:
    client = TestClient(app_with(raising(RuntimeError("a bug")), []).app, raise_server_exceptions=False)
    assert client.post("/hook", json={"number": "1"}, headers={"Authorization": "Bearer good"}).status_code == 500

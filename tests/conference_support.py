"""A server app driven as a switch drives it: recording ports, a fixed clock, a switch token, keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from ringledger.container import Container
from ringledger.server import create_app
from services.api_keys import create_key
from services.fakes import FixedClock, RecordingCallControl, RecordingDialer, RecordingSmsGateway
from services.ports import Ports
from tests.charging_support import PEAK, set_up

TOKEN = "conference-switch-token"
SWITCH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Switch:
    client: TestClient
    clock: FixedClock
    dialer: RecordingDialer
    control: RecordingCallControl
    operator: str
    auditor: str

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        response = self.client.post(path, json=body if body is not None else {}, headers=SWITCH)
        assert response.status_code == status, (path, body, response.text)
        return response.json()  # type: ignore[no-any-return]

    def gql(self, query: str, who: str = "operator", **variables: Any) -> dict[str, Any]:
        token = self.operator if who == "operator" else self.auditor
        response = self.client.post("/graphql", json={"query": query, "variables": variables},
                                    headers={"Authorization": f"Bearer {token}"})
        return response.json()  # type: ignore[no-any-return]


@contextmanager
def switch(container: Container, balance: int = 100_0000) -> Iterator[Switch]:
    """The demo tariff, an account with `balance` bound to the test phone, and an app whose
    dialer and call control record what they are asked, on a clock fixed at 10:00 Beijing."""
    set_up(container, balance)
    container.settings.switch_tokens = "sw=" + hashlib.sha256(TOKEN.encode()).hexdigest()
    dialer, control = RecordingDialer(), RecordingCallControl()
    container.ports = Ports(dialer=dialer, call_control=control, sms=RecordingSmsGateway())
    clock = FixedClock(PEAK)
    operator, _ = create_key(container.ledger, "operator", "test")
    auditor, _ = create_key(container.ledger, "auditor", "test")
    app = create_app(container)
    app.state.charging.clock = clock
    app.state.conferences.clock = clock
    with TestClient(app) as client:
        yield Switch(client, clock, dialer, control, operator, auditor)

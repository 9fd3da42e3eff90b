"""Fuzz the switch hooks from their own OpenAPI document: no input makes the server fail (5xx)."""

from __future__ import annotations

import hashlib

import schemathesis
from hypothesis import HealthCheck, given, settings

from ringledger.config import Settings
from ringledger.container import build
from ringledger.demo import load_demo_tariff
from ringledger.server import create_app
from tests.support import TEST_CLOCK_START, TEST_PIN_KEY

TOKEN = "fuzz-token"


def test_no_generated_request_makes_a_hook_fail_with_a_server_error(tmp_path) -> None:
    container = build(Settings(
        database_url=f"sqlite:///{tmp_path}/ledger.db",
        pin_key=TEST_PIN_KEY,
        clock_start=TEST_CLOCK_START,
        switch_tokens="fuzzer=" + hashlib.sha256(TOKEN.encode()).hexdigest(),
    ))
    load_demo_tariff(container)
    container.ledger.open_account("subscriber", "fuzz", number="8000000001", plan="demo")
    container.ledger.deposit("8000000001", 100_0000, "fuzz")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith("/v1/")]
    assert len(operations) == 6  # authorize, answer, interim, end, balance, pin verify
    statuses: list[int] = []
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def no_server_error(case) -> None:
                response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
                statuses.append(response.status_code)
                assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)

            no_server_error()
    finally:
        container.close()
    assert any(s == 200 for s in statuses) and any(400 <= s < 500 for s in statuses)

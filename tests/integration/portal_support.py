"""Shared set-up for the portal tests: keys of every role, a client, real calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo
from typing import Any

from fastapi.testclient import TestClient
from freezegun import freeze_time

from ledger.accounts import Account
from rating.demo import DEMO_EFFECTIVE_FROM, demo_plan
from services.charging import CallRequest, Charging
from ringledger.container import Container
from services.api_keys import create_key
from ringledger.server import create_app

BAR_A, BAR_B = "5550001", "5550002"
#: The business day the portal tests run on (a Monday), whatever the hour or date of the run.
TODAY = "2024-05-06"


@contextmanager
def on_business_day(c: Container) -> Iterator[None]:
    """The whole process's clock starts at 09:00 Beijing on TODAY and ticks on.

    Report days come from event times as well as business times, so both are
    pinned: a run across midnight in Beijing sees one day.
    """
    import pydantic.v1  # noqa: F401  FastAPI imports it lazily; its classes cannot be built on frozen dates
    from tests.charging_support import allow_frozen_time

    with freeze_time(f"{TODAY} 01:00:00", tick=True):
        allow_frozen_time(c)
        yield


@dataclass
class Portal:
    container: Container
    client: TestClient
    tokens: dict[str, str]
    key_ids: dict[str, str]

    def gql(self, who: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
        body["status"] = response.status_code
        return body


def open_portal(c: Container, publish_demo: bool = True) -> Portal:
    """Two bars on the demo tariff, funded, and a key per role.

    An account names only a published tariff, so the demo tariff is published
    first; with `publish_demo=False` (tests that publish it themselves) the bars
    are recorded straight in the domain, as accounts opened before the plan was.
    """
    ledger = c.ledger
    charging = Charging(ledger)
    if publish_demo and charging.tariff("demo") is None:
        charging.publish_plan("demo", demo_plan().rows, DEMO_EFFECTIVE_FROM, "test")
    for bar in (BAR_A, BAR_B):
        if publish_demo:
            ledger.open_account("phonebar", "test", number=bar, plan="demo")
        else:
            ledger.execute(lambda uow, bar=bar: uow.add(Account.open(bar, "phonebar", "test", plan="demo")).summary())
        ledger.deposit(bar, 100_0000, "test")
    tokens, ids = {}, {}
    for who, role, bar in (("operator", "operator", None), ("auditor", "auditor", None),
                           ("bar_a", "bar_owner", BAR_A), ("bar_b", "bar_owner", BAR_B), ("switch", "switch", None)):
        tokens[who], principal = create_key(ledger, role, "test", bar=bar)
        ids[who] = principal.key_id
    c.catch_up()
    return Portal(c, TestClient(create_app(c)), tokens, ids)


def peak_today() -> datetime:
    """10:00 on TODAY in Beijing: inside the demo tariff's peak band, whatever the hour of the run."""
    beijing = ZoneInfo("Asia/Shanghai")
    return datetime.combine(date.fromisoformat(TODAY), time(10, 0), beijing).astimezone(UTC)


def make_calls(c: Container, bar: str, n: int, booth: str = "3", billsec: int = 65, prefix: str = "") -> list[str]:
    """n answered calls from a booth of `bar`, each billed 65 s to a Chinese mobile, at today's peak price."""
    charging = Charging(c.ledger, clock=peak_today)
    if charging.tariff("demo") is None:
        charging.publish_plan("demo", demo_plan().rows, DEMO_EFFECTIVE_FROM, "test")
    ids = []
    for i in range(n):
        call = f"{prefix or bar}-{booth}-{i}"
        charging.authorize(CallRequest(call_id=call, caller="+862150001234", callee="13800138000",
                                       service="phonebar", account=bar, booth=booth))
        charging.answer(call)
        charging.end(call, billsec)
        ids.append(call)
    c.catch_up()
    return ids

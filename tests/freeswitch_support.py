"""The FreeSWITCH adapter wired as `ringledger serve` wires it, around a switch in the test (`Rig`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from adapters.freeswitch.cdr import CdrReceiver, build_cdr_router
from adapters.freeswitch.inbound import EventSocketClient
from adapters.freeswitch.outbound import ParkAuthorizer
from adapters.freeswitch.reports import Reports
from adapters.http.auth import SwitchAuth
from adapters.spool import Spool
from ledger.call_ids import call_id as session_id
from ledger.charging import CallSession
from ringledger.container import Container
from services.charging import Charging, ChargingPolicy
from services.fakes import FixedClock, RecordingCallControl
from services.group_commit import GroupCommitter
from tests.charging_support import ACCOUNT, LOCAL, PEAK, PHONE, set_up
from tests.freeswitch_peer import Call, FakeSwitch, park

TOKEN = "fs-token"
BASIC = "Basic " + base64.b64encode(f"pbx1:{TOKEN}".encode()).decode()


@dataclass
class Rig:
    """The adapter wired as `ringledger serve` wires it, around one switch in the test."""

    container: Container
    charging: Charging
    committer: GroupCommitter
    reports: Reports
    switch: FakeSwitch
    client: EventSocketClient
    outbound: ParkAuthorizer
    outbound_port: int
    http: httpx.AsyncClient
    clock: FixedClock

    def call(self, callee: str = LOCAL, caller: str = PHONE) -> Call:
        return Call(caller=caller, callee=callee, created=self.clock.now)

    async def park(self, call: Call) -> list[str]:
        commands = await park(self.outbound_port, call)
        for c in commands:
            if "ringledger_granted_seconds" in c:
                call.granted = int(c.split()[-1])
        return commands

    async def settle(self, check: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not check():
            assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
            await asyncio.sleep(0.02)

    async def event(self, call: Call, name: str, billsec: int = 0, at_seconds: int | None = None) -> None:
        before = self.client.events_handled
        at = call.answered + timedelta(seconds=at_seconds) if at_seconds is not None else None
        await self.switch.push(call.event(name, billsec, at))
        await self.settle(lambda: self.client.events_handled > before)

    async def post_cdr(self, body: bytes | str, content_type: str = "application/json",
                       auth: str = BASIC) -> httpx.Response:
        data = body.encode() if isinstance(body, str) else body
        return await self.http.post("/v1/freeswitch/cdr?uuid=x", content=data,
                                    headers={"Content-Type": content_type, "Authorization": auth,
                                             "User-Agent": "freeswitch-json/1.0"})

    @property
    def spool(self) -> Spool:
        return self.reports.spool

    def session(self, call: Call) -> CallSession:
        self.container.ledger.fresh()
        return self.container.ledger.repository.get(session_id(call.call_id))  # type: ignore[no-any-return]

    def balance(self) -> int:
        self.container.ledger.fresh()
        return int(self.container.ledger.account(ACCOUNT).balance)


def run(container: Container, tmp_path: Path, scenario: Callable[[Rig], Awaitable[None]], *,
        balance: int = 100_0000, policy: ChargingPolicy | None = None) -> None:
    clock = FixedClock(PEAK)
    charging = set_up(container, balance, clock=clock, policy=policy)

    async def main() -> None:
        committer = GroupCommitter(container.ledger, deadline=1.0)
        spool = Spool(tmp_path / "spool")
        reports = Reports(charging, committer, spool)
        switch = FakeSwitch()
        port = await switch.start()
        client = EventSocketClient(reports, "127.0.0.1", port, "ClueCon", fallback=RecordingCallControl(),
                                   reconnect_seconds=0.05)
        charging.call_control = client
        outbound = ParkAuthorizer(charging, committer, client)
        outbound_port = await outbound.start("127.0.0.1", 0)
        auth = SwitchAuth({hashlib.sha256(TOKEN.encode()).hexdigest(): "pbx1"})
        app = FastAPI()
        app.include_router(build_cdr_router(CdrReceiver(reports, auth.switch_of)))
        await client.start()
        await client.wait_connected()
        reports.start(interval=0.05)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rl") as http:
            rig = Rig(container, charging, committer, reports, switch, client, outbound, outbound_port, http, clock)
            try:
                await scenario(rig)
            finally:
                reports.stop()
                await client.stop()
                await outbound.stop()
                await switch.stop()
                committer.stop()
                reports.spool.close()

    asyncio.run(main())

"""The switch hooks: parse the wire, run the charging command, translate the answer.

Nothing here decides: every answer comes from `ringledger.charging_service`;
commands are sent through the group committer, so a 2xx is sent only after
the transaction holding its events has committed.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from adapters.http.auth import SwitchAuth
from adapters.http.errors import json_response, ledger_error
from adapters.http.models import (
    AnswerAnswer,
    AnswerBody,
    AuthorizeAnswer,
    AuthorizeBody,
    BalanceAnswer,
    EndAnswer,
    EndBody,
    ErrorAnswer,
    InterimAnswer,
    InterimBody,
    wire,
)
from ledger.application import Command
from ledger.errors import LedgerError
from ringledger.charging_service import CallRequest, Charging
from ringledger.group_commit import GroupCommitter

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer}, 404: {"model": ErrorAnswer}, 409: {"model": ErrorAnswer},
    422: {"model": ErrorAnswer},
}
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class HookMetrics:
    """Prometheus metrics of the hooks, in the app's own registry."""

    def __init__(self, registry: CollectorRegistry, open_holds: Any) -> None:
        self.latency = Histogram("ringledger_hook_seconds", "Switch hook latency (seconds)", ["hook"],
                                 registry=registry, buckets=LATENCY_BUCKETS)
        self.charged = Counter("ringledger_calls_charged_total", "Calls settled at end or expiry",
                               ["service"], registry=registry)
        self.refused = Counter("ringledger_calls_refused_total", "Authorizations refused", ["reason"],
                               registry=registry)
        self.group = Histogram("ringledger_group_commit_size", "Commands per group-commit transaction",
                               registry=registry, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
        self.holds = Gauge("ringledger_holds_open", "Holds reserved and not yet settled (from the views)",
                           registry=registry)
        self.holds.set_function(open_holds)


def build_router(charging: Charging, committer: GroupCommitter, auth: SwitchAuth,
                 metrics: HookMetrics) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["switch hooks"], responses=ERRORS)
    switch_from_token = Depends(auth)
    observe = metrics.latency.labels

    async def run(command: Command) -> dict[str, Any] | Response:
        outcome = await committer.submit(command)
        if isinstance(outcome, LedgerError):
            return ledger_error(outcome)
        return outcome

    @router.post("/calls/authorize", response_model=AuthorizeAnswer)
    async def authorize(body: AuthorizeBody, switch: str = switch_from_token) -> Response:
        """May this call go ahead, and for how long? A refusal is a 200 with `authorized: false`."""
        started = time.perf_counter()
        fields = body.model_dump()
        fields["switch"] = fields["switch"] or switch
        request = CallRequest(**fields)
        outcome = await run(charging.authorize_command(request, actor=f"switch:{switch}"))
        if isinstance(outcome, Response):
            return outcome
        if not outcome["authorized"]:
            metrics.refused.labels(outcome["reason"]).inc()
        observe("authorize").observe(time.perf_counter() - started)
        return json_response(wire(outcome))

    @router.post("/calls/{call_id}/answer", response_model=AnswerAnswer)
    async def answer(call_id: str, body: AnswerBody | None = None, switch: str = switch_from_token) -> Response:
        """The callee answered: billing starts now (or at `answered_at`)."""
        started = time.perf_counter()
        at = body.answered_at if body else None
        outcome = await run(charging.answer_command(call_id, at))
        if isinstance(outcome, Response):
            return outcome
        observe("answer").observe(time.perf_counter() - started)
        return json_response(outcome)

    @router.post("/calls/{call_id}/interim", response_model=InterimAnswer)
    async def interim(call_id: str, body: InterimBody, switch: str = switch_from_token) -> Response:
        """Progress report: `continue` false means cut the call off now."""
        started = time.perf_counter()
        outcome = await run(charging.interim_command(call_id, body.used_seconds))
        if isinstance(outcome, Response):
            return outcome
        observe("interim").observe(time.perf_counter() - started)
        return json_response(wire(outcome))

    @router.post("/calls/{call_id}/end", response_model=EndAnswer)
    async def end(call_id: str, body: EndBody, switch: str = switch_from_token) -> Response:
        """Hangup: charge the exact rated cost of `billsec` and release the rest of the hold."""
        started = time.perf_counter()
        outcome = await run(charging.end_command(call_id, body.billsec, body.ended_at, body.cause,
                                                 actor=f"switch:{switch}"))
        if isinstance(outcome, Response):
            return outcome
        if outcome.get("flags") != "refused":
            metrics.charged.labels(outcome.get("service", "")).inc()
        observe("end").observe(time.perf_counter() - started)
        return json_response(wire(outcome))

    @router.get("/accounts/by-number/{number}/balance", response_model=BalanceAnswer)
    def balance(number: str, switch: str = switch_from_token) -> Response:
        """Balance of an account (by account number or a bound phone number), for IVR prompts."""
        started = time.perf_counter()
        try:
            outcome = charging.balance(number)
        except LedgerError as err:
            return ledger_error(err)
        observe("balance").observe(time.perf_counter() - started)
        return json_response(wire(outcome))

    return router

"""The switch hooks: parse the wire, run the charging command, translate the answer.

Nothing here decides: every answer comes from `services.charging`;
commands are sent through the group committer, so a 2xx is sent only after
the transaction holding its events has committed.

The hooks are the hot path of the server, so each endpoint takes the raw
`Request` and does its own work in one pass: the bearer token is checked by
one dict look-up of its SHA-256, the body is validated by pydantic-core
straight from the bytes (`model_validate_json`), and the answer is encoded
by orjson. FastAPI's dependency solving and response-model machinery are
not used on this path; `openapi_extra` and `response_model` keep /docs
complete. Errors keep the one shape `{"error", "message"}`: 401
`unauthorized`, 422 `invalid_request`, and the ledger's own codes.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.http.auth import SwitchAuth
from adapters.http.errors import (
    Unauthorized,
    error,
    json_response,
    ledger_error,
    validation_message,
)
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
    PinVerifyAnswer,
    PinVerifyBody,
    wire,
)
from ledger.application import Command
from ledger.errors import LedgerError
from services.charging import CallRequest, Charging
from services.group_commit import GroupCommitter

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer}, 404: {"model": ErrorAnswer}, 409: {"model": ErrorAnswer},
    422: {"model": ErrorAnswer},
}
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

Body = TypeVar("Body", bound=BaseModel)


class HookMetrics:
    """Prometheus metrics of the hooks, in the app's own registry.

    Label children are bound once (`hook_latency`, `refused_for`, `charged_for`)
    so a request does no label look-up.
    """

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
        self.hook_latency = {h: self.latency.labels(h) for h in ("authorize", "answer", "interim", "end",
                                                                 "balance")}
        self._refused: dict[str, Any] = {}
        self._charged: dict[str, Any] = {}

    def refused_for(self, reason: str) -> Any:
        child = self._refused.get(reason)
        if child is None:
            child = self._refused[reason] = self.refused.labels(reason)
        return child

    def charged_for(self, service: str) -> Any:
        child = self._charged.get(service)
        if child is None:
            child = self._charged[service] = self.charged.labels(service)
        return child


def _documented(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` describing a JSON request body the endpoint validates itself."""
    return {"requestBody": {"required": required,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _parse(model: type[Body], raw: bytes) -> Body:
    try:
        return model.model_validate_json(raw)
    except ValidationError as err:
        raise _Invalid(validation_message(err.errors())) from None


class HookHandlers:
    """The hooks as plain coroutines of (Authorization header, body bytes, call id) → Response.

    The FastAPI routes (`build_router`) and the ASGI fast path (`HookFastPath`)
    both call these, so the two ways in answer exactly alike.
    """

    def __init__(self, charging: Charging, committer: GroupCommitter, auth: SwitchAuth,
                 metrics: HookMetrics) -> None:
        self.charging = charging
        self.committer = committer
        self.switch_of = auth.switch_of
        self.metrics = metrics
        latency = metrics.hook_latency
        self._authorize_latency, self._answer_latency = latency["authorize"].observe, latency["answer"].observe
        self._interim_latency, self._end_latency = latency["interim"].observe, latency["end"].observe
        self._balance_latency = latency["balance"].observe
        #: POST /v1/calls/{call_id}/<hook>
        self.call_hooks = {"answer": self.answer, "interim": self.interim, "end": self.end}

    async def _run(self, command: Command) -> dict[str, Any] | Response:
        outcome = await self.committer.submit(command)
        if isinstance(outcome, LedgerError):
            return ledger_error(outcome)
        return outcome

    async def authorize(self, authorization: str | None, raw: bytes, call_id: str | None = None) -> Response:
        started = time.perf_counter()
        try:
            switch = self.switch_of(authorization)
            body = _parse(AuthorizeBody, raw)
            call = CallRequest(body.call_id, body.caller, body.callee, body.service, body.account, body.booth,
                               body.forwarded_from, body.conference_id, body.switch or switch)
            command = self.charging.authorize_command(call, actor=f"switch:{switch}")
        except (Unauthorized, _Invalid, LedgerError) as exc:
            return _refused(exc)
        outcome = await self._run(command)
        if isinstance(outcome, Response):
            return outcome
        if not outcome["authorized"]:
            self.metrics.refused_for(outcome["reason"]).inc()
        self._authorize_latency(time.perf_counter() - started)
        return json_response(wire(outcome))

    async def answer(self, authorization: str | None, raw: bytes, call_id: str) -> Response:
        started = time.perf_counter()
        try:
            self.switch_of(authorization)
            at = _parse(AnswerBody, raw).answered_at if raw.strip() else None
            command = self.charging.answer_command(call_id, at)
        except (Unauthorized, _Invalid, LedgerError) as exc:
            return _refused(exc)
        outcome = await self._run(command)
        if isinstance(outcome, Response):
            return outcome
        if command.cuts:  # answered in a dearer band with nothing to pay for it: cut once committed
            await run_in_threadpool(self.charging.after_commit, command)
        self._answer_latency(time.perf_counter() - started)
        return json_response(outcome)

    async def interim(self, authorization: str | None, raw: bytes, call_id: str) -> Response:
        started = time.perf_counter()
        try:
            self.switch_of(authorization)
            body = _parse(InterimBody, raw)
            command = self.charging.interim_command(call_id, body.used_seconds)
        except (Unauthorized, _Invalid, LedgerError) as exc:
            return _refused(exc)
        outcome = await self._run(command)
        if isinstance(outcome, Response):
            return outcome
        if command.cuts or command.extended:  # committed: now the switch may cut or follow (off the loop)
            await run_in_threadpool(self.charging.after_commit, command)
        self._interim_latency(time.perf_counter() - started)
        return json_response(wire(outcome))

    async def end(self, authorization: str | None, raw: bytes, call_id: str) -> Response:
        started = time.perf_counter()
        try:
            switch = self.switch_of(authorization)
            body = _parse(EndBody, raw)
            command = self.charging.end_command(call_id, body.billsec, body.ended_at, body.cause,
                                                actor=f"switch:{switch}")
        except (Unauthorized, _Invalid, LedgerError) as exc:
            return _refused(exc)
        outcome = await self._run(command)
        if isinstance(outcome, Response):
            return outcome
        if outcome.get("flags") != "refused":
            self.metrics.charged_for(outcome.get("service", "")).inc()
        self._end_latency(time.perf_counter() - started)
        return json_response(wire(outcome))

    def balance(self, authorization: str | None, number: str) -> Response:
        started = time.perf_counter()
        try:
            self.switch_of(authorization)
            outcome = self.charging.balance(number)
        except (Unauthorized, LedgerError) as exc:
            return _refused(exc)
        self._balance_latency(time.perf_counter() - started)
        return json_response(wire(outcome))

    async def pin_verify(self, authorization: str | None, request: Request, number: str) -> Response:
        """An IVR checks a PIN; each wrong try counts toward the account's lockout. The PIN is never logged."""
        try:
            switch = self.switch_of(authorization)  # before the body is read
            body = _parse(PinVerifyBody, await request.body())
            outcome = await run_in_threadpool(self.charging.check_pin, number, body.pin, f"switch:{switch}")
        except (Unauthorized, _Invalid, LedgerError) as exc:
            return _refused(exc)
        return json_response({k: outcome[k] for k in ("account", "verified", "reason", "tries_left")})


def _refused(exc: Exception) -> Response:
    """The answer to a request that never reached the ledger."""
    if isinstance(exc, Unauthorized):
        return error("unauthorized", str(exc), 401, {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, _Invalid):
        return error("invalid_request", exc.message, 422)
    assert isinstance(exc, LedgerError)
    return ledger_error(exc)


def build_router(hooks: HookHandlers) -> APIRouter:
    """The hooks as FastAPI routes: what /docs describes, and the way in without the fast path."""
    router = APIRouter(prefix="/v1", tags=["switch hooks"], responses=ERRORS)

    @router.post("/calls/authorize", response_model=AuthorizeAnswer, openapi_extra=_documented(AuthorizeBody))
    async def authorize(request: Request) -> Response:
        """May this call go ahead, and for how long? A refusal is a 200 with `authorized: false`."""
        return await hooks.authorize(request.headers.get("authorization"), await request.body())

    @router.post("/calls/{call_id}/answer", response_model=AnswerAnswer,
                 openapi_extra=_documented(AnswerBody, required=False))
    async def answer(call_id: str, request: Request) -> Response:
        """The callee answered: billing starts now (or at `answered_at`)."""
        return await hooks.answer(request.headers.get("authorization"), await request.body(), call_id)

    @router.post("/calls/{call_id}/interim", response_model=InterimAnswer, openapi_extra=_documented(InterimBody))
    async def interim(call_id: str, request: Request) -> Response:
        """Progress report: `continue` false means cut the call off now."""
        return await hooks.interim(request.headers.get("authorization"), await request.body(), call_id)

    @router.post("/calls/{call_id}/end", response_model=EndAnswer, openapi_extra=_documented(EndBody))
    async def end(call_id: str, request: Request) -> Response:
        """Hangup: charge the exact rated cost of `billsec` and release the rest of the hold."""
        return await hooks.end(request.headers.get("authorization"), await request.body(), call_id)

    @router.get("/accounts/by-number/{number}/balance", response_model=BalanceAnswer)
    def balance(number: str, request: Request) -> Response:
        """Balance of an account (by account number or a bound phone number), for IVR prompts."""
        return hooks.balance(request.headers.get("authorization"), number)

    @router.post("/accounts/{number}/pin/verify", response_model=PinVerifyAnswer,
                 openapi_extra=_documented(PinVerifyBody))
    async def pin_verify(number: str, request: Request) -> Response:
        """Check a PIN for an IVR (account number or bound phone); five wrong tries lock the account."""
        return await hooks.pin_verify(request.headers.get("authorization"), request, number)

    return router


CALLS = "/v1/calls/"


class HookFastPath:
    """ASGI app in front of the FastAPI stack: `POST /v1/calls/…` goes straight to `HookHandlers`.

    The hooks are most of a server's traffic; this skips the middleware,
    routing and dependency layers (about half the event loop's time per
    request) and answers exactly as the routes do. Every other request,
    and any path that is not a hook, goes on to `app` unchanged.
    """

    def __init__(self, app: ASGIApp, hooks: HookHandlers) -> None:
        self.app = app
        self.hooks = hooks
        self._switch_of = hooks.switch_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].startswith(CALLS):
            rest = scope["path"][len(CALLS):]
            if rest == "authorize":
                handler: Any = self.hooks.authorize
                call_id = None
            else:
                call_id, _, hook = rest.partition("/")
                handler = self.hooks.call_hooks.get(hook) if call_id else None
            if handler is not None:
                authorization = None
                for name, value in scope["headers"]:
                    if name == b"authorization":
                        authorization = value.decode("latin-1")
                        break
                try:  # authentication comes before the body: a stranger's body is never read
                    self._switch_of(authorization)
                except Unauthorized as exc:
                    await _refused(exc)(scope, receive, send)
                    return
                response = await handler(authorization, await _body(receive), call_id)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)

"""The portal as an ASGI app: bearer-key authentication in front of ariadne's GraphQL.

GET serves the GraphiQL explorer (it holds no data; set the Authorization
header in its headers pane). Every query needs a key: none or an unknown or
revoked one answers 401, a switch key 403, both as
`{"error": CODE, "message": TEXT}`, before any resolver runs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ariadne.asgi import GraphQL
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from adapters.http.auth import bearer_token
from ringledger.container import Container
from ringledger.portal.context import Context, business_fields
from ringledger.portal.errors import format_error, is_refusal
from ringledger.portal.explorer import OfflineGraphiQL
from ringledger.portal.offloop import OffLoopHTTPHandler
from ringledger.portal.rules import validation_rules
from ringledger.portal.schema import build_schema
from services.api_keys import Principal, authenticate

PRINCIPAL = "ringledger.principal"
LOGGER = "ringledger.graphql"


def _quiet_refusals(record: logging.LogRecord) -> bool:
    """Refusals and bad queries are answers, not server faults: keep them out of the error log."""
    error = record.exc_info[1] if record.exc_info else None
    return error is None or not is_refusal(error)


class Authenticated:
    def __init__(self, app: Any, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope["headers"])
            token = bearer_token(headers.get(b"authorization", b"").decode("latin-1"))
            principal = await run_in_threadpool(authenticate, self.container.ledger, token)
            if principal is None:
                await _refuse(send, 401, "unauthenticated", "send a valid API key: Authorization: Bearer <key>")
                return
            if principal.role == "switch":
                await _refuse(send, 403, "forbidden", "a switch key may use the switch hooks only")
                return
            scope[PRINCIPAL] = principal
            await run_in_threadpool(self.container.fresh)
        elif scope["type"] != "http":
            return  # no subscriptions over websockets
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def portal(container: Container, *, debug: bool = False) -> Authenticated:
    def context_value(request: Request, _data: Any) -> Context:
        principal: Principal = request.scope[PRINCIPAL]
        return Context(container, principal, request)

    logger = logging.getLogger(LOGGER)
    if _quiet_refusals not in logger.filters:
        logger.addFilter(_quiet_refusals)
    graphql = GraphQL(
        build_schema(),
        context_value=context_value,
        validation_rules=validation_rules,
        error_formatter=format_error,
        explorer=OfflineGraphiQL(title="ringledger portal GraphiQL"),
        debug=debug,
        logger=LOGGER,
        http_handler=(handler := OffLoopHTTPHandler(middleware=[business_fields])),
    )
    app = Authenticated(graphql, container)
    app.close = handler.close  # type: ignore[attr-defined]
    return app

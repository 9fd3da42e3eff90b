"""The HTTP server: one FastAPI app for switch hooks, the GraphQL portal and health.

Everything is built here from one Container; nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import Gauge

from adapters.freeswitch.cdr import MAX_CDR_BODY_BYTES
from adapters.http.errors import json_response
from adapters.http.limits import LimitBodies
from adapters.web.pages import bill_pages
from projections.runner import Follower
from ringledger.asterisk import asterisk_ports, build_asterisk
from ringledger.container import Container
from ringledger.freeswitch import FreeSwitch
from ringledger.hooks_app import SwitchHooks
from ringledger.phonebar import build_phonebars
from ringledger.portal.app import portal
from ringledger.portal.explorer import ASSET_PATH, ASSETS, asset
from services.api_keys import authenticate


def views_state(container: Container) -> dict[str, Any]:
    """How far the views are behind the event log, and why they stopped if they did.

    `status` is "ok" only when the store answers and the views apply events;
    "degraded" when the views stopped (they retry by themselves), and
    "unavailable" when the store does not answer.
    """
    projector = container.projector
    last_error = projector.last_error  # read once: the follower may clear it meanwhile
    state: dict[str, Any] = {"status": "ok", "views_last_error": last_error}
    try:
        head = container.ledger.recorder.max_notification_id() or 0
        # Read on this thread's own connection: the projector's may be waiting on a lock.
        rows = container.views.query(f"SELECT position FROM {projector.tracking} WHERE name = 'views'")
        position = int(rows[0][0]) if rows else 0
    except Exception as exc:
        state.update(status="unavailable", store_error=f"{type(exc).__name__}: {exc}"[:300])
        return state
    state.update(events=head, views_position=position, views_lag=max(0, head - position))
    if last_error is not None:
        state["status"] = "degraded"
    return state


def create_app(container: Container) -> FastAPI:
    settings = container.settings
    follower = Follower(container.projector)
    freeswitch = FreeSwitch(container) if settings.freeswitch_enabled else None
    if freeswitch is not None:
        freeswitch.prepare()  # its event socket becomes the CallControl and Dialer the hooks use
    ami_ports = asterisk_ports(container)  # before the hooks: charging takes the call control it sets
    hooks = SwitchHooks(container)
    asterisk = build_asterisk(container, ami_ports, hooks)
    graphql = portal(container)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.ledger.after_save.append(follower.poke)
        follower.start()
        hooks.start()
        edges = [edge for edge in (freeswitch, asterisk) if edge is not None]  # switch adapters the settings enable
        started = []
        try:
            for edge in edges:
                await edge.start()
                started.append(edge)
            yield
        finally:
            for edge in reversed(started):
                await edge.stop()
            hooks.stop()
            graphql.close()
            follower.stop()
            container.ledger.after_save.remove(follower.poke)

    docs = {} if settings.public_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="ringledger", version="1", lifespan=lifespan, **docs)
    app.state.container = container
    app.state.asterisk = asterisk
    hooks.install(app)
    if freeswitch is not None:
        freeswitch.install(app, hooks)  # the JSON CDR route and its metrics
    app.add_route("/graphql", graphql)
    app.include_router(bill_pages(build_phonebars(container, hooks.charging),  # the printable booth bill
                                  lambda token: authenticate(container.ledger, token), settings.timezone))
    _view_metrics(hooks, container)

    @app.get(ASSET_PATH + "{name}", include_in_schema=False)
    def explorer_asset(name: str) -> Response:
        """GraphiQL's own code, so the explorer works without internet."""
        body = asset(name)
        if body is None:
            return Response(b'{"error":"not_found","message":"no such asset"}', 404, media_type="application/json")
        return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health")
    def health() -> Any:
        """200 while the store answers and the views apply events; 503 with the reason otherwise."""
        state = views_state(container)
        return json_response(state, 200 if state["status"] == "ok" else 503)

    def limit_for(path: str) -> int:
        if path == "/v1/freeswitch/cdr":  # a whole mod_json_cdr record is larger than a hook's body
            return max(MAX_CDR_BODY_BYTES, settings.max_hook_body_bytes)
        return settings.max_graphql_body_bytes if path.startswith("/graphql") else settings.max_hook_body_bytes

    app.add_middleware(LimitBodies, limit_for=limit_for)  # outermost: before anything reads a body
    return app


def _view_metrics(hooks: SwitchHooks, container: Container) -> None:
    def lag() -> float:
        state = views_state(container)
        return float(state.get("views_lag", "nan"))

    Gauge("ringledger_views_lag_events", "Events recorded and not yet applied to the views",
          registry=hooks.registry).set_function(lag)
    Gauge("ringledger_views_failing", "1 while the views cannot apply the next event (see /health)",
          registry=hooks.registry).set_function(lambda: float(container.projector.last_error is not None))
    Gauge("ringledger_views_failures", "Failed view steps since start", registry=hooks.registry).set_function(
        lambda: float(container.projector.failures))

"""The HTTP server: one FastAPI app for switch hooks, the GraphQL portal and health.

Everything is built here from one Container; nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from projections.runner import Follower
from ringledger.container import Container
from ringledger.hooks_app import SwitchHooks
from ringledger.portal.app import portal
from ringledger.portal.explorer import ASSET_PATH, ASSETS, asset


def create_app(container: Container) -> FastAPI:
    follower = Follower(container.projector)
    hooks = SwitchHooks(container)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.ledger.after_save.append(follower.poke)
        follower.start()
        hooks.start()
        try:
            yield
        finally:
            hooks.stop()
            follower.stop()
            container.ledger.after_save.remove(follower.poke)

    app = FastAPI(title="ringledger", version="1", lifespan=lifespan)
    app.state.container = container
    hooks.install(app)
    app.add_route("/graphql", portal(container))

    @app.get(ASSET_PATH + "{name}", include_in_schema=False)
    def explorer_asset(name: str) -> Response:
        """GraphiQL's own code, so the explorer works without internet."""
        body = asset(name)
        if body is None:
            return Response(b'{"error":"not_found","message":"no such asset"}', 404, media_type="application/json")
        return Response(body, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health")
    def health() -> dict[str, object]:
        """Liveness and how far the views lag behind the event log."""
        head = container.ledger.recorder.max_notification_id() or 0
        return {"status": "ok", "events": head, "views_position": container.projector.position()}

    return app

"""The HTTP server: one FastAPI app for switch hooks, the GraphQL portal and health.

Everything is built here from one Container; nothing is built at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from projections.runner import Follower
from ringledger.container import Container
from ringledger.hooks_app import SwitchHooks
from ringledger.portal.app import portal


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

    @app.get("/health")
    def health() -> dict[str, object]:
        """Liveness and how far the views lag behind the event log."""
        head = container.ledger.recorder.max_notification_id() or 0
        return {"status": "ok", "events": head, "views_position": container.projector.position()}

    return app

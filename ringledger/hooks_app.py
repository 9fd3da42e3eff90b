"""Wires the switch hooks into the app: charging engine, group commit, auth, metrics, expiry job."""

from __future__ import annotations

import gc

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from adapters.http import errors
from adapters.http.auth import SwitchAuth
from adapters.http.callback import CallbackHooks, SmsInlet, build_callback_router, build_sms_router
from adapters.http.conferences import build_conference_router
from adapters.http.forwarding import build_forwarding_router
from adapters.http.hooks import HookFastPath, HookHandlers, HookMetrics, build_router
from adapters.http.missed_calls import build_missed_call_router
from ringledger.charging import build_charging
from ringledger.conferences import build_conferences
from ringledger.container import Container
from ringledger.forwarding import build_forwarding
from ringledger.missed_calls import build_missed_calls
from ringledger import sms as sms_gateway
from ringledger.scheduler import build_scheduler
from services.callback import CallbackCards, CallbackPolicy, Callbacks
from services.charging import Charging
from services import sms_commands
from services.sms_commands import SmsCommands, parse_words
from services.group_commit import GroupCommitter

#: Young-generation threshold of the cyclic GC while serving (CPython's default is 700).
GC_THRESHOLDS = (50_000, 50, 100)


def tune_gc() -> None:
    """Fewer, cheaper collections in a serving process (`ringledger serve` calls it before serving).

    Under hook load the default thresholds ran a collection every few
    milliseconds and a full one often enough to stall every request by tens
    of milliseconds (p99). The objects built at start-up (modules, the app,
    the tariffs) are frozen out of collection, and the young generation is
    collected after 50,000 allocations instead of 700. Reference counting
    still frees everything that is not in a cycle at once.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class SwitchHooks:
    """What the hooks need for the app's lifetime; `start`/`stop` run in the app's lifespan."""

    def __init__(self, container: Container) -> None:
        settings = container.settings
        self.container = container
        self.charging: Charging = build_charging(settings, container.ledger,
                                                 call_control=container.ports.call_control)
        self.registry = CollectorRegistry()
        self.metrics = HookMetrics(self.registry, self._open_holds)
        self.committer = GroupCommitter(
            container.ledger, max_size=settings.group_commit_size, window=settings.group_commit_window_ms / 1000,
            on_flush=lambda size, seconds: self.metrics.group.observe(size),
            deadline=settings.store_timeout_seconds,
        )
        self.auth = SwitchAuth.from_config(settings.switch_tokens)
        self.conferences = build_conferences(container, self.charging)
        self.scheduler = build_scheduler(container, self.charging, conferences=self.conferences)
        ports = container.ports
        self.callbacks = Callbacks(self.charging, ports.dialer, CallbackPolicy(settings.callback_setup_seconds))
        self.cards = CallbackCards(self.charging)
        self.missed_calls = build_missed_calls(container, self.charging)
        sms_commands.FEE_ZONE = settings.timezone  # the months of fees subscribed by SMS
        self.sms = SmsCommands(ports.sms, self.cards, language=settings.sms_language,
                               words=parse_words(settings.sms_words), missed_calls=self.missed_calls)
        ports.sms.subscribe(self.sms.handle)

    def _open_holds(self) -> float:
        try:
            return float(self.container.views.query("SELECT COUNT(*) FROM holds")[0][0])
        except Exception:  # the gauge must never break a scrape
            return float("nan")

    def install(self, app: FastAPI) -> None:
        errors.install(app)
        handlers = HookHandlers(self.charging, self.committer, self.auth, self.metrics)
        app.include_router(build_router(handlers))
        app.include_router(build_conference_router(self.conferences, self.charging, self.auth.switch_of))
        app.include_router(build_forwarding_router(build_forwarding(self.container, self.charging), self.auth.switch_of))
        # The hook fast path sits in front of routing and dependency solving (a Starlette middleware).
        app.add_middleware(HookFastPath, hooks=handlers)
        app.include_router(build_callback_router(CallbackHooks(self.callbacks, self.cards, self.auth.switch_of)))
        app.include_router(build_missed_call_router(self.missed_calls, self.auth.switch_of))
        if isinstance(self.container.ports.sms, SmsInlet):  # a test or logging gateway: texts come in over HTTP
            app.include_router(build_sms_router(self.container.ports.sms, self.auth.switch_of))
        sms_gateway.install(app, self.container.sms_outbox, self.container.views, self.auth.switch_of, self.registry)
        registry = self.registry
        public = self.container.settings.public_metrics
        switch_of = self.auth.switch_of

        @app.get("/metrics", include_in_schema=False)
        def metrics(request: Request) -> Response:
            if not public:  # RINGLEDGER_PUBLIC_METRICS=false: a switch token is needed
                switch_of(request.headers.get("authorization"))
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        app.state.charging = self.charging
        app.state.conferences = self.conferences
        app.state.callbacks = self.callbacks
        app.state.missed_calls = self.missed_calls

    def start(self) -> None:
        sms_gateway.start(self.container.sms_outbox)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        sms_gateway.stop(self.container.sms_outbox)
        self.committer.stop()

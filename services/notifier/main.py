"""Notifier's composition root."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.runtime import ServiceRuntime
from shared.web.app import service_app

from services.notifier.channels.email.mailer import Mailer
from services.notifier.channels.webhook.sender import WebhookSender
from services.notifier.channels.webhook.targets import TargetPolicy, TargetRefused, TargetUnresolvable
from services.notifier.dispatch import ledger
from services.notifier.dispatch import api as deliveries_api
from services.notifier.dispatch.dispatcher import Dispatcher
from services.notifier.fanout.domain import EmailOptions
from services.notifier.publishers import PUBLICATIONS
from services.notifier.settings import DEVELOPMENT_CALLBACK_SECRET, NotifierSettings
from services.notifier.stream import api as stream_api
from services.notifier.stream import handlers as stream_handlers
from services.notifier.stream.streams import Streams
from services.notifier.subscribers import PRELOAD
from services.notifier.subscribers import subscriptions as subscriptions_of
from services.notifier.subscriptions import api as subscriptions_api
from services.notifier.subscriptions import handlers as subscriptions
from services.notifier.subscriptions.domain import UnknownEventTypes

log = logging.getLogger(__name__)


def create_app(settings: NotifierSettings) -> FastAPI:
    """Build notifier: runtime (consumer of `tickets.events`), dispatcher (webhooks, e-mail), streams, routes."""
    runtime = ServiceRuntime(settings, schema="notifier", publications=PUBLICATIONS)
    runtime.set_subscriptions(subscriptions_of(_email_options(settings)), preload=PRELOAD)
    policy = TargetPolicy.from_settings(settings.allow_private_targets, settings.allowed_target_cidrs)
    webhooks = WebhookSender(settings, policy=policy, subscription_secret=partial(subscriptions.secret_of, runtime.db))
    dispatcher = Dispatcher(runtime.db, settings, webhooks=webhooks, mailer=Mailer(settings))
    streams = Streams(runtime.db, settings)
    runtime.db.on_commit(hand_off_after_commit(dispatcher, streams))
    if settings.callback_secret.get_secret_value() == DEVELOPMENT_CALLBACK_SECRET:
        log.warning("callback URLs are signed with the development secret: set ESCALIER_NOTIFIER_CALLBACK_SECRET")
    app = service_app(
        runtime,
        title="Escalier notifier",
        routers=[stream_api.router, subscriptions_api.router, deliveries_api.router],
        background=[("dispatcher", dispatcher.run)],
    )
    app.add_exception_handler(TargetRefused, _unprocessable("url"))
    app.add_exception_handler(TargetUnresolvable, _unprocessable("url"))  # cannot tell whether it is public
    app.add_exception_handler(UnknownEventTypes, _unprocessable("events"))
    app.state.dispatcher = dispatcher
    app.state.streams = streams
    app.state.target_policy = policy
    return app


def _email_options(settings: NotifierSettings) -> EmailOptions | None:
    if not settings.email_enabled:
        return None
    return EmailOptions(frozenset(settings.email_event_types), settings.ticket_link_template)


def _unprocessable(field: str):
    # Shaped like FastAPI's own validation errors, so clients read one format for every 422.
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        detail = [{"type": "value_error", "loc": ["body", field], "msg": str(exc)}]
        return JSONResponse({"detail": detail}, status_code=422)

    return handle


def hand_off_after_commit(dispatcher: Dispatcher, streams: Streams) -> Callable[[AsyncSession], None]:
    """The commit hook: new deliveries to the dispatcher as they are, new stream events to the listeners."""
    # Only commits that added rows wake anyone.
    def hook(session: AsyncSession) -> None:
        new_events = stream_handlers.committed_events(session)
        new_deliveries = ledger.committed_deliveries(session)
        if new_events:
            streams.notify()
        if new_deliveries:
            dispatcher.hand_off(new_deliveries)

    return hook

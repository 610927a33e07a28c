"""Notifier's composition root."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.runtime import ServiceRuntime, service_app

from services.notifier import handlers
from services.notifier.api import router
from services.notifier.dispatcher import Dispatcher
from services.notifier.models import MODELS
from services.notifier.settings import NotifierSettings
from services.notifier.stream import Streams
from services.notifier.subscribers import SUBSCRIPTIONS


def create_app(settings: NotifierSettings) -> FastAPI:
    """Build notifier: runtime (consumer of `tickets.events`), webhook dispatcher, live streams, routes."""
    runtime = ServiceRuntime(settings, models=MODELS, subscriptions=SUBSCRIPTIONS)
    dispatcher = Dispatcher(runtime.db, settings)
    streams = Streams(runtime.db, settings)
    runtime.db.on_commit(_wake_after_commit(dispatcher, streams))
    app = service_app(
        runtime,
        title="Escalier notifier",
        routers=[router],
        background=[("webhook-dispatcher", dispatcher.run)],
    )
    app.state.dispatcher = dispatcher
    app.state.streams = streams
    return app


def _wake_after_commit(dispatcher: Dispatcher, streams: Streams) -> Callable[[AsyncSession], None]:
    # Only commits that added rows wake anyone: the dispatcher's own updates would otherwise wake itself.
    def hook(session: AsyncSession) -> None:
        new_events, new_deliveries = handlers.committed_changes(session)
        if new_events:
            streams.notify()
        if new_deliveries:
            dispatcher.wake()

    return hook

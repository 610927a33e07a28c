"""Intake's composition root."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from shared.runtime import ServiceRuntime
from shared.sla.contracts import Contracts
from shared.web.app import service_app

from services.intake.integrations import api as integrations
from services.intake.integrations.handlers import principal_for_key
from services.intake.publishers import PUBLICATIONS
from services.intake.ratelimit import Limiter, RequesterLimits
from services.intake.requester import api as requester
from services.intake.requester.auto_close import AutoCloser
from services.intake.settings import IntakeSettings
from services.intake.submission import api as submission
from services.intake.subscribers import PRELOAD, subscriptions


def create_app(settings: IntakeSettings) -> FastAPI:
    """Build intake: its runtime (database, outbox, consumer of `tickets.events`) and its routes."""
    contracts = Contracts.load(settings.sla_contracts_file)
    runtime = ServiceRuntime(settings, schema="intake", publications=PUBLICATIONS)
    runtime.set_subscriptions(subscriptions(contracts), preload=PRELOAD)
    app = service_app(
        runtime,
        title="Escalier intake",
        routers=[submission.router, requester.router, integrations.router],
        background=[("auto-close", AutoCloser(runtime.db, settings).run)],
    )
    app.state.contracts = contracts
    app.state.limits = RequesterLimits(
        requester=Limiter(settings.rate_per_requester_per_minute, settings.burst_per_requester),
        organization=Limiter(settings.rate_per_organization_per_minute, settings.burst_per_organization),
    )
    app.state.integration_limits = Limiter(settings.rate_per_integration_per_minute, settings.burst_per_integration)
    app.state.api_keys = partial(principal_for_key, runtime.db)  # shared.auth: keys beside tokens
    return app

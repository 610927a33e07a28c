"""The tier engine's composition root, shared by tier1, tier2 and tier3."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import ServiceRuntime, service_app

from services.tiers.api import router
from services.tiers.handlers import Tier
from services.tiers.models import MODELS
from services.tiers.settings import TierSettings
from services.tiers.subscribers import subscriptions


def create_app(settings: TierSettings) -> FastAPI:
    """Build the service of tier `settings.tier`."""
    runtime = ServiceRuntime(settings, models=MODELS)
    tier = Tier(number=settings.tier, db=runtime.db)
    runtime.set_subscriptions(subscriptions(tier))
    app = service_app(runtime, title=f"Escalier tier {settings.tier}", routers=[router])
    app.state.tier = tier
    return app

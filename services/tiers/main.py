"""The tier engine's composition root, shared by tier1, tier2 and tier3."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from shared.runtime import ServiceRuntime
from shared.sla.contracts import Contracts
from shared.web.app import service_app

from services.tiers.kb import api as kb_api
from services.tiers.publishers import publications
from services.tiers.settings import TierSettings
from services.tiers.subscribers import PRELOAD, subscriptions
from services.tiers.tier import Tier
from services.tiers.work import api as work_api, metrics
from services.tiers.work.timers import AlarmClock


def create_app(settings: TierSettings) -> FastAPI:
    """Build the service of tier `settings.tier`."""
    runtime = ServiceRuntime(settings, schema="tiers", publications=publications(settings.tier))
    tier = Tier(number=settings.tier, db=runtime.db, contracts=Contracts.load(settings.sla_contracts_file))
    runtime.set_subscriptions(subscriptions(tier), preload=PRELOAD)
    runtime.measure(partial(metrics.refresh, tier))
    alarms = AlarmClock(tier)
    runtime.db.on_commit(alarms.after_commit)
    app = service_app(
        runtime, title=f"Escalier tier {settings.tier}", routers=[work_api.router, *kb_api.routers(settings.tier)],
        background=[("sla-alarms", alarms.run)],
    )
    app.state.tier = tier
    app.state.alarms = alarms
    return app

"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import ServiceRuntime, service_app

from services.triage.api import router
from services.triage.models import MODELS
from services.triage.rulebook import load_rules
from services.triage.settings import TriageSettings
from services.triage.subscribers import subscriptions


def create_app(settings: TriageSettings) -> FastAPI:
    """Build triage: its rules, its runtime (database, outbox, consumer of `tickets.submitted`) and its routes."""
    rules = load_rules(settings.rules_file)  # a bad rule file stops the start, with the reason
    runtime = ServiceRuntime(settings, models=MODELS, subscriptions=subscriptions(rules))
    app = service_app(runtime, title="Escalier triage", routers=[router])
    app.state.rules = rules
    return app

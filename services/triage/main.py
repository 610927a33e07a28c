"""Triage's composition root."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import ServiceRuntime
from shared.web.app import service_app

from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.api import router as kb_router
from services.triage.knowledge.handlers import KnowledgeBase
from services.triage.knowledge.index import index_for
from services.triage.knowledge.starter import load_starter
from services.triage.publishers import PUBLICATIONS
from services.triage.routing.api import router as routing_router
from services.triage.routing.handlers import Triage
from services.triage.routing.rulebook import load_rules
from services.triage.settings import TriageSettings
from services.triage.subscribers import PRELOAD, subscriptions


class _TriageRuntime(ServiceRuntime):
    """The runtime, with the knowledge base ready before the API answers and the consumer routes."""

    def __init__(self, settings: TriageSettings, kb_starter: bool) -> None:
        super().__init__(settings, schema="triage", publications=PUBLICATIONS)
        self.kb = KnowledgeBase(db=self.db, index=index_for(self.db))
        self._starter = load_starter() if kb_starter else []  # a bad starter file stops the start

    async def start(self) -> None:
        await self.migrate()  # the knowledge base is written before the runtime's own start
        await knowledge.prepare(self.kb, self._starter)
        await super().start()


def create_app(settings: TriageSettings) -> FastAPI:
    """Build triage: its rules, its knowledge base, its runtime (database, outbox, consumer) and its routes."""
    rules = load_rules(settings.rules_file)  # a bad rule file stops the start, with the reason
    runtime = _TriageRuntime(settings, kb_starter=settings.kb_starter)
    triage = Triage(rules=rules, kb=runtime.kb)
    runtime.set_subscriptions(subscriptions(triage), preload=PRELOAD)
    app = service_app(runtime, title="Escalier triage", routers=[routing_router, kb_router])
    app.state.triage = triage
    return app

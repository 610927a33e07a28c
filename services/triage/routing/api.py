"""Routing's HTTP API: thin routes over the rules in force, a dry run and the rules themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.triage.permissions import PERMISSIONS
from services.triage.routing.domain import RuleSet
from services.triage.routing.handlers import Triage, dry_run
from services.triage.routing.schemas import ClassifyRequest, ClassifyResponse

router = APIRouter(tags=["triage"])


def _triage(request: Request) -> Triage:
    return request.app.state.triage


TriageDep = Annotated[Triage, Depends(_triage)]
RulesReader = PERMISSIONS.require("read the routing rules")


@router.post("/classify", response_model=ClassifyResponse, dependencies=[RulesReader])
async def classify_ticket(body: ClassifyRequest, triage: TriageDep) -> ClassifyResponse:
    """The decision triage would take for this ticket, the articles it would offer, and why; a dry run."""
    outcome = await dry_run(triage, **body.model_dump())
    return ClassifyResponse(
        **outcome.decision.model_dump(), language=outcome.language, suggested_articles=outcome.suggestions
    )


@router.get("/rules", response_model=RuleSet, dependencies=[RulesReader])
async def rules_in_force(triage: TriageDep) -> RuleSet:
    """The routing rules in force: categories with keywords and weights, overrides, priority matrix."""
    return triage.rules

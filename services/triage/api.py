"""Triage's HTTP API: thin routes over the rules in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.triage.domain import Decision, RuleSet, classify
from services.triage.schemas import ClassifyRequest

router = APIRouter(tags=["triage"])


def _rules(request: Request) -> RuleSet:
    return request.app.state.rules


RulesDep = Annotated[RuleSet, Depends(_rules)]


@router.post("/classify", response_model=Decision)
async def classify_ticket(body: ClassifyRequest, rules: RulesDep) -> Decision:
    """The decision triage would take for this ticket, and why; a dry run that changes nothing."""
    return classify(rules, **body.model_dump())


@router.get("/rules", response_model=RuleSet)
async def rules_in_force(rules: RulesDep) -> RuleSet:
    """The routing rules in force: categories with keywords and weights, overrides, priority matrix."""
    return rules

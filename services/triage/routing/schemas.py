"""Routing's HTTP shapes: a ticket to classify in a dry run, and the decision with its articles."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.messages.common import Category, Description, Language, Level, Title
from shared.messages.tickets import SuggestedArticle

from services.triage.routing.domain import Decision


class ClassifyRequest(BaseModel):
    """A ticket as it would be submitted, to see where triage would send it."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    impact: Level = "medium"
    urgency: Level = "medium"
    category_hint: Category | None = None
    language: Language = "en"  # the requester's; the text's own language wins when it is clear


class ClassifyResponse(Decision):
    """The decision, the language the ticket is read in, and the articles that would be offered."""

    language: Language
    suggested_articles: list[SuggestedArticle]

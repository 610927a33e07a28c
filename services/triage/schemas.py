"""Triage's HTTP shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.messages.common import Category, Level

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class ClassifyRequest(BaseModel):
    """A ticket as it would be submitted, to see where triage would send it."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    impact: Level = "medium"
    urgency: Level = "medium"
    category_hint: Category | None = None

"""Value types used by several event schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["low", "medium", "high"]
Language = Literal["fr", "en"]
Priority = Literal["P1", "P2", "P3", "P4"]
TierNumber = Literal[1, 2, 3]
Category = Literal[
    "account", "email", "hardware", "software", "network", "server", "security", "application", "other"
]
Specialty = Literal["security", "network", "software"]


class Payload(BaseModel):
    """Base of every event payload: immutable, extra fields tolerated (fields may grow)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Requester(Payload):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    language: Language = "en"


class CommentSnapshot(Payload):
    author: str
    body: str
    internal: bool
    tier: int | None = None
    at: datetime


class TicketSnapshot(Payload):
    """Everything a tier needs to work a ticket, carried by every hand-off."""

    ticket_id: str
    title: str
    description: str
    requester: Requester
    organization: str
    impact: Level
    urgency: Level
    priority: Priority
    category: Category
    specialty: Specialty | None = None
    category_hint: str | None = None
    submitted_at: datetime
    tiers_visited: list[int] = []
    comments: list[CommentSnapshot] = []
    # The contract clocks as the last tier left them (shared.sla.clocks.TicketClocks), and
    # the open seconds each tier spent on the ticket, so the next tier continues them.
    clocks: dict | None = None
    tier_seconds: dict[str, float] = {}

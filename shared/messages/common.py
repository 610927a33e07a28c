"""Value types used by several event schemas, and the bounded text fields of every service's HTTP bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Level = Literal["low", "medium", "high"]
Language = Literal["fr", "en"]
Priority = Literal["P1", "P2", "P3", "P4"]
TierNumber = Literal[1, 2, 3]
Category = Literal[
    "account", "email", "hardware", "software", "network", "server", "security", "application", "other"
]
Specialty = Literal["security", "network", "software"]


# The bounded text fields of the HTTP bodies, written once: a title is 200 characters at intake, at
# triage's `/classify` and in the knowledge base alike. Surrounding white space is stripped first; an
# empty value is a 422 naming the field.
def _text(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Title = Annotated[str, _text(200)]
Description = Annotated[str, _text(20_000)]  # a ticket's description
Text = Annotated[str, _text(20_000)]  # a comment, a reply, a resolution, a requester's message
Note = Annotated[str, _text(2_000, min_length=0)]  # an optional remark: a rating's comment
Body = Annotated[str, _text(50_000)]  # an article
Tag = Annotated[str, _text(40)]
Name = Annotated[str, _text(100)]  # an organization, an agent
Organization = Name
Agent = Name


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


class TicketCore(Payload):
    """What the requester said at submission, carried unchanged by the submission and every hand-off."""

    ticket_id: str
    title: str
    description: str
    requester: Requester
    organization: str
    impact: Level
    urgency: Level
    category_hint: str | None = None
    submitted_at: datetime

    def core(self) -> dict:
        """The core fields as keyword arguments, for the next stage's event."""
        return {name: getattr(self, name) for name in TicketCore.model_fields}


class TicketSnapshot(TicketCore):
    """Everything a tier needs to work a ticket, carried by every hand-off."""

    priority: Priority
    category: Category
    specialty: Specialty | None = None
    tiers_visited: list[int] = []
    comments: list[CommentSnapshot] = []
    # The contract clocks as the last tier left them (shared.sla.clocks.TicketClocks), and
    # the open seconds each tier spent on the ticket, so the next tier continues them.
    clocks: dict | None = None
    tier_seconds: dict[str, float] = {}

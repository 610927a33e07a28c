"""Notifier's tables: the tickets it knows, here; the others with their feature, all named in MODELS.

The tickets sit above the features because three of them read it: fan-out records each
ticket's contact from its submission and tells it; the stream lets a requester follow only
their own tickets; the deliveries ledger keeps an organization's deliveries to itself.
MODELS is every table notifier migrates (services/notifier/migrations/env.py).
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from services.notifier.dispatch.models import Delivery
from services.notifier.stream.models import StreamEvent
from services.notifier.subscriptions.models import Subscription


class NotifierTicket(SQLModel, table=True):
    """Who to tell about a ticket, from its `ticket.submitted`."""

    __tablename__ = "notifier_tickets"

    id: str = Field(primary_key=True)
    organization: str = Field(index=True)
    callback_url: str | None = None
    language: str
    requester_email: str
    requester_name: str = ""
    title: str = ""


MODELS = (NotifierTicket, StreamEvent, Subscription, Delivery)

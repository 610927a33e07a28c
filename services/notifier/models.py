"""Notifier's tables: the tickets it knows, their public events, subscriptions, and deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow

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

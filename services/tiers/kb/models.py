"""The tier's record of the articles it wrote, as it last wrote them (the index lives at triage)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class TierArticle(SQLModel, table=True):
    """An article as this tier last wrote it (the index lives at triage)."""

    __tablename__ = "kb_authored_articles"

    article_id: str = Field(primary_key=True)
    title: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    language: str
    category: str
    tags: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    version: int
    status: str = "published"
    author: str
    from_ticket_id: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

"""The knowledge base's tables: the articles as triage indexes them, and the tickets they resolved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime


class KbArticle(SQLModel, table=True):
    """An article as triage indexes it, with its deflection counters.

    The searchable text lives beside it in the engine's own index (`kb_fts` on SQLite,
    `kb_search` on PostgreSQL), written in the same transaction.
    """

    __tablename__ = "kb_articles"

    article_id: str = Field(primary_key=True)
    title: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(index=True)
    category: str = Field(index=True)
    tags: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    version: int = 1
    status: str = Field(default="published", index=True)
    author: str
    updated_at: datetime = Field(sa_type=UTCDateTime)
    suggested: int = 0  # times offered on a ticket at triage
    opened: int = 0  # times read through GET /kb/articles/{id}
    solved: int = 0  # tickets the requester resolved with it (level 0)


class KbDeflection(SQLModel, table=True):
    """A ticket its requester resolved with an article: counted once per ticket."""

    __tablename__ = "kb_deflections"

    ticket_id: str = Field(primary_key=True)
    article_id: str = Field(index=True)
    resolved_at: datetime = Field(sa_type=UTCDateTime)

"""Schemas of `kb.articles`: knowledge-base articles published, updated, retired."""

from __future__ import annotations

from datetime import datetime

from shared.messages.common import Category, Language, Payload


class ArticleContent(Payload):
    article_id: str
    title: str
    body: str
    language: Language
    category: Category
    tags: list[str] = []
    version: int = 1
    author: str
    updated_at: datetime


class ArticlePublished(ArticleContent):
    pass


class ArticleUpdated(ArticleContent):
    pass


class ArticleRetired(Payload):
    article_id: str
    version: int
    author: str
    updated_at: datetime

"""The knowledge base's full-text index, in the database's own engine.

SQLite: an FTS5 table (`unicode61 remove_diacritics 2`) holding each article's terms
as `services.triage.text` stems them (FTS5 has no French or English stemmer), ranked
by bm25 with the title weighing most. PostgreSQL: a `tsvector` per article built with
the `french` or `english` configuration (its Snowball stemmer and stop words), title
weighted A, tags B, body D, ranked by `ts_rank`. Both receive text already in normal
form (accents stripped), so neither needs the `unaccent` extension.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, execute
from shared.messages.common import Language

from services.triage import ranking
from services.triage.models import KbArticle
from services.triage.text import content_words, terms

# (article id, relevance): higher is better, comparable within one index only.
Match = tuple[str, float]


class SearchIndex(Protocol):
    async def ensure_schema(self, db: Database) -> None: ...
    async def put(self, session: AsyncSession, article: KbArticle) -> None: ...
    async def drop(self, session: AsyncSession, article_id: str) -> None: ...
    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]: ...


def index_for(db: Database) -> SearchIndex:
    """The index that fits the database's engine."""
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        return SqliteIndex()
    if dialect == "postgresql":
        return PostgresIndex()
    raise ValueError(f"the knowledge base needs SQLite or PostgreSQL, not {dialect}")


def _fields(article: KbArticle) -> tuple[str, str, str]:
    return article.title, " ".join(article.tags), ranking.plain_text(article.body)


class SqliteIndex:
    """FTS5 over stemmed terms; bm25 weights: title 5, tags 3, body 1."""

    _BM25 = "bm25(kb_fts, 0.0, 0.0, 5.0, 3.0, 1.0)"

    async def ensure_schema(self, db: Database) -> None:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5("
                "article_id UNINDEXED, language UNINDEXED, title, tags, body, "
                "tokenize = 'unicode61 remove_diacritics 2')"
            )

    async def put(self, session: AsyncSession, article: KbArticle) -> None:
        await self.drop(session, article.article_id)
        lang = article.language
        title, tags, body = (" ".join(terms(field, lang)) for field in _fields(article))
        await session.exec(
            text(
                "INSERT INTO kb_fts (article_id, language, title, tags, body) "
                "VALUES (:id, :lang, :title, :tags, :body)"
            ),
            params={"id": article.article_id, "lang": lang, "title": title, "tags": tags, "body": body},
        )

    async def drop(self, session: AsyncSession, article_id: str) -> None:
        await session.exec(text("DELETE FROM kb_fts WHERE article_id = :id"), params={"id": article_id})

    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]:
        match = ranking.fts5_query(terms(question, language))
        if match is None:
            return []
        rows = await execute(
            session,
            text(
                f"SELECT article_id, {self._BM25} AS rank FROM kb_fts "
                "WHERE kb_fts MATCH :match AND language = :lang ORDER BY rank, article_id LIMIT :limit"
            ),
            {"match": match, "lang": language, "limit": limit},
        )
        return [(article_id, round(-rank, 4)) for article_id, rank in rows.all()]


class PostgresIndex:
    """A weighted tsvector per article, `french` or `english` by the article's language."""

    _CONFIG = {"fr": "french", "en": "english"}

    async def ensure_schema(self, db: Database) -> None:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS kb_search ("
                "article_id TEXT PRIMARY KEY, language TEXT NOT NULL, document TSVECTOR NOT NULL)"
            )
            await conn.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS kb_search_document ON kb_search USING GIN (document)"
            )

    async def put(self, session: AsyncSession, article: KbArticle) -> None:
        lang = article.language
        title, tags, body = (" ".join(content_words(field, lang)) for field in _fields(article))
        await session.exec(
            text(
                "INSERT INTO kb_search (article_id, language, document) VALUES (:id, :lang, "
                "setweight(to_tsvector(CAST(:cfg AS regconfig), :title), 'A') || "
                "setweight(to_tsvector(CAST(:cfg AS regconfig), :tags), 'B') || "
                "setweight(to_tsvector(CAST(:cfg AS regconfig), :body), 'D')) "
                "ON CONFLICT (article_id) DO UPDATE SET language = EXCLUDED.language, document = EXCLUDED.document"
            ),
            params={"id": article.article_id, "lang": lang, "cfg": self._CONFIG[lang], "title": title,
                    "tags": tags, "body": body},
        )

    async def drop(self, session: AsyncSession, article_id: str) -> None:
        await session.exec(text("DELETE FROM kb_search WHERE article_id = :id"), params={"id": article_id})

    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]:
        asked = ranking.tsquery(content_words(question, language))
        if asked is None:
            return []
        rows = await execute(
            session,
            text(
                "SELECT article_id, ts_rank('{0.2, 0.2, 0.5, 1.0}', document, q, 1) AS score "
                "FROM kb_search, to_tsquery(CAST(:cfg AS regconfig), :asked) AS q "
                "WHERE language = :lang AND document @@ q ORDER BY score DESC, article_id LIMIT :limit"
            ),
            {"cfg": self._CONFIG[language], "asked": asked, "lang": language, "limit": limit},
        )
        return [(article_id, round(float(score), 4)) for article_id, score in rows.all()]

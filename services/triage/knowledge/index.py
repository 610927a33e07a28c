"""The knowledge base's full-text index, in the database's own engine.

SQLite: an FTS5 table (`unicode61 remove_diacritics 2`) holding each article's terms
as `services.triage.text` stems them (FTS5 has no French or English stemmer), ranked
by bm25 with the title weighing most. PostgreSQL: a `tsvector` per article built with
the `french` or `english` configuration (its Snowball stemmer and stop words), title
weighted A, tags B, body D, ranked by `ts_rank`. Both receive text already in normal
form (accents stripped), so neither needs the `unaccent` extension.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

import orjson
from sqlalchemy import TextClause, text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, execute
from shared.messages.common import Language

from services.triage.knowledge.domain import fts5_query, plain_text, tsquery
from services.triage.knowledge.models import KbArticle
from services.triage.text import Analysis, content_words, terms

# (article id, relevance): higher is better, comparable within one index only.
Match = tuple[str, float]
# A published article found for a question: (article_id, title, language, category, tags, body), relevance.
Found = tuple[tuple[Any, ...], float]

# Questions per statement when a batch's are asked together (SQLite allows 500 SELECTs in a compound).
_QUESTIONS_PER_STATEMENT = 100
_ARTICLE_COLUMNS = "a.article_id, a.title, a.language, a.category, a.tags, a.body"


class SearchIndex(Protocol):
    async def ensure_schema(self, db: Database) -> None: ...
    async def put(self, session: AsyncSession, article: KbArticle) -> None: ...
    async def drop(self, session: AsyncSession, article_id: str) -> None: ...
    async def compact(self, session: AsyncSession) -> None: ...
    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]: ...
    async def candidates(
        self, session: AsyncSession, asked: Sequence[Analysis], limit: int
    ) -> list[list[Found]]: ...


def index_for(db: Database) -> SearchIndex:
    """The index that fits the database's engine."""
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        return SqliteIndex()
    if dialect == "postgresql":
        return PostgresIndex()
    raise ValueError(f"the knowledge base needs SQLite or PostgreSQL, not {dialect}")


def _fields(article: KbArticle) -> tuple[str, str, str]:
    return article.title, " ".join(article.tags), plain_text(article.body)


async def sqlite_driver(session: AsyncSession) -> Any | None:
    """The SQLite driver's connection under the session's, in its transaction; None on another engine.

    A statement through it costs about a twentieth of one through SQLAlchemy (9 vs 170 µs measured
    here for a trivial SELECT), which counts for the few statements every ticket makes."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return None
    return (await connection.get_raw_connection()).driver_connection


def _ranked(found: list[Found]) -> list[Found]:
    # Most relevant first, by the rounded relevance the search reports, then by id (as `query`).
    return sorted(found, key=lambda f: (-f[1], f[0][0]))


def _compound(selects: list[str], join: str) -> str:
    """The articles each question's best matches are (`selects`, numbered `q`), published ones only."""
    return (
        f"SELECT m.q, {_ARTICLE_COLUMNS}, m.score FROM ({' UNION ALL '.join(selects)}) AS m "
        f"{join} kb_articles AS a ON a.article_id = m.article_id WHERE a.status = 'published'"
    )


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

    async def compact(self, session: AsyncSession) -> None:
        """Merge the index's segments into one: each term of a query is looked up in every segment
        (a put after a delete starts a new one), and a fresh start left one per article."""
        await session.exec(text("INSERT INTO kb_fts (kb_fts) VALUES ('optimize')"))

    async def candidates(self, session: AsyncSession, asked: Sequence[Analysis], limit: int) -> list[list[Found]]:
        """The best `limit` published articles for each question, in one statement per hundred questions,
        straight through the driver (the statement is text; SQLAlchemy's round cost more than SQLite's)."""
        found: list[list[Found]] = [[] for _ in asked]
        questions = [(i, match, a.language) for i, a in enumerate(asked) if (match := fts5_query(a.terms))]
        if not questions:
            return found
        driver = await sqlite_driver(session)
        for start in range(0, len(questions), _QUESTIONS_PER_STATEMENT):
            chunk = questions[start : start + _QUESTIONS_PER_STATEMENT]
            params = [value for i, match, lang in chunk for value in (i, match, lang, limit)]
            cursor = await driver.execute(_sqlite_candidates(len(chunk)), params)
            for q, *article, rank in await cursor.fetchall():
                article[4] = orjson.loads(article[4])  # tags, a JSON list
                found[q].append((tuple(article), round(-rank, 4)))
        return [_ranked(f) for f in found]

    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]:
        match = fts5_query(terms(question, language))
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
    _RANK = "ts_rank('{0.2, 0.2, 0.5, 1.0}', document, tq, 1)"

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

    async def compact(self, session: AsyncSession) -> None:
        """Nothing to do: PostgreSQL keeps its GIN index tidy itself."""

    async def candidates(self, session: AsyncSession, asked: Sequence[Analysis], limit: int) -> list[list[Found]]:
        """The best `limit` published articles for each question, in one statement per hundred questions."""
        found: list[list[Found]] = [[] for _ in asked]
        questions = [(i, q, a.language) for i, a in enumerate(asked) if (q := tsquery(a.content))]
        for start in range(0, len(questions), _QUESTIONS_PER_STATEMENT):
            chunk = questions[start : start + _QUESTIONS_PER_STATEMENT]
            params = {"limit": limit}
            for n, (i, q, lang) in enumerate(chunk):
                params |= {f"q{n}": i, f"cfg{n}": self._CONFIG[lang], f"asked{n}": q, f"lang{n}": lang}
            rows = await execute(session, _postgres_candidates(len(chunk)), params)
            for q, *article, score in rows.all():
                if isinstance(article[4], str):  # tags: JSON, as text through a text() statement
                    article[4] = orjson.loads(article[4])
                found[q].append((tuple(article), round(float(score), 4)))
        return [_ranked(f) for f in found]

    async def query(self, session: AsyncSession, question: str, language: Language, limit: int) -> list[Match]:
        asked = tsquery(content_words(question, language))
        if asked is None:
            return []
        rows = await execute(
            session,
            text(
                f"SELECT article_id, {self._RANK} AS score "
                "FROM kb_search, to_tsquery(CAST(:cfg AS regconfig), :asked) AS tq "
                "WHERE language = :lang AND document @@ tq ORDER BY score DESC, article_id LIMIT :limit"
            ),
            {"cfg": self._CONFIG[language], "asked": asked, "lang": language, "limit": limit},
        )
        return [(article_id, round(float(score), 4)) for article_id, score in rows.all()]


@lru_cache(maxsize=128)
def _sqlite_candidates(questions: int) -> str:
    # The article's columns are read for its best matches only, after each question's LIMIT;
    # CROSS JOIN keeps the matches as the outer loop (SQLite never reorders it).
    one = (
        f"SELECT * FROM (SELECT ? AS q, article_id, {SqliteIndex._BM25} AS score FROM kb_fts "
        "WHERE kb_fts MATCH ? AND language = ? ORDER BY score, article_id LIMIT ?)"
    )
    return _compound([one] * questions, "CROSS JOIN")


@lru_cache(maxsize=128)
def _postgres_candidates(questions: int) -> TextClause:
    return text(_compound([
        f"(SELECT CAST(:q{n} AS INTEGER) AS q, article_id, {PostgresIndex._RANK} AS score "
        f"FROM kb_search, to_tsquery(CAST(:cfg{n} AS regconfig), :asked{n}) AS tq "
        f"WHERE language = :lang{n} AND document @@ tq ORDER BY score DESC, article_id LIMIT :limit)"
        for n in range(questions)
    ], "JOIN"))

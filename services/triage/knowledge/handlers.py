"""Level 0's use cases: keep the index of `kb.articles`, search it, suggest articles, count deflection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, execute
from shared.errors import NotFound
from shared.messages import Envelope
from shared.messages.common import Language
from shared.messages.kb import ArticleContent, ArticleRetired
from shared.messages.tickets import TicketResolved

from services.triage.knowledge.domain import KnowledgeBaseRules, article_terms, snippet, worth_suggesting
from services.triage.knowledge.index import Found, Match, SearchIndex, sqlite_driver
from services.triage.knowledge.models import KbArticle, KbDeflection
from services.triage.knowledge.starter import to_write
from services.triage.models import MODELS  # every table of triage, created together
from services.triage.routing.models import TriageDecision  # tickets triaged: the deflection rate's denominator
from services.triage.text import Analysis, analyse, terms

LANGUAGES: tuple[Language, ...] = get_args(Language)
PUBLISHED, RETIRED = "published", "retired"


class ArticleNotFound(NotFound):
    """No article has this id."""


@dataclass(frozen=True)
class KnowledgeBase:
    """Triage's articles: their table and the full-text index beside it."""

    db: Database
    index: SearchIndex


@dataclass(frozen=True)
class Hit:
    article: KbArticle
    score: float
    snippet: str


async def prepare(kb: KnowledgeBase, starter: list[ArticleContent]) -> int:
    """Create the tables and the index, then write the shipped articles that are new or newer; how many."""
    await kb.db.create_tables(MODELS)
    await kb.index.ensure_schema(kb.db)
    async with kb.db.unit_of_work() as session:
        rows = await session.exec(select(KbArticle.article_id, KbArticle.version, KbArticle.author))
        written = to_write(starter, {article_id: (version, author) for article_id, version, author in rows.all()})
        for content in written:
            await _publish(session, kb, content)
        if written:
            await kb.index.compact(session)
    return len(written)


async def _publish(session: AsyncSession, kb: KnowledgeBase, content: ArticleContent) -> None:
    row = await session.get(KbArticle, content.article_id)
    if row is None:
        row = KbArticle(article_id=content.article_id, title="", body="", language="", category="", author="",
                        updated_at=content.updated_at)
        session.add(row)
    for field in ("title", "body", "language", "category", "tags", "version", "author", "updated_at"):
        setattr(row, field, getattr(content, field))
    row.status = PUBLISHED
    await session.flush()
    await kb.index.put(session, row)


async def apply_article(session: AsyncSession, event: Envelope[ArticleContent], *, kb: KnowledgeBase) -> None:
    """Index an article published or updated at a tier; a version older than the one held is ignored."""
    row = await session.get(KbArticle, event.data.article_id)
    if row is not None and event.data.version < row.version:
        return
    await _publish(session, kb, event.data)


async def retire_article(session: AsyncSession, event: Envelope[ArticleRetired], *, kb: KnowledgeBase) -> None:
    """Take a retired article out of the index; it stays readable, marked retired."""
    row = await session.get(KbArticle, event.data.article_id)
    if row is None or event.data.version < row.version:
        return
    row.status, row.version = RETIRED, event.data.version
    row.author, row.updated_at = event.data.author, event.data.updated_at
    await session.flush()  # written now: suggestions read articles with Core statements (no autoflush)
    await kb.index.drop(session, row.article_id)


async def record_self_resolution(session: AsyncSession, event: Envelope[TicketResolved]) -> None:
    """Count a ticket its requester resolved with an article (level 0), once per ticket."""
    resolved = event.data
    if resolved.level != 0 or not resolved.article_id:
        return
    if await session.get(KbDeflection, resolved.ticket_id) is not None:
        return
    session.add(KbDeflection(ticket_id=resolved.ticket_id, article_id=resolved.article_id, resolved_at=event.time))
    article = await session.get(KbArticle, resolved.article_id)
    if article is not None:
        article.solved += 1


async def _matches(
    session: AsyncSession, kb: KnowledgeBase, question: str, languages: tuple[Language, ...], limit: int
) -> list[Match]:
    matches = []
    for language in languages:
        matches += await kb.index.query(session, question, language, limit)
    return sorted(matches, key=lambda m: (-m[1], m[0]))[:limit]


async def find(
    session: AsyncSession, kb: KnowledgeBase, question: str, languages: tuple[Language, ...], limit: int
) -> list[tuple[KbArticle, float]]:
    """Published articles matching `question`, most relevant first, with their relevance."""
    matches = await _matches(session, kb, question, languages, limit)
    if not matches:
        return []
    query = select(KbArticle).where(col(KbArticle.article_id).in_([m[0] for m in matches]))
    rows = {a.article_id: a for a in (await session.exec(query)).all()}
    return [(rows[i], score) for i, score in matches if i in rows and rows[i].status == PUBLISHED]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What triage needs of an article it may suggest: read as columns, not as an ORM object
    (this runs for every ticket)."""

    article_id: str
    title: str
    language: str
    category: str
    tags: list[str]
    body: str


_COUNT_SUGGESTED = (
    update(KbArticle)
    .where(col(KbArticle.article_id).in_(bindparam("ids", expanding=True)))
    .values(suggested=KbArticle.suggested + 1)
)


_COUNT_SUGGESTIONS = (
    update(KbArticle)
    .where(col(KbArticle.article_id) == bindparam("counted_id"))
    .values(suggested=KbArticle.suggested + bindparam("times"))
)


_SQLITE_COUNT_SUGGESTED = "UPDATE kb_articles SET suggested = suggested + 1 WHERE article_id IN ({})"
_SQLITE_COUNT_SUGGESTIONS = "UPDATE kb_articles SET suggested = suggested + ? WHERE article_id = ?"


async def count_suggested(session: AsyncSession, article_ids: list[str]) -> None:
    """Count one more suggestion of each article, in one statement (through the driver on SQLite)."""
    if (driver := await sqlite_driver(session)) is not None:
        await driver.execute(_SQLITE_COUNT_SUGGESTED.format(", ".join("?" * len(article_ids))), article_ids)
    else:
        await execute(session, _COUNT_SUGGESTED, {"ids": article_ids})


async def count_suggestions(session: AsyncSession, times: Mapping[str, int]) -> None:
    """Count `times[article_id]` more suggestions of each article, in one round (a batch's)."""
    if not times:
        return
    ordered = sorted(times.items())  # rows locked in one order by every writer
    if (driver := await sqlite_driver(session)) is not None:
        await driver.executemany(_SQLITE_COUNT_SUGGESTIONS, [(n, article_id) for article_id, n in ordered])
    else:
        await execute(session, _COUNT_SUGGESTIONS, [{"counted_id": a, "times": n} for a, n in ordered])


async def search(kb: KnowledgeBase, *, question: str, language: Language | None, limit: int) -> list[Hit]:
    """Articles answering `question`, ranked, each with a highlighted snippet."""
    async with kb.db.read() as session:
        found = await find(session, kb, question, (language,) if language else LANGUAGES, limit)
    return [Hit(a, score, snippet(a.body, terms(question, a.language), a.language)) for a, score in found]


async def suggest(
    session: AsyncSession, kb: KnowledgeBase, *, question: str, language: Language, rules: KnowledgeBaseRules
) -> list[tuple[Candidate, float]]:
    """The articles worth offering on a ticket written in `language`, best first."""
    (kept,) = await suggest_all(session, kb, [analyse(question, language, detect=False)], rules)
    return kept


async def suggest_all(
    session: AsyncSession, kb: KnowledgeBase, asked: Sequence[Analysis], rules: KnowledgeBaseRules
) -> list[list[tuple[Candidate, float]]]:
    """`suggest` for each of many tickets (each in the language of its analysis), in one query round."""
    if rules.suggestions == 0:
        return [[] for _ in asked]
    found = await kb.index.candidates(session, asked, rules.suggestions * 3)
    return [_worth_offering(analysis, rows, rules) for analysis, rows in zip(asked, found)]


def _worth_offering(analysis: Analysis, found: list[Found], rules: KnowledgeBaseRules) -> list[tuple[Candidate, float]]:
    asked, language, kept = set(analysis.terms), analysis.language, []
    for columns, score in found:
        article = Candidate(*columns)
        heading, everything = article_terms(article.title, article.tags, article.body, language)
        if worth_suggesting(asked, heading, everything, min_matched=rules.min_matched_terms):
            kept.append((article, score))
            if len(kept) == rules.suggestions:
                break
    return kept


async def open_article(kb: KnowledgeBase, article_id: str) -> KbArticle:
    """An article as a reader opens it; the opening is counted."""
    async with kb.db.unit_of_work() as session:
        article = await session.get(KbArticle, article_id)
        if article is None:
            raise ArticleNotFound(f"article {article_id} not found")
        article.opened += 1
    return article


async def list_articles(
    kb: KnowledgeBase, *, language: str | None, category: str | None, status: str, limit: int, offset: int
) -> tuple[list[KbArticle], int]:
    """A page of articles, most recently updated first, and how many match."""
    filters = [KbArticle.status == status]
    if language:
        filters.append(KbArticle.language == language)
    if category:
        filters.append(KbArticle.category == category)
    async with kb.db.read() as session:
        total = (await session.exec(select(func.count()).select_from(KbArticle).where(*filters))).one()
        query = select(KbArticle).where(*filters).order_by(col(KbArticle.updated_at).desc(), col(KbArticle.article_id))
        rows = (await session.exec(query.limit(limit).offset(offset))).all()
    return list(rows), total


async def stats(kb: KnowledgeBase, *, top: int) -> dict:
    """Deflection figures: tickets triaged and resolved at level 0, and per article suggested/opened/solved."""
    async with kb.db.read() as session:
        triaged = (await session.exec(select(func.count()).select_from(TriageDecision))).one()
        deflected = (await session.exec(select(func.count()).select_from(KbDeflection))).one()
        by_status = dict(
            (await session.exec(select(KbArticle.status, func.count()).group_by(KbArticle.status))).all()
        )
        counters = (KbArticle.suggested, KbArticle.opened, KbArticle.solved)
        sums = (await session.exec(select(*(func.sum(c) for c in counters)))).one()
        used = select(KbArticle).where(KbArticle.suggested + KbArticle.opened + KbArticle.solved > 0)
        order = (col(KbArticle.solved).desc(), col(KbArticle.suggested).desc(), col(KbArticle.article_id))
        best = (await session.exec(used.order_by(*order).limit(top))).all()
    return {
        "articles": {PUBLISHED: by_status.get(PUBLISHED, 0), RETIRED: by_status.get(RETIRED, 0)},
        "tickets_triaged": triaged,
        "resolved_at_level_0": deflected,
        "deflection_rate": round(deflected / triaged, 4) if triaged else None,
        "totals": dict(zip(("suggested", "opened", "solved"), (int(s or 0) for s in sums))),
        "top_articles": [_article_stats(a) for a in best],
    }


def _article_stats(article: KbArticle) -> dict:
    return {
        "article_id": article.article_id,
        "title": article.title,
        "language": article.language,
        "suggested": article.suggested,
        "opened": article.opened,
        "solved": article.solved,
        "solve_rate": round(article.solved / article.suggested, 4) if article.suggested else None,
    }

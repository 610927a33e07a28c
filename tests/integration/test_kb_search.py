"""The knowledge base in the database's own full-text engine: SQLite FTS5 and PostgreSQL tsvector."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.db import Database
from shared.messages import new_event
from shared.messages.kb import ArticlePublished, ArticleRetired, ArticleUpdated
from shared.messages.tickets import TicketResolved

from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.domain import KnowledgeBaseRules
from services.triage.knowledge.handlers import ArticleNotFound, KnowledgeBase
from services.triage.knowledge.index import index_for
from services.triage.knowledge.starter import load_starter

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
async def kb(database_url) -> KnowledgeBase:
    db = Database(database_url)
    base = KnowledgeBase(db=db, index=index_for(db))
    await knowledge.prepare(base, load_starter())
    yield base
    await db.dispose()


async def ids(kb: KnowledgeBase, question: str, language: str | None = None, limit: int = 3) -> list[str]:
    return [h.article.article_id for h in await knowledge.search(kb, question=question, language=language, limit=limit)]


async def apply(kb: KnowledgeBase, payload) -> None:
    handler = knowledge.retire_article if isinstance(payload, ArticleRetired) else knowledge.apply_article
    async with kb.db.unit_of_work() as session:
        await handler(session, new_event("tier2", payload), kb=kb)


def article(version: int = 1, **fields) -> dict:
    return {"article_id": "kb-test-1", "title": "Zorblax badge reader", "body": "Hold the badge still.",
            "language": "en", "category": "hardware", "tags": ["badge"], "version": version, "author": "bob",
            "updated_at": NOW, **fields}


async def test_search_ignores_case_and_accents(kb):
    assert (await ids(kb, "IMPRIMANTE BLOQUEE", "fr"))[0] == "kb-fr-imprimante-n-imprime-pas"
    assert (await ids(kb, "écran", "fr"))[0] == (await ids(kb, "ECRAN", "fr"))[0] == "kb-fr-deuxieme-ecran"


async def test_search_finds_other_inflections_in_each_language(kb):
    assert "kb-en-printer-not-printing" in await ids(kb, "printers not printing", "en", limit=2)
    assert "kb-fr-mot-de-passe-oublie" in await ids(kb, "réinitialisation des mots de passe", "fr", limit=2)


async def test_search_without_a_language_finds_articles_in_both(kb):
    found = await ids(kb, "vpn", limit=10)
    assert {"kb-en-vpn-cannot-connect", "kb-fr-vpn-connexion-impossible"} <= set(found)


async def test_search_in_one_language_returns_only_that_language(kb):
    hits = await knowledge.search(kb, question="vpn outlook teams", language="fr", limit=20)
    assert hits and all(h.article.language == "fr" for h in hits)


async def test_an_article_titled_with_the_words_ranks_above_one_that_mentions_them(kb):
    mention = article(article_id="kb-test-body", title="Door access", body="A zorblax reader may beep.", tags=[])
    await apply(kb, ArticlePublished(**mention))
    await apply(kb, ArticlePublished(**article()))
    assert (await ids(kb, "zorblax reader", "en"))[:2] == ["kb-test-1", "kb-test-body"]


async def test_each_hit_has_a_score_and_a_highlighted_snippet(kb):
    hits = await knowledge.search(kb, question="mailbox full", language="en", limit=3)
    assert hits[0].article.article_id == "kb-en-mailbox-full"
    assert hits[0].score > hits[-1].score or len(hits) == 1
    assert "<mark>" in hits[0].snippet


async def test_a_question_of_stop_words_finds_nothing(kb):
    assert await ids(kb, "the and of my", "en") == []


async def test_an_update_replaces_the_indexed_words(kb):
    await apply(kb, ArticlePublished(**article()))
    await apply(kb, ArticleUpdated(**article(version=2, title="Frobnicator badge reader")))
    assert await ids(kb, "zorblax", "en") == []
    assert await ids(kb, "frobnicator", "en") == ["kb-test-1"]


async def test_an_older_version_arriving_late_is_ignored(kb):
    await apply(kb, ArticleUpdated(**article(version=3, title="Frobnicator badge reader")))
    await apply(kb, ArticlePublished(**article(version=1)))
    assert await ids(kb, "zorblax", "en") == []
    assert (await knowledge.open_article(kb, "kb-test-1")).version == 3


async def test_a_retired_article_leaves_the_search_and_stays_readable_marked_retired(kb):
    await apply(kb, ArticlePublished(**article()))
    await apply(kb, ArticleRetired(article_id="kb-test-1", version=2, author="carol", updated_at=NOW))
    assert await ids(kb, "zorblax", "en") == []
    retired = await knowledge.open_article(kb, "kb-test-1")
    assert (retired.status, retired.version, retired.author) == ("retired", 2, "carol")


async def test_the_starter_knowledge_base_is_loaded_once(kb):
    assert await knowledge.prepare(kb, load_starter()) == 0
    _, total = await knowledge.list_articles(kb, language=None, category=None, status="published", limit=1, offset=0)
    assert total == len(load_starter())


async def test_opening_an_article_counts_and_an_unknown_one_is_not_found(kb):
    await knowledge.open_article(kb, "kb-en-vpn-cannot-connect")
    assert (await knowledge.open_article(kb, "kb-en-vpn-cannot-connect")).opened == 2
    with pytest.raises(ArticleNotFound):
        await knowledge.open_article(kb, "kb-nope")


async def test_a_level_0_resolution_is_counted_once_per_ticket_for_its_article(kb):
    resolved = TicketResolved(ticket_id="t-1", level=0, resolution="self", article_id="kb-en-vpn-cannot-connect")
    for _ in range(2):  # the same ticket resolved again (after a reopen): one deflection
        async with kb.db.unit_of_work() as session:
            await knowledge.record_self_resolution(session, new_event("intake", resolved))
    stats = await knowledge.stats(kb, top=5)
    assert stats["resolved_at_level_0"] == 1 and stats["totals"]["solved"] == 1
    assert stats["top_articles"][0]["article_id"] == "kb-en-vpn-cannot-connect"


async def test_articles_suggested_for_a_ticket_are_close_to_it_and_in_its_language(kb):
    rules = KnowledgeBaseRules()
    async with kb.db.read() as session:
        offered = await knowledge.suggest(
            session, kb, question="Mot de passe oublié\nJe ne peux plus ouvrir ma session", language="fr", rules=rules
        )
        unrelated = await knowledge.suggest(session, kb, question="Rappelez-moi svp", language="fr", rules=rules)
    assert offered[0][0].article_id == "kb-fr-mot-de-passe-oublie"
    assert all(a.language == "fr" for a, _ in offered) and len(offered) <= rules.suggestions
    assert unrelated == []

"""The knowledge-base use cases of tier 2, called directly: no broker, no HTTP, a real database (both)
with the tier's tables. What each one records, and the one event it leaves in the outbox."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from shared.db import Database
from shared.messages import decode
from shared.messaging.outbox import OutboxMessage
from shared.sla.contracts import Contracts
from shared.topics import KB_ARTICLES

from services.tiers.kb.domain import StaleEdit, VersionNeeded
from services.tiers.kb.handlers import publish_article, retire_article, update_article
from services.tiers.kb.models import TierArticle
from services.tiers.kb.schemas import ArticleCreate, ArticleUpdate
from services.tiers.models import MODELS
from services.tiers.tier import Tier

VPN = {
    "title": "VPN drops every hour", "body": "Renew the client certificate.", "language": "en", "category": "network",
}


@pytest.fixture
async def tier(database_url) -> Tier:
    db = Database(database_url)
    await db.create_tables([*MODELS, OutboxMessage])
    yield Tier(number=2, db=db, contracts=Contracts.load())
    await db.dispose()


async def stored(tier: Tier, article_id: str) -> TierArticle | None:
    async with tier.db.read() as session:
        return await session.get(TierArticle, article_id)


async def staged(tier: Tier) -> list:
    """The `kb.articles` events in the tier's outbox, in the order they were staged."""
    async with tier.db.read() as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == KB_ARTICLES).order_by(col(OutboxMessage.id))
        rows = (await session.exec(query)).all()
    return [decode([(n, v.encode()) for n, v in r.headers], r.value) for r in rows]


async def published(tier: Tier) -> TierArticle:
    return await publish_article(tier, ArticleCreate(**VPN, tags=[" VPN ", "vpn", "Certificates"]), author="bob")


async def test_publishing_records_version_1_by_its_author_and_stages_article_published(tier):
    article = await published(tier)
    record = await stored(tier, article.article_id)
    assert (record.title, record.version, record.status, record.author) == (VPN["title"], 1, "published", "bob")
    assert record.tags == ["vpn", "certificates"]
    [event] = await staged(tier)
    assert (event.type, event.source, event.subject) == ("kb.article_published", "/escalier/tier2", article.article_id)
    assert (event.data.version, event.data.body, event.data.tags) == (1, VPN["body"], ["vpn", "certificates"])


async def test_an_update_replaces_the_content_in_the_next_version_and_stages_article_updated(tier):
    article = await published(tier)
    edit = ArticleUpdate(**{**VPN, "body": "Reinstall the client."}, version=1)
    await update_article(tier, article.article_id, edit, author="carol")
    record = await stored(tier, article.article_id)
    assert (record.body, record.version, record.author, record.tags) == ("Reinstall the client.", 2, "carol", [])
    assert [(e.type, e.data.version) for e in await staged(tier)] == [
        ("kb.article_published", 1), ("kb.article_updated", 2)
    ]


async def test_an_edit_of_a_version_older_than_the_one_held_is_refused_and_changes_nothing(tier):
    article = await published(tier)
    await update_article(tier, article.article_id, ArticleUpdate(**{**VPN, "body": "Second."}), author="bob")
    with pytest.raises(StaleEdit, match="at version 2, not 1"):
        await update_article(tier, article.article_id, ArticleUpdate(**{**VPN, "body": "Stale."}, version=1),
                             author="carol")
    record = await stored(tier, article.article_id)
    assert (record.body, record.version, record.author) == ("Second.", 2, "bob")
    assert [e.type for e in await staged(tier)] == ["kb.article_published", "kb.article_updated"]


async def test_an_article_written_elsewhere_is_edited_only_from_the_version_it_replaces(tier):
    with pytest.raises(VersionNeeded):
        await update_article(tier, "kb-from-tier3", ArticleUpdate(**VPN), author="bob")
    assert await stored(tier, "kb-from-tier3") is None and await staged(tier) == []
    await update_article(tier, "kb-from-tier3", ArticleUpdate(**VPN, version=4), author="bob")
    assert (await stored(tier, "kb-from-tier3")).version == 5


async def test_retiring_keeps_the_article_marked_retired_in_a_new_version_and_stages_article_retired(tier):
    article = await published(tier)
    retired = await retire_article(tier, article.article_id, author="carol", replacing=None)
    record = await stored(tier, article.article_id)
    assert (record.status, record.version, record.author, record.body) == ("retired", 2, "carol", VPN["body"])
    event = (await staged(tier))[-1]
    assert (event.type, event.subject) == ("kb.article_retired", article.article_id)
    assert (event.data.version, event.data.author, event.data.updated_at) == (2, "carol", retired.updated_at)


async def test_two_edits_of_one_version_at_once_make_one_new_version_and_the_other_is_refused(tier):
    article = await published(tier)
    for n in range(3):  # a few rounds: the race, when there is one, is not every time
        edits = [ArticleUpdate(**{**VPN, "body": f"Fix {n}{who}."}, tags=[], version=article.version) for who in "ab"]
        results = await asyncio.gather(
            *(update_article(tier, article.article_id, edit, author=who) for edit, who in zip(edits, "ab")),
            return_exceptions=True,
        )
        kept = [r for r in results if isinstance(r, TierArticle)]
        assert len(kept) == 1 and isinstance(next(r for r in results if r not in kept), StaleEdit), results
        article = await stored(tier, article.article_id)
        assert (article.version, article.body) == (kept[0].version, kept[0].body)
    versions = [e.data.version for e in await staged(tier)]
    assert versions == sorted(set(versions)) == [1, 2, 3, 4]  # one event a version, none twice

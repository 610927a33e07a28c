"""Schema migrations: each service's revisions build exactly its models' tables, once, on both databases."""

from __future__ import annotations

import asyncio

import pytest
from alembic.runtime.migration import MigrationContext

from shared.db import Database
from shared.migrations import differences, upgrade

from services.intake.models import MODELS as INTAKE
from services.notifier.models import MODELS as NOTIFIER
from services.tiers.kb import TierArticle
from services.tiers.models import MODELS as TIERS
from services.triage.models import MODELS as TRIAGE

SCHEMAS = {"intake": INTAKE, "triage": TRIAGE, "tiers": (*TIERS, TierArticle), "notifier": NOTIFIER}


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    yield database
    await database.dispose()


async def revision_of(db: Database) -> str | None:
    async with db.engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


@pytest.mark.parametrize("schema", SCHEMAS)
async def test_the_revisions_build_exactly_the_models_and_a_second_upgrade_changes_nothing(db, schema):
    await upgrade(db, schema)
    assert await differences(db, SCHEMAS[schema]) == []  # fails when a model changed without a revision
    head = await revision_of(db)
    assert head is not None

    await upgrade(db, schema)
    assert await revision_of(db) == head


async def test_a_database_made_before_migrations_is_taken_over_without_loss(db):
    # What an older Escalier left: the tables made from the models, with a row, and no version.
    from shared.messaging.inbox import InboxEntry
    from shared.messaging.outbox import OutboxMessage

    await db.create_tables([*INTAKE, OutboxMessage, InboxEntry])
    async with db.unit_of_work() as session:
        session.add(OutboxMessage(event_id="e1", topic="tickets.events", key=b"k", value=b"v", headers=[]))

    await upgrade(db, "intake")

    assert await revision_of(db) is not None
    assert await differences(db, INTAKE) == []
    async with db.read() as session:
        assert len((await session.exec(OutboxMessage.__table__.select())).all()) == 1


async def test_replicas_starting_together_migrate_once(database_url):
    replicas = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(replica, "tiers") for replica in replicas))
        assert await differences(replicas[0], SCHEMAS["tiers"]) == []
    finally:
        for replica in replicas:
            await replica.dispose()

"""Fixtures of the integration tests that more than one file uses."""

from __future__ import annotations

import pytest

from shared.db import Database
from shared.messaging.outbox import OutboxMessage
from shared.sla.contracts import Contracts

from services.tiers.tier import Tier
from services.tiers.work.models import TierTicket


@pytest.fixture
async def tier(database_url) -> Tier:
    db = Database(database_url)
    await db.create_tables([TierTicket, OutboxMessage])
    yield Tier(number=1, db=db, contracts=Contracts.load())
    await db.dispose()

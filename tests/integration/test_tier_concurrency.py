"""Two agents acting on one ticket at once, on both databases: one wins, the other is told why.
(SQLite's single writer serialises whole units of work; PostgreSQL needs the row locked.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


from shared.auth import Principal, Role
from shared.messages import new_event
from shared.messages.common import Requester, TicketSnapshot
from shared.messages.tickets import TicketRouted

from services.tiers.tier import Tier
from services.tiers.work.domain import NotYourTicket
from services.tiers.work.handlers import claim_ticket, receive_handoff
from services.tiers.work.models import TierTicket


async def queued_ticket(tier: Tier, ticket_id: str) -> None:
    snapshot = TicketSnapshot(
        ticket_id=ticket_id, title="Printer jam", description="Paper stuck.",
        requester=Requester(email="ann@acme.example", name="Ann", language="en"), organization="acme",
        impact="low", urgency="low", priority="P4", category="hardware", submitted_at=datetime.now(UTC),
    )
    routed = TicketRouted(ticket_id=ticket_id, tier=1, priority="P4", snapshot=snapshot)
    async with tier.db.unit_of_work() as session:
        await receive_handoff(session, new_event("triage", routed), tier=tier)  # as the consumer would


def agent(name: str) -> Principal:
    return Principal(sub=name, role=Role.AGENT, orgs=["acme"], tier=1)


async def test_two_agents_claiming_at_once_one_wins_and_the_other_is_refused(tier):
    for n in range(5):  # a few rounds: the race, when there is one, is not every time
        ticket_id = f"race-{n}"
        await queued_ticket(tier, ticket_id)
        results = await asyncio.gather(
            *(claim_ticket(tier, ticket_id, agent(name)) for name in ("alice", "bob")),
            return_exceptions=True,
        )
        won = [r for r in results if isinstance(r, TierTicket)]
        refused = [r for r in results if isinstance(r, NotYourTicket)]
        assert (len(won), len(refused)) == (1, 1), results
        async with tier.db.read() as session:
            assert (await session.get(TierTicket, ticket_id)).assignee == won[0].assignee

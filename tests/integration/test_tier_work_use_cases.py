"""A tier's use cases, called directly against a real database (both), without the broker: what each
changes on the ticket's row and what it stages in the outbox, and that a refusal changes neither."""

from __future__ import annotations

import orjson
import pytest
from sqlmodel import select

from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.lifecycle import IllegalTransition, Status
from shared.messages import new_event
from shared.messages.tickets import TicketResolved
from shared.messaging.outbox import OutboxMessage
from shared.sla.contracts import Contracts
from tests.integration.test_tier_concurrency import agent, queued_ticket

from services.tiers.tier import Tier
from services.tiers.work.domain import NoHigherTier, NotYourTicket
from services.tiers.work.handlers import (
    claim_ticket,
    comment_on_ticket,
    escalate_ticket,
    on_requester_event,
    resolve_ticket,
)
from services.tiers.work.models import TierTicket


async def staged(tier: Tier, ticket_id: str) -> list[tuple[str, str]]:
    """(topic, event type) of what the ticket's units of work staged, in order."""
    async with tier.db.read() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [(r.topic, dict(r.headers)["ce_type"]) for r in rows if r.key == ticket_id.encode()]


async def row_of(tier: Tier, ticket_id: str) -> TierTicket:
    async with tier.db.read() as session:
        return await session.get(TierTicket, ticket_id)


async def test_claiming_puts_the_ticket_in_progress_with_the_agent_and_stages_the_assignment(tier):
    await queued_ticket(tier, "t-claim")
    before = await staged(tier, "t-claim")

    await claim_ticket(tier, "t-claim", agent("alice"))

    row = await row_of(tier, "t-claim")
    assert (row.status, row.assignee) == (Status.IN_PROGRESS, "alice")
    assert (await staged(tier, "t-claim"))[len(before):] == [("tickets.events", "ticket.assigned")]


async def test_only_the_agent_holding_the_ticket_may_resolve_it_and_a_refusal_changes_nothing(tier):
    await queued_ticket(tier, "t-resolve")
    with pytest.raises(IllegalTransition):  # nobody has claimed it
        await resolve_ticket(tier, "t-resolve", agent("alice"), resolution="Rebooted.", article_id=None)
    await claim_ticket(tier, "t-resolve", agent("alice"))
    before = await staged(tier, "t-resolve")

    with pytest.raises(NotYourTicket):
        await resolve_ticket(tier, "t-resolve", agent("bob"), resolution="Rebooted.", article_id=None)
    assert (await row_of(tier, "t-resolve")).status == Status.IN_PROGRESS
    assert await staged(tier, "t-resolve") == before

    await resolve_ticket(tier, "t-resolve", agent("alice"), resolution="Rebooted.", article_id=None)
    assert (await row_of(tier, "t-resolve")).status == Status.RESOLVED
    assert (await staged(tier, "t-resolve"))[len(before):] == [("tickets.events", "ticket.resolved")]


async def test_escalating_hands_the_full_snapshot_to_the_next_tier_and_the_slim_fact_to_the_audit_trail(tier):
    await queued_ticket(tier, "t-escalate")
    await claim_ticket(tier, "t-escalate", agent("alice"))
    await comment_on_ticket(tier, "t-escalate", agent("alice"), body="Tried the usual.", internal=True)
    before = await staged(tier, "t-escalate")

    await escalate_ticket(tier, "t-escalate", agent("alice"), reason="needs the network team", specialty="network")

    assert (await staged(tier, "t-escalate"))[len(before):] == [
        ("tickets.tier2", "ticket.escalated"), ("tickets.events", "ticket.escalated"),
    ]
    async with tier.db.read() as session:
        latest = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(2)
        audit, handoff = (await session.exec(latest)).all()
    snapshot = orjson.loads(handoff.value)["snapshot"]
    assert snapshot["tiers_visited"][-1] == 2 and snapshot["specialty"] == "network"
    assert [c["body"] for c in snapshot["comments"]] == ["Tried the usual."]
    assert orjson.loads(audit.value)["snapshot"] is None


async def test_the_last_tier_cannot_escalate(database_url):
    from shared.db import Database

    db = Database(database_url)
    await db.create_tables([TierTicket, OutboxMessage])
    top = Tier(number=3, db=db, contracts=Contracts.load())
    try:
        await queued_ticket(top, "t-top")
        specialist = Principal(sub="sam", role=Role.AGENT, orgs=["acme"], tier=3)
        await claim_ticket(top, "t-top", specialist)
        with pytest.raises(NoHigherTier):
            await escalate_ticket(top, "t-top", specialist, reason="no idea", specialty=None)
        assert (await row_of(top, "t-top")).status == Status.IN_PROGRESS
    finally:
        await db.dispose()


async def test_an_agent_of_another_organization_is_told_the_ticket_does_not_exist(tier):
    await queued_ticket(tier, "t-tenancy")
    stranger = Principal(sub="eve", role=Role.AGENT, orgs=["globex"], tier=1)
    with pytest.raises(NotFound):
        await claim_ticket(tier, "t-tenancy", stranger)
    assert (await row_of(tier, "t-tenancy")).status == Status.QUEUED


async def test_a_resolution_by_the_monitoring_system_takes_the_ticket_out_of_the_queue_at_its_level(tier):
    await queued_ticket(tier, "t-source")
    await queued_ticket(tier, "t-agent-elsewhere")
    by_source = TicketResolved(ticket_id="t-source", level=1, resolution="Resolved by integration p", from_source=True)
    # A resolution by an agent (this tier's own, read back) is not the source's: it changes nothing here.
    by_agent = TicketResolved(ticket_id="t-agent-elsewhere", level=1, resolution="Rebooted.")

    for payload in (by_source, by_agent):
        async with tier.db.unit_of_work() as session:
            await on_requester_event(session, new_event("intake", payload), tier=tier)

    assert (await row_of(tier, "t-source")).status == Status.RESOLVED
    assert (await row_of(tier, "t-agent-elsewhere")).status == Status.QUEUED

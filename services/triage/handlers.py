"""Triage's use cases: each one unit of work, one commit."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.messages import Envelope, new_event
from shared.messages.common import TicketSnapshot
from shared.messages.tickets import TicketRouted, TicketSubmitted, TicketTriaged
from shared.messaging.outbox import add_handoff, add_to_outbox
from shared.topics import TICKETS_EVENTS, tier_topic

from services.triage.domain import Decision, RuleSet, classify
from services.triage.models import TriageDecision

SOURCE = "triage"


async def route_ticket(session: AsyncSession, event: Envelope[TicketSubmitted], *, rules: RuleSet) -> None:
    """Classify a submitted ticket, record the decision, and hand the ticket to its tier."""
    ticket = event.data
    if await session.get(TriageDecision, ticket.ticket_id) is not None:
        return  # the same ticket under another event id (a republished submission): decided once
    decision = classify(
        rules,
        title=ticket.title,
        description=ticket.description,
        impact=ticket.impact,
        urgency=ticket.urgency,
        category_hint=ticket.category_hint,
    )
    session.add(
        TriageDecision(
            ticket_id=ticket.ticket_id,
            **decision.model_dump(include={"category", "tier", "specialty", "priority", "explanation"}),
        )
    )
    triaged = TicketTriaged(
        ticket_id=ticket.ticket_id,
        **decision.model_dump(include={"category", "priority", "tier", "specialty", "explanation"}),
    )
    add_to_outbox(session, TICKETS_EVENTS, new_event(SOURCE, triaged))
    routed = TicketRouted(
        ticket_id=ticket.ticket_id,
        tier=decision.tier,
        specialty=decision.specialty,
        priority=decision.priority,
        snapshot=_snapshot(ticket, decision),
    )
    # One fact, one envelope: with the snapshot on the tier's topic, without it on the audit trail.
    add_handoff(session, new_event(SOURCE, routed), tier_topic(decision.tier))


def _snapshot(ticket: TicketSubmitted, decision: Decision) -> TicketSnapshot:
    return TicketSnapshot(
        ticket_id=ticket.ticket_id,
        title=ticket.title,
        description=ticket.description,
        requester=ticket.requester,
        organization=ticket.organization,
        impact=ticket.impact,
        urgency=ticket.urgency,
        priority=decision.priority,
        category=decision.category,
        specialty=decision.specialty,
        category_hint=ticket.category_hint,
        submitted_at=ticket.submitted_at,
        tiers_visited=[decision.tier],
    )

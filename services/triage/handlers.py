"""Triage's use cases: each one unit of work, one commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.messages import Envelope, new_event
from shared.messages.common import Language, Level, TicketSnapshot
from shared.messages.tickets import ArticlesSuggested, SuggestedArticle, TicketRouted, TicketSubmitted, TicketTriaged
from shared.messaging import preload
from shared.messaging.outbox import add_handoff, add_to_outbox
from shared.topics import TICKETS_EVENTS, tier_topic

from services.triage import knowledge, ranking
from services.triage.domain import Decision, RuleSet, classify
from services.triage.knowledge import Candidate, KnowledgeBase
from services.triage.models import TriageDecision
from services.triage.text import detect_language

SOURCE = "triage"


@dataclass(frozen=True)
class Triage:
    """What triage decides with: the rules in force and the knowledge base."""

    rules: RuleSet
    kb: KnowledgeBase


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    language: Language
    suggested: list[tuple[Candidate, float]]

    @property
    def suggestions(self) -> list[SuggestedArticle]:
        return [SuggestedArticle(article_id=a.article_id, title=a.title, score=s) for a, s in self.suggested]


async def decide(
    session: AsyncSession,
    triage: Triage,
    *,
    title: str,
    description: str,
    language: Language,
    impact: Level = "medium",
    urgency: Level = "medium",
    category_hint: str | None = None,
) -> Outcome:
    """The articles to offer and the routing decision for a ticket; reads only."""
    text = f"{title}\n{description}"
    written_in = detect_language(text, language)
    rules = triage.rules
    suggested = await knowledge.suggest(
        session, triage.kb, question=text, language=written_in, rules=rules.knowledge_base
    )
    decision = classify(
        rules,
        title=title,
        description=description,
        impact=impact,
        urgency=urgency,
        category_hint=category_hint,
        kb_votes=ranking.category_votes([article.category for article, _ in suggested]),
    )
    return Outcome(decision, written_in, suggested)


async def dry_run(triage: Triage, **ticket) -> Outcome:
    """What triage would decide for this ticket; changes nothing, counts nothing."""
    async with triage.kb.db.read() as session:
        return await decide(session, triage, **ticket)


async def route_ticket(session: AsyncSession, event: Envelope[TicketSubmitted], *, triage: Triage) -> None:
    """Classify a submitted ticket, offer it articles, record the decision, and hand it to its tier."""
    ticket = event.data
    if await preload.get(session, TriageDecision, ticket.ticket_id) is not None:
        return  # the same ticket under another event id (a republished submission): decided once
    outcome = await decide(
        session,
        triage,
        title=ticket.title,
        description=ticket.description,
        language=ticket.requester.language,
        impact=ticket.impact,
        urgency=ticket.urgency,
        category_hint=ticket.category_hint,
    )
    await record(session, ticket, outcome)


async def record(session: AsyncSession, ticket: TicketSubmitted, outcome: Outcome) -> None:
    """Write a ticket's decision, count its suggestions, and stage its events (triaged, suggested, routed)."""
    decision = outcome.decision
    facts = decision.model_dump(include={"category", "tier", "specialty", "priority", "explanation"})
    session.add(TriageDecision(ticket_id=ticket.ticket_id, **facts))
    add_to_outbox(session, TICKETS_EVENTS, new_event(SOURCE, TicketTriaged(ticket_id=ticket.ticket_id, **facts)))
    if outcome.suggested:
        await knowledge.count_suggested(session, [article.article_id for article, _ in outcome.suggested])
        offered = ArticlesSuggested(ticket_id=ticket.ticket_id, articles=outcome.suggestions)
        add_to_outbox(session, TICKETS_EVENTS, new_event(SOURCE, offered))
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

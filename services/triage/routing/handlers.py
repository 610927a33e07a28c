"""Routing's use cases: decide where a ticket goes and what it is offered (a read), or route it (one commit)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import stage_insert, utcnow
from shared.messages import Envelope, new_event
from shared.messages.common import Language, Level, TicketSnapshot
from shared.messages.tickets import ArticlesSuggested, SuggestedArticle, TicketRouted, TicketSubmitted, TicketTriaged
from shared.messaging import preload
from shared.messaging.outbox import add_handoff, add_to_outbox
from shared.topics import TICKETS_EVENTS, tier_topic

from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.domain import category_votes
from services.triage.knowledge.handlers import Candidate, KnowledgeBase
from services.triage.routing.domain import Decision, RuleSet, classify_words
from services.triage.routing.models import TriageDecision
from services.triage.text import Analysis, analyse

SOURCE = "triage"
_DECISIONS = TriageDecision.__table__
_DECIDED = "triage_decided"  # session.info: ticket ids decided in this transaction


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
    analysis = analyse(f"{title}\n{description}", language)
    (suggested,) = await knowledge.suggest_all(session, triage.kb, [analysis], triage.rules.knowledge_base)
    return conclude(triage.rules, analysis, suggested, impact=impact, urgency=urgency, category_hint=category_hint)


async def decide_all(session: AsyncSession, triage: Triage, tickets: Sequence[TicketSubmitted]) -> list[Outcome]:
    """`decide` for each of a batch's submissions, their knowledge-base searches in one query round."""
    analyses = [analyse(f"{t.title}\n{t.description}", t.requester.language) for t in tickets]
    found = await knowledge.suggest_all(session, triage.kb, analyses, triage.rules.knowledge_base)
    return [
        conclude(triage.rules, a, s, impact=t.impact, urgency=t.urgency, category_hint=t.category_hint)
        for t, a, s in zip(tickets, analyses, found)
    ]


def conclude(
    rules: RuleSet,
    analysis: Analysis,
    suggested: list[tuple[Candidate, float]],
    *,
    impact: Level,
    urgency: Level,
    category_hint: str | None,
) -> Outcome:
    """The routing decision for an analysed ticket and the articles found for it."""
    decision = classify_words(
        rules,
        analysis.words,
        impact=impact,
        urgency=urgency,
        category_hint=category_hint,
        kb_votes=category_votes([article.category for article, _ in suggested]),
    )
    return Outcome(decision, analysis.language, suggested)


async def dry_run(triage: Triage, **ticket) -> Outcome:
    """What triage would decide for this ticket; changes nothing, counts nothing."""
    async with triage.kb.db.read() as session:
        return await decide(session, triage, **ticket)


async def route_ticket(session: AsyncSession, event: Envelope[TicketSubmitted], *, triage: Triage) -> None:
    """Classify a submitted ticket, offer it articles, record the decision, and hand it to its tier."""
    ticket = event.data
    if await _decided(session, ticket.ticket_id):
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


async def route_tickets(session: AsyncSession, events: Sequence[Envelope[TicketSubmitted]], *, triage: Triage) -> None:
    """`route_ticket` for a fetch's submissions at once: decided in one query round, suggestions
    counted in one statement, each ticket's decision and events written as `route_ticket` writes them."""
    fresh, seen = [], set()
    for event in events:
        ticket = event.data
        if ticket.ticket_id in seen or await _decided(session, ticket.ticket_id):
            continue  # decided before, or earlier in this batch under another event id
        seen.add(ticket.ticket_id)
        fresh.append(ticket)
    offered: Counter[str] = Counter()
    for ticket, outcome in zip(fresh, await decide_all(session, triage, fresh)):
        _stage(session, ticket, outcome)
        offered.update(article.article_id for article, _ in outcome.suggested)
    await knowledge.count_suggestions(session, offered)


async def record(session: AsyncSession, ticket: TicketSubmitted, outcome: Outcome) -> None:
    """Write a ticket's decision, count its suggestions, and stage its events (triaged, suggested, routed)."""
    _stage(session, ticket, outcome)
    if outcome.suggested:
        await knowledge.count_suggested(session, [article.article_id for article, _ in outcome.suggested])


async def _decided(session: AsyncSession, ticket_id: str) -> bool:
    # Decisions are staged rows, inserted at commit: the transaction remembers those it staged.
    if ticket_id in session.info.get(_DECIDED, ()):
        return True
    return await preload.get(session, TriageDecision, ticket_id) is not None


def _stage(session: AsyncSession, ticket: TicketSubmitted, outcome: Outcome) -> None:
    decision = outcome.decision
    facts = {
        "category": decision.category,
        "tier": decision.tier,
        "specialty": decision.specialty,
        "priority": decision.priority,
        "explanation": decision.explanation,
    }
    # A staged row, not an ORM object: one multi-row INSERT per transaction (see shared.db.stage_insert).
    stage_insert(session, _DECISIONS, {"ticket_id": ticket.ticket_id, **facts, "decided_at": utcnow()})
    session.info.setdefault(_DECIDED, set()).add(ticket.ticket_id)
    add_to_outbox(session, TICKETS_EVENTS, new_event(SOURCE, TicketTriaged(ticket_id=ticket.ticket_id, **facts)))
    if outcome.suggested:
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
        **ticket.core(),
        priority=decision.priority,
        category=decision.category,
        specialty=decision.specialty,
        tiers_visited=[decision.tier],
    )

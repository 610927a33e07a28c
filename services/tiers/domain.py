"""The rules of working a ticket at a tier. Plain Python: no framework, no I/O.

A `WorkItem` is a ticket as one tier holds it; its verbs check the lifecycle and
return the events (past-tense facts) they cause.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import Conflict
from shared.lifecycle import Action, Status, next_status
from shared.messages import tickets as ev
from shared.messages.common import CommentSnapshot, Payload, TicketSnapshot
from shared.topics import TOP_TIER


class TicketLeftTier(Conflict):
    """The ticket was escalated away from this tier."""


class NoHigherTier(Conflict):
    """Escalation from the top tier."""


class NotYourTicket(Conflict):
    """Another agent holds the ticket."""


@dataclass
class WorkItem:
    tier: int
    snapshot: TicketSnapshot
    status: Status = Status.QUEUED
    here: bool = True
    assignee: str | None = None
    comments: list[CommentSnapshot] = field(default_factory=list)

    @property
    def ticket_id(self) -> str:
        return self.snapshot.ticket_id

    def claim(self, agent: str) -> list[Payload]:
        """Take the ticket: it leaves the queue and is in progress with `agent`."""
        self._check_here()
        if self.status in (Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER) and self.assignee:
            raise NotYourTicket(f"the ticket is already claimed by {self.assignee}")
        self.status = next_status(self.status, Action.CLAIM)
        self.assignee = agent
        return [ev.TicketAssigned(ticket_id=self.ticket_id, tier=self.tier, assignee=agent)]

    def comment(self, author: str, body: str, internal: bool, at: datetime) -> list[Payload]:
        """Add a note; internal ones are for agents only."""
        self._check_here()
        self.status = next_status(self.status, Action.COMMENT)
        self.comments.append(CommentSnapshot(author=author, body=body, internal=internal, tier=self.tier, at=at))
        return [ev.TicketCommented(ticket_id=self.ticket_id, tier=self.tier, author=author, body=body, internal=internal)]

    def request_info(self, agent: str, question: str) -> list[Payload]:
        """Ask the requester; the ticket waits on them."""
        self._check_here()
        status = next_status(self.status, Action.REQUEST_INFO)
        self._check_assignee(agent)
        self.status = status
        return [ev.InfoRequested(ticket_id=self.ticket_id, tier=self.tier, author=agent, question=question)]

    def resolve(self, agent: str, resolution: str, article_id: str | None) -> list[Payload]:
        """Resolve the ticket at this tier's level."""
        self._check_here()
        status = next_status(self.status, Action.RESOLVE)
        self._check_assignee(agent)
        self.status = status
        return [
            ev.TicketResolved(
                ticket_id=self.ticket_id, level=self.tier, resolution=resolution, article_id=article_id, by=agent
            )
        ]

    def escalate(self, reason: str, *, by: str | None, specialty: str | None, automatic: bool = False) -> list[Payload]:
        """Hand the ticket to the next tier with everything known about it."""
        self._check_here()
        if self.tier >= TOP_TIER:
            raise NoHigherTier(f"tier {self.tier} is the last tier: resolve the ticket or ask for more information")
        next_status(self.status, Action.ESCALATE)
        to_tier = self.tier + 1
        specialty = specialty or self.snapshot.specialty
        snapshot = self.snapshot.model_copy(
            update={
                "comments": [*self.snapshot.comments, *self.comments],
                "tiers_visited": [*self.snapshot.tiers_visited, to_tier],
                "specialty": specialty,
            }
        )
        self.here = False
        self.assignee = None
        self.status = Status.QUEUED
        return [
            ev.TicketEscalated(
                ticket_id=self.ticket_id,
                from_tier=self.tier,
                to_tier=to_tier,
                reason=reason,
                automatic=automatic,
                by=by,
                specialty=specialty,
                snapshot=snapshot,
            )
        ]

    def requester_replied(self) -> None:
        """The requester answered: a waiting ticket is back in progress."""
        if self.here and self.status == Status.WAITING_ON_REQUESTER:
            self.status = next_status(self.status, Action.REQUESTER_REPLY)

    def resolved_by_requester(self) -> None:
        """The requester solved it with an article (level 0): it leaves the queue."""
        if self.status in (Status.RESOLVED, Status.CLOSED):
            return
        self.status = next_status(self.status, Action.SELF_RESOLVE)

    def _check_here(self) -> None:
        if not self.here:
            raise TicketLeftTier(f"the ticket was escalated from tier {self.tier} and is no longer worked here")

    def _check_assignee(self, agent: str) -> None:
        if self.assignee and self.assignee != agent:
            raise NotYourTicket(f"the ticket is claimed by {self.assignee}, not {agent}")

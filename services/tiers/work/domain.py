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
from shared.sla.contracts import Contract
from shared.topics import TOP_TIER

from services.tiers.work.sla import Alarm, TierSla


class TicketLeftTier(Conflict):
    """The ticket was escalated away from this tier."""


class NoHigherTier(Conflict):
    """Escalation from the top tier."""


class NotYourTicket(Conflict):
    """Another agent holds the ticket."""


@dataclass
class WorkItem:
    """A ticket as one tier holds it, at the instant `now` of the current unit of work."""

    tier: int
    snapshot: TicketSnapshot
    contract: Contract
    sla: TierSla
    now: datetime
    status: Status = Status.QUEUED
    here: bool = True
    assignee: str | None = None
    comments: list[CommentSnapshot] = field(default_factory=list)

    @classmethod
    def arrived(cls, tier: int, snapshot: TicketSnapshot, contract: Contract, now: datetime) -> WorkItem:
        """A ticket just routed or escalated here: queued, clocks continued, a fresh tier budget."""
        sla = TierSla.arrived(
            contract,
            tier=tier,
            priority=snapshot.priority,
            submitted_at=snapshot.submitted_at,
            clocks=snapshot.clocks,
            tier_seconds=snapshot.tier_seconds,
            at=now,
        )
        return cls(tier=tier, snapshot=snapshot, contract=contract, sla=sla, now=now)

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

    def reassign(self, assignee: str) -> list[Payload]:
        """A lead hands the ticket to another agent of the tier."""
        self._check_here()
        if self.status == Status.QUEUED:
            self.status = next_status(self.status, Action.CLAIM)
        elif self.status not in (Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER):
            next_status(self.status, Action.CLAIM)  # raises with the reason
        self.assignee = assignee
        return [ev.TicketAssigned(ticket_id=self.ticket_id, tier=self.tier, assignee=assignee)]

    def comment(self, author: str, body: str, internal: bool) -> list[Payload]:
        """Add a note; internal ones are for agents only."""
        self._check_here()
        self.status = next_status(self.status, Action.COMMENT)
        self.comments.append(CommentSnapshot(author=author, body=body, internal=internal, tier=self.tier, at=self.now))
        return [
            ev.TicketCommented(ticket_id=self.ticket_id, tier=self.tier, author=author, body=body, internal=internal)
        ]

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
                ticket_id=self.ticket_id,
                level=self.tier,
                resolution=resolution,
                article_id=article_id,
                by=agent,
                tier_seconds=self.sla.time_here_s(self.tier, self.now, self.contract),
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
                "clocks": self.sla.clocks.model_dump(mode="json"),
                "tier_seconds": self.sla.time_here_s(self.tier, self.now, self.contract),
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
                tier_elapsed_s=round(self.sla.budget.elapsed_s(self.now, self.contract.calendar), 3),
                snapshot=snapshot,
            )
        ]

    def requester_replied(self) -> None:
        """The requester answered: a waiting ticket is back in progress."""
        if self.here and self.status == Status.WAITING_ON_REQUESTER:
            self.status = next_status(self.status, Action.REQUESTER_REPLY)

    def resolved_by_requester(self) -> None:
        """The requester solved it with an article (level 0), or its monitoring system saw it end: it leaves the queue."""
        if self.status in (Status.RESOLVED, Status.CLOSED):
            return
        self.status = next_status(self.status, Action.SELF_RESOLVE)

    def reopened(self) -> None:
        """The requester reopened a ticket this tier resolved: back to its agent, or to the queue."""
        self.status = next_status(self.status, Action.REOPEN)
        self.here = True
        if self.assignee is None:
            self.status = Status.QUEUED

    def closed(self) -> None:
        """The ticket was closed (confirmed, or after the grace period)."""
        if self.status == Status.RESOLVED:
            self.status = next_status(self.status, Action.CLOSE)

    def record(self, events: list[Payload]) -> None:
        """Move the SLA clocks as these facts require."""
        for event in events:
            self.sla.apply(event, self.now, self.contract)

    @property
    def next_alarm_at(self) -> datetime | None:
        """When the next SLA alarm is due; None when none can fire."""
        if not self.here or self.status not in (Status.QUEUED, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER):
            return None
        return self.sla.next_alarm_at(self.contract, unclaimed=self.status == Status.QUEUED)

    def tick(self) -> list[Payload]:
        """Fire every alarm due by `now`, in order: warnings, breaches, automatic escalation, reminders."""
        events: list[Payload] = []
        pending = self.sla.alarms(self.contract, unclaimed=self.status == Status.QUEUED)
        for alarm in sorted(pending, key=lambda a: a.due_at):
            if alarm.due_at > self.now or self.next_alarm_at is None:
                break
            fired = self._fire(alarm)
            self.record(fired)
            events.extend(fired)
        return events

    def _fire(self, alarm: Alarm) -> list[Payload]:
        clock = dict(self.sla.named_clocks())[alarm.clock]
        facts = {"ticket_id": self.ticket_id, "tier": self.tier, "clock": alarm.clock, "due_at": alarm.due_at,
                 "target_s": clock.target_s, "elapsed_s": round(clock.elapsed_s(self.now, self.contract.calendar), 3)}
        if alarm.kind == "warning":
            clock.warned = True
            return [ev.SlaWarning(**facts)]
        if alarm.kind == "reminder":
            self.sla.reminders += 1
            return [ev.SlaBreached(**facts, action="alerted", alert_contact=self.contract.escalation_contact,
                                   reminder=self.sla.reminders)]
        clock.breached = True
        if alarm.clock != "tier_budget":
            return [ev.SlaBreached(**facts, action="recorded")]
        if self.tier < TOP_TIER:
            status = self.status.value.replace('_', ' ')
            reason = f"tier {self.tier} used its SLA budget of {clock.target_s:g}s ({status})"
            breach = ev.SlaBreached(**facts, action="escalated")
            return [breach, *self.escalate(reason, by=None, specialty=None, automatic=True)]
        self.sla.alerted_at = self.now
        return [ev.SlaBreached(**facts, action="alerted", alert_contact=self.contract.escalation_contact)]

    def _check_here(self) -> None:
        if not self.here:
            raise TicketLeftTier(f"the ticket was escalated from tier {self.tier} and is no longer worked here")

    def _check_assignee(self, agent: str) -> None:
        if self.assignee and self.assignee != agent:
            raise NotYourTicket(f"the ticket is claimed by {self.assignee}, not {agent}")

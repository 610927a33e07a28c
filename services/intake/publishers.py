"""What intake publishes: each submission twice (for triage, and on the audit trail), and the requester's actions."""

from shared.messages import tickets as ev
from shared.messaging.wiring import Publications
from shared.topics import TICKETS_EVENTS, TICKETS_SUBMITTED

PUBLICATIONS: Publications = {
    TICKETS_SUBMITTED: (ev.TicketSubmitted,),
    TICKETS_EVENTS: (
        ev.TicketSubmitted,
        ev.RequesterReplied,
        ev.TicketResolved,  # resolved by the requester at level 0 (self-service)
        ev.TicketReopened,
        ev.TicketRated,
        ev.TicketClosed,  # by the requester, or automatically after the reopen window
    ),
}

"""What intake publishes: each submission twice (for triage, and on the audit trail), the requester's actions, and monitoring systems' repeats and resolutions."""

from shared.messages import tickets as ev
from shared.messaging.wiring import Publications
from shared.topics import TICKETS_EVENTS, TICKETS_SUBMITTED

PUBLICATIONS: Publications = {
    TICKETS_SUBMITTED: (ev.TicketSubmitted,),
    TICKETS_EVENTS: (
        ev.TicketSubmitted,
        ev.RequesterReplied,
        ev.AlertRepeated,  # a monitoring system's alert raised again (POST /events)
        ev.TicketResolved,  # by the requester at level 0 (self-service), or by the monitoring system that raised it
        ev.TicketReopened,
        ev.TicketRated,
        ev.TicketClosed,  # by the requester, or automatically after the reopen window
    ),
}

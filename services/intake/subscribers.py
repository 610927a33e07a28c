"""What intake consumes: every fact on `tickets.events` but its own submissions, for the requester's view."""

from functools import partial

from shared.messages.registry import EVENT_TYPES, TYPE_OF
from shared.messages.tickets import AlertRepeated, TicketSubmitted
from shared.messaging.consumer import Subscriptions
from shared.sla.contracts import Contracts
from shared.topics import TICKETS_EVENTS

from services.intake.models import IntakeTicket
from services.intake.requester.handlers import apply_ticket_event

# Read for a whole batch at once: every event updates its ticket's row.
PRELOAD = (IntakeTicket,)

# On the timeline from their own transaction (submission.handlers.submit_ticket, integrations.handlers):
# read back, each cost intake a transaction (inbox, ticket, timeline) and changed nothing else.
OWN_FACTS = frozenset({TYPE_OF[TicketSubmitted], TYPE_OF[AlertRepeated]})


def subscriptions(contracts: Contracts) -> Subscriptions:
    """Intake's subscriptions, with the SLA contracts its clocks follow."""
    apply = partial(apply_ticket_event, contracts=contracts)
    return {TICKETS_EVENTS: {t: apply for t in EVENT_TYPES if t.startswith("ticket.") and t not in OWN_FACTS}}

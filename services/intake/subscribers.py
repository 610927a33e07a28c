"""What intake consumes: every fact on `tickets.events`, for the requester's view."""

from shared.messages.registry import EVENT_TYPES
from shared.messaging.consumer import Subscriptions
from shared.topics import TICKETS_EVENTS

from services.intake.handlers import apply_ticket_event

SUBSCRIPTIONS: Subscriptions = {
    TICKETS_EVENTS: {t: apply_ticket_event for t in EVENT_TYPES if t.startswith("ticket.")},
}

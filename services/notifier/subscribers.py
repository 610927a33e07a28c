"""What notifier consumes: every fact on `tickets.events`, to tell requesters and ops."""

from shared.messages.registry import EVENT_TYPES
from shared.messaging.consumer import Subscriptions
from shared.topics import TICKETS_EVENTS

from services.notifier.handlers import record_event

SUBSCRIPTIONS: Subscriptions = {
    TICKETS_EVENTS: {t: record_event for t in EVENT_TYPES if t.startswith("ticket.")},
}

"""What notifier consumes: every fact on `tickets.events`, to tell requesters, subscribers and ops."""

from functools import partial

from shared.messages.registry import EVENT_TYPES
from shared.messaging.consumer import Subscriptions
from shared.topics import TICKETS_EVENTS

from services.notifier.fanout.domain import EmailOptions
from services.notifier.fanout.handlers import record_event
from services.notifier.models import NotifierTicket

# Read for a whole batch at once: every event needs its ticket's contact.
PRELOAD = (NotifierTicket,)


def subscriptions(email: EmailOptions | None) -> Subscriptions:
    """Notifier's subscriptions; `email` None when e-mail is off."""
    record = partial(record_event, email=email)
    return {TICKETS_EVENTS: {t: record for t in EVENT_TYPES if t.startswith("ticket.")}}

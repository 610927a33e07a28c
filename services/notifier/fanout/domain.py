"""Who hears of an event: the deliveries one fact of a ticket causes. Plain Python; no I/O.

Requester-visible events go to the ticket's callback URL, to its organization's subscriptions
that want the type, and by e-mail to the requester. Agent-only events go to none of them; a
breached SLA with an escalation contact is e-mailed to that contact as an internal alert.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from shared.messages.common import Payload
from shared.messages.tickets import TicketSubmitted

from services.notifier.channels.email.render import Recipient, render_alert, render_update
from services.notifier.channels.webhook.targets import TargetRefused, split_target
from services.notifier.domain import SMTP_ENDPOINT, Channel

CALLBACK = "callback"
EMAIL_REQUESTER = "email:requester"
EMAIL_ALERT = "email:alert"


@dataclass(frozen=True, slots=True)
class TicketContact:
    """What the notifier knows of a ticket, from its submission."""

    ticket_id: str
    organization: str
    callback_url: str | None
    language: str
    requester_email: str
    requester_name: str
    title: str

    @classmethod
    def of(cls, submitted: TicketSubmitted) -> TicketContact:
        """The contact a submission gives: the one mapping from the ticket's core fields to the notifier's."""
        requester = submitted.requester
        return cls(
            ticket_id=submitted.ticket_id, organization=submitted.organization, callback_url=submitted.callback_url,
            language=requester.language, requester_email=requester.email, requester_name=requester.name,
            title=submitted.title,
        )


# The contact's fields beside its id: the notifier's ticket row has a column of each name.
CONTACT_FIELDS = tuple(name for name in TicketContact.__slots__ if name != "ticket_id")


@dataclass(frozen=True, slots=True)
class SubscriptionTarget:
    id: str
    url: str
    events: tuple[str, ...] = ()  # empty: every requester-visible type


@dataclass(frozen=True, slots=True)
class EmailOptions:
    event_types: frozenset[str] = frozenset()  # empty: every requester-visible type
    link_template: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    channel: Channel
    target: str
    url: str
    endpoint: str
    subscription_id: str | None = None
    message: dict[str, str] | None = None


def public_data(data: Payload) -> dict[str, Any]:
    """What a requester may read of an event: the payload without hand-off snapshots."""
    return data.model_dump(mode="json", exclude={"snapshot"})


def plan(
    *,
    public: bool,
    event_type: str,
    data: dict[str, Any],
    alert_contact: str | None,
    ticket: TicketContact | None,
    subscriptions: Iterable[SubscriptionTarget],
    email: EmailOptions | None,
) -> list[PlannedDelivery]:
    """The deliveries of one event; `email` None means e-mail is off."""
    if not public:
        if alert_contact and email is not None and is_email_address(alert_contact):
            return [_alert(data, alert_contact, ticket, email)]
        return []
    if ticket is None:
        return []  # its submission was never seen here: nobody to tell
    planned = []
    if ticket.callback_url:
        planned.append(_webhook(CALLBACK, ticket.callback_url))
    for sub in subscriptions:
        if wants(sub.events, event_type):
            planned.append(_webhook(f"subscription:{sub.id}", sub.url, subscription_id=sub.id))
    if email is not None and wants(email.event_types, event_type) and is_email_address(ticket.requester_email):
        message = render_update(event_type, data, _recipient(ticket, ticket.requester_email, email))
        address = f"mailto:{ticket.requester_email}"
        planned.append(PlannedDelivery(Channel.EMAIL, EMAIL_REQUESTER, address, SMTP_ENDPOINT, message=message))
    return planned


def wants(types: Collection[str], event_type: str) -> bool:
    """Whether a list of wanted types (empty: all) takes `event_type`."""
    return not types or event_type in types


def is_email_address(value: str) -> bool:
    """A plausible single address: something@domain, no spaces or header-breaking characters."""
    local, _, domain = value.partition("@")
    return bool(local and "." in domain) and not any(c in value for c in " \t\r\n,;<>\"")


def endpoint_of(url: str) -> str:
    """The host:port a webhook URL calls: the unit the dispatcher shares out fairly."""
    try:
        host, port = split_target(url)
    except TargetRefused:
        return "invalid"
    return f"{host.lower()}:{port}"


def _webhook(target: str, url: str, *, subscription_id: str | None = None) -> PlannedDelivery:
    return PlannedDelivery(Channel.WEBHOOK, target, url, endpoint_of(url), subscription_id=subscription_id)


def _alert(data: dict[str, Any], contact: str, ticket: TicketContact | None, email: EmailOptions) -> PlannedDelivery:
    ticket = ticket or TicketContact(data.get("ticket_id", ""), "", None, "en", contact, "", "")
    message = render_alert(data, _recipient(ticket, contact, email))
    return PlannedDelivery(Channel.EMAIL, EMAIL_ALERT, f"mailto:{contact}", SMTP_ENDPOINT, message=message)


def _recipient(ticket: TicketContact, address: str, email: EmailOptions) -> Recipient:
    link = email.link_template.format(ticket_id=ticket.ticket_id) if email.link_template else None
    return Recipient(
        email=address,
        name=ticket.requester_name or address,
        language=ticket.language,
        ticket_id=ticket.ticket_id,
        title=ticket.title,
        organization=ticket.organization,
        link=link,
    )

"""E-mails in the requester's language, as plain text and HTML. Plain Python; no I/O.

An e-mail is rendered when its event is recorded (so a retry sends the same words) and
stored as {to, subject, text, html}; `build_message` turns that into the MIME message sent.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Any

from services.notifier.channels.email.templates import ALERT_WORDS, EVENT_WORDS, LABELS

SMTP_POLICY = SMTP.clone(max_line_length=998)

Block = tuple[str, Any]  # ("p", text) | ("quote", text) | ("list", [text, ...])


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who an e-mail is for and what it is about."""

    email: str
    name: str
    language: str
    ticket_id: str
    title: str
    organization: str
    link: str | None = None


def render_update(event_type: str, data: dict[str, Any], to: Recipient) -> dict[str, str]:
    """The e-mail telling a requester of one requester-visible event."""
    lang = _lang(to.language)
    words, labels = EVENT_WORDS[lang], LABELS[lang]
    headline, lead = words.get(_variant(event_type, data), words.get(event_type, words["default"]))
    fields = {**data, "title": to.title, "author": data.get("author") or labels["someone"]}
    blocks: list[Block] = [("p", labels["greeting"].format(name=to.name)), ("p", _fill(lead, fields))]
    blocks += _details(event_type, data, labels)
    return _compose(to, headline, blocks, labels)


def render_alert(data: dict[str, Any], to: Recipient) -> dict[str, str]:
    """The internal alert of a breached SLA, for the organization's escalation contact."""
    lang = _lang(to.language)
    words, labels = ALERT_WORDS[lang], LABELS[lang]
    fields = {
        **data,
        "clock": words.get(data.get("clock", ""), data.get("clock", "")),
        "title": to.title,
        "organization": to.organization,
        "due": _when(data.get("due_at")),
    }
    blocks: list[Block] = [("p", labels["greeting_team"]), ("p", _fill(words["lead"], fields))]
    if data.get("reminder"):
        blocks.append(("p", _fill(words["reminder"], fields)))
    return _compose(to, _fill(words["subject"], fields), blocks, labels)


def build_message(email: dict[str, str], *, sender: str, event_id: str, ticket_id: str) -> EmailMessage:
    """The MIME message of a rendered e-mail: text with an HTML alternative, threaded per ticket."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email["to"]
    message["Subject"] = email["subject"]
    message["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "escalier.invalid"
    message["Message-ID"] = make_msgid(idstring=event_id, domain=domain)
    # Every message of a ticket refers to one root id, so mail clients show one conversation.
    thread = f"<ticket-{ticket_id}@{domain}>"
    message["In-Reply-To"] = thread
    message["References"] = thread
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message["X-Escalier-Event-Id"] = event_id
    message["X-Escalier-Ticket-Id"] = ticket_id
    # Quoted-printable keeps every line short, however long an agent's paragraph.
    message.set_content(email["text"], cte="quoted-printable")
    message.add_alternative(email["html"], subtype="html", cte="quoted-printable")
    return message


def to_bytes(message: EmailMessage) -> bytes:
    """The message as sent: headers unfolded up to RFC 5322's hard limit.

    Python folds a long subject at 78 characters leaving a space on both sides of the fold,
    which readers show as a double space beside an encoded (accented) word.
    """
    return message.as_bytes(policy=SMTP_POLICY)


def _lang(language: str) -> str:
    return language if language in EVENT_WORDS else "en"


def _variant(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "ticket.resolved" and data.get("level") == 0:
        return "ticket.resolved.self"
    if event_type == "ticket.closed" and data.get("reason") == "automatic":
        return "ticket.closed.automatic"
    return event_type


def _details(event_type: str, data: dict[str, Any], labels: dict[str, str]) -> list[Block]:
    """What follows the lead sentence: the words of agents and requesters, quoted."""
    match event_type:
        case "ticket.commented":
            return [("quote", data.get("body", ""))]
        case "ticket.info_requested":
            return [("quote", data.get("question", "")), ("p", labels["reply_hint"])]
        case "ticket.requester_replied":
            return [("p", labels["your_message"]), ("quote", data.get("body", ""))]
        case "ticket.articles_suggested":
            return [("list", [a.get("title", "") for a in data.get("articles", [])])]
        case "ticket.resolved":
            resolution = [("p", labels["resolution"]), ("quote", data["resolution"])] if data.get("resolution") else []
            return [*resolution, ("p", labels["reopen_hint"])]
        case "ticket.reopened" if data.get("reason"):
            return [("p", labels["reason"]), ("quote", data["reason"])]
        case "ticket.rated" if data.get("comment"):
            return [("p", labels["your_comment"]), ("quote", data["comment"])]
    return []


def _compose(to: Recipient, headline: str, blocks: list[Block], labels: dict[str, str]) -> dict[str, str]:
    footer: list[Block] = [("p", labels["signature"])]
    if to.link:
        footer.append(("p", labels["link"].format(link=to.link)))
    footer.append(("small", labels["automatic"].format(ticket_id=to.ticket_id)))
    blocks = [*blocks, *footer]
    return {
        "to": to.email,
        "subject": f"[#{to.ticket_id}] {headline}",
        "text": _as_text(blocks),
        "html": _as_html(headline, blocks),
    }


def _as_text(blocks: list[Block]) -> str:
    parts = []
    for kind, value in blocks:
        if kind == "quote":
            parts.append("\n".join(f"> {line}" for line in str(value).splitlines() or [""]))
        elif kind == "list":
            parts.append("\n".join(f"- {item}" for item in value))
        else:
            parts.append(str(value))
    return "\n\n".join(parts) + "\n"


def _as_html(headline: str, blocks: list[Block]) -> str:
    esc = html.escape
    body = []
    for kind, value in blocks:
        if kind == "quote":
            lines = "<br>".join(esc(line) for line in str(value).splitlines())
            body.append(f'<blockquote style="{_QUOTE_STYLE}">{lines}</blockquote>')
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in value) + "</ul>")
        elif kind == "small":
            body.append(f'<p style="color:#777;font-size:small">{esc(value)}</p>')
        else:
            body.append(f"<p>{esc(value)}</p>")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{esc(headline)}</title></head>"
        f'<body style="font-family:sans-serif;line-height:1.4"><h2>{esc(headline)}</h2>{"".join(body)}</body></html>'
    )


_QUOTE_STYLE = "border-left:3px solid #ccc;margin:0;padding-left:12px"


def _fill(template: str, fields: dict[str, Any]) -> str:
    # A field the event lacks shows as empty rather than failing the e-mail.
    return template.format_map(_Lenient({k: "" if v is None else v for k, v in fields.items()}))


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _when(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value or "")

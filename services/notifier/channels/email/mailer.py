"""One e-mail over SMTP (aiosmtplib): the rendered message built and handed to the relay."""

from __future__ import annotations

from email.utils import parseaddr

import aiosmtplib
from aiosmtplib.errors import SMTPException, SMTPRecipientsRefused

from services.notifier.channels.email.render import build_message, to_bytes
from services.notifier.domain import PendingDelivery, SendFailure
from services.notifier.settings import NotifierSettings


class Mailer:
    """Sends deliveries of the e-mail channel to the configured SMTP server."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, delivery: PendingDelivery) -> SendFailure | None:
        """Hand the e-mail to the SMTP server; None once it accepted it, else why not."""
        s = self._settings
        if not s.smtp_host or delivery.message is None:
            return SendFailure("e-mail is not configured (ESCALIER_NOTIFIER_SMTP_HOST)")
        message = build_message(
            delivery.message, sender=s.email_from, event_id=delivery.event_id, ticket_id=delivery.ticket_id
        )
        try:
            await aiosmtplib.send(
                to_bytes(message),
                sender=parseaddr(s.email_from)[1],
                recipients=[delivery.message["to"]],
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_s,
            )
        except SMTPRecipientsRefused as exc:
            # 5xx on RCPT: the mailbox does not exist or will never take it; 4xx: try later.
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return SendFailure(f"recipient refused: {detail}", permanent=all(500 <= c < 600 for c in codes))
        except (SMTPException, OSError, TimeoutError) as exc:
            return SendFailure(f"{type(exc).__name__}: {exc}")
        return None

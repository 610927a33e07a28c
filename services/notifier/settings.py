"""Notifier's settings: `ESCALIER_NOTIFIER_*`."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.config import ServiceSettings

# Signs calls to tickets' callback URLs when no secret is configured; known to everyone, so
# create_app warns. Subscriptions always sign with their own secret.
DEVELOPMENT_CALLBACK_SECRET = "escalier-development-callback-secret"


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    port: int = 8005

    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_base_s: float = 0.5
    webhook_backoff_max_s: float = 60.0
    # Lanes (target, ticket) sent to at once; also the HTTP pool size, so no call waits on a
    # local pool slot (a pool timeout would count against the receiver).
    webhook_max_in_flight: int = 50
    # One endpoint's share of those lanes: a slow host cannot take every slot from the others.
    webhook_max_in_flight_per_endpoint: int = 10
    # New deliveries are handed to the dispatcher as they commit; this rescan of the ledger only
    # finds what it was not handed (another replica's, a crash's leftovers), and runs at startup.
    dispatch_rescan_interval_s: float = 30.0
    # After the ledger could not be read or written: how long until the dispatcher tries again.
    dispatch_retry_after_s: float = 1.0
    # Stream listeners are woken by commits; this only bounds a missed wake-up.
    stream_wait_timeout_s: float = 5.0
    stream_batch_size: int = 500

    # Webhook targets on private, loopback, link-local or otherwise non-public addresses are
    # refused (server-side request forgery) unless allowed here, by CIDR or altogether.
    allow_private_targets: bool = False
    allowed_target_cidrs: Annotated[list[str], NoDecode] = []
    callback_secret: SecretStr = SecretStr(DEVELOPMENT_CALLBACK_SECRET)

    # E-mail: off while smtp_host is unset.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False  # implicit TLS (usually port 465)
    smtp_starttls: bool | None = None  # None: upgrade when the server offers STARTTLS
    smtp_timeout_s: float = 10.0
    smtp_max_in_flight: int = 5
    email_from: str = "Escalier support <support@escalier.invalid>"
    # Event types e-mailed to requesters; empty: every requester-visible type.
    email_event_types: Annotated[list[str], NoDecode] = []
    # e.g. "https://support.example.com/tickets/{ticket_id}": a link in every e-mail.
    ticket_link_template: str | None = None

    @field_validator("allowed_target_cidrs", "email_event_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.strip("[]").replace('"', "").split(",") if part.strip()]
        return value

    @field_validator("allowed_target_cidrs")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return value

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

"""Notifier's settings: `ESCALIER_NOTIFIER_*`."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "notifier"
    port: int = 8005

    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_base_s: float = 0.5
    webhook_backoff_max_s: float = 60.0
    # Tickets posted to at once; also the HTTP pool size, so no call waits on a local pool slot
    # (a pool timeout would count against the receiver).
    webhook_max_in_flight: int = 50
    dispatch_poll_interval_s: float = 1.0
    # Stream listeners are woken by commits; this only bounds a missed wake-up.
    stream_wait_timeout_s: float = 5.0
    stream_batch_size: int = 500

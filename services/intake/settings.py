"""Intake's settings: `ESCALIER_INTAKE_*`."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    port: int = 8000
    page_size_max: int = 200
    # Submissions and requester actions of people.
    rate_per_requester_per_minute: float = 60
    burst_per_requester: float = 20
    rate_per_organization_per_minute: float = 1200
    burst_per_organization: float = 200
    # Events of each integration (POST /events), apart from people's: a storm sends hundreds at once.
    rate_per_integration_per_minute: float = 600
    burst_per_integration: float = 300
    # After a resolution: reopening is allowed this long, and the ticket closes itself after
    # the grace period unless reopened.
    reopen_window_s: float = 7 * 24 * 3600
    auto_close_after_s: float = 3 * 24 * 3600
    # The auto-close loop sleeps until the next ticket is due, at most this long; a resolution
    # that makes one due sooner wakes it.
    auto_close_interval_s: float = 600.0

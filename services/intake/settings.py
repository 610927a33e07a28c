"""Intake's settings: `ESCALIER_INTAKE_*`."""

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_INTAKE_", extra="ignore", frozen=True)

    service_name: str = "intake"
    port: int = 8000
    page_size_max: int = 200

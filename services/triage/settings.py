"""Triage's settings: `ESCALIER_TRIAGE_*`."""

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class TriageSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_TRIAGE_", extra="ignore", frozen=True)

    service_name: str = "triage"
    port: int = 8001
    # A YAML rule file that replaces the packaged routing/rules.yaml as a whole.
    rules_file: Path | None = None
    # Load the shipped starter articles (knowledge/kb_starter_*.yaml) at start; new or newer ones only.
    kb_starter: bool = True

"""Tier 3's settings: `ESCALIER_TIER3_*`."""

from pydantic_settings import SettingsConfigDict

from services.tiers.settings import TierSettings


class Tier3Settings(TierSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_TIER3_", extra="ignore", frozen=True)

    service_name: str = "tier3"
    port: int = 8004
    tier: int = 3

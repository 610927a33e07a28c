"""Tier 1's settings: `ESCALIER_TIER1_*`."""

from pydantic_settings import SettingsConfigDict

from services.tiers.settings import TierSettings


class Tier1Settings(TierSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_TIER1_", extra="ignore", frozen=True)

    service_name: str = "tier1"
    port: int = 8002
    tier: int = 1

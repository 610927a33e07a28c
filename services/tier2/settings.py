"""Tier 2's settings: `ESCALIER_TIER2_*`."""

from pydantic_settings import SettingsConfigDict

from services.tiers.settings import TierSettings


class Tier2Settings(TierSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALIER_TIER2_", extra="ignore", frozen=True)

    service_name: str = "tier2"
    port: int = 8003
    tier: int = 2

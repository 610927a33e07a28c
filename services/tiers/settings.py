"""Settings of a tier service; tier1/2/3 each subclass with their own env prefix and port."""

from pydantic import Field

from shared.config import ServiceSettings


class TierSettings(ServiceSettings):
    tier: int = Field(ge=1, le=3)

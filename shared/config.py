"""Typed settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


# Good enough on one developer's machine; refused anywhere else (see shared.auth.TokenVerifier).
PLACEHOLDER_JWT_SECRET = "escalier-development-secret-change-me"


class ServiceSettings(BaseSettings):
    """What every service needs: where it listens, its database, and the bus.

    Service-specific fields read `ESCALIER_<SERVICE>_*` (the subclass's env prefix);
    the fields below are common to the whole system and read unprefixed names.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None  # default: sqlite file under data_dir

    data_dir: Path = Field(
        default=Path("./.escalier-data"),
        validation_alias=AliasChoices("ESCALIER_DATA_DIR"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "ESCALIER_KAFKA_BOOTSTRAP_SERVERS"),
    )
    topic_partitions: int = Field(default=6, validation_alias=AliasChoices("ESCALIER_TOPIC_PARTITIONS"))
    topic_replication: int = Field(default=1, validation_alias=AliasChoices("ESCALIER_TOPIC_REPLICATION"))
    # KAFKA-NOTES.md: Tansu does not wake a waiting fetch; 25-50 ms is the sensible range. 50: the
    # broker idles at 24% of a core rather than 36%, and at 100 tickets/s p99 was lower (1.4 vs 2.4 s).
    fetch_max_wait_ms: int = Field(default=50, validation_alias=AliasChoices("ESCALIER_FETCH_MAX_WAIT_MS"))
    # Consumers sleep until a publish on this host wakes them (shared/messaging/doorbell.py), with
    # a safety poll for anything else; off: they long-poll the broker (a real Kafka answers at once).
    consumer_wakeups: bool = Field(default=True, validation_alias=AliasChoices("ESCALIER_CONSUMER_WAKEUPS"))
    consumer_safety_poll_s: float = Field(
        default=5.0, gt=0, validation_alias=AliasChoices("ESCALIER_CONSUMER_SAFETY_POLL_S")
    )
    woken_fetch_wait_ms: int = Field(default=20, ge=0, validation_alias=AliasChoices("ESCALIER_WOKEN_FETCH_WAIT_MS"))
    wakeup_dir: Path | None = Field(default=None, validation_alias=AliasChoices("ESCALIER_WAKEUP_DIR"))  # None: the temp dir
    session_timeout_ms: int = Field(default=6000, validation_alias=AliasChoices("ESCALIER_SESSION_TIMEOUT_MS"))
    heartbeat_interval_ms: int = Field(default=1000, validation_alias=AliasChoices("ESCALIER_HEARTBEAT_INTERVAL_MS"))
    linger_ms: int = Field(default=2, validation_alias=AliasChoices("ESCALIER_LINGER_MS"))
    consumer_max_retries: int = Field(default=3, validation_alias=AliasChoices("ESCALIER_CONSUMER_MAX_RETRIES"))
    outbox_retention_s: float = Field(
        default=7 * 24 * 3600, validation_alias=AliasChoices("ESCALIER_OUTBOX_RETENTION_S")
    )
    # The relay is woken by its own process's commits; the poll is for what none tells of
    # (another replica's rows once it holds the lease, a wake-up lost to an error).
    outbox_poll_interval_s: float = Field(
        default=5.0, validation_alias=AliasChoices("ESCALIER_OUTBOX_POLL_INTERVAL_S")
    )
    # After the broker came back empty: the retained outbox is published again this long after
    # the first time (Tansu can lose acknowledged writes made while topics are being recreated).
    republish_again_after_s: float = Field(
        default=5.0, ge=0, validation_alias=AliasChoices("ESCALIER_REPUBLISH_AGAIN_AFTER_S")
    )
    sla_contracts_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("ESCALIER_SLA_CONTRACTS_FILE")
    )  # None: the contracts shipped in shared/sla/contracts.yaml
    environment: str = Field(default="development", validation_alias=AliasChoices("ESCALIER_ENV"))
    jwt_algorithm: str = Field(default="HS256", pattern="^(HS256|RS256)$", validation_alias=AliasChoices("ESCALIER_JWT_ALGORITHM"))
    jwt_secret: str = Field(
        default=PLACEHOLDER_JWT_SECRET, validation_alias=AliasChoices("ESCALIER_JWT_SECRET")
    )
    jwt_public_key_file: Path | None = Field(default=None, validation_alias=AliasChoices("ESCALIER_JWT_PUBLIC_KEY_FILE"))
    jwt_jwks_file: Path | None = Field(default=None, validation_alias=AliasChoices("ESCALIER_JWT_JWKS_FILE"))
    jwt_issuer: str = Field(default="escalier", validation_alias=AliasChoices("ESCALIER_JWT_ISSUER"))
    jwt_audience: str = Field(default="escalier", validation_alias=AliasChoices("ESCALIER_JWT_AUDIENCE"))
    max_body_bytes: int = Field(default=1024 * 1024, validation_alias=AliasChoices("ESCALIER_MAX_BODY_BYTES"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("ESCALIER_LOG_LEVEL"))

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or a SQLite file of this service's own under data_dir."""
        if self.database_url:
            return self.database_url
        path = (self.data_dir / f"{self.service_name}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"

    @property
    def consumer_group(self) -> str:
        return f"escalier-{self.service_name}"

"""Alembic environment of tiers: its tables, migrated on the connection shared.migrations hands over."""

from services.tiers.models import MODELS
from shared.migrations import run_migrations

run_migrations(MODELS)

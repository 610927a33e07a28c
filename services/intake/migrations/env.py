"""Alembic environment of intake: its tables, migrated on the connection shared.migrations hands over."""

from services.intake.models import MODELS
from shared.migrations import run_migrations

run_migrations(MODELS)

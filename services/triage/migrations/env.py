"""Alembic environment of triage: its tables, migrated on the connection shared.migrations hands over."""

from services.triage.models import MODELS
from shared.migrations import run_migrations

run_migrations(MODELS)

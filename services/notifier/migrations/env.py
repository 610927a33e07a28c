"""Alembic environment of notifier: its tables, migrated on the connection shared.migrations hands over."""

from services.notifier.models import MODELS
from shared.migrations import run_migrations

run_migrations(MODELS)

"""Notifier's schema migrations (Alembic): see shared/migrations.py."""

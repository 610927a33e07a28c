"""The plumbing's own tables (inbox, outbox, leases): one Alembic branch, `plumbing`, that every service's
database follows beside its own revisions (shared/migrations.py)."""

"""relay lease

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:53:10.849218

The leases table it created is migrated once for every service by the plumbing branch now
(shared/messaging/migrations/): this revision stays, empty, so databases stamped with it go on.
"""

from collections.abc import Sequence

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

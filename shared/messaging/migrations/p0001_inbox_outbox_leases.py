"""inbox, outbox and leases, for every service

Revision ID: p0001
Revises:
Create Date: 2026-12-08 00:20:00

Before this branch, each service's own first revisions created these tables: a database made
then already has them, and keeps them (and their rows) as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = 'p0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('plumbing',)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'inbox' not in existing:
        op.create_table('inbox',
        sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('processed_at', shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('topic', 'event_id')
        )
    if 'outbox' not in existing:
        op.create_table('outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('key', sa.LargeBinary(), nullable=False),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('value', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', shared.db.UTCDateTime(), nullable=False),
        sa.Column('published_at', shared.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id')
        )
        with op.batch_alter_table('outbox', schema=None) as batch_op:
            batch_op.create_index(batch_op.f('ix_outbox_event_id'), ['event_id'], unique=False)
            batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)
    if 'leases' not in existing:
        op.create_table('leases',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('expires_at', shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name')
        )


def downgrade() -> None:
    op.drop_table('leases')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_event_id'))
    op.drop_table('outbox')
    op.drop_table('inbox')

"""branches and tags; webhooks and their delivery log

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(8), nullable=False),  # branch | tag
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("commit_id", sa.String(40), sa.ForeignKey("commits.id"), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("repo_id", "kind", "name"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),  # repo | org
        sa.Column("target", sa.String(200), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("seen_seq", sa.Integer, nullable=False),  # the last audit row turned into deliveries
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("webhook_id", sa.Integer, sa.ForeignKey("webhooks.id"), nullable=False, index=True),
        sa.Column("audit_seq", sa.Integer, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),  # pending | delivered | failed
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("next_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.UniqueConstraint("webhook_id", "audit_seq"),
    )


def downgrade() -> None:
    raise NotImplementedError("aperto's migrations go forward only; restore a backup to go back")

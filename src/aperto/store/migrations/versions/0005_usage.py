"""usage ledger: requests and tokens per day, licensee and model, as gateways report them

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("user", sa.String(200), primary_key=True),
        sa.Column("repo", sa.String(300), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
        sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_usage_repo_day", "usage", ["repo", "day"])
    op.create_table(  # reports already counted: a gateway's retry must not count twice
        "usage_reports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("aperto's migrations go forward only; restore a backup to go back")

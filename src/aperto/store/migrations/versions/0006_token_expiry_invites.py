"""token expiry and invitation links; also joins the two heads 0004 and 0005

Revision ID: 0006
Revises: 0004, 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("tokens", sa.Column("expires_at", TS))  # None: until revoked
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),  # of the code in the link
        sa.Column("role", sa.String(16), nullable=False),  # reader | publisher | admin
        sa.Column("org", sa.String(96)),
        sa.Column("created_by", sa.String(96), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("used_by", sa.String(96)),
        sa.Column("revoked_at", TS),
    )


def downgrade() -> None:
    raise NotImplementedError("aperto's migrations go forward only; restore a backup to go back")

"""the template and values of each access request's reason, so that pages say it in their language
from them rather than by matching its English text; rows from before keep NULL (matched as before)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: written before 0007; "": a licensor's own words, shown as typed
    op.add_column("access_versions", sa.Column("reason_msgid", sa.Text))
    op.add_column("access_versions", sa.Column("reason_values", sa.JSON))


def downgrade() -> None:
    raise NotImplementedError("aperto's migrations go forward only; restore a backup to go back")

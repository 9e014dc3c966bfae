"""append-only access history, file origin, web sessions

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    versions = op.create_table(
        "access_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("repo_id", sa.Integer, sa.ForeignKey("repos.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("decision", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(96)),
        sa.Column("changes", sa.JSON),
        sa.Column("license_sha256", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("repo_id", "user_id", "version"),
    )
    old = sa.table("access_requests", sa.column("repo_id"), sa.column("user_id"), sa.column("fields"),
                   sa.column("decision"), sa.column("status"), sa.column("reason"), sa.column("decided_by"),
                   sa.column("updated_at"))
    conn = op.get_bind()
    rows = conn.execute(sa.select(old)).mappings().all()
    if rows:
        op.bulk_insert(versions, [{"repo_id": r["repo_id"], "user_id": r["user_id"], "version": 1,
                                   "kind": "submission", "fields": r["fields"], "decision": r["decision"],
                                   "status": r["status"], "reason": r["reason"], "decided_by": r["decided_by"],
                                   "changes": None, "license_sha256": None, "created_at": r["updated_at"]}
                                  for r in rows])
    op.drop_table("access_requests")
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("origin", sa.String(16), nullable=False, server_default="upload"))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )


def downgrade() -> None:
    raise NotImplementedError("aperto's migrations go forward only; restore a backup to go back")

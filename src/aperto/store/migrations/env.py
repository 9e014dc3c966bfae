"""Alembic environment. The hub runs migrations in-process (``aperto.store.db.migrate``)
and hands its own connection over through ``config.attributes``."""

from __future__ import annotations

from alembic import context

from aperto.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

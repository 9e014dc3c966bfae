"""The only place that talks SQL: engine setup and migrations (db), tables (models), one
module of query functions per aggregate (tokens, repos, access, events, audit, evals),
and the blob store."""

from sqlalchemy.orm import Session

from aperto.store.blobs import BlobStore
from aperto.store.db import Store, migrate

__all__ = ["BlobStore", "Session", "Store", "migrate"]

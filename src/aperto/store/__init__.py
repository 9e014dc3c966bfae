"""The only place that talks SQL: models, engine setup, migrations, blobs."""

from aperto.store.blobs import BlobStore
from aperto.store.db import Store, migrate

__all__ = ["BlobStore", "Store", "migrate"]

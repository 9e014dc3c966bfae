"""``Hub``: the library object behind the HTTP API, the web UI and the CLI. A thin facade:
one service per domain, each over the store, each checking authorisation itself.

    hub = Hub(Settings(data_dir=...))
    token = hub.tokens.bootstrap_admin()
    caller = hub.tokens.authenticate(token)
    hub.repos.commit(caller, "org/model", [...])
"""

from __future__ import annotations

from aperto.config import Settings
from aperto.hub.access import Access
from aperto.hub.audit import Audit
from aperto.hub.blobs import Integrity
from aperto.hub.control import Control
from aperto.hub.core import Core
from aperto.hub.evals import Evals
from aperto.hub.invites import Invites
from aperto.hub.listing import Listing
from aperto.hub.publish import Publish
from aperto.hub.repos import Repos
from aperto.hub.sessions import Sessions
from aperto.hub.tokens import Tokens
from aperto.hub.webhooks import Webhooks


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.core = Core(settings)
        self.settings = settings
        self.store = self.core.store
        self.blobs = self.core.blobs
        self.tokens = Tokens(self.core)
        self.invites = Invites(self.core)  # one-time links that open accounts
        self.repos = Repos(self.core)
        self.access = Access(self.core)
        self.control = Control(self.core)
        self.evals = Evals(self.core)
        self.audit = Audit(self.core)
        self.integrity = Integrity(self.core)  # blob bytes still match their sha256
        self.sessions = Sessions(self.core)
        self.publish = Publish(self.core, self.repos, self.sessions.key)  # the HF client's publishing API
        self.listing = Listing(self.core)
        self.webhooks = Webhooks(self.core)  # started by `aperto hub` / `aperto up`

    def stop_waiting(self) -> None:
        """On shutdown: open long-polls answer now instead of holding it up."""
        self.core.stopping = True

    def close(self) -> None:
        self.webhooks.stop()
        self.core.follower.close()
        self.store.close()

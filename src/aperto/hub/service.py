"""``Hub``: the library object behind the HTTP API, the web UI and the CLI.

    hub = Hub(Settings(data_dir=...))
    token = hub.bootstrap_admin()
    caller = hub.authenticate(token)
    hub.commit(caller, "org/model", [...])
"""

from __future__ import annotations

from aperto.hub.control import ControlMixin


class Hub(ControlMixin):
    """Store + blobs + settings, with a method for every hub action. Each method
    takes the authenticated ``Caller`` (or None) and checks authorisation itself."""

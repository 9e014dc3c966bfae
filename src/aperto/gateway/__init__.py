"""The OpenAI-compatible gateway with a kill switch. ``create_app(settings)`` builds the
web app; ``Gateway`` is the library object behind it. Never imports the hub: policy
arrives over the hub's HTTP event feed (or from a standalone policy file)."""

from aperto.gateway.app import create_app
from aperto.gateway.core import Gateway

__all__ = ["Gateway", "create_app"]

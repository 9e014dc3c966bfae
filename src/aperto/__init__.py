"""aperto: make the release of "open" AI models honest and controllable.

The library comes first; the CLI (aperto.cli) and the two web services
(aperto.hub, aperto.gateway) are thin adapters over it.
"""

__version__ = "0.1.0"

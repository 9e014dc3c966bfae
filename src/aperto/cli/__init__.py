"""Command line adapter: parses input, calls the library, prints, picks exit codes."""

import gc


def settle_heap() -> None:
    """Before a server starts serving: collect once, then move everything alive to the permanent
    generation. A server's modules, app and settings live as long as the process, and a full
    collection walking them (about 150,000 objects) paused a hub for 95-116 ms under the fleet
    bench's load (docs/benchmarks-fleet.md); frozen, they are never walked again."""
    gc.collect()
    gc.freeze()

"""A server that a test stops and starts again keeps its address: its port lies below the
kernel's ephemeral range, which outgoing connections take their local ports from."""

from __future__ import annotations

import socket
from pathlib import Path

from aperto import services


def test_a_restartable_port_is_free_and_never_an_outgoing_connections_port() -> None:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = {services.restartable_port() for _ in range(50)}
    assert all(1024 <= port < low for port in ports), (sorted(ports), low, high)
    assert len(ports) > 10  # spread out, so two tests rarely pick the same one
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))  # free when given

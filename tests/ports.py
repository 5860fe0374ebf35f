"""Ports for the tests' own listeners (SMTP servers, SMS gateways, API, Temporal).

A port the kernel hands out for `bind(0)` comes from the ephemeral range, the same range it
draws from for every outgoing connection; between closing the probe and the server binding,
any client socket on the machine may take it ("address already in use"). So the tests' ports
come from below that range, where only listeners live, and each is probed before it is
returned."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _below_ephemeral() -> range:
    try:
        low = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10000, max(low, 10001))


def free_port() -> int:
    """A port nothing listens on now, outside the kernel's range for outgoing connections."""
    candidates = _below_ephemeral()
    for _ in range(200):
        port = random.choice(candidates)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")

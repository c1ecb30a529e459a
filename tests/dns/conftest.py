"""Fixtures for the DNS tests: a real dnsmasq serving tests/dns/dnsmasq.py's zone.

No test here touches the system resolver or the network: every lookup names the
loopback dnsmasq (or a loopback socket that never answers) as its only server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

# tests/dns is on sys.path (pytest's rootdir-less conftest import), so the plain
# module next to this file is importable by name.
from dnsmasq import DnsmasqServer, unavailable_reason


@pytest.fixture(scope="session")
def dnsmasq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsmasqServer]:
    """One dnsmasq for the whole session (it starts in well under a second)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    server = DnsmasqServer(workdir=tmp_path_factory.mktemp("dnsmasq"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ns(dnsmasq: DnsmasqServer) -> tuple[str, int]:
    """The ``nameserver=`` argument that points at the session's dnsmasq."""
    return dnsmasq.nameserver


@pytest.fixture
def silent_ns() -> Iterator[tuple[str, int]]:
    """A loopback UDP port that is bound (so no ICMP refusal) but never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield ("127.0.0.1", int(sock.getsockname()[1]))

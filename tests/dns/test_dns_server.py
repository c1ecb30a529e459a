"""The dnsmasq launcher itself: a real server that starts, answers, and is always stopped."""

from __future__ import annotations

import random

import pytest
from dnsmasq import LAB_ZONE, DnsmasqServer, unavailable_reason

from smtptui.net.dns import MXHost, ptr_check, resolve_mx

pytestmark = pytest.mark.skipif(
    unavailable_reason() is not None, reason=str(unavailable_reason())
)


def test_session_server_config(dnsmasq: DnsmasqServer) -> None:
    assert dnsmasq.running
    text = dnsmasq.config_text
    assert f"port={dnsmasq.port}\n" in text
    assert "no-resolv\n" in text and "listen-address=127.0.0.1\n" in text
    assert "mx-host=nullmx.test,.,0" in text
    assert dnsmasq.resolver_arg == f"127.0.0.1:{dnsmasq.port}"


async def test_private_instance_with_the_lab_zone_starts_and_stops(tmp_path) -> None:
    server = DnsmasqServer(zone=LAB_ZONE, workdir=tmp_path)
    with server:
        assert server.running and server.port > 0
        hosts = await resolve_mx("lab.test", nameserver=server.nameserver, rng=random.Random(0))
        assert hosts == [
            MXHost("mx1.lab.test", 10, ("127.0.0.1",)),
            MXHost("mx2.lab.test", 20, ("127.0.0.1",)),
        ]
        assert (await ptr_check("127.0.0.1", "mx1.lab.test", nameserver=server.nameserver))[
            "matches_banner"
        ]
        proc = server._proc
    assert not server.running
    assert proc is not None and proc.returncode is not None

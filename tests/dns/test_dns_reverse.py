"""Address, PTR and forward-confirmed reverse DNS lookups against a real DNS server."""

from __future__ import annotations

import socket

import pytest

from smtptui.net.dns import (
    DNSFailure,
    NoAddress,
    NoSuchDomain,
    ptr_check,
    resolve_addresses,
    reverse_names,
)


async def test_addresses_ipv4_first_then_ipv6(ns: tuple[str, int]) -> None:
    assert await resolve_addresses("mx1.mx.test", nameserver=ns) == ["127.0.0.1", "::1"]
    assert await resolve_addresses("mx1.mx.test", nameserver=ns, family=socket.AF_INET) == [
        "127.0.0.1"
    ]
    assert await resolve_addresses("mx1.mx.test", nameserver=ns, family=socket.AF_INET6) == [
        "::1"
    ]


async def test_addresses_follow_cname(ns: tuple[str, int]) -> None:
    assert await resolve_addresses("alias.mx.test", nameserver=ns) == ["127.0.0.1", "::1"]


async def test_address_failures(ns: tuple[str, int]) -> None:
    with pytest.raises(NoSuchDomain) as nx:
        await resolve_addresses("ghost.mx.test", nameserver=ns)
    assert str(nx.value) == "ghost.mx.test: host does not exist (NXDOMAIN)"
    with pytest.raises(NoAddress) as none:
        await resolve_addresses("mx2.mx.test", nameserver=ns, family=socket.AF_INET6)
    assert str(none.value) == "mx2.mx.test: no AAAA records (IPv6 only was requested)"
    with pytest.raises(NoAddress) as empty:
        await resolve_addresses("nomail.test", nameserver=ns)
    assert str(empty.value) == "nomail.test: no address records"


async def test_ip_literals_need_no_dns(silent_ns: tuple[str, int]) -> None:
    # the server never answers: a query would time out, so these prove none is sent
    assert await resolve_addresses("127.0.0.1", nameserver=silent_ns) == ["127.0.0.1"]
    assert await resolve_addresses("[::1]", nameserver=silent_ns) == ["::1"]
    with pytest.raises(NoAddress, match="IPv6 address but IPv4 only"):
        await resolve_addresses("::1", nameserver=silent_ns, family=socket.AF_INET)


async def test_reverse_names(ns: tuple[str, int]) -> None:
    assert await reverse_names("127.0.0.1", nameserver=ns) == ["mx1.mx.test"]
    assert await reverse_names("::1", nameserver=ns) == ["mx1.mx.test"]
    # what a dual-stack socket reports for an IPv4 peer
    assert await reverse_names("::ffff:127.0.0.1", nameserver=ns) == ["mx1.mx.test"]
    assert await reverse_names("127.0.0.9", nameserver=ns) == []


async def test_reverse_of_a_non_address(ns: tuple[str, int]) -> None:
    with pytest.raises(DNSFailure) as info:
        await reverse_names("mx1.mx.test", nameserver=ns)
    assert str(info.value) == "mx1.mx.test: not an IP address (PTR lookups need one)"


@pytest.mark.parametrize("banner", ["mx1.mx.test", "MX1.Mx.Test.", " mx1.mx.test "])
async def test_ptr_matches_banner_and_forward_confirms(ns: tuple[str, int], banner: str) -> None:
    assert await ptr_check("127.0.0.1", banner, nameserver=ns) == {
        "names": ["mx1.mx.test"],
        "matches_banner": True,
    }


async def test_ptr_check_over_ipv6(ns: tuple[str, int]) -> None:
    result = await ptr_check("::1", "mx1.mx.test", nameserver=ns)
    assert result == {"names": ["mx1.mx.test"], "matches_banner": True}


async def test_ptr_name_that_does_not_resolve_back(ns: tuple[str, int]) -> None:
    # 127.0.0.2 -> liar.mx.test, but liar.mx.test -> 127.0.0.3: the name matches, FCrDNS fails
    result = await ptr_check("127.0.0.2", "liar.mx.test", nameserver=ns)
    assert result == {"names": ["liar.mx.test"], "matches_banner": False}


@pytest.mark.parametrize("banner", ["mx2.mx.test", "", None, "[127.0.0.1]"])
async def test_ptr_does_not_match_other_banners(ns: tuple[str, int], banner: str | None) -> None:
    result = await ptr_check("127.0.0.1", banner, nameserver=ns)
    assert result == {"names": ["mx1.mx.test"], "matches_banner": False}


async def test_missing_ptr_is_not_an_error(ns: tuple[str, int]) -> None:
    assert await ptr_check("127.0.0.9", "mx1.mx.test", nameserver=ns) == {
        "names": [],
        "matches_banner": False,
    }


async def test_ptr_timeout_is_a_failure_not_a_mismatch(silent_ns: tuple[str, int]) -> None:
    with pytest.raises(DNSFailure) as info:
        await ptr_check("127.0.0.1", "mx1.mx.test", nameserver=silent_ns, timeout=0.3)
    assert str(info.value) == (
        f"127.0.0.1 (PTR): DNS timed out after 0.3 s (server 127.0.0.1:{silent_ns[1]})"
    )

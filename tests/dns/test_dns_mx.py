"""MX resolution against a real DNS server (RFC 5321 §5.1, RFC 7505)."""

from __future__ import annotations

import random
import socket

import pytest

from smtptui.net.dns import (
    DNSFailure,
    MXHost,
    NoAddress,
    NoSuchDomain,
    NullMX,
    resolve_mx,
)


async def test_mx_sorted_by_preference_with_addresses(ns: tuple[str, int]) -> None:
    hosts = await resolve_mx("mx.test", nameserver=ns)
    assert [h.preference for h in hosts] == [10, 20, 30, 30]
    assert hosts[0] == MXHost("mx1.mx.test", 10, ("127.0.0.1", "::1"))
    assert hosts[1] == MXHost("mx2.mx.test", 20, ("127.0.0.1",))
    assert {h.host for h in hosts[2:]} == {"mx3a.mx.test", "mx3b.mx.test"}
    assert all(h.addresses == ("127.0.0.1",) and h.note is None for h in hosts[2:])


async def test_equal_preferences_come_in_random_order(ns: tuple[str, int]) -> None:
    orders = set()
    for seed in range(16):
        hosts = await resolve_mx("mx.test", nameserver=ns, rng=random.Random(seed))
        # only the equal-preference pair moves; both are always there
        assert [h.host for h in hosts[:2]] == ["mx1.mx.test", "mx2.mx.test"]
        orders.add(tuple(h.host for h in hosts[2:]))
    assert orders == {("mx3a.mx.test", "mx3b.mx.test"), ("mx3b.mx.test", "mx3a.mx.test")}


async def test_same_rng_seed_gives_same_order(ns: tuple[str, int]) -> None:
    first = await resolve_mx("mx.test", nameserver=ns, rng=random.Random(7))
    again = await resolve_mx("mx.test", nameserver=ns, rng=random.Random(7))
    assert first == again


async def test_name_case_and_trailing_dot_do_not_matter(ns: tuple[str, int]) -> None:
    hosts = await resolve_mx("MX.Test.", nameserver=ns, rng=random.Random(0))
    assert [h.host for h in hosts[:2]] == ["mx1.mx.test", "mx2.mx.test"]


async def test_implicit_mx_falls_back_to_the_domain_address(ns: tuple[str, int]) -> None:
    assert await resolve_mx("amx.test", nameserver=ns) == [
        MXHost("amx.test", None, ("127.0.0.1",))
    ]
    assert await resolve_mx("amx6.test", nameserver=ns) == [MXHost("amx6.test", None, ("::1",))]


async def test_implicit_mx_respects_the_family(ns: tuple[str, int]) -> None:
    with pytest.raises(NoAddress) as info:
        await resolve_mx("amx6.test", nameserver=ns, family=socket.AF_INET)
    assert str(info.value) == "amx6.test: no MX and no A records (IPv4 only was requested)"


async def test_null_mx_means_no_mail(ns: tuple[str, int]) -> None:
    with pytest.raises(NullMX) as info:
        await resolve_mx("nullmx.test", nameserver=ns)
    assert str(info.value) == "nullmx.test accepts no mail (null MX, RFC 7505)"
    assert isinstance(info.value, DNSFailure)


async def test_nxdomain(ns: tuple[str, int]) -> None:
    with pytest.raises(NoSuchDomain) as info:
        await resolve_mx("nosuch.test", nameserver=ns)
    assert str(info.value) == "nosuch.test: domain does not exist (NXDOMAIN)"


async def test_no_mx_and_no_address(ns: tuple[str, int]) -> None:
    with pytest.raises(DNSFailure) as info:
        await resolve_mx("nomail.test", nameserver=ns)
    assert str(info.value) == "nomail.test: no MX and no address records"


async def test_exchanger_without_address_is_kept_with_a_note(ns: tuple[str, int]) -> None:
    assert await resolve_mx("ghostmx.test", nameserver=ns) == [
        MXHost(
            "ghost.ghostmx.test",
            10,
            (),
            "ghost.ghostmx.test: host does not exist (NXDOMAIN)",
        )
    ]
    partial = await resolve_mx("partial.test", nameserver=ns)
    assert [(h.host, h.preference, h.addresses, h.note is None) for h in partial] == [
        ("mx1.mx.test", 10, ("127.0.0.1", "::1"), True),
        ("ghost.partial.test", 20, (), False),
    ]


@pytest.mark.parametrize(
    ("family", "mx1"),
    [(socket.AF_INET, ("127.0.0.1",)), (socket.AF_INET6, ("::1",)), (0, ("127.0.0.1", "::1"))],
)
async def test_family_filter(ns: tuple[str, int], family: int, mx1: tuple[str, ...]) -> None:
    hosts = await resolve_mx("mx.test", nameserver=ns, family=family)
    assert hosts[0].addresses == mx1
    if family == socket.AF_INET6:
        # the others have only A records: kept, empty, and saying why
        assert all(h.addresses == () for h in hosts[1:])
        assert hosts[1].note == "mx2.mx.test: no AAAA records (IPv6 only was requested)"
    else:
        assert all(h.addresses == ("127.0.0.1",) for h in hosts[1:])


async def test_server_refusal_is_one_clear_line(dnsmasq, ns: tuple[str, int]) -> None:
    # dnsmasq has no upstream: a name outside its local zones is REFUSED
    with pytest.raises(DNSFailure) as info:
        await resolve_mx("example.invalid", nameserver=ns)
    assert str(info.value) == (
        f"example.invalid: DNS server 127.0.0.1:{dnsmasq.port} answered REFUSED"
    )


async def test_timeout_names_the_server(silent_ns: tuple[str, int]) -> None:
    with pytest.raises(DNSFailure) as info:
        await resolve_mx("mx.test", nameserver=silent_ns, timeout=0.3)
    assert str(info.value) == (
        f"mx.test: DNS timed out after 0.3 s (server 127.0.0.1:{silent_ns[1]})"
    )


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "'': empty domain name"),
        ("a..b", "a..b: not a valid domain name"),
        ("x" * 64 + ".test", "not a valid domain name"),
    ],
)
async def test_invalid_domain_names(silent_ns: tuple[str, int], domain: str, message: str) -> None:
    # rejected before any query is sent (the silent server would make it time out)
    with pytest.raises(DNSFailure) as info:
        await resolve_mx(domain, nameserver=silent_ns, timeout=5.0)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


async def test_bad_arguments_are_value_errors(ns: tuple[str, int]) -> None:
    with pytest.raises(ValueError, match="family"):
        await resolve_mx("mx.test", nameserver=ns, family=99)
    with pytest.raises(ValueError, match="timeout"):
        await resolve_mx("mx.test", nameserver=ns, timeout=0)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("[127.0.0.1]", [MXHost("127.0.0.1", None, ("127.0.0.1",))]),
        ("[IPv6:::1]", [MXHost("::1", None, ("::1",))]),
        ("[ipv6:0:0::1]", [MXHost("::1", None, ("::1",))]),
    ],
)
async def test_address_literal_domain_is_its_own_exchanger(
    silent_ns: tuple[str, int], domain: str, expected: list[MXHost]
) -> None:
    # RFC 5321 4.1.3: no DNS involved (the silent server would time out)
    assert await resolve_mx(domain, nameserver=silent_ns) == expected


async def test_bad_address_literal(silent_ns: tuple[str, int]) -> None:
    with pytest.raises(DNSFailure) as info:
        await resolve_mx("[999.1.1.1]", nameserver=silent_ns)
    assert str(info.value) == "[999.1.1.1]: not a valid address literal"
    with pytest.raises(NoAddress):
        await resolve_mx("[IPv6:::1]", nameserver=silent_ns, family=socket.AF_INET)


async def test_nameserver_may_be_given_as_text(dnsmasq) -> None:
    hosts = await resolve_mx("amx.test", nameserver=dnsmasq.resolver_arg)
    assert hosts == [MXHost("amx.test", None, ("127.0.0.1",))]

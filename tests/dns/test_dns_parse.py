"""parse_nameserver (the --resolver argument) and the lazy dnspython import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.net.dns import DEFAULT_DNS_PORT, parse_nameserver


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" 10.0.0.53:53 ", ("10.0.0.53", 53)),
        ("[::1]:53", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
        ("2001:DB8:0:0::35", ("2001:db8::35", 53)),
        ("[2001:db8::35]:65535", ("2001:db8::35", 65535)),
    ],
)
def test_nameserver_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty DNS server address"),
        ("   ", "empty DNS server address"),
        ("ns.example.com", "'ns.example.com' is not an IP address"),
        ("localhost:53", "'localhost' is not an IP address"),
        ("127.0.0.1:", "port '' is not a number"),
        ("127.0.0.1:dns", "port 'dns' is not a number"),
        ("127.0.0.1:0", "port 0 is out of range 1-65535"),
        ("127.0.0.1:65536", "port 65536 is out of range 1-65535"),
        ("[::1", "missing ']'"),
        ("[::1]5353", "unexpected '5353' after ']'"),
        ("256.0.0.1", "'256.0.0.1' is not an IP address"),
        ("127.0.0.1:-1", "port '-1' is not a number"),
        ("127.0.0.1:٥٣", "is not a number"),
    ],
)
def test_nameserver_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_nameserver(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@given(
    ip=st.ip_addresses(),
    port=st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
)
def test_nameserver_round_trip(ip, port: int | None) -> None:
    text = str(ip) if port is None else (
        f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
    )
    assert parse_nameserver(text) == (str(ip), DEFAULT_DNS_PORT if port is None else port)


def test_importing_the_module_does_not_load_dnspython() -> None:
    code = (
        "import sys, smtptui.net.dns\n"
        "loaded = sorted(m for m in sys.modules if m == 'dns' or m.startswith('dns.'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


async def test_lookups_check_the_nameserver_argument() -> None:
    from smtptui.net.dns import resolve_mx

    for bad in [("localhost", 53), ("127.0.0.1", 0), ("127.0.0.1", "53"), "ns.example:53"]:
        with pytest.raises(ValueError):
            await resolve_mx("mx.test", nameserver=bad, timeout=0.1)  # type: ignore[arg-type]

"""The one escaping function, the ASCII number reader and the IP-literal test."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.core.text import (
    ascii_int,
    dotted_quad,
    ip_literal,
    is_ascii_digits,
    is_ip_literal,
    printable,
)


@pytest.mark.parametrize(("text", "shown"), [
    ("plain é text 日本", "plain é text 日本"),
    ("a\x1b[2Jb\x00", "a\\x1b[2Jb\\x00"),
    ("\u202egnp.exe", "\\u202egnp.exe"),          # a bidi override reorders the line
    ("line\r\nnext\tcol", "line\\r\\nnext\\tcol"),
    ("\udcff\udc80", "\\xff\\x80"),                # octets that were not UTF-8
    ("\U000e0001tag", "\\U000e0001tag"),            # a format character past U+FFFF
    ("back\\slash", "back\\\\slash"),
])
def test_printable_escapes_what_would_act_on_a_terminal(text, shown):
    assert printable(text, None) == shown


def test_printable_options():
    assert printable(b"\xff\x1b") == "\ufffd\\x1b"
    assert printable("a\\x1b", backslash=False) == "a\\x1b"
    assert printable("a\tb", keep="\t") == "a\tb"
    assert printable("x" * 100, 10) == "x" * 10 + "..."
    assert printable("\x1b" * 10, 9) == "\\x1b\\x1b..."  # an escape is never cut in half


@given(st.text())
def test_printable_output_never_holds_a_control_character(text):
    assert printable(text, None).isprintable()


@pytest.mark.parametrize("text", ["0", "25", "0012", "99999999999999999999"])
def test_ascii_numbers(text):
    assert is_ascii_digits(text) and ascii_int(text) == int(text)


@pytest.mark.parametrize("text", ["", "²", "١٢", "1_000", "+5", " 5", "5 ", "-1", "1e3"])
def test_not_ascii_numbers(text):
    assert not is_ascii_digits(text) and ascii_int(text) is None


@pytest.mark.parametrize(("text", "address"), [
    ("192.0.2.1", "192.0.2.1"),
    ("[192.0.2.1]", "192.0.2.1"),
    ("2001:db8::1", "2001:db8::1"),
    ("[IPv6:2001:db8::1]", "2001:db8::1"),
    ("[ipv6:2001:db8::1]", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("::ffff:192.0.2.1", "192.0.2.1"),
])
def test_ip_literals(text, address):
    assert ip_literal(text) == ipaddress.ip_address(address)


@pytest.mark.parametrize("text", ["", "example.org", "[example.org]", "[IPv6:192.0.2.1]",
                                  "192.0.2.256", "１９２.0.2.1", "[192.0.2.1", "#123"])
def test_not_ip_literals(text):
    assert ip_literal(text) is None


def _ipaddress_takes_v4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


_OCTETISH = st.one_of(st.integers(0, 999).map(str), st.text("0123456789", max_size=4),
                      st.sampled_from(["00", "010", "1_0", "+1", " 1", "٣", "²", "0x1", ""]))


@given(st.lists(_OCTETISH, min_size=1, max_size=6).map(".".join))
def test_dotted_quad_agrees_with_ipaddress(text: str) -> None:
    assert dotted_quad(text) == _ipaddress_takes_v4(text)


@given(st.ip_addresses(v=4).map(str))
def test_every_ipv4_address_is_a_dotted_quad(text: str) -> None:
    assert dotted_quad(text)


@pytest.mark.parametrize("text", ["1.2.3.4", "0.0.0.0", "255.255.255.255", "127.0.0.1"])
def test_dotted_quad_examples(text: str) -> None:
    assert dotted_quad(text) and _ipaddress_takes_v4(text)


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "1.2.3.4 ",
                                  "1..3.4", "١.2.3.4", "1.2.3.4%eth0", "::1", ""])
def test_dotted_quad_refusals(text: str) -> None:
    assert not dotted_quad(text) and not _ipaddress_takes_v4(text)


@given(st.one_of(st.ip_addresses().map(str), st.ip_addresses().map(lambda a: f"[{a}]"),
                 st.lists(_OCTETISH, min_size=1, max_size=6).map(".".join),
                 st.text(alphabet="0123456789abcdef:.%[]IPv6", max_size=24)))
def test_is_ip_literal_is_ip_literal_not_none(text: str) -> None:
    assert is_ip_literal(text) == (ip_literal(text) is not None)

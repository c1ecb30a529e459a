"""TARGET parsing: every documented form, and a clear error for each kind of bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.net.targets import Target, format_host_port, parse_target

GOOD = [
    # text, tls flag, host, port, implicit_tls, mail_domain
    ("mail.example.org", False, "mail.example.org", 25, False, None),
    ("mail.example.org", True, "mail.example.org", 465, True, None),
    ("mail.example.org.", False, "mail.example.org.", 25, False, None),
    ("localhost:2525", False, "localhost", 2525, False, None),
    ("127.0.0.1", False, "127.0.0.1", 25, False, None),
    ("127.0.0.1:587", False, "127.0.0.1", 587, False, None),
    ("[2001:db8::1]:2525", False, "2001:db8::1", 2525, False, None),
    ("[::1]", False, "::1", 25, False, None),
    ("[127.0.0.1]:26", False, "127.0.0.1", 26, False, None),
    ("::1", False, "::1", 25, False, None),
    ("2001:db8::25", True, "2001:db8::25", 465, True, None),
    ("smtp://mx.example.org", False, "mx.example.org", 25, False, None),
    ("smtp://mx.example.org:2525/", False, "mx.example.org", 2525, False, None),
    ("SMTPS://mx.example.org", False, "mx.example.org", 465, True, None),
    ("smtps://mx.example.org:4650", False, "mx.example.org", 4650, True, None),
    ("smtps://[::1]:4650", False, "::1", 4650, True, None),
    ("@example.org", False, None, 25, False, "example.org"),
    ("@Example.ORG.", False, None, 25, False, "example.org"),
    ("postmaster@example.org", False, None, 25, False, "example.org"),
    ("@example.org:2525", False, None, 2525, False, "example.org"),
    ("@example.org", True, None, 465, True, "example.org"),
    ('"odd@local"@example.org', False, None, 25, False, "example.org"),
    ("user@[192.0.2.1]", False, "192.0.2.1", 25, False, None),
    ("@[IPv6:2001:db8::1]:2525", False, "2001:db8::1", 2525, False, None),
    ("mx_1.example.org", False, "mx_1.example.org", 25, False, None),
    ("bücher.example", False, "bücher.example", 25, False, None),
    ("  spaced.example  ", False, "spaced.example", 25, False, None),
]


@pytest.mark.parametrize(("text", "tls", "host", "port", "implicit", "domain"), GOOD)
def test_good_targets(text, tls, host, port, implicit, domain):
    t = parse_target(text, tls=tls)
    assert (t.host, t.port, t.implicit_tls, t.mail_domain) == (host, port, implicit, domain)
    assert t.original == text


BAD = [
    ("", "empty target"),
    ("   ", "empty target"),
    ("host:", "empty port"),
    (":25", "empty host name"),
    ("host:0", "out of range"),
    ("host:65536", "out of range"),
    ("host:smtp", "not a number"),
    ("host:２５", "not a number"),
    ("[::1", "without a matching ']'"),
    ("::1]", "']' without a matching '['"),
    ("[::1]]:25", "unbalanced brackets"),
    ("[]:25", "empty address"),
    ("[mail.example]:25", "not an IP address"),
    ("[::1]25", "expected ':PORT'"),
    ("2001:db8::zz", "not a valid IPv6 address"),
    ("a:b:c", "not a valid IPv6 address"),
    ("http://example.org", "unknown scheme"),
    ("smtp://", "no host"),
    ("smtp://host/path", "path"),
    ("@", "no domain"),
    ("user@", "no domain"),
    ("a@b@example.org", "more than one '@'"),
    ("@192.0.2.1", "in brackets"),
    ("@example.org:99999", "out of range"),
    ("bad host", "white space"),
    ("-bad.example", "not a valid host name label"),
    ("a..b", "empty label"),
    ("300.1.1.1", "not a valid IPv4 address"),
    ("x" * 64 + ".example", "not a valid host name label"),
    (".".join(["abcdefgh"] * 30), "longer than 253"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_targets_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=None) as info:
        parse_target(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_smtp_scheme_conflicts_with_tls_flag():
    with pytest.raises(ValueError, match="smtps://"):
        parse_target("smtp://mx.example.org", tls=True)


def test_display_round_trips():
    assert parse_target("[::1]:2525").display == "[::1]:2525"
    assert parse_target("@example.org").display == "@example.org:25"
    assert format_host_port("127.0.0.1", 25) == "127.0.0.1:25"
    assert isinstance(parse_target("h"), Target)


@given(st.text(max_size=40))
def test_never_raises_anything_but_value_error(text):
    try:
        t = parse_target(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert (t.host is None) != (t.mail_domain is None)
        assert 1 <= t.port <= 65535


@given(st.ip_addresses(), st.integers(1, 65535))
def test_bracketed_addresses_round_trip(addr, port):
    t = parse_target(format_host_port(str(addr), port))
    assert t.port == port
    assert t.host == str(addr)


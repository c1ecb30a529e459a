"""Every failure the issue lists, through the real command: one line naming the host, the
step and the reason; ``ok: false`` and ``error: "step: reason"`` in JSON with exactly the
documented keys; exit 1; never a traceback. Everything on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import pytest

from smtptui.cli import main
from tests.helpers.rawserver import RawServer, hang_up, silent

from .conftest import Server
from .postfix import free_port

JSON_KEYS = {"target", "host", "address", "port", "mx_preference", "ok", "error", "banner",
             "ehlo", "tls", "ehlo_after_tls", "ptr", "timings_ms"}
TIMING_KEYS = {"connect", "banner", "ehlo", "starttls", "total"}


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1 \x1b[31mDebian\r\n")
    await writer.drain()
    await asyncio.sleep(1)


async def _not_tls_after_220(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Says 220 to STARTTLS, then answers the TLS ClientHello with plain text."""
    writer.write(b"220 badtls.example ESMTP\r\n")
    while line := await reader.readline():
        verb = line.split()[0].upper() if line.split() else b""
        if verb == b"EHLO":
            writer.write(b"250-badtls.example\r\n250 STARTTLS\r\n")
        elif verb == b"STARTTLS":
            writer.write(b"220 go ahead\r\n")
            await writer.drain()
            await reader.read(100)
            writer.write(b"this is not TLS\r\n" * 4)
            await writer.drain()
            return
        await writer.drain()


def run_both(capsys, *argv: str) -> tuple[str, list[dict]]:
    """The human line and the JSON objects of one failing probe; checks the common rules."""
    code = main(["probe", "--helo", "client.test", *argv])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "Traceback" not in out + err and err == ""
    # One failure line; what was learned before the failure follows, indented.
    lines = [x for x in out.splitlines() if x.strip() and not x[0].isspace()]
    assert len(lines) == 1, out
    code = main(["probe", "--json", "--helo", "client.test", *argv])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in out + err
    results = [json.loads(x) for x in out.splitlines()]
    for r in results:
        assert set(r) == JSON_KEYS
        assert set(r["timings_ms"]) == TIMING_KEYS
        assert r["ok"] is False
        step, sep, reason = r["error"].partition(": ")
        assert sep and step and reason
        assert lines[0].endswith(f": {r['error']}")
    return lines[0], results


def _closed_port(family: int, host: str) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_refused(capsys) -> None:
    port = free_port()
    line, (r,) = run_both(capsys, f"127.0.0.1:{port}")
    assert line.startswith(f"FAIL 127.0.0.1:{port}: connect: connection refused")
    assert r["error"] == f"connect: connection refused (127.0.0.1:{port})"


def test_nothing_listening_on_ipv6_loopback(capsys) -> None:
    try:
        port = _closed_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    line, (r,) = run_both(capsys, f"[::1]:{port}")
    assert line.startswith(f"FAIL [::1]:{port}: connect: connection refused")
    assert r["host"] == "::1" and r["address"] == "::1"  # the address tried (issue 11)


def test_wrong_address_family(capsys) -> None:
    _line, (r,) = run_both(capsys, "-6", "127.0.0.1:25")
    assert r["error"] == "connect: 127.0.0.1 is not an IPv6 address"


def test_nxdomain(capsys, dnsmasq) -> None:
    line, (r,) = run_both(capsys, "--resolver", dnsmasq.resolver_arg, "@nx.test")
    assert line == "FAIL @nx.test: dns: nx.test: domain does not exist (NXDOMAIN)"
    assert r["host"] is None and r["target"] == "@nx.test"


def test_no_mx_and_no_address(capsys, dnsmasq) -> None:
    line, (_r,) = run_both(capsys, "--resolver", dnsmasq.resolver_arg, "@nomail.test")
    assert line == "FAIL @nomail.test: dns: nomail.test: no MX and no address records"


def test_null_mx(capsys, dnsmasq) -> None:
    line, _ = run_both(capsys, "--resolver", dnsmasq.resolver_arg, "@nullmx.test")
    assert line == "FAIL @nullmx.test: dns: nullmx.test accepts no mail (null MX, RFC 7505)"


def test_timeout(capsys, raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(silent)
    line, (r,) = run_both(capsys, "--timeout", "0.5", server.target)
    assert line == (f"FAIL {server.target}: greeting: timed out after 0.5 s waiting for "
                    "the server")
    assert r["address"] == "127.0.0.1" and r["timings_ms"]["connect"] is not None


def test_server_closes_at_once(capsys, raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(hang_up)
    line, _ = run_both(capsys, server.target)
    assert line == f"FAIL {server.target}: greeting: server closed the connection"


def test_garbage_instead_of_a_greeting(capsys, raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(_garbage)
    line, (_r,) = run_both(capsys, server.target)
    assert line == (f'FAIL {server.target}: greeting: not an SMTP reply: '
                    f'"SSH-2.0-OpenSSH_9.2p1 \\x1b[31mDebian"')
    assert "\x1b" not in line


def test_tls_handshake_failure(capsys, raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(_not_tls_after_220)
    line, (r,) = run_both(capsys, server.target)
    assert line.startswith(f"FAIL {server.target}: starttls: TLS handshake failed: ")
    assert r["banner"]["code"] == 220 and r["ehlo"]["code"] == 250 and r["tls"] is None


def test_implicit_tls_against_a_plain_server(capsys, plain_server: Server) -> None:
    line, _ = run_both(capsys, f"smtps://{plain_server.target}")
    assert line.startswith(f"FAIL {plain_server.target}: tls: TLS handshake failed: ")


def test_verification_failure(capsys, starttls_server: Server) -> None:
    line, (r,) = run_both(capsys, starttls_server.target)
    assert line == (f"FAIL {starttls_server.target}: starttls: certificate verify failed: "
                    "unable to get local issuer certificate (to trust the server's CA give "
                    "--cafile FILE, or --insecure to look anyway)")
    assert r["tls"] is None
    # What was learned before the failure is kept (issue 11): the banner and the EHLO.
    assert r["banner"]["code"] == 220 and r["ehlo"]["code"] == 250
    assert "STARTTLS" in {c["keyword"] for c in r["ehlo"]["capabilities"]}


def test_verification_failure_still_shows_what_was_learned(capsys,
                                                           starttls_server: Server) -> None:
    assert main(["probe", "--helo", "client.test", starttls_server.target]) == 1
    out = capsys.readouterr().out
    first, *rest = out.splitlines()
    assert first.startswith("FAIL ") and "--cafile FILE" in first
    assert any(line.split()[:2] == ["banner", "220"] for line in rest)
    assert any(line.split()[:1] == ["STARTTLS"] for line in rest)


@pytest.fixture
def unanswered_port():
    """A loopback port whose accept queue is full: a new connection's SYN is dropped, so
    connect() hangs -- the connect deadline, without any traffic leaving the machine."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    port = srv.getsockname()[1]
    fillers = []
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    yield port
    for c in fillers:
        c.close()
    srv.close()


def test_connect_timeout(capsys, unanswered_port: int) -> None:
    line, (r,) = run_both(capsys, "--timeout", "0.5", f"127.0.0.1:{unanswered_port}")
    assert line == (f"FAIL 127.0.0.1:{unanswered_port}: connect: timed out after 0.5 s "
                    f"(127.0.0.1:{unanswered_port})")
    assert r["address"] == "127.0.0.1" and r["banner"] is None  # the address tried

"""``smtptui probe`` against real servers on loopback: aiosmtpd in-process and misbehaving
raw servers. (Postfix and dnsmasq: test_probe_real.py.)"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable

import pytest

from smtptui.cli import main
from tests.helpers.rawserver import RawServer, hang_up, scripted, silent
from tests.helpers.tty import read_until_closed

from .conftest import ROOT, Server, TLSFiles
from .postfix import free_port

JSON_KEYS = {"target", "host", "address", "port", "mx_preference", "ok", "error", "banner",
             "ehlo", "tls", "ehlo_after_tls", "ptr", "timings_ms"}
TLS_KEYS = {"mode", "version", "cipher", "verified", "verify_error", "subject", "issuer",
            "not_after", "san"}
TIMING_KEYS = {"connect", "banner", "ehlo", "starttls", "total"}


def probe(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["probe", "--helo", "client.test", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def probe_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code, out, err = probe(capsys, "--json", *argv)
    assert "Traceback" not in out + err
    return code, [json.loads(line) for line in out.splitlines()]


def keywords(ehlo: dict) -> set[str]:
    return {c["keyword"] for c in ehlo["capabilities"]}


def assert_one_failure_line(out: str, err: str, *needles: str) -> str:
    """A failure is one line naming host, step and reason -- never a traceback."""
    assert "Traceback" not in out + err
    # One failure line; what was learned before the failure follows, indented.
    lines = [line for line in out.splitlines() if line.strip() and not line[0].isspace()]
    assert len(lines) == 1, out
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------------ plain ESMTP


def test_plain_server_human_report(capsys, plain_server: Server) -> None:
    code, out, err = probe(capsys, plain_server.target)
    assert code == 0, out + err
    assert out.startswith("OK")
    assert plain_server.target in out.splitlines()[0]
    assert "220 mx.test.example" in out
    assert "EHLO" in out and "250 mx.test.example" in out
    # aiosmtpd's extensions, each with its one-line meaning from the core table
    assert "SIZE 33554432" in out and "Largest message the server accepts" in out
    assert "8BITMIME" in out and "8-bit message content" in out
    assert "does not offer STARTTLS" in out
    assert "timings" in out and "total" in out
    assert "\x1b" not in out  # not a TTY: no colour


def test_plain_server_json(capsys, plain_server: Server) -> None:
    code, results = probe_json(capsys, plain_server.target)
    assert code == 0
    (r,) = results
    assert set(r) == JSON_KEYS
    assert r["target"] == plain_server.target
    assert r["host"] == "127.0.0.1" and r["address"] == "127.0.0.1"
    assert r["port"] == plain_server.port and r["mx_preference"] is None
    assert r["ok"] is True and r["error"] is None
    assert r["banner"]["code"] == 220 and r["banner"]["text"].startswith("mx.test.example")
    assert r["ehlo"]["code"] == 250
    assert {"SIZE", "8BITMIME", "HELP"} <= keywords(r["ehlo"])
    for cap in r["ehlo"]["capabilities"]:
        assert set(cap) == {"keyword", "params", "description"}
        assert isinstance(cap["params"], list) and cap["description"]
    size = next(c for c in r["ehlo"]["capabilities"] if c["keyword"] == "SIZE")
    assert size["params"] == ["33554432"]
    assert r["tls"] is None and r["ehlo_after_tls"] is None
    assert r["ptr"] is None  # loopback and no --resolver: no PTR lookup
    assert set(r["timings_ms"]) == TIMING_KEYS
    t = r["timings_ms"]
    assert t["starttls"] is None
    for key in ("connect", "banner", "ehlo", "total"):
        assert isinstance(t[key], float) and t[key] >= 0
    assert t["total"] >= t["connect"] + t["banner"] + t["ehlo"]


# --------------------------------------------------------------------------- STARTTLS


def test_starttls_verified_with_cafile(capsys, starttls_server: Server,
                                       tls_files: TLSFiles) -> None:
    code, (r,) = probe_json(capsys, starttls_server.target, "--cafile", str(tls_files.cafile))
    assert code == 0, r["error"]
    assert "STARTTLS" in keywords(r["ehlo"]) and "AUTH" not in keywords(r["ehlo"])
    tls = r["tls"]
    assert set(tls) == TLS_KEYS
    assert tls["mode"] == "starttls" and tls["verified"] is True and tls["verify_error"] is None
    assert tls["version"].startswith("TLSv1.")
    assert tls["cipher"]
    assert "127.0.0.1" in " ".join(tls["san"]) and "localhost" in " ".join(tls["san"])
    assert "smtptui test CA" in tls["issuer"]
    assert tls["not_after"]
    after = keywords(r["ehlo_after_tls"])
    assert "STARTTLS" not in after and "AUTH" in after  # AUTH only once TLS is up
    assert isinstance(r["timings_ms"]["starttls"], float)


def test_starttls_human_report_shows_tls_difference(capsys, starttls_server: Server,
                                                     tls_files: TLSFiles) -> None:
    code, out, err = probe(capsys, starttls_server.target, "--cafile", str(tls_files.cafile))
    assert code == 0, out + err
    assert "STARTTLS" in out and "verified" in out and "NOT verified" not in out
    lines = out.splitlines()
    assert any(line.lstrip().startswith("+ AUTH") for line in lines), out
    assert any(line.lstrip().startswith("- STARTTLS") for line in lines), out
    assert "subject" in out and "issuer" in out and "SAN" in out


def test_starttls_unverifiable_without_cafile(capsys, starttls_server: Server) -> None:
    code, out, err = probe(capsys, starttls_server.target)
    assert code == 1
    line = assert_one_failure_line(out, err, starttls_server.target, "starttls")
    assert line.startswith("FAIL")
    assert "certificate" in line.lower() or "verif" in line.lower(), line


def test_starttls_unverifiable_json(capsys, starttls_server: Server) -> None:
    code, (r,) = probe_json(capsys, starttls_server.target)
    assert code == 1
    assert r["ok"] is False and r["error"].startswith("starttls: ")
    assert r["banner"]["code"] == 220 and "STARTTLS" in keywords(r["ehlo"])  # partial report
    assert r["ehlo_after_tls"] is None


def test_insecure_succeeds_with_warning(capsys, starttls_server: Server) -> None:
    code, out, err = probe(capsys, starttls_server.target, "--insecure")
    assert code == 0, out + err
    assert "--insecure" in err and "warning" in err
    assert "NOT verified (--insecure)" in out
    code, (r,) = probe_json(capsys, starttls_server.target, "--insecure")
    assert code == 0 and r["tls"]["verified"] is False and r["ehlo_after_tls"] is not None


def test_starttls_no_stays_plain(capsys, starttls_server: Server) -> None:
    code, (r,) = probe_json(capsys, starttls_server.target, "--starttls", "no")
    assert code == 0 and r["tls"] is None and r["ehlo_after_tls"] is None
    assert "STARTTLS" in keywords(r["ehlo"])


def test_starttls_yes_requires_the_offer(capsys, plain_server: Server) -> None:
    code, out, err = probe(capsys, plain_server.target, "--starttls", "yes")
    assert code == 1
    assert_one_failure_line(out, err, plain_server.target, "starttls: not advertised")


def test_implicit_tls(capsys, smtps_server: Server, tls_files: TLSFiles) -> None:
    code, (r,) = probe_json(capsys, "--tls", "--cafile", str(tls_files.cafile),
                            smtps_server.target)
    assert code == 0, r["error"]
    assert r["tls"]["mode"] == "implicit" and r["tls"]["verified"] is True
    assert r["banner"]["code"] == 220
    assert r["ehlo_after_tls"] is None  # already TLS: no second EHLO
    code, (r,) = probe_json(capsys, "--cafile", str(tls_files.cafile),
                            f"smtps://{smtps_server.target}")
    assert code == 0 and r["tls"]["mode"] == "implicit"


# ------------------------------------------------------------------------ concurrency


def test_many_targets_concurrently(capsys, server_factory: Callable[..., Server]) -> None:
    servers = [server_factory() for _ in range(6)]
    refused = f"127.0.0.1:{free_port()}"
    targets = [s.target for s in servers] * 3 + [refused]
    code, results = probe_json(capsys, "--concurrency", "4", *targets)
    assert code == 1  # one failed
    assert len(results) == len(targets)
    assert sorted(r["target"] for r in results) == sorted(targets)
    bad = [r for r in results if not r["ok"]]
    assert [r["target"] for r in bad] == [refused]
    assert bad[0]["error"].startswith("connect: ")
    assert all(r["ok"] and r["banner"]["code"] == 220 for r in results if r is not bad[0])


def test_all_ok_exit_zero_human(capsys, server_factory: Callable[..., Server]) -> None:
    servers = [server_factory() for _ in range(3)]
    code, out, _err = probe(capsys, *(s.target for s in servers))
    assert code == 0
    assert sum(line.startswith("OK") for line in out.splitlines()) == 3


def test_ipv6_loopback_and_family_options(capsys,
                                          server_factory: Callable[..., Server]) -> None:
    try:
        s = server_factory(bind="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    code, (r,) = probe_json(capsys, s.target)
    assert code == 0, r["error"]
    assert r["host"] == "::1" and r["address"] == "::1" and r["port"] == s.port
    code, (r,) = probe_json(capsys, "-6", s.target)
    assert code == 0
    code, out, err = probe(capsys, "-4", s.target)
    assert code == 1
    assert_one_failure_line(out, err, f"[::1]:{s.port}", "connect: ", "IPv4")


# --------------------------------------------------------------------------- failures


def test_refused_port(capsys) -> None:
    target = f"127.0.0.1:{free_port()}"
    code, out, err = probe(capsys, target)
    assert code == 1
    line = assert_one_failure_line(out, err, target, "connect: ")
    assert "refused" in line.lower()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.5)


async def _no_service(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"554 5.3.2 no service for you\r\n")
    await writer.drain()
    await reader.readline()


# An RFC 821 server: EHLO is an unknown command, HELO works.
_old_server = scripted(
    b"220 old.example Simple Mail Transfer Service Ready\r\n",
    {b"EHLO": b"500 Syntax error, command unrecognized\r\n",
     b"HELO": b"250 old.example\r\n",
     b"QUIT": b"221 old.example Service closing transmission channel\r\n"},
    default=b"502 Command not implemented\r\n",
)

# Escape sequences in the banner and in an EHLO keyword line.
_evil_banner = scripted(
    b"220 evil.example \x1b]0;pwned\x07 ESMTP \x1b[2J\x1b[31mred\r\n",
    {b"EHLO": b"250-evil.example\r\n250-X\x1b[5mBLINK\r\n250 8BITMIME\r\n",
     b"QUIT": b"221 bye\r\n"},
)

# Advertises STARTTLS, then refuses it (RFC 3207 §4: 454 TLS not available).
_tls_refused = scripted(
    b"220 notls.example ESMTP\r\n",
    {b"EHLO": b"250-notls.example\r\n250 STARTTLS\r\n",
     b"STARTTLS": b"454 4.7.0 TLS not available due to temporary reason\r\n",
     b"QUIT": b"221 bye\r\n"},
)


async def _slow_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(1.5)
    await _old_server(reader, writer)


def test_starttls_refused_by_server(capsys, raw_server) -> None:
    s: RawServer = raw_server(_tls_refused)
    code, out, err = probe(capsys, "--timeout", "5", s.target)
    assert code == 1
    assert_one_failure_line(out, err, s.target, "starttls: ", "454 4.7.0 TLS not available")


def test_results_are_printed_as_they_finish(capsys, raw_server, plain_server: Server) -> None:
    slow: RawServer = raw_server(_slow_greeting)
    code, results = probe_json(capsys, "--timeout", "5", slow.target, plain_server.target)
    assert code == 0
    assert [r["target"] for r in results] == [plain_server.target, slow.target]


def test_garbage_instead_of_greeting(capsys, raw_server) -> None:
    s: RawServer = raw_server(_garbage)
    code, out, err = probe(capsys, "--timeout", "5", s.target)
    assert code == 1
    assert_one_failure_line(out, err, s.target, "greeting")


def test_silent_server_times_out(capsys, raw_server) -> None:
    s: RawServer = raw_server(silent)
    code, out, err = probe(capsys, "--timeout", "0.5", s.target)
    assert code == 1
    line = assert_one_failure_line(out, err, s.target, "greeting")
    assert "time" in line.lower()


def test_server_hangs_up_at_once(capsys, raw_server) -> None:
    s: RawServer = raw_server(hang_up)
    code, out, err = probe(capsys, "--timeout", "5", s.target)
    assert code == 1
    assert_one_failure_line(out, err, s.target, "greeting")


def test_server_refusing_service(capsys, raw_server) -> None:
    s: RawServer = raw_server(_no_service)
    code, out, err = probe(capsys, "--timeout", "5", s.target)
    assert code == 1
    assert_one_failure_line(out, err, s.target, "greeting", "554")
    code, (r,) = probe_json(capsys, "--timeout", "5", s.target)
    assert r["banner"] == {"code": 554, "text": "5.3.2 no service for you"}


def test_ehlo_refused_falls_back_to_helo(capsys, raw_server) -> None:
    s: RawServer = raw_server(_old_server)
    code, (r,) = probe_json(capsys, "--timeout", "5", s.target)
    assert code == 0, r["error"]
    assert r["ok"] is True and r["ehlo"] == {"code": 500, "capabilities": []}
    assert r["tls"] is None
    code, out, _err = probe(capsys, "--timeout", "5", s.target)
    assert code == 0 and "HELO answered 250" in out


def test_server_text_is_escaped(capsys, raw_server) -> None:
    s: RawServer = raw_server(_evil_banner)
    code, out, _err = probe(capsys, "--timeout", "5", s.target)
    assert code == 0, out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out and "\\x1b[31mred" in out
    assert "x\\x1b[5mblink" in out.lower()
    code, (r,) = probe_json(capsys, "--timeout", "5", s.target)
    assert "\x1b[31m" in r["banner"]["text"]  # JSON keeps the exact text (escaped by JSON)


def test_null_and_bad_targets_are_usage_errors(capsys) -> None:
    for argv in (["no host:x"], ["smtp://"], ["ftp://example.org"], ["127.0.0.1:99999"]):
        code, out, err = probe(capsys, *argv)
        assert code == 2 and "error" in err and "Traceback" not in err and out == ""
    code, out, err = probe(capsys, "--cafile", "/nonexistent/ca.pem", "127.0.0.1:25")
    assert code == 2 and "--cafile" in err
    code, out, err = probe(capsys, "--resolver", "dns.example", "@example.org")
    assert code == 2 and "--resolver" in err
    for argv in (["--concurrency", "0", "127.0.0.1"], ["--timeout", "-1", "127.0.0.1"],
                 ["--starttls", "maybe", "127.0.0.1"], ["-4", "-6", "127.0.0.1"], []):
        with pytest.raises(SystemExit) as exc:
            main(["probe", *argv])
        assert exc.value.code == 2
        capsys.readouterr()


# ----------------------------------------------------------------- whole-process checks

_IMPORTS = """
import sys
from smtptui.cli import main
code = main(["probe", "--helo", "client.test", {target!r}])
heavy = sorted(m for m in ("dns", "textual", "rich", "prompt_toolkit", "aiosmtpd")
               if m in sys.modules)
print("HEAVY", ",".join(heavy), "CODE", code)
"""


def test_probing_an_ip_imports_nothing_heavy(plain_server: Server) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS.format(target=plain_server.target)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "HEAVY  CODE 0", proc.stdout


def _run_on_tty(argv: list[str], env: dict[str, str]) -> str:
    """Run smtptui with stdout on a pseudo-terminal; return what it wrote."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "smtptui", *argv], stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                            cwd=ROOT)
    os.close(slave)
    try:
        out = read_until_closed(master)
    finally:
        os.close(master)
        proc.wait(30)
        proc.stderr.close()
    return out.decode("utf-8", "replace")


def test_colour_on_a_terminal_and_no_color(plain_server: Server) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    env["TERM"] = "xterm"
    argv = ["probe", "--helo", "client.test", plain_server.target]
    coloured = _run_on_tty(argv, env)
    assert "\x1b[32mOK\x1b[0m" in coloured
    plain = _run_on_tty(argv, {**env, "NO_COLOR": "1"})
    assert "OK" in plain and "\x1b" not in plain

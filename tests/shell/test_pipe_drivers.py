"""Pipe mode's two drivers give the same bytes: the one-shot session (blocking client, no
event loop) that a TARGET host gets, and the asyncio session. Also what the one-shot
path must not import, and what it does between two lines (a server speaking unprompted,
TURN), with input that arrives slowly -- as from a script that thinks.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.rawserver import scripted
from tests.run.conftest import Smtpd, smtpd  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
FORCE_SESSION = ("import smtptui.commands.shell as shell\n"
                 "shell.one_shot_session = lambda args: None\n")
# Only what smtptui imported counts: a site-wide .pth may import some of these at start.
MAIN = ("import sys\nstartup = set(sys.modules)\nfrom smtptui.cli import main\n"
        "rc = main(['shell', *sys.argv[1:]])\n"
        "heavy = sorted({m.split('.')[0] for m in set(sys.modules) - startup} & "
        "{'asyncio', 'ssl', 'prompt_toolkit', 'textual', 'dns', 'aiosmtpd',\n"
        # What start-up would pay for without need: dataclasses (inspect, ast, dis),
        # typing, json (only for --json), pathlib, shutil (argparse's width lookup),
        # ipaddress (an a.b.c.d target is checked without it), contextlib, base64.
        "  'dataclasses', 'inspect', 'typing', 'json', 'pathlib', 'shutil', 'email',\n"
        "  'ipaddress', 'contextlib', 'base64'})\n"
        "print('IMPORTED', ' '.join(heavy), file=sys.stderr)\n"
        "sys.exit(rc)\n")


def run(driver: str, chunks: list[bytes], *args: str) -> tuple[int, str, str, str]:
    """Pipe mode on ``driver`` with the input written in ``chunks`` (a pause between
    them: a script that thinks); (exit status, stdout, stderr, imported heavy modules)."""
    code = (FORCE_SESSION if driver == "session" else "") + MAIN
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "1"})
    assert proc.stdin is not None
    for i, chunk in enumerate(chunks):
        if i:
            time.sleep(0.5)
        try:
            proc.stdin.write(chunk)
            proc.stdin.flush()
        except BrokenPipeError:
            break
    proc.stdin.close()
    proc.stdin = None  # closed: communicate() must not flush it
    out, err = proc.communicate(timeout=60)
    *lines, imported = err.decode().splitlines()
    assert imported.startswith("IMPORTED"), err
    return (proc.returncode, out.decode(), "".join(x + "\n" for x in lines),
            imported.removeprefix("IMPORTED").strip())


def both(chunks: list[bytes], *args: str) -> tuple[int, str, str, str]:
    """Run on both drivers, assert byte-identical output; the one-shot result."""
    one_shot = run("blocking", chunks, *args)
    session = run("session", chunks, *args)
    assert one_shot[:3] == session[:3]
    assert "asyncio" in session[3]
    return one_shot


EXCHANGES = [
    pytest.param("EHLO me\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\n"
                 "Subject: hi\n\n.dot\n.\nQUIT\n", (), 0, id="a message"),
    pytest.param("EHLO me\nMAIL FROM:<a@b\nNOOP\n", (), 0, id="grammar error, eof"),
    pytest.param("EHLO me\nMAIL FROM:<a@b\nNOOP\n", ("--strict",), 2, id="strict"),
    pytest.param("EHLO me\nRCPT TO:<c@d.example>\nQUIT\n", ("--fail-on-5xx",), 3,
                 id="5xx"),
    pytest.param("HELO me\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nhalf\n",
                 (), 2, id="eof inside a message"),
]


@pytest.mark.parametrize(("script", "args", "status"), EXCHANGES)
def test_same_bytes_against_aiosmtpd(smtpd: Smtpd, script: str,  # noqa: F811
                                     args: tuple[str, ...], status: int) -> None:
    rc, out, _err, imported = both([script.encode()], smtpd.target, *args)
    assert rc == status
    assert imported == ""  # no asyncio, no ssl, no prompt_toolkit for a plain TARGET
    assert out.startswith("# * connected to 127.0.0.1:")


def test_a_server_slow_to_hang_up_after_221_gets_one_quit(
        raw_server) -> None:  # type: ignore[no-untyped-def]
    # The script's QUIT is answered, the input ends while the server still holds the
    # connection: pipe mode must not say goodbye a second time.
    quits: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 x ESMTP\r\n")
        while line := await reader.readline():
            if line.upper().startswith(b"QUIT"):
                quits.append(line)
                writer.write(b"221 x bye\r\n")
                await writer.drain()
                await asyncio.sleep(0.5)
                return
            writer.write(b"250 x\r\n")
            await writer.drain()

    rc, out, err, _ = both([b"EHLO me\nQUIT\n"], raw_server(handler).target)
    assert rc == 0 and err == ""
    assert out.count("C: QUIT") == 1 and out.endswith("S: 221 x bye\n# * connection closed\n")
    assert quits == [b"QUIT\r\n", b"QUIT\r\n"]  # one per driver


def test_a_421_while_the_script_thinks_is_reported_and_ends_the_session(
        raw_server) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 x ESMTP\r\n")
        await reader.readline()
        writer.write(b"250 x\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"421 x shutting down\r\n")  # nobody asked
        await writer.drain()

    chunks = [b"EHLO me\n", b"NOOP\nQUIT\n"]
    rc, out, err, _ = both(chunks, raw_server(handler).target)
    assert rc == 1
    assert "S: 421 x shutting down" in out and "unsolicited reply" in out
    assert err == "smtptui shell: line 2: not sent: the connection is closed\n"


def test_turn_then_we_answer_as_the_receiver(raw_server) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 remote ESMTP\r\n")
        await reader.readline()                       # HELO
        writer.write(b"250 remote\r\n")
        await reader.readline()                       # TURN
        writer.write(b"250 OK, turning\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"220")
        writer.write(b"HELO remote\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"250")
        writer.write(b"QUIT\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"221")

    chunks = [b"HELO client\nTURN\n220 me ready\n", b"250 hello remote\n", b"221 bye\n"]
    rc, out, err, _ = both(chunks, raw_server(handler).target, "--rfc", "821")
    assert [x for x in out.splitlines() if x[:2] in ("C:", "S:")][-5:] == [
        "C: 220 me ready", "S: HELO remote", "C: 250 hello remote", "S: QUIT", "C: 221 bye"]
    assert rc == 1 and err == ""  # the remote ended it; our QUIT was never answered


def test_tls_imports_ssl_but_never_asyncio(raw_server) -> None:  # type: ignore[no-untyped-def]
    server = raw_server(scripted(b"220 x ESMTP\r\n", {b"EHLO": b"250 x\r\n",
                                                      b"QUIT": b"221 bye\r\n"}))
    rc, _out, err, imported = run("blocking", [b"EHLO me\nQUIT\n"], server.target)
    assert rc == 0, err
    assert imported == ""
    rc, _out, err, imported = run("blocking", [b"QUIT\n"], server.target, "--tls",
                                  "--timeout", "2")
    assert rc == 1  # the raw server does not speak TLS
    assert imported == "base64 ssl"  # ssl itself imports base64

"""Pipe mode as a script uses it: ``smtptui shell TARGET < lines`` in a subprocess, against
aiosmtpd, the embedded server and hostile raw servers. Exit status, stdout (the
transcript), stderr (diagnostics, one line per failure), and bounded time and memory.

Every test with a TARGET runs on both drivers: the one-shot session over the blocking
client (what a TARGET host gets) and the asyncio session (what the embedded server and
``@domain`` get, forced here by replacing ``one_shot_session``); one policy, one output.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.rawserver import scripted
from tests.run.conftest import Smtpd, smtpd  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = ("blocking", "session")
FORCE_SESSION = ("import smtptui.commands.shell as shell\n"
                 "shell.one_shot_session = lambda args: None\n")
"""Prepended to a child's code: pipe mode on the asyncio session even with a TARGET."""
_driver = "blocking"


@pytest.fixture(autouse=True, params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Iterator[str]:
    global _driver
    _driver = request.param
    yield request.param
    _driver = "blocking"


def child_code(code: str) -> str:
    """``code`` for ``python -c`` on the driver under test."""
    return (FORCE_SESSION if _driver == "session" else "") + code


def shell(stdin: bytes | str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``smtptui shell ARGS`` with ``stdin`` piped in (this worktree's code, the driver
    under test)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    env = {**os.environ, "NO_COLOR": "1"}
    code = child_code("import sys\nfrom smtptui.cli import main\n"
                      "sys.exit(main(['shell', *sys.argv[1:]]))\n")
    return subprocess.run([sys.executable, "-c", code, *args], input=data,
                          capture_output=True, cwd=ROOT, timeout=timeout, env=env,
                          check=False)


def out(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode("utf-8", "replace")


def err(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.decode("utf-8", "replace")


def test_it_just_works_against_aiosmtpd(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell("EHLO me\nQUIT\n", smtpd.target)
    assert proc.returncode == 0, err(proc)
    lines = out(proc).splitlines()
    assert [x for x in lines if x.startswith("C: ")] == ["C: EHLO me", "C: QUIT"]
    assert lines[-2].startswith("S: 221")
    assert err(proc) == ""


def test_a_whole_message_and_eof_without_quit_ends_politely(smtpd: Smtpd) -> None:  # noqa: F811
    script = ("EHLO me\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\n"
              "Subject: hi\r\n\n.starts with a dot\n.\n")
    proc = shell(script, smtpd.target)
    assert proc.returncode == 0, err(proc)
    assert out(proc).splitlines()[-3:-1] == ["C: QUIT", "S: 221 Bye"]
    [message] = smtpd.handler.messages
    assert message.rcpt_tos == ["c@d.example"]
    assert b"\r\n.starts with a dot\r\n" in message.content  # stuffed, then un-stuffed


def test_the_transcript_replays_with_run(smtpd: Smtpd, tmp_path: Path) -> None:  # noqa: F811
    proc = shell("EHLO me\nNOOP\nQUIT\n", smtpd.target)
    script = tmp_path / "s.smtp"
    script.write_bytes(proc.stdout)
    again = subprocess.run([sys.executable, "-m", "smtptui", "run", str(script),
                            smtpd.target], capture_output=True, cwd=ROOT, timeout=60,
                           check=False)
    assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()


def test_json_is_one_object_per_entry(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell("EHLO me\nQUIT\n", smtpd.target, "--json")
    assert proc.returncode == 0
    records = [json.loads(line) for line in out(proc).splitlines()]
    assert [r["direction"] for r in records if r["direction"] != "*"] == [
        "S", "C", "S", "C", "S"]
    assert records[-1]["code"] == 221 or records[-2]["code"] == 221


def test_the_embedded_server_without_a_target_and_no_prompt_toolkit(driver: str) -> None:
    if driver != "session":
        pytest.skip("without a TARGET pipe mode always drives the asyncio session")
    code = ("import sys, runpy\n"
            "sys.argv = ['smtptui', 'shell']\n"
            "from smtptui.cli import main\n"
            "rc = main()\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('prompt_toolkit', 'textual', 'rich'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], input=b"EHLO me\nQUIT\n",
                          capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 0, err(proc)
    assert "S: 220 smtptui.test" in out(proc)
    assert "HEAVY []" in err(proc)


def test_grammar_errors_go_to_stderr_and_the_line_is_still_sent(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell("EHLO me\nMAIL FROM:<a@b\nQUIT\n", smtpd.target)
    assert "C: MAIL FROM:<a@b" in out(proc)
    assert "line 2: column 15: error: " in err(proc)
    assert proc.returncode == 0  # aiosmtpd took it: the session ended normally


def test_fail_on_5xx_exits_3(smtpd: Smtpd) -> None:  # noqa: F811
    lines = "EHLO me\nRCPT TO:<c@d.example>\nQUIT\n"  # no MAIL yet: 503
    proc = shell(lines, smtpd.target, "--fail-on-5xx")
    assert "S: 503 " in out(proc)
    assert proc.returncode == 3
    assert shell(lines, smtpd.target).returncode == 0


def test_strict_sends_nothing_that_fails_the_grammar(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell("EHLO me\nMAIL FROM:<a@b\nRCPT TO:<c@d.example>\n", smtpd.target, "--strict")
    assert proc.returncode == 2
    assert "MAIL" not in out(proc) and "RCPT" not in out(proc)
    assert "C: QUIT" in out(proc)  # it still leaves politely
    assert err(proc).splitlines()[-1] == "smtptui shell: line 2: not sent (--strict)"


def test_input_ending_inside_a_message_is_not_delivered(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell("EHLO me\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nDATA\nhalf\n",
                 smtpd.target)
    assert proc.returncode == 2
    assert "input ended inside a message" in err(proc)
    assert smtpd.handler.messages == []


def test_a_line_over_64k_is_a_usage_error(smtpd: Smtpd) -> None:  # noqa: F811
    proc = shell(b"EHLO me\nNOOP " + b"x" * 70000 + b"\nQUIT\n", smtpd.target)
    assert proc.returncode == 2
    assert err(proc).strip().splitlines()[-1].endswith("line 2: longer than 65536 octets: "
                                                       "not sent")
    assert "C: NOOP" not in out(proc)


def test_usage_errors_exit_2() -> None:
    assert shell("", "host:notaport").returncode == 2
    assert shell("", "--persona", "nobody").returncode == 2
    assert shell("", "127.0.0.1:2525", "--persona", "modern").returncode == 2


def test_connection_refused_exits_1_with_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    proc = shell("EHLO me\nQUIT\n", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    [line] = err(proc).splitlines()
    assert line.startswith(f"smtptui shell: 127.0.0.1:{port}: connect: ")


def test_pipelining_sends_a_group_before_waiting(raw_server) -> None:  # type: ignore[no-untyped-def]
    """This server answers MAIL only once RCPT has arrived too: a client that waits for
    each reply times out; one that pipelines as RFC 2920 allows does not."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 pipe.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-pipe.test\r\n250 PIPELINING\r\n")
        mail = await reader.readline()
        rcpt = await reader.readline()
        assert mail.startswith(b"MAIL") and rcpt.startswith(b"RCPT")
        writer.write(b"250 sender ok\r\n250 recipient ok\r\n")
        assert (await reader.readline()).startswith(b"QUIT")
        writer.write(b"221 bye\r\n")
        await writer.drain()

    lines = "EHLO me\nMAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\nQUIT\n"
    server = raw_server(handler)
    proc = shell(lines, server.target, "--pipeline", "--timeout", "2")
    assert proc.returncode == 0, err(proc)
    server = raw_server(handler)
    proc = shell(lines, server.target, "--timeout", "2")
    assert proc.returncode == 1
    [line] = err(proc).splitlines()
    assert ": MAIL: " in line and "2" in line.rsplit(":", 1)[1], line  # the 2 s deadline


def test_a_421_close_is_not_a_normal_end(raw_server) -> None:  # type: ignore[no-untyped-def]
    server = raw_server(scripted(b"220 x ESMTP\r\n", {b"EHLO": b"421 going down\r\n"}))
    proc = shell("EHLO me\nNOOP\nQUIT\n", server.target)
    assert proc.returncode == 1
    assert "line 2: not sent: the connection is closed" in err(proc)


@pytest.mark.parametrize("kind", ["reset mid-reply", "drip", "10 MB line"])
def test_hostile_servers_end_in_bounded_time_with_one_line(raw_server, kind: str) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hostile ESMTP\r\n")
        await reader.readline()
        if kind == "reset mid-reply":
            writer.write(b"250-hostile\r\n250-PIPELI")
            await writer.drain()
            writer.transport.abort()
        elif kind == "drip":
            for _ in range(60):
                writer.write(b"2")
                await writer.drain()
                await asyncio.sleep(0.2)
        else:
            chunk = b"x" * 65536
            writer.write(b"250 ")
            for _ in range(160):
                writer.write(chunk)
                await writer.drain()
            writer.write(b"\r\n")

    server = raw_server(handler)
    # VmHWM: this process's own peak (ru_maxrss would keep pytest's across exec).
    code = ("import sys\n"
            "from smtptui.cli import main\n"
            "rc = main(['shell', sys.argv[1], '--timeout', '2'])\n"
            "peak = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
            "print('RSS', peak.split()[1], file=sys.stderr)\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", child_code(code), server.target],
                          input=b"EHLO me\nQUIT\n", capture_output=True, cwd=ROOT,
                          timeout=30, check=False)
    assert proc.returncode == 1
    *lines, rss = err(proc).splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtptui shell: 127.0.0.1:"), lines
    assert "Traceback" not in err(proc)
    assert int(rss.split()[1]) < 200 * 1024  # KiB: the 10 MB line is never held whole

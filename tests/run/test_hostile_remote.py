"""Hostile remotes against `run`: after TURN a remote that never ends its message must
not hold `run` past its deadline or fill the memory (issue: reliability, item 4)."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """\
#!match code
R: 220 flood.test ready
S: HELO us.test
R: 250 flood.test
S: TURN
R: 250 OK
R: 220 us.test ready
S: HELO flood.test
R: 250 us.test
S: MAIL FROM:<a@flood.test>
R: 250 OK
S: RCPT TO:<b@us.test>
R: 250 OK
S: DATA
R: 354 go ahead
S: hello
S: .
R: 250 OK
S: QUIT
R: 221 bye
"""


async def _flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 flood.test ready\r\n")
    await reader.readline()                      # HELO
    writer.write(b"250 flood.test\r\n")
    await reader.readline()                      # TURN
    writer.write(b"250 OK\r\n")
    await reader.readline()                      # our 220
    for command in (b"HELO flood.test", b"MAIL FROM:<a@flood.test>", b"RCPT TO:<b@us.test>",
                    b"DATA"):
        writer.write(command + b"\r\n")
        await writer.drain()
        await reader.readline()                  # our reply
    line = b"x" * 998 + b"\r\n"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:           # message data that never ends
        writer.write(line * 64)
        await writer.drain()


def test_run_ends_a_flooding_remote_within_its_deadline(raw_server, tmp_path: Path) -> None:
    server = raw_server(_flood)
    script = tmp_path / "turn.smtp"
    script.write_text(SCRIPT)

    def cap() -> None:
        limit = 768 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "smtptui", "run", str(script), server.target, "--timeout", "2",
         "--json"], capture_output=True, text=True, timeout=30, preexec_fn=cap,  # ends, or fails
        env=os.environ | {"XDG_DATA_HOME": str(tmp_path / "data")}, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (error,) = proc.stderr.strip().splitlines()
    assert "remote message data: timed out after 2 s" in error


async def _refuse_mid_message(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                              ) -> None:
    writer.write(b"220 small.test\r\n")
    while line := await reader.readline():
        if line.startswith(b"DATA"):
            writer.write(b"354 go\r\n")
            await writer.drain()
            got = 0
            while got < 1_000_000:
                got += len(await reader.read(65536))
            writer.write(b"552 5.3.4 message too big\r\n")
            await writer.drain()
            writer.close()  # with unread data: our next write meets a reset
            return
        writer.write(b"250 ok\r\n")
        await writer.drain()


def test_the_servers_last_reply_before_it_resets_is_shown(raw_server, tmp_path: Path) -> None:
    """Item 5: a 552 in the middle of a large message, then a close, must appear as the
    reply to the data -- not as "connection reset by peer" -- and the message, cut
    short, must be reported as never delivered."""
    server = raw_server(_refuse_mid_message)
    body = tmp_path / "big.eml"
    body.write_bytes((b"x" * 998 + b"\r\n") * 20_000)  # 20 MB
    script = tmp_path / "big.smtp"
    script.write_text("S: 220\nC: HELO x\nS: 250\nC: MAIL FROM:<a@b.example>\nS: 250\n"
                      "C: RCPT TO:<c@d.example>\nS: 250\nC: DATA\nS: 354\n"
                      f"#!include {body}\nC: .\nS: 250\n")
    proc = subprocess.run([sys.executable, "-m", "smtptui", "run", str(script), server.target,
                           "--timeout", "10", "--json"], capture_output=True, text=True,
                          timeout=60, env=os.environ | {"XDG_DATA_HOME": str(tmp_path)},
                          check=False)
    import json

    result = json.loads(proc.stdout)
    data = [s for s in result["steps"] if s["kind"] == "data"]
    assert data and data[0]["got"] == "552 5.3.4 message too big", proc.stderr
    assert data[0]["sent"] is None and "never sent" in data[0]["note"]
    assert "reset" not in proc.stderr

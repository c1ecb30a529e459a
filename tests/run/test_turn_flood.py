"""After TURN the remote sends us its mail; a remote that never ends its message must
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

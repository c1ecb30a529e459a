"""``smtptui shell`` in pipe mode against the private Postfix (tests/probe/postfix.py):
STARTTLS verified against the test CA with ``--cafile``, and a message delivered."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .conftest import TLSFiles
from .postfix import DOMAIN, PostfixInstance

ROOT = Path(__file__).resolve().parents[2]


def _shell(stdin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtptui", "shell", *args],
                          input=stdin.encode(), capture_output=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "NO_COLOR": "1"}, check=False)


def test_starttls_verified_with_cafile_then_a_message_delivered(
        postfix: PostfixInstance, tls_files: TLSFiles) -> None:
    marker = f"m{time.time_ns()}"
    lines = ("EHLO client.test\nSTARTTLS\nEHLO client.test\nMAIL FROM:<bob@client.test>\n"
             f"RCPT TO:<alice@{DOMAIN}>\nDATA\nSubject: {marker}\n\n.dot line\n.\nQUIT\n")
    proc = _shell(lines, f"localhost:{postfix.smtp_port}", "--cafile", str(tls_files.cafile),
                  "--fail-on-5xx")
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "(verified)" in out  # the note of the TLS handshake
    assert "S: 250 2.0.0 Ok: queued" in out
    deadline = time.monotonic() + 15
    found = None
    while found is None and time.monotonic() < deadline:
        for f in (postfix.mailbox_dir / "alice").glob("**/new/*"):
            if marker.encode() in f.read_bytes():
                found = f.read_bytes()
        time.sleep(0.1)
    assert found is not None, postfix.log_tail()
    assert b"\n.dot line\n" in found.replace(b"\r\n", b"\n")


def test_an_untrusted_certificate_fails_in_one_line(postfix: PostfixInstance) -> None:
    proc = _shell("EHLO client.test\nSTARTTLS\nEHLO client.test\nQUIT\n",
                  f"localhost:{postfix.smtp_port}")
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "certificate" in lines[0].lower()

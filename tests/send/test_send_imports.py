"""A regression guard, not a timing test: ``smtptui send`` of a plain message, as a whole
process, imports no module of the email package (the message and its Date and Message-ID
are written without it; see smtptui.core.message)."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import Smtpd

WRAPPER = """
import json, sys
from smtptui.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
loaded = sorted(m for m in sys.modules if m == "email" or m.startswith("email."))
print("MODULES " + json.dumps(loaded))
sys.exit(code)
"""


def send_in_a_process(*argv: str) -> tuple[list[str], str]:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, "send", *argv],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES "))
    return json.loads(line.removeprefix("MODULES ")), proc.stdout


def test_a_plain_message_imports_no_email_module(smtpd: Smtpd) -> None:
    loaded, out = send_in_a_process("--to", "alice@lab.test", "--from", "bob@client.test",
                                    "--server", smtpd.target, "--ehlo", "client.test")
    assert "OK   sent to alice@lab.test" in out
    assert loaded == []
    (m,) = smtpd.recorder.messages
    assert b"Content-Transfer-Encoding: 7bit\r\n" in m.content


def test_a_message_the_email_package_builds_still_goes(smtpd: Smtpd) -> None:
    """The other side of the guard: a header only the email package writes right."""
    loaded, out = send_in_a_process("--to", "alice@lab.test", "--from", "bob@client.test",
                                    "--server", smtpd.target, "--ehlo", "client.test",
                                    "--subject", "caf\u00e9")
    assert "OK   sent to alice@lab.test" in out
    assert "email.policy" in loaded
    (m,) = smtpd.recorder.messages
    assert b"Subject: =?utf-8?q?caf=C3=A9?=\r\n" in m.content

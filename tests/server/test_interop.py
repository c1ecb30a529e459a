"""Real clients through ``smtptui serve``: Python's smtplib and swaks, with and without
STARTTLS/AUTH. The Maildir must hold the message byte for byte (after un-stuffing)."""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

WORLD = """\
hostname = "lab.test"
persona = "modern"
relay_domains = ["other.test"]

[mailboxes]
alice = "Alice Liddell"
bob = "Bob Dobbs"

[users]
alice = "s3cret pass"

[hosts."other.test"]
mailboxes = { carol = "Carol" }
"""

MESSAGE = (b"From: x@client.test\r\nTo: alice@lab.test\r\nSubject: interop\r\n\r\n"
           b".a line that starts with a dot\r\n..two dots\r\n.\r\nplain\r\n\xc3\xa9 8-bit\r\n")


class Served:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.maildir = tmp / "maildir"
        world = tmp / "world.toml"
        world.write_text(WORLD)
        env = os.environ | {"XDG_DATA_HOME": str(tmp / "data")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smtptui", "serve", "--listen", "127.0.0.1:0",
             "--world", str(world), "--maildir", str(self.maildir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        first = self.proc.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), self.proc.stderr.read()
        self.port = int(first.strip().rsplit(":", 1)[1])
        self.cert = tmp / "data" / "smtptui" / "tls" / "lab.test.crt"

    def body(self, box: str, host: str = "lab.test") -> bytes:
        """The stored message without the trace fields the server added."""
        [path] = list((self.maildir / host / box / "new").iterdir())
        data = path.read_bytes()
        head, _, rest = data.partition(b"\r\nFrom: ")
        assert head.startswith(b"Return-Path: <") and b"Received: from " in head
        return b"From: " + rest

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


@pytest.fixture
def served(tmp_path):
    s = Served(tmp_path)
    yield s
    if s.proc.poll() is None:
        s.stop()


def test_smtplib_plain(served):
    with smtplib.SMTP("127.0.0.1", served.port) as client:
        client.sendmail("x@client.test", ["alice@lab.test", "bob@lab.test"], MESSAGE)
    assert served.body("alice") == MESSAGE
    assert served.body("bob") == MESSAGE


def test_smtplib_final_line_without_crlf_dots_and_raw_8bit(served):
    # Not UTF-8 (\xff\xfe), lines of dots, and no CRLF at the end: smtplib stuffs the
    # dots and adds the CRLF before ".", so the Maildir holds exactly message + CRLF.
    message = (b"From: x@client.test\r\nSubject: edge\r\n\r\n.\r\n..\r\n...\r\n"
               b"\xff\xfe raw latin-1 \xe9\r\n. dot space\r\nlast line, no CRLF")
    with smtplib.SMTP("127.0.0.1", served.port) as client:
        client.sendmail("x@client.test", ["alice@lab.test"], message)
    assert served.body("alice") == message + b"\r\n"


def test_smtplib_auth_is_not_offered_in_clear_text(served):
    with smtplib.SMTP("127.0.0.1", served.port) as client:
        client.ehlo("client.test")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login("alice", "s3cret pass")
        code, _ = client.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldCBwYXNz")
        assert code == 538  # RFC 4954 §4: encryption required


def test_smtplib_starttls_and_auth(served):
    ctx = ssl.create_default_context(cafile=str(served.cert)) if served.cert.exists() else None
    with smtplib.SMTP("127.0.0.1", served.port) as client:
        client.ehlo("client.test")
        assert not client.has_extn("auth")  # AUTH is offered only after STARTTLS
        client.starttls(context=ctx or ssl.create_default_context(cafile=str(served.cert)))
        client.ehlo("client.test")
        assert client.has_extn("auth")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("alice", "wrong")
        client.login("alice", "s3cret pass")
        client.sendmail("alice@lab.test", ["bob@lab.test"], MESSAGE)
    assert served.body("bob") == MESSAGE
    code, out, err = served.stop()
    assert code == 0 and "Traceback" not in err
    assert "TLS established" in out and "AUTH as alice" in out


def test_smtplib_relay_outside_the_world_is_refused(served):
    with (smtplib.SMTP("127.0.0.1", served.port) as client,
          pytest.raises(smtplib.SMTPRecipientsRefused) as info):
        client.sendmail("x@client.test", ["someone@example.com"], MESSAGE)
    code, text = info.value.recipients["someone@example.com"]
    assert code == 550 and b"not in this world" in text
    with smtplib.SMTP("127.0.0.1", served.port) as client:  # inside the world: relayed
        client.sendmail("x@client.test", ["carol@other.test"], MESSAGE)
    assert served.body("carol", "other.test") == MESSAGE


swaks = pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")


def run_swaks(served, *args: str) -> subprocess.CompletedProcess:
    data = served.tmp / "message.eml"
    data.write_bytes(MESSAGE[:-2])  # swaks adds the final CRLF itself before "."
    return subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{served.port}", "--ehlo", "client.test",
         "--from", "x@client.test", "--data", str(data), *args],
        check=False, capture_output=True, text=True, timeout=60)


@swaks
def test_swaks_plain(served):
    result = run_swaks(served, "--to", "alice@lab.test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert served.body("alice") == MESSAGE


@swaks
def test_swaks_starttls_and_auth(served):
    result = run_swaks(served, "--to", "bob@lab.test", "--tls", "--auth", "LOGIN",
                       "--auth-user", "alice", "--auth-password", "s3cret pass")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "235" in result.stdout
    assert served.body("bob") == MESSAGE


@swaks
def test_swaks_auth_without_tls_is_refused(served):
    result = run_swaks(served, "--to", "bob@lab.test", "--auth", "PLAIN",
                       "--auth-user", "alice", "--auth-password", "s3cret pass")
    assert result.returncode != 0
    assert not (served.maildir / "lab.test" / "bob").exists()


@swaks
def test_swaks_relay_is_refused(served):
    result = run_swaks(served, "--to", "victim@example.org")
    assert result.returncode != 0
    assert "550" in result.stdout and "not in this world" in result.stdout

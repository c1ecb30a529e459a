"""The STARTTLS certificate: made once by the cryptography library (never a program),
in a 0700 directory with 0600 files, for every name the world loader accepts."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess

import pytest

from smtptui.server import tls


def check(directory, hostname="lab.test", san=("DNS", "lab.test")):
    cert, key = tls.ensure_certificate(hostname, directory)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    info = ssl._ssl._test_decode_cert(str(cert))  # the stdlib's own PEM decoder
    assert san in info["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in info["subjectAltName"]
    ctx = tls.server_context(hostname, directory)
    assert isinstance(ctx, ssl.SSLContext)
    return cert


def test_certificate_is_made_once_and_reused(tmp_path):
    cert = check(tmp_path / "tls")
    first = cert.read_bytes()
    assert check(tmp_path / "tls").read_bytes() == first


def test_an_address_literal_host_gets_an_ip_san(tmp_path):
    check(tmp_path / "tls", "[192.0.2.7]", ("IP Address", "192.0.2.7"))


def test_no_program_is_ever_run(tmp_path, monkeypatch):
    """Issue 10 item 14: a world name reached ``openssl req -subj`` and a failure was a
    CalledProcessError traceback. No subprocess at all now."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a program was run: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    check(tmp_path / "tls")


def test_an_unwritable_directory_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(tls.TLSSetupError, match="cannot make a STARTTLS certificate"):
        tls.ensure_certificate("lab.test", blocker / "tls")


def test_the_directory_is_private_under_any_umask(tmp_path):
    old = os.umask(0o022)
    try:
        check(tmp_path / "tls")
    finally:
        os.umask(old)

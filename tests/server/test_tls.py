"""The STARTTLS certificate: made once, private key 0600, by cryptography or openssl."""

from __future__ import annotations

import shutil
import ssl
import stat

import pytest

from smtptui.server import tls


def check(directory, hostname="lab.test"):
    cert, key = tls.ensure_certificate(hostname, directory)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    info = ssl._ssl._test_decode_cert(str(cert))  # the stdlib's own PEM decoder
    assert ("DNS", hostname) in info["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in info["subjectAltName"]
    ctx = tls.server_context(hostname, directory)
    assert isinstance(ctx, ssl.SSLContext)
    return cert


def test_certificate_is_made_once_and_reused(tmp_path):
    cert = check(tmp_path)
    first = cert.read_bytes()
    assert check(tmp_path).read_bytes() == first


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_fallback_without_cryptography(tmp_path, monkeypatch):
    def no_cryptography(*args):
        raise ImportError("cryptography")

    monkeypatch.setattr(tls, "_with_cryptography", no_cryptography)
    check(tmp_path / "openssl")


def test_no_way_to_make_a_certificate_is_one_clear_error(tmp_path, monkeypatch):
    def no_cryptography(*args):
        raise ImportError("cryptography")

    monkeypatch.setattr(tls, "_with_cryptography", no_cryptography)
    monkeypatch.setattr(tls.shutil, "which", lambda name: None)
    with pytest.raises(tls.TLSSetupError, match="install the 'cryptography' package"):
        tls.ensure_certificate("lab.test", tmp_path)

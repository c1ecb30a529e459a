"""A truly self-signed server certificate (the commonest state of SMTP TLS in the wild):
the reason is named, and --insecure goes on while saying why it is not verified."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smtptui.net.client import SMTPClient, Timeouts, make_tls_context
from smtptui.net.errors import TLSFailure

from .conftest import Server

FAST = Timeouts(connect=2.0, greeting=2.0, reply=2.0, data=5.0)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.self-signed.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)  # issuer == subject: self-signed
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    d: Path = tmp_path_factory.mktemp("selfsigned")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return ctx


async def test_self_signed_reason_and_insecure_fallback(
        smtpd: Callable[..., Awaitable[Server]], self_signed: ssl.SSLContext, cafile: str):
    server = await smtpd(implicit=self_signed)
    with pytest.raises(TLSFailure) as info:
        await SMTPClient.connect("localhost", server.port, implicit_tls=True,
                                 addresses=["127.0.0.1"], timeouts=FAST,
                                 ssl_context=make_tls_context(cafile=cafile))
    assert str(info.value) == "tls: certificate verify failed: self-signed certificate"
    async with await SMTPClient.connect(
            "localhost", server.port, implicit_tls=True, addresses=["127.0.0.1"],
            timeouts=FAST, ssl_context=make_tls_context(cafile=cafile, insecure=True)) as c:
        assert c.tls is not None and not c.tls.verified
        assert c.tls.verify_error == "self-signed certificate"
        assert c.tls.subject == c.tls.issuer == "CN=mx.self-signed.test"
        assert c.tls.san == ("DNS:localhost",)
        assert (await c.read_greeting()).code == 220

"""TLS helpers: the client context, verification reasons, certificate summaries."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from smtptui.net.tls import (
    TLSInfo,
    cert_summary,
    decode_der_certificate,
    is_insecure,
    make_tls_context,
    unverified_context,
    verify_reason,
)


def test_default_context_verifies():
    ctx = make_tls_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert not is_insecure(ctx)


def test_insecure_context_still_verifies_first():
    # The client attempts a verified handshake to learn the reason, then falls back.
    ctx = make_tls_context(insecure=True)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert is_insecure(ctx)


def test_cafile_replaces_the_system_store(cafile: str):
    """--cafile FILE trusts exactly the CAs in FILE (curl --cacert, openssl -CAfile,
    swaks --tls-ca-path): a private CA without every public one, and no time spent
    loading the system store."""
    ctx = make_tls_context(cafile=cafile)
    assert ctx.cert_store_stats()["x509_ca"] == 1
    (only,) = ctx.get_ca_certs()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    with open(cafile) as f:
        assert ssl.PEM_cert_to_DER_cert(f.read()) == ctx.get_ca_certs(binary_form=True)[0]
    assert only["subject"]


def test_bad_cafile_is_a_clear_value_error(tmp_path: Path):
    with pytest.raises(ValueError, match="no such file"):
        make_tls_context(cafile=str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"junk.pem: no PEM certificate in it \("):
        make_tls_context(cafile=str(junk))
    with pytest.raises(ValueError, match=r"--cafile .*: (Is a directory|no PEM)"):
        make_tls_context(cafile=str(tmp_path))


def test_unverified_context_accepts_anything():
    ctx = unverified_context()
    assert ctx.verify_mode == ssl.CERT_NONE
    assert not ctx.check_hostname


def test_verify_reason_is_one_lower_case_line():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "Hostname mismatch, certificate is not valid for 'x'."
    assert verify_reason(exc) == "hostname mismatch, certificate is not valid for 'x'"
    exc.verify_message = "self-signed certificate"
    assert verify_reason(exc) == "self-signed certificate"


def test_der_certificate_decoded_with_the_stdlib():
    ca = trustme.CA(organization_name="Lab CA")
    leaf = ca.issue_cert("mx.lab.test", "192.0.2.7", "2001:db8::7", common_name="mx.lab.test")
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    decoded = decode_der_certificate(der)
    assert ("commonName", "mx.lab.test") in [pair for rdn in decoded["subject"] for pair in rdn]
    assert ("DNS", "mx.lab.test") in decoded["subjectAltName"]
    assert decoded["notAfter"].endswith("GMT")


def test_tls_info_to_dict_is_json_ready():
    info = TLSInfo("starttls", "TLSv1.3", "TLS_AES_256_GCM_SHA384", False,
                   "self-signed certificate", "CN=x", "CN=x", ("DNS:x",),
                   "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", 256)
    d = info.to_dict()
    assert d["san"] == ["DNS:x"]
    assert d["verify_error"] == "self-signed certificate"
    assert d["mode"] == "starttls"


def test_certificate_text_is_escaped_for_terminals():
    ca = trustme.CA()
    leaf = ca.issue_cert("mx.lab.test", common_name="evil\x1b[2Jname")

    class FakeSSLObject:
        def getpeercert(self, binary_form: bool = False):
            if not binary_form:
                return {}  # an unverified session: only the DER form is available
            return ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())

    summary = cert_summary(FakeSSLObject())
    assert "\x1b" not in summary["subject"]
    assert "CN=evil\\x1b[2Jname" in summary["subject"]
    assert summary["san"] == ("DNS:mx.lab.test",)
    assert summary["not_after"].endswith("Z")

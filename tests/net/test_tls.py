"""TLS helpers: the client context, verification reasons, certificate summaries."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

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


# ------------------------------------------- certificate times without time.strptime


def _ssl_seconds(value: str) -> int | None:
    try:
        return ssl.cert_time_to_seconds(value)
    except ValueError:
        return None


def _mine(value: str) -> int | None:
    from smtptui.net.tls import cert_time_seconds

    try:
        return cert_time_seconds(value)
    except ValueError:
        return None


_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec", "jan", "FEB", "Foo", "Ja"]
_SPACE = st.sampled_from([" ", "  ", "\t", "", " \n "])
_NUMBER = st.one_of(st.integers(0, 99).map(str), st.integers(0, 99).map("{:02d}".format),
                    st.sampled_from([" 9", "٣", "", "x", "100", "-1"]))


@given(st.tuples(st.sampled_from(_MONTH_NAMES), _SPACE, _NUMBER, _SPACE, _NUMBER,
                 st.sampled_from([":", ".", ""]), _NUMBER, st.sampled_from([":", ""]),
                 _NUMBER, _SPACE, st.one_of(st.integers(0, 9999).map("{:04d}".format),
                                            st.sampled_from(["99", "20266", "٢٠٢٦"])),
                 _SPACE, st.sampled_from(["GMT", "gmt", "UTC", "GMT ", ""])).map("".join))
def test_certificate_times_are_read_as_ssl_reads_them(value: str) -> None:
    assert _mine(value) == _ssl_seconds(value)


@given(st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31)))
def test_every_openssl_time_is_read_as_ssl_reads_it(moment: datetime.datetime) -> None:
    # The form OpenSSL (and so getpeercert) writes: "Nov  9 08:45:31 2026 GMT".
    value = f"{moment:%b} {moment.day:2d} {moment:%H:%M:%S} {moment.year:04d} GMT"
    assert _mine(value) == _ssl_seconds(value) is not None


@pytest.mark.parametrize(("value", "iso"), [
    ("Nov 29 08:45:31 2026 GMT", "2026-11-29T08:45:31Z"),
    ("Feb 29 00:00:00 2024 GMT", "2024-02-29T00:00:00Z"),
    ("Feb 31 00:00:00 2026 GMT", "2026-03-03T00:00:00Z"),  # as calendar.timegm counts
    ("Jan  1 00:00:00 1970 GMT", "1970-01-01T00:00:00Z"),
    ("not a time", "not a time"),                           # shown as it came
])
def test_certificate_times_in_the_summary(value: str, iso: str) -> None:
    from smtptui.net.tls import _iso_time

    assert _iso_time(value) == iso

"""TLS for the client: the verifying context, and what a finished handshake tells us.

Verification is on by default (the system trust store, SNI and host name check). An
"insecure" context from :func:`make_tls_context` still tries a verified handshake first,
so the user learns *why* the certificate would have been rejected ("self-signed
certificate", "certificate has expired", ...); only then does the client continue
without verification (see :mod:`smtptui.net.client`).

The certificate summary of an unverified session is read from the DER bytes with the
standard library only (``ssl`` decodes certificates from a file, so the DER is written
to a private temporary file as PEM).
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import time

from smtptui.core.dates import MONTH_NAMES, days_since_epoch
from smtptui.core.frozen import fields, frozen
from smtptui.core.text import dotted_quad
from smtptui.net.connection import StartTLS
from smtptui.net.errors import printable

__all__ = [
    "StartTLS",
    "TLSInfo",
    "cert_summary",
    "default_context",
    "handshake_failure",
    "is_insecure",
    "make_tls_context",
    "session_info",
    "unverified_context",
    "verify_reason",
]

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any, Literal

    TLSMode = Literal["starttls", "implicit"]
else:
    TLSMode = str  # an annotation alias at run time

_INSECURE_MARK = "_smtptui_insecure"
_FIELD_LIMIT = 1024

# Short names of distinguished-name attributes, as OpenSSL prints them.
_DN_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "emailAddress": "emailAddress",
    "domainComponent": "DC",
    "serialNumber": "serialNumber",
}


@frozen
class TLSInfo:
    """What a completed TLS handshake established, for reports and ``--json``."""

    mode: TLSMode
    version: str
    """Protocol version, e.g. "TLSv1.3"."""
    cipher: str
    """Cipher suite name, e.g. "TLS_AES_256_GCM_SHA384"."""
    verified: bool
    verify_error: str | None
    """Why the certificate did not verify (None when verified)."""
    subject: str
    issuer: str
    san: tuple[str, ...]
    """subjectAltName entries, "DNS:mail.example.org" / "IP:192.0.2.1"."""
    not_before: str
    """ISO 8601 UTC, e.g. "2026-01-01T00:00:00Z" ("" when unknown)."""
    not_after: str
    bits: int | None = None
    """Secret bits of the cipher."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {name: getattr(self, name) for name in fields(self)}
        d["san"] = list(self.san)
        return d


def make_tls_context(*, cafile: str | None = None, insecure: bool = False) -> ssl.SSLContext:
    """A verifying client context: TLS 1.2+, host name check, SNI.

    Trust anchors: the system store, or -- with ``cafile`` -- only the CA certificates in
    that PEM file (as ``curl --cacert``, ``openssl s_client -CAfile`` and ``swaks
    --tls-ca-path`` do): a private CA is trusted without trusting every public CA too,
    and the system store (tens of milliseconds to load) is not read at all.
    ``insecure`` marks the context so the client falls back to an unverified session
    when verification fails (after recording why). Raises ValueError (one line naming
    the file) when ``cafile`` cannot be loaded.
    """
    if cafile is None:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    else:
        try:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
        except ssl.SSLError as exc:  # before OSError: SSLError is one
            raise ValueError(f"--cafile {cafile}: no PEM certificate in it "
                             f"({exc.reason or exc})") from None
        except FileNotFoundError:
            raise ValueError(f"--cafile {cafile}: no such file") from None
        except OSError as exc:
            raise ValueError(f"--cafile {cafile}: {exc.strerror or exc}") from None
    if insecure:
        setattr(ctx, _INSECURE_MARK, True)
    return ctx


def is_insecure(ctx: ssl.SSLContext) -> bool:
    """True for a context made with ``insecure=True`` (verify first, then fall back)."""
    return bool(getattr(ctx, _INSECURE_MARK, False))


@functools.cache
def default_context() -> ssl.SSLContext:
    """The verifying context used when the caller gives none (loaded once: the trust
    store costs milliseconds)."""
    return make_tls_context()


def unverified_context() -> ssl.SSLContext:
    """A client context that accepts any certificate (for the insecure fallback)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def verify_reason(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's words for a failed verification, as one lower-case line."""
    message = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    message = " ".join(str(message).split()).rstrip(".")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return message


def cert_summary(ssl_object: Any) -> dict[str, Any]:
    """subject, issuer, san, not_before, not_after of the peer certificate.

    Works for unverified sessions too (where ``getpeercert()`` returns nothing):
    the DER form is decoded with the standard library.
    """
    decoded: dict[str, Any] = {}
    try:
        decoded = ssl_object.getpeercert() or {}
    except (ValueError, ssl.SSLError):
        decoded = {}
    if not decoded:
        try:
            der = ssl_object.getpeercert(binary_form=True)
        except (ValueError, ssl.SSLError):
            der = None
        if der:
            decoded = decode_der_certificate(der)
    # Certificate text comes from the server: control characters are escaped here so no
    # front end can be tricked into writing them to a terminal.
    return {
        "subject": printable(_format_dn(decoded.get("subject", ())), _FIELD_LIMIT),
        "issuer": printable(_format_dn(decoded.get("issuer", ())), _FIELD_LIMIT),
        "san": tuple(printable(_format_san(kind, value), _FIELD_LIMIT)
                     for kind, value in decoded.get("subjectAltName", ())),
        "not_before": _iso_time(decoded.get("notBefore")),
        "not_after": _iso_time(decoded.get("notAfter")),
    }


def decode_der_certificate(der: bytes) -> dict[str, Any]:
    """Decode a DER certificate with the stdlib decoder (which reads files only)."""
    decoder = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decoder is None:
        return {}
    import tempfile  # only for unverified sessions: keep it off the common path

    pem = ssl.DER_cert_to_PEM_cert(der)
    fd, path = tempfile.mkstemp(prefix="smtptui-cert-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(pem)
        return decoder(path) or {}
    except (OSError, ssl.SSLError, ValueError):
        return {}
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _format_dn(rdns: Any) -> str:
    parts = []
    for rdn in rdns or ():
        for name, value in rdn:
            parts.append(f"{_DN_NAMES.get(name, name)}={value}")
    return ", ".join(parts)


def _format_san(kind: str, value: str) -> str:
    if kind == "IP Address":
        address = value.strip()
        if dotted_quad(address):
            return f"IP:{address}"  # already as ipaddress would write it
        import ipaddress  # IPv6 (OpenSSL writes it long: 0:0:0:0:0:0:0:1 is ::1)

        try:
            return f"IP:{ipaddress.ip_address(address)}"
        except ValueError:
            return f"IP:{address}"
    return f"{kind}:{value}"


# What ssl.cert_time_to_seconds accepts (its month, then strptime's " %d %H:%M:%S %Y GMT",
# where a space matches any run of white space), with the same ranges.
_CERT_TIME = re.compile(
    r"(?P<mon>.{3})\s+(?P<d>3[01]|[12]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[01]\d|\d):"
    r"(?P<M>[0-5]\d|\d):(?P<S>6[01]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)\s+GMT", re.IGNORECASE)


def cert_time_seconds(value: str) -> int:
    """``ssl.cert_time_to_seconds`` without what it imports (``time.strptime`` brings
    ``_strptime``, ``calendar``, ``datetime`` and ``locale``: milliseconds of every TLS
    probe). The same input is accepted with the same result, a day past the end of
    its month included (``Feb 31`` is 3 March, as ``calendar.timegm`` counts);
    ValueError for anything else."""
    match = _CERT_TIME.fullmatch(value)
    name = value[:3].title()
    month = MONTH_NAMES.index(name) + 1 if name in MONTH_NAMES else 0
    if match is None or not month:
        raise ValueError(f"time data {value!r} is not a certificate time")
    year, day = int(match["Y"]), int(match["d"])
    if year < 1:  # strptime checks the date with datetime, which has no year 0
        raise ValueError(f"time data {value!r}: year {year} is out of range")
    days = days_since_epoch(year, month, day)
    return ((days * 24 + int(match["H"])) * 60 + int(match["M"])) * 60 + int(match["S"])


def _iso_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        seconds = cert_time_seconds(value)
    except ValueError:
        return value
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# ----------------------------------------------------------- one policy for both drivers


def session_info(ssl_object: Any, ctx: ssl.SSLContext, mode: TLSMode, *,
                 verify_error: str | None = None) -> TLSInfo:
    """What a finished handshake established. ``verify_error``: why the verified
    handshake failed before the insecure fallback; otherwise the context says whether
    the certificate was checked (a context without verification or host name check
    never counts as verified)."""
    if verify_error is not None:
        verified = False
    elif ctx.verify_mode == ssl.CERT_NONE:
        verified, verify_error = False, "verification disabled"
    elif not ctx.check_hostname:
        verified, verify_error = False, "host name not checked"
    else:
        verified = True
    if ssl_object is None:
        return TLSInfo(mode, "", "", verified, verify_error, "", "", (), "", "")
    cipher = ssl_object.cipher() or ("", "", None)
    summary = cert_summary(ssl_object)
    return TLSInfo(
        mode=mode,
        version=ssl_object.version() or "",
        cipher=cipher[0] or "",
        verified=verified,
        verify_error=verify_error,
        subject=summary["subject"],
        issuer=summary["issuer"],
        san=summary["san"],
        not_before=summary["not_before"],
        not_after=summary["not_after"],
        bits=cipher[2],
    )


def established_note(info: TLSInfo) -> str:
    verdict = "verified" if info.verified else f"NOT verified: {info.verify_error}"
    return f"TLS established: {info.version} {info.cipher} ({verdict})"


def handshake_failure(step: str, exc: BaseException) -> tuple[str, str]:
    """A failed handshake (other than a certificate that did not verify) as (the note
    for the transcript, the reason of the TLSFailure)."""
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or exc).replace("_", " ").lower()
        hint = ""
        if step == "tls" and "wrong version number" in reason:
            hint = " (is this a plain SMTP port? try without implicit TLS)"
        return f"TLS handshake failed: {reason}", f"TLS handshake failed: {reason}{hint}"
    if isinstance(exc, OSError):
        from smtptui.net.connection import os_reason

        reason = os_reason(exc)
    else:
        reason = "unexpected end of stream"
    return f"TLS handshake failed: {reason}", f"TLS handshake failed: {reason}"

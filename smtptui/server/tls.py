"""The STARTTLS certificate: self-signed, generated on first use, kept in the data dir.

Made with the ``cryptography`` library, never by running a program: a host name goes
into the certificate as data, so no world value can become a command-line argument.
The world loader has already refused names a certificate cannot hold. The directory is
0700 and the files 0600: the key never leaves the user's data directory.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

from smtptui.core.text import ip_literal
from smtptui.server.storage import safe_name


class TLSSetupError(RuntimeError):
    """No certificate could be made or loaded (an unwritable data dir, a broken file)."""


def cert_paths(hostname: str, directory: Path) -> tuple[Path, Path]:
    stem = safe_name(hostname.lower())
    return directory / f"{stem}.crt", directory / f"{stem}.key"


def ensure_certificate(hostname: str, directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for ``hostname``, created if missing."""
    cert, key = cert_paths(hostname, directory)
    if cert.exists() and key.exists():
        return cert, key
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _make(hostname, cert, key)
    except (OSError, ValueError) as exc:
        raise TLSSetupError(f"cannot make a STARTTLS certificate for {hostname!r} in "
                            f"{directory}: {exc}") from exc
    return cert, key


def _write_private(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _make(hostname: str, cert: Path, key: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    pkey = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smtptui teaching server")])
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                    x509.IPAddress(ipaddress.ip_address("::1"))]
    literal = ip_literal(hostname) if hostname.startswith("[") else None
    if literal is not None:
        if not any(isinstance(n, x509.IPAddress) and n.value == literal for n in sans):
            sans.insert(0, x509.IPAddress(literal))
    elif hostname.lower() != "localhost":
        sans.insert(0, x509.DNSName(hostname))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(pkey.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(pkey, hashes.SHA256())
    )
    _write_private(key, pkey.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    _write_private(cert, certificate.public_bytes(serialization.Encoding.PEM))


def server_context(hostname: str, directory: Path) -> ssl.SSLContext:
    cert, key = ensure_certificate(hostname, directory)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TLSSetupError(f"cannot load the STARTTLS certificate {cert}: {exc}") from exc
    return ctx

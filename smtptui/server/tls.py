"""The STARTTLS certificate: self-signed, generated on first use, kept in the data dir.

Uses the ``cryptography`` package when it is installed, otherwise the ``openssl``
command line; the key never leaves the user's data directory (mode 0600).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

from smtptui.server.storage import safe_name


class TLSSetupError(RuntimeError):
    """No certificate could be made (neither cryptography nor openssl available)."""


def cert_paths(hostname: str, directory: Path) -> tuple[Path, Path]:
    stem = safe_name(hostname.lower())
    return directory / f"{stem}.crt", directory / f"{stem}.key"


def ensure_certificate(hostname: str, directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for ``hostname``, created if missing."""
    cert, key = cert_paths(hostname, directory)
    if cert.exists() and key.exists():
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    try:
        _with_cryptography(hostname, cert, key)
    except ImportError:
        _with_openssl(hostname, cert, key)
    return cert, key


def _write_private(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _with_cryptography(hostname: str, cert: Path, key: Path) -> None:
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
    if not hostname.startswith("[") and hostname.lower() != "localhost":
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
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _with_openssl(hostname: str, cert: Path, key: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise TLSSetupError("cannot make a STARTTLS certificate: install the 'cryptography' "
                            "package or the openssl command")
    san = "DNS:localhost,IP:127.0.0.1,IP:::1"
    if not hostname.startswith("["):
        san = f"DNS:{hostname}," + san
    tmpkey = key.with_suffix(".tmp")
    subprocess.run(
        [exe, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(tmpkey), "-out", str(cert), "-days", "3650",
         "-subj", f"/CN={hostname[:64]}/O=smtptui teaching server", "-addext",
         f"subjectAltName={san}"],
        check=True, capture_output=True, timeout=60)
    os.chmod(tmpkey, 0o600)
    os.replace(tmpkey, key)


def server_context(hostname: str, directory: Path) -> ssl.SSLContext:
    cert, key = ensure_certificate(hostname, directory)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx

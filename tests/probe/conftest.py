"""Fixtures for the probe tests: real servers on loopback only.

- ``tls_files``: a trustme CA and a server certificate for localhost / 127.0.0.1 /
  mx1.lab.test, written to files (the CA file is the ``--cafile`` trust anchor).
- aiosmtpd servers started in-process (plain, STARTTLS, implicit TLS, STARTTLS + AUTH).
- ``raw_server``: a bare asyncio server driven by a per-test coroutine, for misbehaving
  servers (garbage greeting, silence, EHLO refused, escape sequences in the banner).
- ``postfix``: the real MTA (session-scoped), skipped with a visible reason when absent.
- ``dnsmasq``: the DNS developer's launcher from tests/dns/dnsmasq.py, serving a zone whose
  MX hosts point at 127.0.0.1.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import ssl
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import AuthResult

from tests.helpers.rawserver import Handler, RawServer, raw_servers

from .postfix import PostfixError, PostfixInstance, free_port, unavailable_reason

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CERT_NAMES = ("localhost", "127.0.0.1", "mx1.lab.test", "mx2.lab.test")


@dataclass(frozen=True)
class TLSFiles:
    ca: trustme.CA
    cafile: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


@pytest.fixture(scope="session")
def tls_files() -> Iterator[TLSFiles]:
    ca = trustme.CA(organization_name="smtptui test CA")
    cert = ca.issue_cert(*CERT_NAMES)
    # Not pytest's tmp_path: Postfix (as its own user) must be able to read the directory.
    d = Path(tempfile.mkdtemp(prefix="smtptui-tls-"))
    os.chmod(d, 0o755)
    cafile, cert_file, key_file = d / "ca.pem", d / "cert.pem", d / "key.pem"
    ca.cert_pem.write_to_path(cafile)
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    os.chmod(key_file, 0o600)
    yield TLSFiles(ca, cafile, cert_file, key_file)
    for f in (cafile, cert_file, key_file):
        f.unlink(missing_ok=True)
    d.rmdir()


# ----------------------------------------------------------------------------- aiosmtpd


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _start(controller: Controller) -> Controller:
    controller.start()
    return controller


class _Auth:
    """Accept any credentials (we only need AUTH to be advertised after TLS)."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        return AuthResult(success=True)


def _free_port6() -> int:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return int(s.getsockname()[1])


def _controller(tls: TLSFiles | None = None, *, implicit: bool = False, auth: bool = False,
                ident: str | None = None, hostname: str = "mx.test.example",
                bind: str = "127.0.0.1") -> Controller:
    kwargs: dict[str, object] = {}
    if tls is not None and not implicit:
        kwargs["tls_context"] = tls.server_context()
    if auth:
        kwargs["authenticator"] = _Auth()
        kwargs["auth_require_tls"] = True
    if ident is not None:
        kwargs["ident"] = ident
    return Controller(
        Sink(), hostname=bind, port=_free_port6() if ":" in bind else free_port(),
        server_hostname=hostname,
        ssl_context=tls.server_context() if (tls is not None and implicit) else None,
        **kwargs,
    )


@pytest.fixture(scope="module")
def plain_server() -> Iterator[Server]:
    c = _start(_controller())
    yield Server(c.hostname, c.port)
    c.stop()


@pytest.fixture(scope="module")
def starttls_server(tls_files: TLSFiles) -> Iterator[Server]:
    c = _start(_controller(tls_files, auth=True))
    yield Server(c.hostname, c.port)
    c.stop()


@pytest.fixture(scope="module")
def smtps_server(tls_files: TLSFiles) -> Iterator[Server]:
    c = _start(_controller(tls_files, implicit=True))
    yield Server(c.hostname, c.port)
    c.stop()


@pytest.fixture
def server_factory() -> Iterator[Callable[..., Server]]:
    """Start extra aiosmtpd servers inside one test (stopped after it)."""
    started: list[Controller] = []

    def make(**kw: object) -> Server:
        c = _start(_controller(**kw))  # type: ignore[arg-type]
        started.append(c)
        return Server(c.hostname, c.port)

    yield make
    for c in started:
        c.stop()


# --------------------------------------------------------------------------- raw server

@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    yield from raw_servers()


# ------------------------------------------------------------------------------ postfix


@pytest.fixture(scope="session")
def postfix(tls_files: TLSFiles) -> Iterator[PostfixInstance]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"real Postfix tests skipped: {reason}")
    inst = PostfixInstance.create(tls_files.cert_file, tls_files.key_file)
    atexit.register(inst.stop)  # a second net if the session dies before teardown (idempotent)
    try:
        inst.start()
    except PostfixError as exc:
        inst.stop()
        pytest.fail(f"private postfix did not start: {exc}")
    try:
        yield inst
    finally:
        inst.stop()


# ------------------------------------------------------------------------------ dnsmasq


def load_dnsmasq_launcher() -> object | None:
    """tests/dns/dnsmasq.py (the DNS developer's launcher), loaded by path, or None."""
    path = ROOT / "tests" / "dns" / "dnsmasq.py"
    if not path.exists():
        return None
    name = "_smtptui_tests_dnsmasq"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The zone the probe tests resolve through: lab.test has two exchangers (preferences 10
# and 20), both on 127.0.0.1, whose PTR names mx1.lab.test (the banner host of the test
# servers); nullmx.test has a null MX (RFC 7505); anything else under .test is NXDOMAIN.
PROBE_ZONE = """\
mx-host=lab.test,mx1.lab.test,10
mx-host=lab.test,mx2.lab.test,20
host-record=mx1.lab.test,127.0.0.1
host-record=mx2.lab.test,127.0.0.1
mx-host=nullmx.test,.,0
mx-host=ghost.test,nowhere.ghost.test,10
txt-record=nomail.test,"exists, but has neither MX nor address records"
"""


@pytest.fixture(scope="session")
def dnsmasq() -> Iterator[object]:
    """A real dnsmasq serving PROBE_ZONE on a free loopback port (``.resolver_arg``)."""
    launcher = load_dnsmasq_launcher()
    if launcher is None:
        pytest.skip("tests/dns/dnsmasq.py (the dnsmasq launcher) is missing")
    reason = launcher.unavailable_reason()  # type: ignore[attr-defined]
    if reason:
        pytest.skip(f"real DNS tests skipped: {reason}")
    server = launcher.DnsmasqServer(zone=PROBE_ZONE)  # type: ignore[attr-defined]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def lab_server(tls_files: TLSFiles) -> Iterator[Server]:
    """aiosmtpd calling itself mx1.lab.test, with STARTTLS (the MX tests' server)."""
    c = _start(_controller(tls_files, hostname="mx1.lab.test"))
    yield Server(c.hostname, c.port)
    c.stop()

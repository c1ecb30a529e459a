"""Fixtures for the session layer: real servers on loopback only.

The embedded teaching server runs on the test's own loop (as the app runs it); aiosmtpd
and the raw servers run in their own threads; the private Postfix and the CA come from
the probe tests' fixtures. Every test gets its own user data directory, so autosave,
history and the embedded server's certificate never touch the developer's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.rawserver import Handler, RawServer, raw_servers
from tests.probe.conftest import dnsmasq, postfix, tls_files  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "smtptui"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    yield from raw_servers()

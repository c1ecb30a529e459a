"""Fixtures for the shell: every test gets its own user data directory (autosave, history
and the embedded server's certificate never touch the developer's own)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.rawserver import Handler, RawServer, raw_servers


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "smtptui"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    yield from raw_servers()

"""Fixtures for the app's tests: every test gets its own user data directory (autosave,
history and errors.log land there), and servers are loopback only: the embedded teaching
server (in-process, on the app's own loop), aiosmtpd, and the CI Postfix."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.probe.conftest import (  # noqa: F401 - fixtures shared with the probe tests
    plain_server,
    postfix,
    starttls_server,
    tls_files,
)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home / "smtptui"


async def until(pilot, condition: Callable[[], object], what: str = "",
                timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds (a wait, not a timing check: the
    deadline is only there so a broken test fails instead of hanging)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)

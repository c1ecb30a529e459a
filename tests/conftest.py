"""Settings shared by the whole suite.

Hypothesis's per-example deadline (200 ms by default) is a timing assertion in disguise:
on a loaded machine it fails property tests that are correct. The suite asserts
behaviour, never speed (speed is measured in bench/), so no deadline.

Under CI (``CI=true``), a test skipped because a real server or tool it needs is
missing (Postfix, dnsmasq, swaks, openssl) fails instead: `.ci/run` installs them, so
such a skip means a broken install, which must not pass green. On a developer's
machine the skip stays a skip, with its reason.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

settings.register_profile("smtptui", deadline=None)
settings.load_profile("smtptui")

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
_NEEDS_INSTALL = re.compile(r"postfix|dnsmasq|swaks|openssl|real dns", re.IGNORECASE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped):
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(
        report.longrepr)
    if _NEEDS_INSTALL.search(reason):
        report.outcome = "failed"
        report.longrepr = (f"CI=true: a required server or tool is missing, so this test "
                           f"fails instead of skipping: {reason}")


# The suite must leave the machine as it found it: a test (or the code under test) that
# loosens or tightens a shared directory breaks every other program on the machine (a
# private Postfix cannot start when /tmp is 0700). Checked at the end of every run.
_SHARED_PATHS = ("/tmp", "/dev", "/dev/null")


def _modes() -> dict[str, int]:
    return {p: os.stat(p).st_mode for p in _SHARED_PATHS if os.path.exists(p)}


_MODES_AT_START = _modes()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    changed = {p: (oct(_MODES_AT_START[p]), oct(m)) for p, m in _modes().items()
               if p in _MODES_AT_START and m != _MODES_AT_START[p]}
    if changed:
        session.config.get_terminal_writer().line(
            f"the test run changed the mode of shared paths: {changed}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""Under CI=true a missing real server fails the test instead of skipping it."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()

TESTS = '''
import pytest

def test_needs_postfix():
    pytest.skip("real Postfix tests skipped: postfix is not installed")

def test_needs_ipv6():
    pytest.skip("no IPv6 loopback here")
'''


@pytest.mark.parametrize(("ci", "failed", "skipped"), [("true", 1, 1), ("", 0, 2)])
def test_missing_server_fails_only_under_ci(pytester: pytest.Pytester,
                                            monkeypatch: pytest.MonkeyPatch,
                                            ci: str, failed: int, skipped: int) -> None:
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST.replace('pytest_plugins = ["pytester"]', ""))
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=failed, skipped=skipped)

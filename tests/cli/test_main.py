"""The ``smtptui`` entry point: --version, --help, usage errors, ``python -m smtptui``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from smtptui import __version__
from smtptui.cli import SUBCOMMANDS


def smtptui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smtptui", *args], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def test_version() -> None:
    p = smtptui("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"smtptui {__version__}\n", "")


def test_console_script_is_installed() -> None:
    exe = shutil.which("smtptui")
    assert exe is not None, "pip install -e '.[test]' installs the smtptui console script"
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 0 and p.stdout.strip() == f"smtptui {__version__}"


def test_help_lists_every_subcommand_with_one_line() -> None:
    p = smtptui("--help")
    assert p.returncode == 0 and p.stderr == ""
    lines = p.stdout.splitlines()
    for name, (_module, summary) in SUBCOMMANDS.items():
        (row,) = [line for line in lines if line.split()[:1] == [name]]
        assert row.split(None, 1)[1] == summary
        assert "\n" not in summary and len(summary) < 70
    assert set(SUBCOMMANDS) >= {"check", "explain"}


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_subcommand_has_help(name: str) -> None:
    p = smtptui(name, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"usage: smtptui {name}")


def test_no_subcommand_prints_help_and_exits_2() -> None:
    p = smtptui()
    assert p.returncode == 2 and "check" in p.stdout


@pytest.mark.parametrize("args", [["frobnicate"], ["check"], ["check", "--rfc", "822", "x"],
                                  ["explain"], ["--bogus"]])
def test_usage_errors_exit_2_with_one_line_no_traceback(args: list[str]) -> None:
    p = smtptui(*args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    errors = [line for line in p.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("smtptui")

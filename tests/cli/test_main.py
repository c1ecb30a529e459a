"""The ``smtptui`` entry point: --version, --help, usage errors, ``python -m smtptui``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from smtptui import __version__
from smtptui.cli import SUBCOMMANDS


def smtptui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smtptui", *args], capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def entry_with(prelude: str, *argv: str, timeout: float = 60
               ) -> subprocess.CompletedProcess[str]:
    """``python -c``: ``prelude``, then the console script's :func:`entry` with ``argv``."""
    code = (f"{prelude}\nimport sys\nsys.argv = ['smtptui', *{list(argv)!r}]\n"
            "from smtptui.cli import entry\nentry()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "NO_COLOR": "1"})


def test_version() -> None:
    p = smtptui("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"smtptui {__version__}\n", "")


def test_console_script_is_installed() -> None:
    exe = shutil.which("smtptui")
    assert exe is not None, "pip install -e '.[test]' installs the smtptui console script"
    p = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                       check=False)
    assert p.returncode == 0 and p.stdout.strip() == f"smtptui {__version__}"


# ------------------------------------------------- the quick exit (cli.entry) keeps it all


def test_quick_exit_keeps_the_status_and_every_line_written_to_a_pipe() -> None:
    lines = "".join(f"{'NOOP' if i % 2 else 'FOO'} {i}\n" for i in range(4000))
    p = subprocess.run([sys.executable, "-m", "smtptui", "check", "-"], input=lines,
                       capture_output=True, text=True, timeout=60, check=False,
                       env={**os.environ, "NO_COLOR": "1"})
    assert p.returncode == 1 and p.stderr == ""  # FOO is an error: status 1, as main()
    out = p.stdout.splitlines()
    assert out[0] == "1: FOO 0" and out[-1] == "4000: ok  NOOP 3999"  # the last line too
    assert [int(line.split(":")[0]) for line in out if line[:1].isdigit()] == list(
        range(1, 4001))


def test_quick_exit_runs_atexit_handlers() -> None:
    p = entry_with("import atexit\n"
                   "atexit.register(lambda: print('atexit ran', flush=True))",
                   "explain", "250")
    assert p.returncode == 0 and p.stderr == ""
    assert "250" in p.stdout and p.stdout.endswith("atexit ran\n")


@pytest.mark.parametrize(("daemon", "printed"), [(True, ""), (False, "thread done\n")])
def test_quick_exit_leaves_daemon_threads_and_waits_for_the_others(daemon: bool,
                                                                     printed: str) -> None:
    # A daemon thread (an abandoned name resolution) does not hold the exit; any other
    # thread is waited for, as Python would.
    p = entry_with("import threading, time\n"
                   f"threading.Thread(target=lambda: (time.sleep({30 if daemon else 0.5}), "
                   f"print('thread done', flush=True)), daemon={daemon}).start()",
                   "explain", "250", timeout=20)
    assert p.returncode == 0 and p.stderr == ""
    assert "250" in p.stdout and p.stdout.endswith("\n" + printed if printed else "\n")
    assert ("thread done" in p.stdout) is (not daemon)


def test_quick_exit_after_the_reader_went_away_is_quiet(tmp_path: Path) -> None:
    # `smtptui check - < many-lines | head -c 1`: the reader goes away while the output
    # (much more than a pipe holds) is still being written.
    lines = tmp_path / "lines"
    lines.write_bytes(b"FOO\n" * 20000)
    r, w = os.pipe()
    with lines.open("rb") as stdin:
        proc = subprocess.Popen([sys.executable, "-m", "smtptui", "check", "-"],
                                stdin=stdin, stdout=w, stderr=subprocess.PIPE,
                                env={**os.environ, "NO_COLOR": "1"})
    os.close(w)
    os.read(r, 1)
    os.close(r)
    _out, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err, err
    assert proc.returncode == 0  # what main() says of a closed pipe


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


def test_the_console_script_collects_garbage_in_larger_batches() -> None:
    p = entry_with("import atexit, gc\n"
                   "atexit.register(lambda: print('threshold', gc.get_threshold()[0], "
                   "flush=True))", "explain", "250")
    assert p.returncode == 0 and p.stdout.endswith("threshold 10000\n")

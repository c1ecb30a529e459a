"""Whatever a user points smtptui at -- ``/dev/zero``, an endless line, a script with a
bare CR -- the answer is one line and an exit status, within bounded memory and time,
never a traceback (issue: reliability, items 6 and 7)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

MEMORY_CAP = 512 * 1024 * 1024  # address space of the child: a MemoryError, not the OOM


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def smtptui(*args: str, stdin=None, input: bytes | None = None,
            tmp: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"XDG_DATA_HOME": str(tmp / "data"), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "smtptui", *args], stdin=stdin, input=input,
                          capture_output=True, timeout=60, env=env, preexec_fn=_cap,
                          check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode,
                                       proc.stdout.decode("utf-8", "replace"),
                                       proc.stderr.decode("utf-8", "replace"))


def one_line(text: str) -> str:
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize(("args", "message"), [
    (("run", "/dev/zero"), "smtptui run: /dev/zero: the script is longer than"),
    (("serve", "--world", "/dev/zero"), "smtptui serve: /dev/zero: the world file is longer"),
    (("run", "x.smtp", "--world", "/dev/zero"), None),
    (("lessons", "--check", "/dev/zero"), "/dev/zero:1:1: larger than"),
])
def test_dev_zero_as_a_file(args: tuple[str, ...], message: str | None, tmp_path: Path) -> None:
    if args[1] == "x.smtp":
        script = tmp_path / "x.smtp"
        script.write_text("S: 220 x\nC: QUIT\nS: 221 bye\n")
        args = ("run", str(script), "--world", "/dev/zero")
        message = "/dev/zero: the world file is longer than"
    proc = smtptui(*args, tmp=tmp_path)
    assert proc.returncode in (1, 2)
    assert message in one_line(proc.stderr)


@pytest.mark.parametrize(("args", "message"), [
    (("check", "-"), "smtptui check: <stdin>:1: line longer than 1048576 octets"),
    (("explain", "-"), "explain: <stdin>: more than"),
    (("run", "-"), "smtptui run: <stdin>: the script is longer than"),
])
def test_dev_zero_on_stdin(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zero:
        proc = smtptui(*args, stdin=zero, tmp=tmp_path)
    assert proc.returncode == 2
    assert message in one_line(proc.stderr)


def test_check_reads_lines_until_the_endless_one(tmp_path: Path) -> None:
    data = b"NOOP\r\nHELO ok.example\r\n" + b"A" * (100 * 1024 * 1024)
    proc = smtptui("check", "-", input=data, tmp=tmp_path)
    assert proc.returncode == 2
    assert "<stdin>:3: line longer than 1048576 octets" in one_line(proc.stderr)
    assert proc.stdout.count("\n") >= 2, "the lines before it were checked and shown"


def test_bare_cr_in_a_script_line_is_a_script_error(tmp_path: Path) -> None:
    script = tmp_path / "cr.smtp"
    script.write_bytes(b"S: 220 x\nC: EHLO a\rMAIL FROM:<x@y>\nS: 250 ok\n")
    proc = smtptui("run", str(script), "127.0.0.1:9", tmp=tmp_path)  # never connected
    assert proc.returncode == 2
    assert one_line(proc.stderr) == (f"smtptui run: {script}:2: a bare CR at column 10: a "
                                     "line cannot contain CR (RFC 5321 §2.3.8); split it "
                                     "into two lines")


def test_empty_target_is_a_usage_error(tmp_path: Path) -> None:
    script = tmp_path / "ok.smtp"
    script.write_text("S: 220 x\nC: QUIT\nS: 221 bye\n")
    proc = smtptui("run", str(script), "", tmp=tmp_path)
    assert proc.returncode == 2
    assert "TARGET is empty" in one_line(proc.stderr)

"""Run a real smtptui command in a subprocess against a hostile server: bounded in
time, its peak memory measured by the kernel (``wait4``'s ``ru_maxrss``), its output
kept for the checks. Loopback only."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT_MB = 150
"""Peak RSS allowed for one command (an idle ``probe`` is ~40 MB). The bugs this
guards against took gigabytes."""

SCRIPT = """\
S: 220 hostile.test ESMTP hostile
C: EHLO client.test
S: 250 hostile.test
C: MAIL FROM:<a@client.test>
S: 250 ok
C: RCPT TO:<b@hostile.test>
S: 250 ok
C: DATA
S: 354 go ahead
C: Subject: hostile
C:
C: hello
C: .
S: 250 queued
C: QUIT
S: 221 bye
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one command ended."""

    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    peak_mb: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_command(args: list[str], timeout: float) -> Outcome:
    """``python -m smtptui ARGS`` with output to files (a 10,000-line report must not
    block on a full pipe); killed at ``timeout``.

    Peak memory is the kernel's high-water mark of the process's own address space
    (``VmHWM``), read every few milliseconds while it runs. ``ru_maxrss`` would not
    do: it keeps the high-water mark of the pytest process the child was forked from.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="100")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "smtptui", *args], stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        limit = (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT)
        resource.prlimit(proc.pid, resource.RLIMIT_AS, limit)  # while it still imports
        deadline = time.monotonic() + timeout
        peak_kb = 0
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            peak_kb = max(peak_kb, _hwm_kb(status))
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                proc.returncode = None
                break
            time.sleep(0.005)
        out.seek(0)
        err.seek(0)
        return Outcome(proc.returncode, out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), peak_kb / 1024)


ADDRESS_SPACE_LIMIT = 2 << 30
"""A command that fails the memory check still must not take the machine with it
(an unbounded read of /dev/zero reached 18 GB): past this it gets MemoryError."""


def _hwm_kb(status: Path) -> int:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):  # it just exited
        pass
    return 0


def terminal_unsafe(text: str) -> list[str]:
    """Characters in ``text`` that would act on a terminal (newline and tab aside)."""
    return sorted({repr(c) for c in text if not c.isprintable() and c not in "\n\t"})

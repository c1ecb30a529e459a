#!/usr/bin/env python3
"""Benchmark ``smtptui shell`` against its peers, on loopback only; ratios from one run.

1. Pipe mode, whole process: ``printf 'EHLO bench.test\\nQUIT\\n' | smtptui shell
   127.0.0.1:PORT`` vs ``swaks --server 127.0.0.1:PORT --quit-after EHLO`` against the
   same aiosmtpd server. Median of N interleaved runs. Target: smtptui/swaks <= 1.0.
2. Interactive start-up: time from exec until the first prompt is drawn on a pseudo-
   terminal, ``smtptui shell 127.0.0.1:PORT`` vs a bare ``PromptSession().prompt()``
   program on the same interpreter. Target: <= 1.3.

Run it with the interpreter of a fresh virtual environment holding a plain (not
editable) install of this tree, e.g.::

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install -q .
    /tmp/bench-venv/bin/python bench/shell.py [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _probe_bench():  # type: ignore[no-untyped-def]
    """bench/probe.py's helpers (server, console script, timing), loaded by path."""
    spec = importlib.util.spec_from_file_location("_bench_probe", HERE / "probe.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BARE_PROMPT = "from prompt_toolkit import PromptSession\nPromptSession().prompt('bare> ')\n"


def timed_pipe(argv: Sequence[str], stdin: bytes, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=60, check=False,
                          env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-1500:]!r}{proc.stderr[-1500:]!r}")
    return elapsed


def time_to_prompt(argv: Sequence[str], marker: bytes, env: dict[str, str]) -> float:
    """Seconds from spawn until ``marker`` (the prompt text) is written to the terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec the program on the pty
        os.execvpe(argv[0], list(argv), env)
    start = time.perf_counter()
    seen = b""
    try:
        while marker not in seen:
            ready, _, _ = select.select([fd], [], [], 30)
            if not ready:
                raise SystemExit(f"bench: no prompt from {' '.join(argv)}: {seen[-500:]!r}")
            try:
                data = os.read(fd, 65536)
            except OSError:
                raise SystemExit(f"bench: {' '.join(argv)} ended: {seen[-500:]!r}") from None
            if b"\x1b[6n" in data:  # answer the cursor position request like a terminal
                os.write(fd, b"\x1b[1;1R")
            seen += data
        return time.perf_counter() - start
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per client (median)")
    args = ap.parse_args()
    if not shutil.which("swaks"):
        print("bench: swaks is not installed (apt-get install swaks)", file=sys.stderr)
        return 2
    probe = _probe_bench()
    env = probe.bytecode_env() if (HERE.parent / "smtptui").exists() else dict(os.environ)
    env = {**env, "NO_COLOR": "1", "TERM": "xterm", "XDG_DATA_HOME": "/tmp/smtptui-bench-xdg"}
    smtptui = probe.smtptui_cmd()
    port = probe.free_port()
    target = f"127.0.0.1:{port}"
    with probe.aiosmtpd_servers([port], None):
        pipe_cmds = {
            "smtptui shell (pipe)": (smtptui + ["shell", target], b"EHLO bench.test\nQUIT\n"),
            "swaks --quit-after EHLO": (["swaks", "--server", target, "--quit-after", "EHLO",
                                         "--helo", "bench.test"], b""),
            "python -c pass": ([sys.executable, "-c", "pass"], b""),
            "python -c 'import asyncio, ssl'": ([sys.executable, "-c", "import asyncio, ssl"],
                                                b""),
        }
        prompt_cmds = {
            "smtptui shell (first prompt)": (smtptui + ["shell", target, "--no-autosave"],
                                             b"smtp["),
            "bare PromptSession().prompt()": ([sys.executable, "-c", BARE_PROMPT], b"bare>"),
        }
        samples: dict[str, list[float]] = {name: [] for name in [*pipe_cmds, *prompt_cmds]}
        for _ in range(args.runs + 1):  # the first round warms caches and is dropped
            for name, (argv, stdin) in pipe_cmds.items():
                samples[name].append(timed_pipe(argv, stdin, env))
            for name, (argv, marker) in prompt_cmds.items():
                samples[name].append(time_to_prompt(argv, marker, env))
    med = {name: statistics.median(v[1:]) for name, v in samples.items()}
    print(f"server: aiosmtpd (subprocess) on {target}; {args.runs} runs each, interleaved, "
          "median wall time")
    print(f"smtptui command: {' '.join(smtptui)}  interpreter: {sys.executable}")
    for name, value in med.items():
        print(f"   {name:<34}{value * 1000:8.1f} ms")
    pipe_ratio = med["smtptui shell (pipe)"] / med["swaks --quit-after EHLO"]
    prompt_ratio = med["smtptui shell (first prompt)"] / med["bare PromptSession().prompt()"]
    floor = med["python -c 'import asyncio, ssl'"] / med["swaks --quit-after EHLO"]
    print(f"1. pipe mode EHLO+QUIT / swaks: {pipe_ratio:.2f}   target <= 1.00: "
          f"{'met' if pipe_ratio <= 1 else 'MISSED'}  (python + asyncio + ssl alone: "
          f"{floor:.2f} x swaks)")
    print(f"2. first prompt / bare PromptSession: {prompt_ratio:.2f}   target <= 1.30: "
          f"{'met' if prompt_ratio <= 1.3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

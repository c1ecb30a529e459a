#!/usr/bin/env python3
"""Benchmark ``smtptui send`` against swaks and smtplib, on loopback only.

1. A small test message, whole process: ``smtptui send --to ... --server ...`` vs
   ``swaks --to ... --server ...`` (plain, and with STARTTLS: ``--tls`` for swaks), with
   ``python -c pass`` and ``python -c 'import asyncio, ssl'`` as the floor. Median of N
   interleaved runs. Target: smtptui/swaks <= 1.0.
2. A 20 MB attachment: ``smtptui send --attach`` vs ``swaks --attach`` vs a Python script
   building the message with ``email`` and sending it with ``smtplib.sendmail``; wall time
   and peak RSS of each process (``os.wait4``). Target: smtptui at least as fast as the
   faster, memory flat (peak RSS well under the attachment size).

The server is a private Postfix (tests/probe/postfix.py) when possible, else aiosmtpd in
a subprocess (bench/probe.py's helpers). Usage::

    python bench/send.py [--runs 15] [--big-runs 3] [--server auto|postfix|aiosmtpd]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SMTPLIB_SEND = """
import smtplib, sys
from email.message import EmailMessage
port, path = int(sys.argv[1]), sys.argv[2]
msg = EmailMessage()
msg["From"], msg["To"], msg["Subject"] = "bench@client.test", "sink@lab.test", "bench"
msg.set_content("attached")
with open(path, "rb") as f:
    msg.add_attachment(f.read(), maintype="application", subtype="octet-stream",
                       filename="big.bin")
with smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test") as s:
    s.sendmail("bench@client.test", ["sink@lab.test"], msg.as_bytes())
"""


def _probe_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("_bench_probe", ROOT / "bench" / "probe.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one whole process; fails loudly on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({proc.returncode}): {err[-800:]}")
    return elapsed, usage.ru_maxrss


def medians(commands: dict[str, list[str]], runs: int,
            env: dict[str, str]) -> dict[str, tuple[float, int]]:
    for argv in commands.values():
        run_once(argv, env)  # warm-up
    samples: dict[str, list[tuple[float, int]]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_once(argv, env))
    return {k: (statistics.median(t for t, _ in v), max(r for _, r in v))
            for k, v in samples.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--big-runs", type=int, default=3)
    ap.add_argument("--server", choices=("auto", "postfix", "aiosmtpd"), default="auto")
    args = ap.parse_args()
    pb = _probe_bench()
    swaks = shutil.which("swaks")
    if swaks is None:
        raise SystemExit("bench: swaks is not installed")
    env = pb.bytecode_env()
    smtptui = pb.smtptui_cmd()
    py = sys.executable
    with pb.certificates() as certs, pb.single_server(args.server, certs) as (what, port):
        server = f"127.0.0.1:{port}"
        to = "sink@lab.test"
        print(f"server: {what}\n")
        small = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import asyncio, ssl'": [py, "-c", "import asyncio, ssl"],
            "swaks (plain)": [swaks, "--to", to, "--server", server, "--helo", "bench.test"],
            "smtptui send (plain)": [*smtptui, "send", "--to", to, "--server", server,
                                     "--starttls", "no", "--ehlo", "bench.test"],
            "swaks --tls": [swaks, "--to", to, "--server", server, "--tls", "--helo",
                            "bench.test", "--tls-ca-path", certs.cafile],
            "smtptui send (STARTTLS)": [*smtptui, "send", "--to", to, "--server", server,
                                        "--cafile", certs.cafile, "--ehlo", "bench.test"],
        }
        got = medians(small, args.runs, env)
        print(f"1. small message, whole process, median of {args.runs}:")
        for name, (t, _) in got.items():
            print(f"   {name:<34} {t * 1000:7.1f} ms")
        for kind in ("plain", "STARTTLS"):
            ref = "swaks (plain)" if kind == "plain" else "swaks --tls"
            ratio = got[f"smtptui send ({kind})"][0] / got[ref][0]
            print(f"   smtptui/swaks {kind:<9} {ratio:5.2f}x  (target <= 1.0: "
                  f"{'met' if ratio <= 1.0 else 'MISSED'})")
        d = tempfile.mkdtemp(prefix="smtptui-bench-send-")
        try:
            big = Path(d) / "big.bin"
            with open(big, "wb") as f:
                for _ in range(20):
                    f.write(os.urandom(1024 * 1024))
            heavy = {
                "smtptui send --attach": [*smtptui, "send", "--to", to, "--server", server,
                                          "--starttls", "no", "--attach", str(big)],
                "swaks --attach": [swaks, "--to", to, "--server", server,
                                   "--attach", f"@{big}", "--attach-type",
                                   "application/octet-stream"],
                "smtplib.sendmail": [py, "-c", SMTPLIB_SEND, str(port), str(big)],
            }
            got = medians(heavy, args.big_runs, env)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        print(f"\n2. 20 MB attachment, median of {args.big_runs} (peak RSS of the process):")
        for name, (t, rss) in got.items():
            print(f"   {name:<34} {t * 1000:7.0f} ms   {rss / 1024:6.1f} MiB")
        faster = min(got["swaks --attach"][0], got["smtplib.sendmail"][0])
        ratio = faster / got["smtptui send --attach"][0]
        print(f"   speed vs the faster peer {ratio:5.2f}x (target >= 1.0: "
              f"{'met' if ratio >= 1.0 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark ``smtptui probe`` against its peers, on loopback only.

1. One probe, whole process: ``smtptui probe 127.0.0.1:PORT`` vs
   ``swaks --server 127.0.0.1:PORT --quit-after EHLO`` vs a Python ``smtplib``
   connect/EHLO/QUIT script, against the same local server, plain and with STARTTLS
   (every client verifies the certificate against the same test CA). Median of N runs,
   interleaved so drift hits every client alike. Target: smtptui/swaks <= 1.0.
2. 500 probes spread over 10 local aiosmtpd listeners: ONE ``smtptui probe --concurrency 50``
   process vs 500 sequential swaks runs (estimated from a sample unless --full-swaks).
   Target: >= 10x.

The server for part 1 is a private Postfix (tests/probe/postfix.py) when postfix is
installed and we are root, else aiosmtpd in a subprocess. Usage::

    python bench/probe.py [--runs 15] [--sample 50] [--full-swaks] [--server auto|postfix|aiosmtpd]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SMTPLIB_SCRIPT = """
import smtplib, ssl, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP(host, port, local_hostname="bench.test", timeout=10)
s.ehlo()
if cafile != "-":
    s.starttls(context=ssl.create_default_context(cafile=cafile))
    s.ehlo()
s.quit()
"""

SERVER_SCRIPT = """
import asyncio, ssl, sys
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP
ports = [int(p) for p in sys.argv[1].split(",")]
cert, key = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (None, None)
async def main():
    ctx = None
    if cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    for p in ports:
        await loop.create_server(
            lambda: SMTP(Sink(), hostname="bench.test", tls_context=ctx),
            "127.0.0.1", p, backlog=1024)
    print("READY", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)   # until the parent closes stdin
asyncio.run(main())
"""


def _load_postfix_module():
    path = ROOT / "tests" / "probe" / "postfix.py"
    spec = importlib.util.spec_from_file_location("_bench_postfix", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: nothing answers on 127.0.0.1:{port}") from None
            time.sleep(0.05)


@dataclass(frozen=True)
class Certs:
    cafile: str
    cert: str
    key: str


@contextmanager
def certificates() -> Iterator[Certs]:
    import trustme

    d = tempfile.mkdtemp(prefix="smtptui-bench-tls-")
    os.chmod(d, 0o755)
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1", "mx1.lab.test")
    certs = Certs(f"{d}/ca.pem", f"{d}/cert.pem", f"{d}/key.pem")
    ca.cert_pem.write_to_path(certs.cafile)
    leaf.cert_chain_pems[0].write_to_path(certs.cert)
    leaf.private_key_pem.write_to_path(certs.key)
    try:
        yield certs
    finally:
        shutil.rmtree(d, ignore_errors=True)


@contextmanager
def aiosmtpd_servers(ports: Sequence[int], certs: Certs | None) -> Iterator[None]:
    argv = [sys.executable, "-c", SERVER_SCRIPT, ",".join(map(str, ports))]
    if certs:
        argv += [certs.cert, certs.key]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("READY"):
            raise SystemExit("bench: the aiosmtpd server did not start")
        for p in ports:
            wait_port(p)
        yield
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def single_server(kind: str, certs: Certs) -> Iterator[tuple[str, int]]:
    """(description, port) of one STARTTLS-capable server."""
    if kind in ("auto", "postfix"):
        pf = _load_postfix_module()
        reason = pf.unavailable_reason()
        if reason is None:
            inst = pf.PostfixInstance.create(certs.cert, certs.key, smtps=False)
            with inst:
                yield f"Postfix (private instance) on 127.0.0.1:{inst.smtp_port}", inst.smtp_port
            return
        if kind == "postfix":
            raise SystemExit(f"bench: --server postfix: {reason}")
    port = free_port()
    with aiosmtpd_servers([port], certs):
        yield f"aiosmtpd (subprocess) on 127.0.0.1:{port}", port


def smtptui_cmd() -> list[str]:
    """The installed console script next to this interpreter (not a pyenv shim, whose own
    start-up would be charged to smtptui), else ``python -m smtptui``."""
    exe = Path(sysconfig.get_path("scripts")) / "smtptui"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "smtptui"]


def bytecode_env() -> dict[str, str]:
    """The environment for every child, with Python byte-code caching on.

    Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every run of an editable
    install recompile smtptui from source -- a cost no installed copy has. We compile once
    here and let children read the caches (the standard library is precompiled anyway).
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    compileall.compile_dir(str(ROOT / "smtptui"), quiet=1)
    return env


ENV: dict[str, str] | None = None


def timed(argv: Sequence[str]) -> float:
    """Wall time of one whole process, in seconds; fails loudly if the run failed."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env=ENV)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return elapsed


def interleaved(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time (s) of each command, runs interleaved; one warm-up each."""
    for argv in commands.values():
        timed(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(timed(argv))
    return {name: statistics.median(v) for name, v in samples.items()}


def single_probe_bench(port: int, certs: Certs, runs: int) -> dict[str, dict[str, float]]:
    target = f"127.0.0.1:{port}"
    helo = ["--helo", "bench.test"]
    plain = {
        "smtptui probe": [*smtptui_cmd(), "probe", *helo, "--starttls", "no", target],
        "swaks": ["swaks", "--server", target, "--quit-after", "EHLO", "--helo", "bench.test"],
        "python smtplib": [sys.executable, "-c", SMTPLIB_SCRIPT, "127.0.0.1", str(port), "-"],
    }
    tls = {
        "smtptui probe": [*smtptui_cmd(), "probe", *helo, "--starttls", "yes",
                          "--cafile", certs.cafile, target],
        "swaks": ["swaks", "--server", target, "--quit-after", "EHLO", "--helo", "bench.test",
                  "--tls", "--tls-verify", "--tls-ca-path", certs.cafile],
        "python smtplib": [sys.executable, "-c", SMTPLIB_SCRIPT, "127.0.0.1", str(port),
                           certs.cafile],
    }
    floors = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python + stdlib the probe needs": [sys.executable, "-c",
                                            ("import asyncio, ssl, socket, argparse, json, "
                                            "dataclasses")],
        "python + probe imports": [sys.executable, "-c",
                                   ("import smtptui.cli, smtptui.commands.probe, "
                                   "smtptui.net.probe, asyncio")],
        "perl -e 1": ["perl", "-e", "1"],
    }
    # The floors run in the same interleaved loop as the plain probes: on a busy machine
    # a floor measured minutes apart is not comparable.
    both = interleaved({**plain, **floors}, runs)
    return {"plain": {k: both[k] for k in plain}, "starttls": interleaved(tls, runs),
            "floor": {k: both[k] for k in floors}}


def many_probes_bench(n: int, listeners: int, concurrency: int, sample: int,
                      full_swaks: bool) -> dict[str, float | int | str]:
    ports = [free_port() for _ in range(listeners)]
    with aiosmtpd_servers(ports, None):
        targets = [f"127.0.0.1:{ports[i % listeners]}" for i in range(n)]
        argv = [*smtptui_cmd(), "probe", "--json", "--helo", "bench.test", "--starttls", "no",
                "--concurrency", str(concurrency), *targets]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False,
                              env=ENV)
        smtptui_total = time.perf_counter() - start
        ok = proc.stdout.count('"ok": true')
        if proc.returncode != 0 or ok != n:
            raise SystemExit(f"bench: smtptui probe of {n} targets: exit {proc.returncode}, "
                             f"{ok}/{n} ok\n{proc.stderr[-2000:]}")
        count = n if full_swaks else min(sample, n)
        start = time.perf_counter()
        for i in range(count):
            timed(["swaks", "--server", targets[i], "--quit-after", "EHLO",
                   "--helo", "bench.test"])
        swaks_sample = time.perf_counter() - start
    swaks_total = swaks_sample * n / count
    how = ("measured" if count == n
           else f"estimated: {count} sequential runs took {swaks_sample:.2f} s, x{n / count:g}")
    return {"n": n, "ok": ok, "smtptui": smtptui_total, "swaks": swaks_total, "how": how}


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per client (median)")
    ap.add_argument("--probes", type=int, default=500)
    ap.add_argument("--listeners", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--sample", type=int, default=50,
                    help="sequential swaks runs to extrapolate from")
    ap.add_argument("--full-swaks", action="store_true",
                    help="run all sequential swaks probes instead of estimating")
    ap.add_argument("--server", choices=("auto", "postfix", "aiosmtpd"), default="auto")
    args = ap.parse_args()
    global ENV
    ENV = bytecode_env()
    if not shutil.which("swaks"):
        print("bench: swaks is not installed (apt-get install swaks)", file=sys.stderr)
        return 2

    with ExitStack() as stack:
        certs = stack.enter_context(certificates())
        desc, port = stack.enter_context(single_server(args.server, certs))
        print(f"server: {desc}; {args.runs} runs per client, interleaved, median wall time")
        print(f"smtptui command: {' '.join(smtptui_cmd())}")
        single = single_probe_bench(port, certs, args.runs)
    many = many_probes_bench(args.probes, args.listeners, args.concurrency, args.sample,
                             args.full_swaks)

    ms = 1000.0
    print()
    print("1. one probe, whole process (connect, greeting, EHLO[, STARTTLS, EHLO], QUIT)")
    print(f"   {'client':<22}{'plain ms':>10}{'STARTTLS ms':>13}")
    for name in ("smtptui probe", "swaks", "python smtplib"):
        print(f"   {name:<22}{single['plain'][name] * ms:>10.1f}"
              f"{single['starttls'][name] * ms:>13.1f}")
    r_plain = single["plain"]["smtptui probe"] / single["plain"]["swaks"]
    r_tls = single["starttls"]["smtptui probe"] / single["starttls"]["swaks"]
    s_plain = single["plain"]["smtptui probe"] / single["plain"]["python smtplib"]
    s_tls = single["starttls"]["smtptui probe"] / single["starttls"]["python smtplib"]
    print(f"   {'ratio smtptui/swaks':<22}{r_plain:>10.2f}{r_tls:>13.2f}"
          f"   target <= 1.00: plain {verdict(r_plain <= 1)}, STARTTLS {verdict(r_tls <= 1)}")
    print(f"   {'ratio smtptui/smtplib':<22}{s_plain:>10.2f}{s_tls:>13.2f}")
    print("   without any SMTP (start-up floors): "
          + ", ".join(f"{k} {v * ms:.1f} ms" for k, v in single["floor"].items()))
    py_floor = single["floor"]["python -c pass"]
    pl_floor = single["floor"]["perl -e 1"]
    stdlib = single["floor"]["python + stdlib the probe needs"]
    print(f"   python + the stdlib an asyncio TLS client needs, before any smtptui code: "
          f"{stdlib * ms:.1f} ms = {stdlib / single['plain']['swaks']:.2f} x swaks' whole "
          f"plain probe")
    for client, floor in (("smtptui probe", py_floor), ("swaks", pl_floor),
                          ("python smtplib", py_floor)):
        print(f"   {client} above its interpreter floor: plain "
              f"{(single['plain'][client] - floor) * ms:.1f} ms, STARTTLS "
              f"{(single['starttls'][client] - floor) * ms:.1f} ms")
    print()
    n = many["n"]
    speedup = float(many["swaks"]) / float(many["smtptui"])
    print(f"2. {n} probes over {args.listeners} aiosmtpd listeners")
    print(f"   smtptui probe --concurrency {args.concurrency} (one process) "
          f"{float(many['smtptui']):8.2f} s   ({many['ok']}/{n} ok)")
    print(f"   swaks, {n} sequential runs{'':<19}{float(many['swaks']):8.2f} s   ({many['how']})")
    print(f"   speed-up {speedup:.1f}x   target >= 10x: {verdict(speedup >= 10)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

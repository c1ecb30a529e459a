"""Benchmark: how many hostile cases smtptui handles, and at what peak memory.

Runs every client case of tests/hostile (``probe`` and ``run`` in subprocesses against
hostile servers on loopback) with the same checks as the tests, and prints one row per
case and command: handled or why not, peak RSS (VmHWM), wall time; then the server
side (tests/hostile/test_server.py, hostile clients against the teaching server) as
pytest counts it. Totals at the end: cases handled, tracebacks, lost transcripts.

Run: ``python bench/hostile.py`` (about a minute on two cores).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.rawserver import RawServer
from tests.hostile import servers as hs
from tests.hostile.test_client import (
    CASES,
    RUN_ONLY,
    TLS_CASES,
    Case,
    _check,
    _probe,
    _run,
)


def client_rows(tmp: Path) -> list[tuple[str, str, str, float, float]]:
    certs = hs.Certificates(tmp)
    jobs: list[tuple[str, str, Case, tuple[str, ...]]] = []
    for name, case in CASES.items():
        jobs += [(name, "probe", case, ()), (name, "run", case, ())]
    jobs += [(name, "run", case, ()) for name, case in RUN_ONLY.items()]
    tls = ("--starttls", "yes", "--cafile", str(certs.ca_file))
    for kind in TLS_CASES:
        case = Case(lambda k=kind: hs.starttls_with(certs.contexts[k]), "starttls")
        jobs += [(f"tls-{kind}", "probe", case, tls), (f"tls-{kind}", "run", case, tls)]
    rows = []
    for name, command, case, extra in jobs:
        server = RawServer(case.handler()).start()
        started = time.monotonic()
        try:
            outcome = (_probe(server.target, *extra) if command == "probe"
                       else _run(server.target, tmp, *extra))
        finally:
            server.stop()
        seconds = time.monotonic() - started
        try:
            _check(case, outcome, command)
            verdict = "handled"
        except AssertionError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "check failed"
            verdict = "NOT HANDLED: " + first[:60]
            if "Traceback" in outcome.output:
                verdict = "TRACEBACK"
        rows.append((name, command, verdict, outcome.peak_mb, seconds))
    return rows


def server_counts() -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests/hostile/test_server.py")], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        rows = client_rows(Path(d))
    print(f"{'case':28} {'command':7} {'peak MB':>8} {'seconds':>8}  result")
    for name, command, verdict, peak, seconds in rows:
        print(f"{name:28} {command:7} {peak:8.1f} {seconds:8.2f}  {verdict}")
    handled = sum(v == "handled" for _, _, v, _, _ in rows)
    tracebacks = sum(v == "TRACEBACK" for _, _, v, _, _ in rows)
    lost = sum("transcript lost" in v for _, _, v, _, _ in rows)
    print(f"\nclient: {handled}/{len(rows)} handled, {tracebacks} tracebacks, "
          f"{lost} lost transcripts, highest peak {max(r[3] for r in rows):.1f} MB")
    print(f"server (hostile clients, pytest): {server_counts()}")
    return 0 if handled == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

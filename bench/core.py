"""Benchmarks of the sans-I/O core (issue: foundation).

Prints figures and ratios measured in the same run (absolute times are noisy):

1. ``check`` throughput over 100,000 mixed command lines (goal: >= 50,000 lines/s, one core).
2. The reply parser over one 100,000-line multi-line reply fed in 4 KiB chunks, against
   CPython ``smtplib``'s own reply reading (``SMTP.getreply``) of the same bytes from a
   socket pair (goal: ratio >= 1.0, i.e. no slower than smtplib).
3. The ``python -X importtime`` cost of ``smtptui.core`` (every module, and what
   ``smtptui check`` imports), next to ``import smtplib`` in the same run.
4. ``smtptui check LINE`` as a whole process against a bare ``python -c pass``
   (goal: <= 3x).
5. smtptui's own import cost on the probe path: the self time (``-X importtime``) of
   every ``smtptui`` module a probe of one host imports, the standard library excluded
   (goal: <= 15 ms).

Run: ``python bench/core.py`` (about half a minute).
"""

from __future__ import annotations

import functools
import random
import smtplib
import socket
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smtptui.core.grammar import check
from smtptui.core.replies import ReplyParser

N_LINES = 100_000
REPLY_LINES = 100_000
CHUNK = 4096


def mixed_lines(n: int, seed: int = 1982) -> list[str]:
    """A realistic mix: mostly valid commands, some with errors, all verbs represented."""
    rng = random.Random(seed)
    users = ["smith", "Jones", "green", "brown.j", '"Joe\\,Smith"', "x" * 64, "a+tag"]
    hosts = ["USC-ISIF.ARPA", "bbn-unix.arpa", "mail.example.org", "[10.0.0.1]",
             "[IPv6:2001:db8::1]", "a.b.c.d.e.example"]
    templates = [
        lambda: f"HELO {rng.choice(hosts).strip('[]')}",
        lambda: f"EHLO {rng.choice(hosts)}",
        lambda: f"MAIL FROM:<{rng.choice(users)}@{rng.choice(hosts)}>",
        lambda: f"MAIL FROM:<{rng.choice(users)}@{rng.choice(hosts)}> SIZE={rng.randint(1, 10**7)} BODY=8BITMIME",
        lambda: f"RCPT TO:<{rng.choice(users)}@{rng.choice(hosts)}>",
        lambda: f"RCPT TO:<{rng.choice(users)}@{rng.choice(hosts)}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b",
        lambda: "RCPT TO:<@HOSTA.ARPA,@HOSTB.ARPA:JONES@HOSTC.ARPA>",
        lambda: "MAIL FROM:<>",
        lambda: "DATA",
        lambda: "RSET",
        lambda: "QUIT",
        lambda: "NOOP",
        lambda: f"VRFY {rng.choice(users)}",
        lambda: "EXPN Example-People",
        lambda: "HELP MAIL",
        lambda: "SEND FROM:<Smith@Alpha.ARPA>",
        lambda: "MAIL FROM: <smith@example.org>",      # warning
        lambda: "MAIL FROM:<smith@example.org",        # error
        lambda: "RCPT TO:<bad_domain@under_score.org>",  # error
        lambda: "XYZZY plugh",                          # unknown verb
    ]
    return [rng.choice(templates)() for _ in range(n)]


def bench_check() -> float:
    lines = mixed_lines(N_LINES)
    check(lines[0])  # warm up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for line in lines:
            check(line)
        best = min(best, time.perf_counter() - t0)
    return N_LINES / best


def reply_bytes(n: int) -> bytes:
    body = b"".join(b"250-line %d of a very long multi-line reply\r\n" % i for i in range(n - 1))
    return body + b"250 last line\r\n"


def bench_ours(data: bytes) -> float:
    best = float("inf")
    for _ in range(5):
        parser = ReplyParser(max_reply_lines=REPLY_LINES + 10, max_reply_octets=len(data) + 1)
        t0 = time.perf_counter()
        replies = []
        for i in range(0, len(data), CHUNK):
            replies.extend(parser.feed(data[i : i + CHUNK]))
        best = min(best, time.perf_counter() - t0)
        assert len(replies) == 1 and len(replies[0].lines) == REPLY_LINES, "parser lost lines"
    return best


def _send_all(sock: socket.socket, data: bytes) -> None:
    sock.sendall(data)
    sock.close()


def bench_ours_socket(data: bytes) -> float:
    """The same parser reading the bytes from a socket pair, 4 KiB recv at a time."""
    best = float("inf")
    for _ in range(5):
        a, b = socket.socketpair()
        writer = threading.Thread(target=_send_all, args=(b, data))
        parser = ReplyParser(max_reply_lines=REPLY_LINES + 10, max_reply_octets=len(data) + 1)
        t0 = time.perf_counter()
        writer.start()
        replies = []
        while not replies:
            chunk = a.recv(CHUNK)
            if not chunk:
                break
            replies.extend(parser.feed(chunk))
        best = min(best, time.perf_counter() - t0)
        writer.join()
        a.close()
        assert len(replies[0].lines) == REPLY_LINES
    return best


def bench_smtplib(data: bytes) -> float:
    best = float("inf")
    for _ in range(5):
        a, b = socket.socketpair()
        writer = threading.Thread(target=_send_all, args=(b, data))
        client = smtplib.SMTP()
        client.sock = a
        t0 = time.perf_counter()
        writer.start()
        code, msg = client.getreply()
        best = min(best, time.perf_counter() - t0)
        writer.join()
        client.file.close() if client.file else None
        a.close()
        assert code == 250 and msg.count(b"\n") == REPLY_LINES - 1
    return best


@functools.cache
def child_env() -> dict[str, str]:
    """Environment for child processes, as on a user's machine (computed once).

    Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every run of an editable
    install recompile its sources; a pip-installed package has its byte code. Compile
    once and let the children use the caches.
    """
    import compileall
    import os

    compileall.compile_dir(str(ROOT / "smtptui"), quiet=1)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _importtime(modules: list[str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, name as indented) for each module ``python -X importtime``
    reports while ``modules`` are imported in a fresh interpreter."""
    stmt = "; ".join(f"import {m}" for m in modules)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt],
                          capture_output=True, text=True, cwd=ROOT, check=True, env=child_env())
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        if own.strip().isdigit() and cumulative.strip().isdigit():
            rows.append((int(own), int(cumulative), name))
    return rows


def import_cost_ms(modules: list[str], top: str) -> float:
    """Cumulative import time of ``modules`` in a fresh interpreter (``python -X
    importtime``): the sum of the outermost entries whose name starts with ``top``."""
    # Nested imports are indented; the outermost entries hold the totals.
    return sum(cumulative for _, cumulative, name in _importtime(modules)
               if name.startswith(" " + top)) / 1000


def own_import_cost_ms(modules: list[str], top: str = "smtptui") -> float:
    """The self time of the modules named ``top...`` when ``modules`` are imported in a
    fresh interpreter: our own code, without what it imports from the standard library."""
    return sum(own for own, _, name in _importtime(modules)
               if name.strip().startswith(top)) / 1000


PROBE_PATH = ["smtptui.cli", "smtptui.commands.probe", "smtptui.commands._style",
              "smtptui.net.probe", "smtptui.net.blocking", "smtptui.net.targets",
              "smtptui.core.ehlo"]
"""What ``smtptui probe HOST`` imports (one host, no DNS: the blocking client)."""

CORE_MODULES = [f"smtptui.core.{m}" for m in (
    "grammar", "replies", "codes", "ehlo", "state", "completion", "data", "transcript",
    "script")]


def best_import_cost_ms(modules: list[str], top: str, n: int = 5) -> float:
    return min(import_cost_ms(modules, top) for _ in range(n))


def whole_process(cmd: list[str], n: int = 15) -> float:
    env = child_env()
    subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env, check=False)  # warm caches
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env,
                       check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    print(f"smtptui core benchmarks (python {sys.version.split()[0]})\n")

    rate = bench_check()
    print(f"1. check(): {rate:,.0f} lines/s over {N_LINES:,} mixed lines "
          f"(goal >= 50,000: ratio {rate / 50_000:.2f})")

    data = reply_bytes(REPLY_LINES)
    ours = bench_ours(data)
    ours_sock = bench_ours_socket(data)
    theirs = bench_smtplib(data)
    print(f"2. reply parser, {REPLY_LINES:,}-line reply ({len(data) / 1e6:.1f} MB), 4 KiB chunks:")
    print(f"   smtptui ReplyParser (memory)      {ours * 1000:8.1f} ms")
    print(f"   smtptui ReplyParser (socket pair) {ours_sock * 1000:8.1f} ms")
    print(f"   smtplib SMTP.getreply (socket)    {theirs * 1000:8.1f} ms")
    print(f"   speed ratio smtplib/ours: {theirs / ours:.2f} (memory), "
          f"{theirs / ours_sock:.2f} (socket)  (goal >= 1.0)")

    core_ms = best_import_cost_ms(CORE_MODULES, "smtptui")
    check_ms = best_import_cost_ms(["smtptui.commands.check"], "smtptui")
    smtplib_ms = best_import_cost_ms(["smtplib"], "smtplib")
    print(f"3. import cost (python -X importtime, best of 5): smtptui.core, every module "
          f"{core_ms:.1f} ms; what `smtptui check` imports {check_ms:.1f} ms; "
          f"peer `import smtplib` {smtplib_ms:.1f} ms: ratio {core_ms / smtplib_ms:.2f} "
          f"(whole core) / {check_ms / smtplib_ms:.2f} (check)")

    # The console script next to this interpreter: a pyenv shim found on PATH first
    # would charge its own start-up (a shell script and `pyenv exec`) to smtptui.
    exe = Path(sysconfig.get_path("scripts")) / "smtptui"
    check_cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "smtptui"]
    bare = whole_process([sys.executable, "-c", "pass"])
    ours_proc = whole_process(check_cmd + ["check", "MAIL FROM:<smith@example.org> SIZE=1000"])
    print(f"4. whole process: `smtptui check LINE` {ours_proc * 1000:.1f} ms vs "
          f"`python -c pass` {bare * 1000:.1f} ms: ratio {ours_proc / bare:.2f} (goal <= 3.0)")
    own = min(own_import_cost_ms(PROBE_PATH) for _ in range(5))
    print(f"5. smtptui's own import time on the probe path (self time of smtptui modules, "
          f"no stdlib, best of 5): {own:.1f} ms (goal <= 15: {'met' if own <= 15 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

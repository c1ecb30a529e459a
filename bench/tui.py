#!/usr/bin/env python3
"""Benchmark the app (``smtptui`` with no command) against bare Textual peers, on loopback.

Every measurement runs in a fresh child process, headless, and its peer in the same run:

1. Start-up to the greeting on screen: the app on a TARGET vs a minimal Textual app
   (Header, Log, Input, Footer) that connects to the same server and shows its greeting.
   Median of N interleaved runs, process start to the greeting rendered. Target <= 1.2x.
2. A server sends one 100,000-line multi-line reply and then 10,000 pipelined replies:
   the time from connecting to every line rendered, vs Textual's bare ``Log.write_lines``
   of the same lines (in the same batches a socket delivers). Targets: ingest <= 1.5x;
   RSS growth <= 150 MB; a key press handled within 100 ms (p95) while lines arrive.
3. Per keystroke, completion + diagnostics on a 512-octet line: p99 <= 2 ms.

Usage (in a fresh virtual environment with this checkout installed)::

    python -m venv /tmp/v && /tmp/v/bin/pip install . && /tmp/v/bin/python bench/tui.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIG_LINES = 100_000
PIPELINED = 10_000

# The server: a greeting, then on "BENCH" the big reply and the pipelined replies.
SERVER = r"""
import asyncio, sys
BIG, PIPE = int(sys.argv[2]), int(sys.argv[3])
big = b"".join(b"250-%03d\r\n" % (i % 1000) for i in range(BIG - 1)) + b"250 end\r\n"
pipe = b"".join(b"250 %d ok\r\n" % i for i in range(PIPE))
async def handle(reader, writer):
    writer.write(b"220 bench.test ESMTP ready\r\n")
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line:
            return
        word = line.strip().upper()
        if word == b"BENCH":
            writer.write(big)
            writer.write(pipe)
        elif word == b"QUIT":
            writer.write(b"221 bye\r\n"); await writer.drain(); writer.close(); return
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""

# 1. start-up: process start -> greeting on screen.
STARTUP_SMTPTUI = r"""
import sys, time, os
t0 = float(sys.argv[2])
from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp
app = SmtpApp(ConnectSpec(target=sys.argv[1]), autosave=False)
async def pilot(p):
    while not any(r.startswith("S: 220") for r in app.main.transcript.row_texts()):
        await p.pause(0.001)
    await p.pause()
    print(time.time() - t0)
    app.exit()
app.run(headless=True, auto_pilot=pilot, size=(100, 30))
"""

STARTUP_PEER = r"""
import sys, time, asyncio
t0 = float(sys.argv[2])
from textual.app import App
from textual.widgets import Footer, Header, Input, Log
class Peer(App):
    def compose(self):
        yield Header(); yield Log(); yield Input(); yield Footer()
    async def on_mount(self):
        self.run_worker(self.connect())
    async def connect(self):
        host, port = sys.argv[1].rsplit(":", 1)
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        line = await self.reader.readline()
        self.query_one(Log).write_line(line.decode().rstrip())
app = Peer()
async def pilot(p):
    while not app.query_one(Log).lines:
        await p.pause(0.001)
    await p.pause()
    print(time.time() - t0)
    app.exit()
app.run(headless=True, auto_pilot=pilot, size=(100, 30))
"""

# 2. ingest: connect, "BENCH", every line rendered; key presses timed meanwhile.
# STOP_TYPING: both apps stop the key presses once every line is in, before the final
# pause waits for the screen to be rendered and idle. That wait ends at the first 20 ms
# with almost no CPU used, or after 1 s: with a key press every 20 ms still coming, it
# often found none, and either app's time was then ~1 s longer (bimodal: the bare Log's
# 0.15 or 1.15 s, smtptui's 0.6 or 1.6 s).
INGEST_COMMON = r"""
import asyncio, sys, time, json, os
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
EXPECTED = int(sys.argv[2])
latencies = []
async def keys(app, p, done):
    from textual.widgets import Input
    while not done.is_set():
        before = len(app.key_times)
        t = time.perf_counter()
        app.simulate_key("a")
        while len(app.key_times) == before and not done.is_set():
            await asyncio.sleep(0.0005)
        if len(app.key_times) > before:
            latencies.append(app.key_times[-1] - t)
        await asyncio.sleep(0.02)
"""

INGEST_SMTPTUI = INGEST_COMMON + r"""
from textual.widgets import Input
from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp
class Bench(SmtpApp):
    key_times = []
    def on_input_changed(self, event):
        self.key_times.append(time.perf_counter())
app = Bench(ConnectSpec(target=sys.argv[1]), autosave=False)
async def pilot(p):
    view = app.main.transcript
    while not any(r.startswith("S: 220") for r in view.row_texts()[-3:]):
        await p.pause(0.001)
    base = rss()
    done = asyncio.Event()
    typing = asyncio.create_task(keys(app, p, done))
    t = time.perf_counter()
    app.send_line("BENCH")
    # every line of the big reply and every pipelined reply has a row
    last = b"250 %d ok\r\n" % (EXPECTED - 1)
    while not any(s.entry.raw == last for s in view.shown[-3:]):
        await asyncio.sleep(0.005)
    done.set()  # no key press from here on (see STOP_TYPING)
    await p.pause()
    elapsed = time.perf_counter() - t
    await typing
    print(json.dumps({"seconds": elapsed, "rss": rss() - base, "rows": view.rows,
                      "keys": latencies}))
    app.exit()
app.run(headless=True, auto_pilot=pilot, size=(100, 30))
"""

INGEST_PEER = INGEST_COMMON + r"""
from textual.app import App
from textual.widgets import Footer, Header, Input, Log
class Peer(App):
    key_times = []
    def compose(self):
        yield Header(); yield Log(); yield Input(); yield Footer()
    def on_input_changed(self, event):
        self.key_times.append(time.perf_counter())
app = Peer()
async def pilot(p):
    host, port = sys.argv[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    await reader.readline()
    log = app.query_one(Log)
    app.query_one(Input).focus()  # the key presses go to its input, as in smtptui
    await p.pause()
    base = rss()
    done = asyncio.Event()
    typing = asyncio.create_task(keys(app, p, done))
    t = time.perf_counter()
    writer.write(b"BENCH\r\n")
    lines_total = int(sys.argv[3])
    seen, rest = 0, b""
    while seen < lines_total:
        data = await reader.read(256 * 1024)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        lines = data[:cut].decode().splitlines()
        seen += len(lines)
        log.write_lines(lines)
        await asyncio.sleep(0)
    done.set()  # no key press from here on (see STOP_TYPING)
    await p.pause()
    elapsed = time.perf_counter() - t
    await typing
    print(json.dumps({"seconds": elapsed, "rss": rss() - base, "rows": log.line_count,
                      "keys": latencies}))
    app.exit()
app.run(headless=True, auto_pilot=pilot, size=(100, 30))
"""

KEYSTROKE = r"""
import asyncio, json, os, sys, time, tempfile
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp()
from smtptui.session import ConnectSpec, Session, connector_for
async def main():
    session = Session(connector_for(ConnectSpec()), autosave=False)
    await session.connect(); await session.greeting()
    await session.command("EHLO bench.example")
    for i in range(50):
        session.history.add(f"RCPT TO:<user{i}@example.org>")
    line = "MAIL FROM:<" + "a" * 420 + "@example.org> SIZE=1000 BODY=8BITMIME SMTPUTF8"
    line = line + " " * (512 - 2 - len(line))
    times = []
    for _ in range(3):
        for n in range(1, len(line) + 1):
            prefix = line[:n]
            t = time.perf_counter()
            session.complete(prefix)
            session.check(prefix)
            times.append(time.perf_counter() - t)
    await session.aclose()
    times.sort()
    print(json.dumps({"n": len(times), "p50": times[len(times) // 2],
                      "p99": times[int(len(times) * 0.99)], "octets": len(line) + 2}))
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child(code: str, *args: str) -> str:
    env = dict(os.environ, XDG_DATA_HOME=os.environ.get("BENCH_DATA", "/tmp/smtptui-bench"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=600, env=env, check=False)
    out = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not out:
        raise SystemExit(f"bench: child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return out[-1]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9, help="start-up runs per app (median)")
    ap.add_argument("--ingest-runs", type=int, default=3)
    args = ap.parse_args()
    import compileall

    compileall.compile_dir(str(ROOT / "smtptui"), quiet=1)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(BIG_LINES),
                               str(PIPELINED)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()
        target = f"127.0.0.1:{port}"
        print(f"python {sys.version.split()[0]}, {sys.executable}")

        # 1. start-up
        samples: dict[str, list[float]] = {"smtptui": [], "peer": []}
        child(STARTUP_SMTPTUI, target, str(time.time()))  # warm caches
        child(STARTUP_PEER, target, str(time.time()))
        for _ in range(args.runs):
            samples["smtptui"].append(float(child(STARTUP_SMTPTUI, target, str(time.time()))))
            samples["peer"].append(float(child(STARTUP_PEER, target, str(time.time()))))
        ours, peer = (statistics.median(samples[k]) for k in ("smtptui", "peer"))
        ratio = ours / peer
        print("\n1. start-up to the greeting on screen (process start, median of "
              f"{args.runs})")
        print(f"   smtptui app {ours * 1000:.0f} ms, minimal Textual app {peer * 1000:.0f} ms,"
              f" ratio {ratio:.2f} (target <= 1.20: {verdict(ratio <= 1.2)})")

        # 2. ingest
        lines_total = BIG_LINES + PIPELINED
        runs: dict[str, list[dict]] = {"smtptui": [], "peer": []}
        for _ in range(args.ingest_runs):
            runs["smtptui"].append(json.loads(child(INGEST_SMTPTUI, target,
                                                    str(PIPELINED))))
            runs["peer"].append(json.loads(child(INGEST_PEER, target, str(PIPELINED),
                                                 str(lines_total))))
        ours = statistics.median(r["seconds"] for r in runs["smtptui"])
        peer = statistics.median(r["seconds"] for r in runs["peer"])
        rss = max(r["rss"] for r in runs["smtptui"]) / 1e6
        peer_rss = max(r["rss"] for r in runs["peer"]) / 1e6
        keys = [k for r in runs["smtptui"] for k in r["keys"]]
        peer_keys = [k for r in runs["peer"] for k in r["keys"]]
        p95 = percentile(keys, 0.95) * 1000
        ratio = ours / peer
        print(f"\n2. one {BIG_LINES:,}-line reply + {PIPELINED:,} pipelined replies "
              f"(median of {args.ingest_runs})")
        print(f"   smtptui: {ours:.2f} s to render every line "
              f"({runs['smtptui'][0]['rows']:,} rows); bare Log.write_lines: {peer:.2f} s "
              f"({runs['peer'][0]['rows']:,} lines)")
        print(f"   ingest ratio {ratio:.2f} (target <= 1.50: {verdict(ratio <= 1.5)})")
        print(f"   RSS growth: smtptui {rss:.0f} MB, bare Log {peer_rss:.0f} MB "
              f"(target <= 150 MB: {verdict(rss <= 150)})")
        print(f"   key press handled while lines arrive: p95 {p95:.0f} ms over {len(keys)} "
              f"presses, bare Log p95 {percentile(peer_keys, 0.95) * 1000:.0f} ms "
              f"(target <= 100 ms: {verdict(p95 <= 100)})")

        # 3. per keystroke
        k = json.loads(child(KEYSTROKE))
        p99 = k["p99"] * 1000
        print(f"\n3. completion + diagnostics per keystroke, {k['octets']}-octet MAIL line, "
              f"{k['n']} keystrokes")
        print(f"   p50 {k['p50'] * 1000:.3f} ms, p99 {p99:.3f} ms "
              f"(target <= 2 ms: {verdict(p99 <= 2)})")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

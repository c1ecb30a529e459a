"""Benchmark: a 100 MB message through ``smtptui run`` (``#!include``) vs ``smtplib``.

Both clients send the same file to the same local sink in the same run:

- the sink runs in a SUBPROCESS (so the clients' measurements are not disturbed by the
  server's work or memory): by default a minimal asyncio SMTP sink that reads message
  data in 1 MiB blocks (so the clients are what is measured); ``--sink aiosmtpd`` uses
  aiosmtpd with a discarding handler instead (its line-by-line DATA reader caps both
  clients at a few MB/s);
- ``smtptui``: a child process calls ``smtptui.cli.main(["run", SCRIPT, TARGET])`` on a
  script whose message data is ``#!include big.eml`` (streamed through the core's
  DotStuffer in chunks);
- ``smtplib``: a child process reads the file and calls ``SMTP.sendmail`` (which needs
  the whole message in memory, then copies it to fix line ends and dot-stuff).

Each child measures its own wall time around the send (connect to QUIT) and its peak
RSS growth: ``VmHWM`` from ``/proc/self/status`` after its imports and again at the end.

Goals (issue 3): throughput ratio smtptui / smtplib >= 1.0, and smtptui's peak RSS
growth < 32 MB. Run: ``python bench/data.py [--mb 100] [--rounds 2]`` (well under two
minutes). The 100 MB file lives in a temporary directory, deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

AIOSMTPD_SINK = r"""
import asyncio, sys
from aiosmtpd.controller import Controller

class Discard:
    async def handle_DATA(self, server, session, envelope):
        envelope.content = envelope.original_content = None
        return "250 OK discarded"

c = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]), data_size_limit=0)
c.start()
print("ready", flush=True)
sys.stdin.read()  # until the parent closes our stdin
c.stop()
"""

RAW_SINK = r"""
import asyncio, sys
# A minimal SMTP sink: replies 250 to everything, reads message data in 1 MiB blocks and
# only looks for the end marker, so the clients (not the server) are what is measured.

async def session(reader, writer):
    writer.write(b"220 sink ESMTP ready\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            tail = b"\r\n"  # the marker may come first (empty message)
            while True:
                chunk = await reader.read(1 << 20)
                if not chunk:
                    return
                buf = tail + chunk
                if buf.find(b"\r\n.\r\n") >= 0:
                    break
                tail = buf[-4:]
            writer.write(b"250 OK discarded\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        elif verb == b"EHLO":
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(session, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()

asyncio.run(main())
"""

# Children: print {"seconds": ..., "hwm_growth_kb": ..., "hwm_kb": ...} as the last line.
HWM = r"""
def hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0
"""

SMTPTUI_CHILD = HWM + r"""
import io, json, os, sys, time
sys.path.insert(0, sys.argv[3])
from smtptui.cli import main
import smtptui.commands.run, smtptui.net.runner, smtptui.net.client  # imports before the baseline
base = hwm_kb()
start = time.perf_counter()
with open(os.devnull, "w") as null:
    real, sys.stdout = sys.stdout, null
    try:
        code = main(["run", sys.argv[1], sys.argv[2], "--json"])
    finally:
        sys.stdout = real
seconds = time.perf_counter() - start
print(json.dumps({"code": code, "seconds": seconds, "hwm_kb": hwm_kb(),
                  "hwm_growth_kb": hwm_kb() - base}))
"""

SMTPLIB_CHILD = HWM + r"""
import json, smtplib, sys, time
base = hwm_kb()
start = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    msg = f.read()
host, port = sys.argv[2].rsplit(":", 1)
with smtplib.SMTP(host, int(port)) as s:
    s.sendmail("bench@client.example", ["sink@server.example"], msg)
seconds = time.perf_counter() - start
print(json.dumps({"code": 0, "seconds": seconds, "hwm_kb": hwm_kb(),
                  "hwm_growth_kb": hwm_kb() - base}))
"""

SCRIPT = """\
# bench/data.py: one big message through #!include
S: 220 sink
C: HELO bench.example
S: 250 ok
C: MAIL FROM:<bench@client.example>
S: 250 ok
C: RCPT TO:<sink@server.example>
S: 250 ok
C: DATA
S: 354 go
#!include big.eml
C: .
S: 250 ok
C: QUIT
S: 221 bye
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_message(path: Path, megabytes: int) -> int:
    """A plain-text message of ``megabytes`` MB with CRLF line ends (smtplib sends bytes
    as they are; a file of LF lines would be one long line to it): headers, then
    77-78 octet lines, one in 50 starting with a dot (so stuffing has work to do); it
    ends on a whole line, a little under ``megabytes`` MB."""
    target = megabytes * 1_000_000
    header = (b"From: bench@client.example\r\nTo: sink@server.example\r\n"
              b"Subject: 100 MB benchmark\r\n\r\n")
    lines = []
    for i in range(2000):
        text = f"{i:05d} " + "the quick brown fox jumps over the lazy dog 0123456789 " * 2
        line = ("." if i % 50 == 0 else "") + text[:75]
        lines.append(line.encode() + b"\r\n")
    block = b"".join(lines)
    written = 0
    with open(path, "wb") as f:
        f.write(header)
        written += len(header)
        while written < target:
            piece = block[: target - written]
            if len(piece) < len(block):  # end on a whole line
                end = piece.rfind(b"\r\n")
                if end < 0:
                    break
                piece = piece[: end + 2]
            f.write(piece)
            written += len(piece)
    return written


def child(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=300, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"smtptui run exited {result['code']}: {proc.stderr.strip()[-500:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="message size in MB (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="sends per client (default 3)")
    parser.add_argument("--sink", choices=("raw", "aiosmtpd"), default="raw",
                        help="raw (default): a minimal asyncio sink that reads data in 1 MiB "
                             "blocks, so the clients are what is measured; aiosmtpd: its "
                             "line-by-line DATA reader limits both clients to a few MB/s "
                             "(slow: use --mb 20)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="smtptui-bench-") as tmp:
        d = Path(tmp)
        size = make_message(d / "big.eml", args.mb)
        (d / "big.smtp").write_text(SCRIPT)
        port = free_port()
        code = RAW_SINK if args.sink == "raw" else AIOSMTPD_SINK
        sink = subprocess.Popen([sys.executable, "-c", code, str(port)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            if sink.stdout is None or sink.stdout.readline().strip() != "ready":
                raise SystemExit("the sink did not start")
            target = f"127.0.0.1:{port}"
            what = ("minimal asyncio sink" if args.sink == "raw"
                    else "aiosmtpd (discarding handler)")
            print(f"message: {size / 1e6:.1f} MB in a temporary file; sink: {what} in a "
                  f"subprocess at {target}")
            ours: list[dict[str, float]] = []
            theirs: list[dict[str, float]] = []
            start = time.perf_counter()
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                ours.append(child(SMTPTUI_CHILD, str(d / "big.smtp"), target, str(ROOT)))
                theirs.append(child(SMTPLIB_CHILD, str(d / "big.eml"), target))
            total = time.perf_counter() - start
        finally:
            if sink.stdin is not None:
                sink.stdin.close()
            try:
                sink.wait(10)
            except subprocess.TimeoutExpired:
                sink.kill()

    def best(rows: list[dict[str, float]]) -> float:
        return min(r["seconds"] for r in rows)

    t_ours, t_theirs = best(ours), best(theirs)
    mb = size / 1e6
    growth_ours = max(r["hwm_growth_kb"] for r in ours) / 1024
    growth_theirs = max(r["hwm_growth_kb"] for r in theirs) / 1024
    ratio = (mb / t_ours) / (mb / t_theirs)
    print(f"smtptui run (#!include): {mb / t_ours:7.1f} MB/s  best of {len(ours)}: "
          f"{t_ours:.2f} s  peak RSS growth {growth_ours:6.1f} MB")
    print(f"smtplib.sendmail:        {mb / t_theirs:7.1f} MB/s  best of {len(theirs)}: "
          f"{t_theirs:.2f} s  peak RSS growth {growth_theirs:6.1f} MB")
    print(f"throughput ratio smtptui/smtplib: {ratio:.2f} (goal >= 1.0) "
          f"{'PASS' if ratio >= 1.0 else 'FAIL'}")
    print(f"smtptui peak RSS growth: {growth_ours:.1f} MB (goal < 32 MB) "
          f"{'PASS' if growth_ours < 32 else 'FAIL'}")
    print(f"(benchmark wall time {total:.1f} s)")
    return 0 if ratio >= 1.0 and growth_ours < 32 else 1


if __name__ == "__main__":
    sys.exit(main())

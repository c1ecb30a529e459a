"""Benchmark the teaching server against aiosmtpd's own Sink handler, in the same run.

1. One 100 MB message from smtplib: throughput (MB/s) of `smtptui serve`'s server vs
   aiosmtpd.handlers.Sink (target: at least 0.8x), and the server process's peak RSS
   growth (target: under 64 MB -- DATA is spooled to disk, not kept in memory).
2. 200 concurrent sessions x 10 small messages: every message stored, none lost,
   messages per second (Sink alongside for reference).

Each server runs in its own process so its RSS is its own. Usage:
    python bench/server.py [--size-mb 100] [--sessions 200] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# ----------------------------------------------------------------------------- children

def _child(kind: str, maildir: str) -> None:
    """Run one server on 127.0.0.1:0, print its port, serve until killed."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        if kind == "sink":
            from aiosmtpd.handlers import Sink
            from aiosmtpd.smtp import SMTP

            server = await loop.create_server(
                lambda: SMTP(Sink(), data_size_limit=None, hostname="sink.test", loop=loop),
                "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
        else:
            from smtptui.server.app import start_server
            from smtptui.server.world import Host, World

            world = World(Host(hostname="lab.test", persona="rfc5321",
                               size_limit=1 << 30, max_recipients=100,
                               mailboxes={"alice": "Alice"}), {}, max_sessions=1000)
            server, port = await start_server(world, "127.0.0.1", 0, maildir=maildir)
        print(port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


class Child:
    def __init__(self, kind: str, maildir: str) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", kind, maildir],
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def status(self, field: str) -> int:
        """VmRSS / VmHWM of the server process, in bytes (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc status")

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs), so the
        peak measured next is this run's, not the import-time peak. False if refused."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# ----------------------------------------------------------------------------- 1: big message

def make_message(path: Path, size: int) -> None:
    line = b"The quick brown fox jumps over the lazy dog; 0123456789 abcdefghij ABCDEFG\r\n"
    dotted = b".This line starts with a period and must be dot-stuffed on the wire....\r\n"
    block = (line * 63 + dotted) * 16
    with open(path, "wb") as f:
        f.write(b"From: bench@client.test\r\nTo: alice@lab.test\r\nSubject: big\r\n\r\n")
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


def send_big(port: int, message: bytes) -> float:
    with smtplib.SMTP("127.0.0.1", port, timeout=600) as client:
        client.ehlo("client.test")
        start = time.perf_counter()
        client.sendmail("bench@client.test", ["alice@lab.test"], message)
        return time.perf_counter() - start


def bench_big(size_mb: int, tmp: Path) -> bool:
    msg_path = tmp / "big.eml"
    make_message(msg_path, size_mb * 1024 * 1024)
    message = msg_path.read_bytes()
    mb = len(message) / 1e6
    results = {}
    for kind in ("sink", "smtptui", "sink", "smtptui"):  # alternate, keep the best of two
        maildir = tmp / f"maildir-{kind}"
        child = Child(kind, str(maildir))
        try:
            if not child.reset_peak():  # then the import-time peak may hide growth
                print("  (cannot reset the peak RSS; growth is measured from the old peak)")
            before = child.status("VmRSS")
            seconds = send_big(child.port, message)
            growth = max(child.status("VmHWM") - before, 0)
        finally:
            child.stop()
        best = results.get(kind)
        if best is None or seconds < best[0]:
            results[kind] = (seconds, growth)
        if kind == "smtptui":
            stored = list((maildir / "lab.test" / "alice" / "new").iterdir())
            body = stored[-1].read_bytes()
            assert body.endswith(message), "stored message differs from what was sent"
            for p in stored:
                p.unlink()
    sink_s, sink_rss = results["sink"]
    ours_s, ours_rss = results["smtptui"]
    ratio = (mb / ours_s) / (mb / sink_s)
    print(f"100 MB-class message ({mb:.1f} MB) from smtplib")
    print(f"  aiosmtpd Sink : {mb / sink_s:8.1f} MB/s   peak RSS growth {sink_rss / 2**20:7.1f} MB")
    print(f"  smtptui server: {mb / ours_s:8.1f} MB/s   peak RSS growth {ours_rss / 2**20:7.1f} MB")
    ok_speed, ok_rss = ratio >= 0.8, ours_rss < 64 * 2**20
    print(f"  throughput ratio smtptui/Sink = {ratio:.2f}x (target >= 0.8x: "
          f"{'ok' if ok_speed else 'MISSED'}); RSS growth < 64 MB: "
          f"{'ok' if ok_rss else 'MISSED'}")
    return ok_speed and ok_rss


# ----------------------------------------------------------------------------- 2: many sessions

async def one_session(port: int, n: int, index: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply() -> str:
        while True:
            line = (await reader.readline()).decode()
            if not line:
                raise ConnectionError("closed")
            if line[3:4] != "-":
                return line[:3]

    async def cmd(text: str) -> str:
        writer.write(text.encode() + b"\r\n")
        await writer.drain()
        return await reply()

    assert await reply() == "220"
    assert await cmd("EHLO client.test") == "250"
    stored = 0
    for i in range(n):
        assert await cmd("MAIL FROM:<bench@client.test>") == "250"
        assert await cmd("RCPT TO:<alice@lab.test>") == "250"
        assert await cmd("DATA") == "354"
        writer.write(f"Subject: s{index} m{i}\r\n\r\nsmall message {index}/{i}\r\n.\r\n".encode())
        await writer.drain()
        stored += await reply() == "250"
    await cmd("QUIT")
    writer.close()
    return stored


async def many(port: int, sessions: int, n: int) -> tuple[int, float]:
    start = time.perf_counter()
    counts = await asyncio.gather(*(one_session(port, n, i) for i in range(sessions)))
    return sum(counts), time.perf_counter() - start


def bench_many(sessions: int, n: int, tmp: Path) -> bool:
    print(f"{sessions} concurrent sessions x {n} small messages")
    ok = True
    for kind in ("sink", "smtptui"):
        maildir = tmp / f"many-{kind}"
        child = Child(kind, str(maildir))
        try:
            accepted, seconds = asyncio.run(many(child.port, sessions, n))
        finally:
            child.stop()
        line = f"  {'aiosmtpd Sink' if kind == 'sink' else 'smtptui server'}: " \
               f"{accepted} accepted, {accepted / seconds:8.0f} messages/s"
        if kind == "smtptui":
            files = list((maildir / "lab.test" / "alice" / "new").iterdir())
            lost = sessions * n - len(files)
            line += f", {len(files)} in the Maildir, {lost} lost"
            ok = accepted == len(files) == sessions * n
        print(line)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    socket.setdefaulttimeout(600)
    with tempfile.TemporaryDirectory(prefix="smtptui-bench-") as tmp:
        ok = bench_big(args.size_mb, Path(tmp))
        ok = bench_many(args.sessions, args.messages, Path(tmp)) and ok
    print("all targets met" if ok else "some targets MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

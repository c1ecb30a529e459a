"""Hostile clients against the embedded teaching server, one behaviour per case
(issue 10, items 9-16, plus slowloris, 500 connections, pipelined garbage and binary
bytes). Each ends the session or answers in step, keeps memory bounded, logs one clear
event and never lets an exception reach the event loop (``loop_errors``)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import random
import resource
import signal
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from smtptui.server import protocol
from smtptui.server.app import start_server, stop_server
from smtptui.server.world import World, load_world
from tests.server.conftest import Client, world_file
from tests.server.test_protocol import world

TURN_WORLD = """\
hostname = "USC-ISIF.ARPA"
persona = "rfc821"
[[queue]]
host = "LBL-UNIX.ARPA"
from = "Smith@USC-ISIF.ARPA"
to = ["mo@LBL-UNIX.ARPA"]
data = "Subject: waiting\\r\\n\\r\\nhi\\r\\n"
"""


async def _closed(c: Client, within: float = 10.0) -> bytes:
    """Everything the server still sends until it closes (bounded by ``within``)."""
    data = b""
    async with asyncio.timeout(within):
        try:
            while chunk := await c.reader.read(1 << 16):
                data += chunk
        except ConnectionResetError:
            pass  # it closed with our bytes unread: the kernel sends a reset
    return data


def _texts(lab_) -> list[str]:
    return [e.text for e in lab_.events]


def _no_internal_error(lab_) -> None:
    texts = _texts(lab_)
    assert not [t for t in texts if "internal error" in t], texts


# --------------------------------------------------------------------- item 9: TURN

async def test_after_turn_an_endless_reply_is_cut_at_the_cap_with_421(lab, loop_errors):
    s = await lab(TURN_WORLD)
    c, _ = await s.connect()
    await c.cmd("HELO LBL-UNIX.ARPA")
    assert await c.cmd("TURN") == ["250 OK"]
    assert await c.cmd("220 LBL-UNIX.ARPA ready") == ["HELO USC-ISIF.ARPA"]
    line = b"250-" + b"x" * 60_000 + b"\r\n"
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        try:
            for _ in range(300):  # 18 MB of one reply that never ends
                c.writer.write(line)
                await c.writer.drain()
        except ConnectionError:
            pass  # the server closed while we were still sending: that is the point
        rest = await _closed(c)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # The 421 may be lost to the reset the kernel sends (our flood was unread): it
    # must be the only thing the server said, and the log records it.
    assert rest in (b"", b"421 USC-ISIF.ARPA reply too long, closing transmission channel\r\n")
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MB kept for an endless reply"
    assert any("a reply of more than 65536 octets; 421 sent" in t for t in _texts(s))
    _no_internal_error(s)


async def test_after_turn_a_broken_reply_ends_the_turn_session(lab, loop_errors):
    s = await lab(TURN_WORLD)
    c, _ = await s.connect()
    await c.cmd("HELO LBL-UNIX.ARPA")
    await c.cmd("TURN")
    await c.send_raw(b"220-LBL-UNIX.ARPA\r\n550 mixed codes\r\n")
    await _closed(c)
    assert any("TURN session ended: _TurnAbort: not an SMTP reply" in t for t in _texts(s))
    _no_internal_error(s)


# ------------------------------------------------------ item 10: loops and starvation

def _fan_out_world(breadth: int = 30, depth: int = 6) -> World:
    """Lists that name each other ``breadth`` ways, ``depth`` deep (30**6 paths), one
    including itself: the loader refuses such a world, so it is built directly, as a
    UI or a future loader bug could."""
    base = load_world_text('hostname = "lab.test"\npersona = "modern"\n'
                           '[mailboxes]\nbob = "Bob"\n')
    lists = {f"l{d}": tuple([f"l{d + 1}"] * breadth) for d in range(depth)}
    lists[f"l{depth}"] = ("bob", "l0")
    return World(dataclasses.replace(base.host, lists=lists), {})


def load_world_text(text: str) -> World:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return load_world(world_file(Path(d), text))


async def test_a_list_loop_neither_hangs_the_server_nor_starves_other_sessions(
        lab, loop_errors):
    s = await lab(_fan_out_world())
    hog, _ = await s.connect()
    other, _ = await s.connect()
    await hog.cmd("EHLO xyz.test")
    await hog.cmd("MAIL FROM:<a@xyz.test>")
    assert await hog.code("RCPT TO:<l0@lab.test>") == 250
    hog.writer.write(b"DATA\r\nSubject: loop\r\n\r\nhi\r\n.\r\n")
    assert await other.code("NOOP") == 250  # answered while the other session delivers
    assert await hog.reply() == ["354 End data with <CR><LF>.<CR><LF>"]
    assert (await hog.reply())[0].startswith("250 ")
    assert any("mail loop: list l0 includes itself" in t for t in _texts(s))
    assert len(s.messages("lab.test", "bob")) == 1  # each member expanded once


def test_serve_refuses_a_looping_world_at_load_time(tmp_path):
    path = world_file(tmp_path, 'hostname = "lab.test"\n[lists]\nall = ["bob", "all"]\n')
    proc = subprocess.run([sys.executable, "-m", "smtptui", "serve", "--listen",
                           "127.0.0.1:0", "--world", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert f"{path}:3: lists.all: the list includes itself" in proc.stderr


def test_sigterm_stops_serve_within_its_grace_period_with_sessions_busy(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "smtptui", "serve", "--listen",
                             "127.0.0.1:0", "--maildir", str(tmp_path / "mail")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().rsplit(":", 1)[1])

        async def busy() -> None:
            clients = []
            for _ in range(20):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                await reader.readline()
                writer.write(b"EHLO x.test\r\nMAIL FROM:<a@x.test>\r\n"
                             b"RCPT TO:<alice@smtptui.test>\r\nDATA\r\nSubject: slow\r\n")
                clients.append(writer)
            await asyncio.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 20)

        asyncio.run(busy())
        assert proc.returncode in (0, 1)
        err = proc.stderr.read()
        assert "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --------------------------------------------------------- item 11: texts on the wire

async def test_vrfy_cannot_be_made_to_inject_a_reply_line(tmp_path):
    from smtptui.server.world import WorldError

    with pytest.raises(WorldError, match=r":3: mailboxes.alice: must be one line"):
        load_world(world_file(tmp_path, 'hostname = "a.test"\n[mailboxes]\n'
                              'alice = "Alice\\r\\n250 injected"\n'))


# -------------------------------------------------------------- item 12: file modes

async def test_everything_stored_is_private_under_umask_022(lab, loop_errors):
    old = os.umask(0o022)
    try:
        s = await lab(world("rfc821", '\nrelay_domains = ["*"]').replace(
            'logged_in = ["Admin.MRC"]', 'logged_in = ["Admin.MRC", "Green"]'))
        c, _ = await s.connect()
        await c.cmd("HELO xyz.test")
        await c.cmd("SAML FROM:<a@xyz.test>")
        await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
        await c.cmd("RCPT TO:<staff@SU-SCORE.ARPA>")  # a member outside: _undeliverable
        assert await c.code("DATA") == 354
        await c.send_raw(b"Subject: private\r\n\r\n" + b"x" * 98 + b"\r\n" * 2000)
        spooled = {p.name: stat.S_IMODE(p.stat().st_mode)  # while DATA streams
                   for p in (s.maildir / ".spool").iterdir()}
        await c.send_raw(b".\r\n")
        assert (await c.reply())[0].startswith("250")
    finally:
        os.umask(old)
    assert spooled and set(spooled.values()) == {0o600}, spooled
    paths = [s.maildir, *s.maildir.rglob("*")]
    assert any(p.name.endswith(".log") for p in paths)  # the terminal of Green
    assert any("_undeliverable" in p.parts for p in paths)
    loose = {str(p.relative_to(s.maildir.parent)): oct(stat.S_IMODE(p.stat().st_mode))
             for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert loose == {}


async def test_an_existing_maildir_root_is_never_chmodded(tmp_path, loop_errors):
    root = tmp_path / "shared"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    server, port = await start_server(load_world_text('hostname = "lab.test"\n'
                                                      'persona = "rfc821"\n'
                                                      '[mailboxes]\nbob = ""\n'),
                                      maildir=root, tls_dir=tmp_path / "tls")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        c = Client(reader, writer)
        await c.reply()
        assert await c.code("HELO xyz.test") == 250
        assert await c.code("MAIL FROM:<abc@xyz.test>") == 250
        assert await c.code("RCPT TO:<bob@lab.test>") == 250
        assert await c.code("DATA") == 354
        assert (await c.cmd("hi\r\n."))[0].startswith("250")
        await c.close()
    finally:
        await stop_server(server)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "lab.test").stat().st_mode) == 0o700


# ------------------------------------------------------- item 13: storage failures

async def test_a_maildir_that_is_a_file_is_451_and_a_clear_log_line(tmp_path, loop_errors):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file")
    events = []
    server, port = await start_server(load_world_text('hostname = "lab.test"\npersona = '
                                                      '"rfc821"\n[mailboxes]\nbob = ""\n'),
                                      maildir=blocker, on_event=events.append,
                                      tls_dir=tmp_path / "tls")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        c = Client(reader, writer)
        await c.reply()
        assert await c.code("HELO xyz.test") == 250
        assert await c.code("MAIL FROM:<abc@xyz.test>") == 250
        assert await c.code("RCPT TO:<bob@lab.test>") == 250
        assert await c.cmd("DATA") == ["451 Requested action aborted: local error in processing"]
        assert await c.code("NOOP") == 250  # in step, still served
        await c.close()
    finally:
        await stop_server(server)
    texts = [e.text for e in events]
    [line] = [t for t in texts if "storage failed" in t]
    assert str(blocker) in line and "Not a directory" in line, texts
    assert not [t for t in texts if "connection lost" in t or "internal error" in t], texts


async def test_a_disk_failing_mid_message_reads_it_to_the_end_then_451(
        lab, loop_errors, monkeypatch):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
    assert await c.code("DATA") == 354

    def full(out, data):
        return OSError(28, "No space left on device")

    monkeypatch.setattr(protocol, "_write", full)
    # "RSET" in the message must stay message text, not become a command
    await c.send_raw(b"Subject: x\r\n\r\nRSET\r\nQUIT\r\n.\r\n")
    assert await c.reply() == ["451 Requested action aborted: local error in processing"]
    assert await c.code("NOOP") == 250
    assert any("No space left on device" in t for t in _texts(s))


# --------------------------------------------------------- item 14: numbers, names

@pytest.mark.parametrize("persona", ["modern", "rfc5321", "sendmail-8.9"])
@pytest.mark.parametrize("size", ["²", "١٢٣", "1_000", "+5"])
async def test_size_is_ascii_digits_only(lab, loop_errors, persona, size):
    s = await lab(world(persona))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    reply = await c.cmd(f"MAIL FROM:<a@xyz.test> SIZE={size}")
    assert reply[0][:3] in ("500", "501"), reply
    _no_internal_error(s)


# --------------------------------------------- item 15: bad commands, source routes

@pytest.mark.parametrize(("line", "count"), [(b"", 100_000), (b"\xff\xfeVERB", 10_000),
                                             (b"NOOP " + b"x" * 2000, 200)],
                         ids=["empty", "non-ascii-verb", "over-long"])
async def test_lines_refused_before_any_command_count_towards_the_cutoff(
        lab, loop_errors, line, count):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    try:
        await c.send_raw((line + b"\r\n") * count)
    except ConnectionError:
        pass  # cut off while we were still sending
    rest = await _closed(c, 30)
    replies = rest.split(b"\r\n")
    refused = [r for r in replies if r.startswith(b"500")]
    cut = [t for t in _texts(s) if "more than 50 bad commands, 421 and close" in t]
    assert len(cut) == 1, _texts(s)[-5:]
    # What we read may end early (the server closed with our flood unread, so the
    # kernel reset the connection); what arrived is at most the cutoff, then the 421.
    assert len(refused) <= protocol.MAX_BAD_COMMANDS
    if len(refused) == protocol.MAX_BAD_COMMANDS:
        assert b"421 SU-SCORE.ARPA Too many unrecognized commands, goodbye" in replies


@pytest.mark.parametrize("rcpt", ["<@USC-ISI.ARPA:victim@evil.example>",
                                  "<@USC-ISI.ARPA,@evil.example:victim@USC-ISI.ARPA>"])
async def test_a_source_route_through_the_world_to_the_outside_is_refused(
        lab, loop_errors, rcpt):
    s = await lab(world("rfc821", '\nrelay_domains = ["*"]'))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    reply = await c.cmd(f"RCPT TO:{rcpt}")
    assert reply[0].startswith("550") and "evil.example" in reply[0], reply
    assert await c.code("RCPT TO:<@USC-ISI.ARPA:Jones@USC-ISI.ARPA>") == 250  # in the world


# ------------------------------------------------------------- item 16: AUTH brute force

AUTH_WORLD = """\
hostname = "lab.test"
persona = "modern"
allow_plaintext_auth = true
[users]
alice = "correct horse"
"""


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


async def test_wrong_passwords_slow_down_then_end_the_session(lab, loop_errors, monkeypatch):
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float, *args: object) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(protocol.asyncio, "sleep", sleep)
    s = await lab(AUTH_WORLD)
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    codes = [await c.code(f"AUTH PLAIN {_plain('alice', f'guess{i}')}")
             for i in range(protocol.AUTH_MAX_FAILURES - 1)]
    assert codes == [535] * (protocol.AUTH_MAX_FAILURES - 1)
    assert await c.code(f"AUTH PLAIN {_plain('alice', 'guess9')}") == 535
    last = await c.reply()
    assert last[0].startswith("421 4.7.0 lab.test Too many authentication failures"), last
    assert await _closed(c) == b""
    # the first three at once, then each answer waits longer (capped)
    assert waits[:4] == [1.0, 2.0, 3.0, 4.0] and max(waits) == protocol.AUTH_MAX_DELAY
    # a new session from the same address is still slowed, and the right password works
    c2, _ = await s.connect()
    await c2.cmd("EHLO xyz.test")
    assert await c2.code(f"AUTH PLAIN {_plain('alice', 'correct horse')}") == 235
    assert waits[-1] == protocol.AUTH_MAX_DELAY


# ------------------------------------------------------------------ the classic set

async def test_slowloris_is_cut_by_the_session_timeout(tmp_path, loop_errors):
    events = []
    server, port = await start_server(load_world_text('hostname = "a.test"\n'),
                                      maildir=tmp_path / "m", on_event=events.append,
                                      tls_dir=tmp_path / "tls", timeout=0.5)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        closed = False
        for byte in b"HELO " + b"x" * 200:  # a byte a tick, the line never ends
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if reader.at_eof():
                closed = True
                break
            await asyncio.sleep(0.05)
        if not closed:
            async with asyncio.timeout(10):
                closed = await reader.read() == b"" or True
        assert closed
        writer.close()
    finally:
        await stop_server(server)
    assert any(e.text == "disconnected" for e in events)


async def test_500_concurrent_connections_are_all_served(lab, loop_errors):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip(f"needs 1100 file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    s = await lab(world("rfc821", "\nmax_sessions = 500"))

    async def one(i: int) -> int:
        c, greeting = await s.connect()
        assert greeting[0].startswith("220 ")
        code = await c.code(f"HELO client{i}.test")
        await c.cmd("QUIT")
        await c.close()
        return code

    codes = await asyncio.gather(*(one(i) for i in range(500)))
    assert codes == [250] * 500
    # and the 501st, while 500 are open, gets 421
    held = [await s.connect() for _ in range(500)]
    _, greeting = await s.connect()
    assert greeting == ["421 SU-SCORE.ARPA Too many sessions, try again later"]
    assert len(held) == 500


async def test_pipelined_garbage_is_answered_in_order_then_cut_off(lab, loop_errors):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    rng = random.Random(10)
    lines = [bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ<>@:. ") for _ in range(40))
             for _ in range(5000)]
    await c.send_raw(b"NOOP\r\n" + b"\r\n".join(lines) + b"\r\n")
    rest = await _closed(c, 30)
    replies = [r for r in rest.split(b"\r\n") if r]
    assert replies[0].startswith(b"250")
    assert replies[-1].startswith(b"421 ")
    assert all(r[:3].isdigit() for r in replies)
    _no_internal_error(s)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_binary_bytes_never_break_the_server(lab, loop_errors, seed):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    rng = random.Random(seed)
    await c.send_raw(b"EHLO xyz.test\r\n" + rng.randbytes(1 << 20))
    c.writer.close()
    c2, greeting = await s.connect()  # the next learner is served
    assert greeting[0].startswith("220 ") and await c2.code("NOOP") == 250
    _no_internal_error(s)
    for e in s.events:
        assert e.text.isprintable(), repr(e.text)

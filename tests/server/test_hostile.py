"""A client that vanishes, floods or misbehaves: the session ends quietly (one event),
memory stays bounded, the teacher's terminal stays clean, and nothing ever leaves the
machine. Every test checks that no exception reached the event loop's handler (that is
where "Task exception was never retrieved" goes)."""

from __future__ import annotations

import asyncio
import gc
import socket
import struct
import sys
import tracemalloc

import pytest

from smtptui.server.app import printable
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


@pytest.fixture
async def loop_errors():
    """Everything that reaches the loop's exception handler during the test, plus any
    finished task still holding an exception nobody retrieved (it would be reported
    later, when collected -- at worst at interpreter exit)."""
    loop = asyncio.get_running_loop()
    seen: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx))
    yield seen
    await asyncio.sleep(0.05)  # let session tasks finish
    unretrieved = [t for t in _done_tasks(loop) if not t.cancelled() and t.exception()
                   and not t.get_coro().__name__.startswith("test_")]  # the test itself
    gc.collect()
    loop.set_exception_handler(None)
    assert seen == [], [c.get("message") for c in seen]
    assert unretrieved == [], [repr(t.exception()) for t in unretrieved]


def _done_tasks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task]:
    """This test's finished tasks (each test has its own loop)."""
    return [o for o in gc.get_objects()
            if isinstance(o, asyncio.Task) and o.get_loop() is loop and o.done()]


def _abort(writer: asyncio.StreamWriter) -> None:
    """Hang up with a TCP RST (SO_LINGER 0), the rudest way a peer can go."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _wait_disconnected(s, count: int) -> None:
    for _ in range(500):
        if sum(e.text == "disconnected" for e in s.events) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError([e.text for e in s.events])


@pytest.mark.parametrize("rude", [False, True], ids=["close", "reset"])
async def test_turn_receiver_hanging_up_first_after_its_221_is_quiet(lab, loop_errors, rude):
    # RFC 821 §4.1.1: the receiver closes after its 221; the server may still be busy.
    s = await lab(TURN_WORLD)
    rounds = 300
    for _ in range(rounds):
        c, _ = await s.connect()
        await c.cmd("HELO LBL-UNIX.ARPA")
        assert await c.cmd("TURN") == ["250 OK"]
        assert await c.cmd("220 LBL-UNIX.ARPA ready") == ["HELO USC-ISIF.ARPA"]
        line = await c.cmd("250 LBL-UNIX.ARPA")
        while line != ["QUIT"]:  # the queued message (first round only), then QUIT
            if line == ["DATA"]:
                c.writer.write(b"354 go\r\n")
                while await c.reader.readline() != b".\r\n":
                    pass
                line = await c.cmd("250 OK")
            else:
                line = await c.cmd("250 OK")
        c.writer.write(b"221 LBL-UNIX.ARPA closing\r\n")
        if rude:
            _abort(c.writer)
        else:
            c.writer.close()
    await _wait_disconnected(s, rounds)
    texts = [e.text for e in s.events]
    assert not [t for t in texts if "internal error" in t], texts


CUTS = {
    "before-greeting": (b"", False),
    "mid-command": (b"HELO xyz.test\r\nMAIL FR", True),
    "mid-data": ((b"HELO xyz.test\r\nMAIL FROM:<a@xyz.test>\r\nRCPT TO:<Green@SU-SCORE.ARPA>\r\n"
                 b"DATA\r\nSubject: half\r\n"), True),
    "after-quit": (b"HELO xyz.test\r\nQUIT\r\n", True),
    "pipelined-flood": (b"NOOP\r\n" * 5000, True),
    "after-turn": (b"HELO LBL-UNIX.ARPA\r\nTURN\r\n", True),
    "turn-mid-reply": (b"HELO LBL-UNIX.ARPA\r\nTURN\r\n220 LBL-UNIX.ARPA\r\n250-LBL", True),
}


@pytest.mark.parametrize("rude", [False, True], ids=["close", "reset"])
@pytest.mark.parametrize("cut", list(CUTS), ids=list(CUTS))
async def test_a_client_vanishing_at_any_point_ends_the_session_quietly(
        lab, loop_errors, cut, rude):
    s = await lab(TURN_WORLD if "turn" in cut else world("rfc821"))
    data, greet = CUTS[cut]
    c, _ = await s.connect(greet=greet)
    await c.send_raw(data)
    await asyncio.sleep(0.02)
    if rude:
        _abort(c.writer)
    else:
        c.writer.close()
    await _wait_disconnected(s, 1)
    # and the server still serves the next learner
    c2, greeting = await s.connect()
    assert greeting[0].startswith("220 ")
    assert await c2.code("NOOP") == 250
    texts = [e.text for e in s.events]
    assert not [t for t in texts if "internal error" in t], texts
    assert not list(s.maildir.rglob("new/*"))  # a cut message is never stored


# ----------------------------------------------------------------------------- floods

async def _to_data(c) -> None:
    """One accepted recipient, then DATA: the server now waits for message text."""
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
    assert await c.code("DATA") == 354


async def _flood(c, total: int, prefix: bytes = b"") -> None:
    await c.send_raw(prefix)
    chunk = b"A" * (1 << 16)
    for _ in range(total // len(chunk)):
        c.writer.write(chunk)
        await c.writer.drain()


async def test_an_endless_command_line_costs_bounded_memory(lab, loop_errors):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        await _flood(c, 24 << 20, b"HELO ")
        await c.send_raw(b"\r\n")
        reply = await c.reply()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert reply[0].startswith("500 ")  # the line is answered, not buffered
    assert peak < 4 << 20, f"{peak / 2**20:.1f} MB for a 24 MB command line"
    assert await c.code("EHLO xyz.test") == 250  # and the session goes on


@pytest.mark.parametrize(("persona", "code"), [("rfc821", 500), ("rfc821-minimal", 500),
                                               ("modern", 250), ("rfc5321", 250),
                                               ("sendmail-8.9", 250)])
async def test_an_endless_data_line_costs_bounded_memory(lab, loop_errors, persona, code):
    s = await lab(world(persona, "\nsize_limit = 1000000000"))
    c, _ = await s.connect()
    await _to_data(c)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        await _flood(c, 24 << 20, b"Subject: long\r\n\r\n")
        await c.send_raw(b"\r\nshort\r\n.\r\n")
        reply = await c.reply()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak / 2**20:.1f} MB for a 24 MB line in DATA"
    assert int(reply[0][:3]) == code, reply
    if code == 500:
        assert reply == ["500 Line too long."]  # RFC 821 §4.5.3's example reply
        assert not list(s.maildir.rglob("new/*"))
    note = [e.text for e in s.events if "over 1000 octets" in e.text]
    assert note and "the first is line 3" in note[0], [e.text for e in s.events]
    assert await c.code("NOOP") == 250  # in step after the end of data


@pytest.mark.parametrize(("length", "long"), [(998, False), (999, True)])
async def test_the_text_line_limit_is_1000_octets_with_the_crlf(lab, loop_errors, length, long):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await _to_data(c)
    await c.send_raw(b"x" * length + b"\r\n.\r\n")
    reply = await c.reply()
    assert reply == (["500 Line too long."] if long else ["250 OK"])


async def test_a_message_over_the_size_limit_gets_552_after_the_data(lab, loop_errors):
    s = await lab(world("rfc821", "\nsize_limit = 5000"))
    c, _ = await s.connect()
    await _to_data(c)
    await _flood(c, 1 << 20, b"Subject: big\r\n\r\n")
    await c.send_raw(b"\r\n.\r\n")
    assert await c.reply() == [
        "552 Requested mail action aborted: exceeded storage allocation"]
    assert not list(s.maildir.rglob("new/*"))
    assert not list((s.maildir / ".spool").iterdir())  # the spool file is gone too
    assert any("more than 5000 octets" in e.text for e in s.events)
    assert await c.code("NOOP") == 250


async def test_a_client_streaming_far_past_the_size_limit_is_cut_off(lab, loop_errors):
    """Past the limit the data is discarded, and not forever: 16 MiB on, 552 and close."""
    s = await lab(world("rfc821", "\nsize_limit = 5000"))
    c, _ = await s.connect()
    await _to_data(c)
    try:
        await _flood(c, 48 << 20, b"Subject: endless\r\n\r\n")  # no end marker, ever
    except ConnectionError:
        pass  # the server closed while we were still sending: that is the point
    await _wait_disconnected(s, 1)
    texts = [e.text for e in s.events]
    assert any("still sending; connection closed" in t for t in texts), texts
    assert not list(s.maildir.rglob("new/*"))
    assert not list((s.maildir / ".spool").iterdir())


# ----------------------------------------------------------------------------- the log

async def test_what_a_client_types_reaches_the_log_escaped(lab, loop_errors):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    await c.cmd("EHLO \x1b]0;pwned\x07\x1b[2J.test")
    await c.cmd("X\x1b[31mBAD")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    await c.cmd("RCPT TO:<\u202egnp.exe@SU-SCORE.ARPA> ")
    await c.send_raw(b"VRFY \xff\xfe\x00\r\n")
    await c.reply()
    for e in s.events:
        assert e.text.isprintable() and e.peer.isprintable(), repr(e.text)
    texts = " ".join(e.text for e in s.events)
    assert "EHLO \\x1b]0;pwned\\x07\\x1b[2J.test" in texts


def test_the_server_log_uses_the_one_escaping_function():
    from smtptui.core import text

    assert printable is text.printable  # one implementation (tests/core/test_text.py)


# ----------------------------------------------------------------------------- outbound

@pytest.fixture
def outbound():
    """Every socket connect and name lookup the process makes while the test runs
    (a ``sys.addaudithook`` hook cannot be removed, so it is switched by a flag)."""
    calls: list[tuple[str, tuple]] = []
    state = _AUDIT
    state["calls"] = calls
    if not state["installed"]:
        sys.addaudithook(_audit)
        state["installed"] = True
    yield calls
    state["calls"] = None


_AUDIT: dict = {"installed": False, "calls": None}


def _audit(event: str, args: tuple) -> None:
    calls = _AUDIT["calls"]
    if calls is not None and event in ("socket.connect", "socket.getaddrinfo",
                                       "socket.gethostbyname", "socket.gethostbyaddr"):
        calls.append((event, args[1:] if event == "socket.connect" else args))


async def test_the_server_never_opens_an_outbound_connection(lab, loop_errors, outbound):
    s = await lab(world("rfc821", '\nrelay_domains = ["*"]').replace(
        "max_recipients = 2", "max_recipients = 50") + """
[hosts."MIT-MC.ARPA"]
mailboxes = { EAK = "Earl" }
[[queue]]
host = "xyz.test"
from = "Smith@SU-SCORE.ARPA"
to = ["a@xyz.test"]
data = "hi\\r\\n"
""")
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA>")
    for rcpt in ("<@USC-ISI.ARPA:Jones@USC-ISI.ARPA>", "<fred@SU-SCORE.ARPA>",
                 "<staff@SU-SCORE.ARPA>", "<x@elsewhere.test>", "<y@[192.0.2.1]>",
                 "<EAK@MIT-MC.ARPA>"):
        await c.cmd(f"RCPT TO:{rcpt}")
    assert await c.code("DATA") == 354
    await c.send_raw(b"Subject: everywhere\r\n\r\nhi\r\n.\r\n")
    assert (await c.reply())[0].startswith("250")
    await c.cmd("VRFY Jones@USC-ISI.ARPA")
    await c.cmd("EXPN staff")
    assert await c.cmd("TURN") == ["250 OK"]
    assert await c.cmd("220 xyz.test ready") == ["HELO SU-SCORE.ARPA"]
    line = await c.cmd("250 xyz.test")
    while line != ["QUIT"]:
        if line == ["DATA"]:
            c.writer.write(b"354 go\r\n")
            while await c.reader.readline() != b".\r\n":
                pass
        line = await c.cmd("250 OK")
    c.writer.write(b"221 bye\r\n")
    await _wait_disconnected(s, 1)
    # The only connect is our own test client's, to the server's own port.
    assert outbound == [("socket.connect", (("127.0.0.1", s.port),))], outbound
    assert list((s.maildir / "_undeliverable").rglob("new/*"))  # x@elsewhere: kept here


async def test_the_log_shows_queries_with_their_reply_codes(lab, loop_errors):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("VRFY Smith")
    await c.cmd("VRFY John")
    await c.cmd("EXPN staff")
    await c.cmd("RSET")
    texts = [e.text for e in s.events]
    assert ["VRFY Smith -> 250", "VRFY John -> 553", "EXPN staff -> 250", "RSET -> 250"] == [
        t for t in texts if t.startswith(("VRFY", "EXPN", "RSET"))]


async def test_a_flood_of_unknown_commands_is_cut_off_with_421(lab, loop_errors):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.send_raw(b"XYZZY\r\n" * 60)
    replies = [(await c.reply())[0] for _ in range(51)]
    assert replies[:50] == ["500 Syntax error, command unrecognized"] * 50
    assert replies[50] == "421 SU-SCORE.ARPA Too many unrecognized commands, goodbye"
    assert await asyncio.wait_for(c.reader.read(), 5) == b""


async def test_a_command_line_over_512_octets_is_500_and_the_session_goes_on(lab, loop_errors):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    # RFC 821 §4.5.3: 512 characters including the command word and the CRLF
    # (VRFY: a <string> has no length of its own; an RFC 821 <domain> stops at 64)
    assert await c.cmd("VRFY " + "x" * 506) == ["500 Command line too long"]  # 513 octets
    assert await c.cmd("VRFY " + "x" * 505) == ["550 String does not match anything."]


async def test_a_mailbox_name_cannot_write_outside_the_maildir(lab, loop_errors):
    s = await lab(world("rfc821", '\nrelay_domains = ["sink.test"]'))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    assert await c.code('RCPT TO:<"../../../../tmp/owned"@sink.test>') == 250
    assert await c.code("RCPT TO:<@sink.test:x@[..]>") in (250, 501, 550)
    assert await c.code("DATA") == 354
    await c.send_raw(b"hi\r\n.\r\n")
    assert (await c.reply())[0].startswith("250")
    stored = list(s.maildir.rglob("new/*"))
    assert stored and all(s.maildir in p.parents for p in stored)
    assert all(".." not in p.relative_to(s.maildir).parts for p in s.maildir.rglob("*"))


async def test_bytes_that_are_not_utf8_and_non_ascii_names_never_break_a_reply(lab, loop_errors):
    s = await lab(world("modern").replace('Green = "Bob Green"', 'Green = "José Green"'))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    assert await c.code("MAIL FROM:<a@xyz.test> SMTPUTF8") == 250
    await c.send_raw(b"RCPT TO:<\xff\xfe@SU-SCORE.ARPA>\r\n")
    assert (await c.reply())[0].startswith("501 ")
    assert await c.cmd("VRFY Green") == ["250 2.1.5 José Green <Green@SU-SCORE.ARPA>"]
    s2 = await lab(world("rfc821").replace('Green = "Bob Green"', 'Green = "José Green"'))
    c2, _ = await s2.connect()
    assert await c2.cmd("VRFY Green") == ["250 Jos\\xe9 Green <Green@SU-SCORE.ARPA>"]
    assert not [e.text for e in s.events + s2.events if "internal error" in e.text]


# ----------------------------------------------------------------------------- fuzzing

_VERBS = ["HELO", "EHLO", "MAIL FROM:", "RCPT TO:", "DATA", "RSET", "VRFY", "EXPN", "HELP",
          "NOOP", "QUIT", "SEND FROM:", "SOML FROM:", "SAML FROM:", "STARTTLS", "AUTH",
          "ETRN", "VERB", "BDAT", "X"]
_ARGS = ["", " xyz.test", "<Green@SU-SCORE.ARPA>", "<>", "<@USC-ISI.ARPA:Jones@USC-ISI.ARPA>",
         "<fred@SU-SCORE.ARPA>", "<moved@SU-SCORE.ARPA>", "<x@elsewhere.test>", " staff",
         " Smith", " PLAIN", " LOGIN", " PLAIN =", "<a@b> SIZE=99999999999", "<a@b> BODY=X",
         "<a@b> SMTPUTF8", "<\"q\\\"x\"@SU-SCORE.ARPA>", " \x00\x1b[2J", "<" + "a" * 600 + ">",
         ".", "..", "\t", " é"]


def test_random_command_sequences_never_break_the_server(tmp_path, tls_dir):
    """Whatever a client types, every reply line is a well-formed SMTP reply, no event says
    "internal error" and nothing reaches the loop's exception handler."""
    import re

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from smtptui.server.app import start_server, stop_server
    from smtptui.server.world import load_world
    from tests.server.conftest import world_file

    loaded = {p: load_world(world_file(tmp_path, world(p), f"{p}.toml"))
              for p in ("modern", "rfc821", "sendmail-8.9")}
    line = st.one_of(
        st.builds(lambda v, a: (v + a).encode("utf-8", "surrogateescape"),
                  st.sampled_from(_VERBS), st.sampled_from(_ARGS)),
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    )
    reply_re = re.compile(r"^[2-5]\d\d([ -].*)?$")

    async def session(persona: str, lines: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        seen: list[dict] = []
        loop.set_exception_handler(lambda _l, ctx: seen.append(ctx))
        events: list = []
        server, port = await start_server(loaded[persona], "127.0.0.1", 0,
                                          maildir=tmp_path / "m", on_event=events.append,
                                          tls_dir=tls_dir, timeout=5)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"".join(x + b"\r\n" for x in lines) + b"\r\n.\r\nQUIT\r\n")
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await stop_server(server)
        await asyncio.sleep(0.01)
        text = data.decode("utf-8", "replace")
        if "\r\n220 " in text and "STARTTLS" in text:  # TLS would start: bytes after are ours
            text = text.split("\r\n220 ", 1)[0]
        for got in text.split("\r\n")[:-1]:
            assert reply_re.match(got), (got, lines)
        assert not [e.text for e in events if "internal error" in e.text], lines
        assert seen == [], [c.get("message") for c in seen]

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(sorted(loaded)), st.lists(line, max_size=12))
    def check(persona, lines):
        asyncio.run(session(persona, lines))

    check()


async def test_a_failed_tls_handshake_is_one_clear_event(lab, loop_errors):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    assert await c.code("STARTTLS") == 220
    await c.send_raw(b"this is not a TLS ClientHello\r\n" * 4)
    await asyncio.wait_for(c.reader.read(), 5)  # the server hangs up
    await _wait_disconnected(s, 1)
    texts = [e.text for e in s.events]
    assert any(t.startswith("TLS handshake failed: ") for t in texts), texts
    assert not [t for t in texts if "internal error" in t], texts

"""The asyncio client against real servers on loopback: aiosmtpd (plain, STARTTLS,
implicit TLS) and hand-written hostile servers. Short deadlines keep every test fast."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from smtptui.core.state import State
from smtptui.core.transcript import Direction, Transcript
from smtptui.net.client import DATA_TRANSCRIPT_LIMIT, SMTPClient, Timeouts, make_tls_context
from smtptui.net.errors import (
    ConnectError,
    ProtocolViolation,
    ServerClosed,
    SMTPClientError,
    StepTimeout,
    TLSFailure,
)

from .conftest import SERVER_NAME, Server, needs_ipv6

FAST = Timeouts(connect=2.0, greeting=2.0, reply=2.0, data=5.0)

StartServer = Callable[..., Awaitable[Server]]


# -- a scripted raw server -------------------------------------------------------------------

CLOSE = b"<close>"
HANG = b"<hang>"


def scripted(greeting: bytes = b"220 raw.test ESMTP\r\n", replies: dict[str, bytes] | None = None,
             default: bytes = b"250 ok\r\n"):
    """A line-at-a-time server: ``replies`` maps a verb to the bytes sent back
    (CLOSE hangs up, HANG never answers)."""
    table = replies or {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        await writer.drain()
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper().decode("ascii", "replace")
            out = table.get(verb, default)
            if out == CLOSE:
                return
            if out == HANG:
                await asyncio.sleep(3600)
            writer.write(out)
            await writer.drain()
            if verb == "QUIT":
                return

    return handler


# -- plain sessions against aiosmtpd ---------------------------------------------------------

async def test_plain_session_greeting_ehlo_quit(smtpd: StartServer):
    server = await smtpd()
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    try:
        assert client.peer == ("127.0.0.1", server.port)
        assert client.state is State.CONNECTED
        greeting = await client.read_greeting()
        assert greeting.code == 220
        assert greeting.lines[0].startswith(SERVER_NAME)
        reply = await client.ehlo("client.test")
        assert reply.code == 250 and reply.is_multiline
        caps = client.capabilities
        assert caps is not None
        assert "8BITMIME" in caps and "SIZE" in caps
        assert not caps.starttls  # no TLS context on this server
        assert client.state is State.READY
        assert client.tls is None
        bye = await client.quit()
        assert bye is not None and bye.code == 221
        assert client.closed
    finally:
        await client.close()


async def test_transcript_records_every_byte_with_latencies(smtpd: StartServer):
    server = await smtpd()
    transcript = Transcript()
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST,
                                        transcript=transcript) as client:
        await client.read_greeting()
        await client.ehlo("client.test")
        await client.command("NOOP")
        await client.quit()
    assert client.transcript is transcript
    entries = list(transcript)
    stamps = [e.timestamp for e in entries]
    assert stamps == sorted(stamps)
    sent = [e for e in entries if e.direction is Direction.CLIENT]
    assert [e.raw for e in sent] == [b"EHLO client.test\r\n", b"NOOP\r\n", b"QUIT\r\n"]
    assert [e.text for e in sent] == ["EHLO client.test", "NOOP", "QUIT"]
    replies = [e for e in entries if e.direction is Direction.SERVER]
    assert [e.code for e in replies] == [220, 250, 250, 221]
    for entry in replies:
        assert entry.latency is not None and entry.latency >= 0
        assert entry.reply is not None and entry.raw == entry.reply.raw
        assert entry.raw.endswith(b"\r\n")
    # each reply's latency is measured from the command it answers
    for command, reply in zip(sent, replies[1:], strict=True):
        assert reply.latency == pytest.approx(reply.timestamp - command.timestamp, abs=1e-3)
    notes = [e.text for e in entries if e.direction is Direction.NOTE]
    assert notes[0] == f"connected to 127.0.0.1:{server.port}"
    assert notes[-1] == "connection closed"
    text = transcript.to_text()
    assert "C: EHLO client.test\n" in text and f"S: 250-{SERVER_NAME}\n" in text


async def test_multi_megabyte_data_is_streamed_and_arrives_intact(smtpd: StartServer):
    server = await smtpd()
    # ~3 MB of lines, with periods at line starts (stuffed), and chunk boundaries that
    # split CRLF pairs and fall just before a leading period.
    lines = [f"line {i:07d} " + "x" * (i % 300) for i in range(20000)]
    for i in range(0, len(lines), 97):
        lines[i] = "." + lines[i]
    lines.append(".")
    lines.append("..")
    message = ("Subject: big\r\n\r\n" + "\r\n".join(lines) + "\r\n").encode()
    assert len(message) > 3_000_000

    def chunks() -> Iterator[bytes]:
        sizes = [1, 7, 4096, 65536, 3, 100_000]
        pos = i = 0
        while pos < len(message):
            size = sizes[i % len(sizes)]
            yield message[pos:pos + size]
            pos += size
            i += 1

    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        await client.ehlo("client.test")
        assert (await client.command("MAIL FROM:<a@client.test>")).code == 250
        assert (await client.command("RCPT TO:<b@mx.test.invalid>")).code == 250
        assert (await client.command("DATA")).code == 354
        assert client.state is State.DATA
        reply = await client.send_data(chunks())
        assert reply.code == 250, reply
        assert client.state is State.READY
        stats = client.last_data
        assert stats is not None
        assert stats.octets == len(message)
        assert stats.wire_octets > stats.octets  # stuffed periods + end marker
        assert stats.bare_lf == stats.bare_cr == 0
        await client.quit()
    assert server.handler is not None
    [envelope] = server.handler.messages
    assert envelope.content == message
    # the transcript keeps the start of the message, not all of it
    data_bytes = sum(len(e.raw) for e in client.transcript if e.direction is Direction.CLIENT)
    assert data_bytes < DATA_TRANSCRIPT_LIMIT + 1024
    assert any("more octets of message data" in e.text for e in client.transcript)
    assert any(e.raw == b".\r\n" for e in client.transcript)


async def test_send_data_accepts_async_iterables_and_normalises_line_ends(smtpd: StartServer):
    server = await smtpd()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"Subject: hi\n\n"
        yield b".starts with a dot\r"
        yield b"\nbare CR\rend without newline"

    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        await client.helo("client.test")
        await client.command("MAIL FROM:<a@client.test>")
        await client.command("RCPT TO:<b@mx.test.invalid>")
        await client.command("DATA")
        reply = await client.send_data(chunks())
        assert reply.code == 250
        assert client.last_data is not None
        assert client.last_data.bare_lf == 2 and client.last_data.bare_cr == 1
    assert server.handler is not None
    assert server.handler.messages[0].content == (
        b"Subject: hi\r\n\r\n.starts with a dot\r\nbare CR\r\nend without newline\r\n")
    sent = [e.text for e in client.transcript if e.direction is Direction.CLIENT]
    data = sent[sent.index("DATA") + 1:]
    # the transcript shows the wire form (stuffed, CRLF), cut at line ends
    assert "\n".join(data) == "Subject: hi\n\n..starts with a dot\nbare CR\nend without newline\n."


async def test_send_data_needs_a_354_first(smtpd: StartServer):
    server = await smtpd()
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        with pytest.raises(RuntimeError, match="354"):
            await client.send_data([b"x"])


async def test_data_line_by_line_with_send_line(smtpd: StartServer):
    server = await smtpd()
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        await client.ehlo("client.test")
        await client.command("MAIL FROM:<a@client.test>")
        await client.command("RCPT TO:<b@mx.test.invalid>")
        await client.command("DATA")
        await client.send_line("Subject: typed")
        await client.send_line("")
        await client.send_line("hello")
        reply = await client.command(".")
        assert reply.code == 250
    assert server.handler is not None
    assert server.handler.messages[0].content == b"Subject: typed\r\n\r\nhello\r\n"


async def test_secret_lines_are_marked_and_steps_use_the_verb(raw_server: StartServer):
    server = await raw_server(scripted(replies={"AUTH": b"334 \r\n"}, default=b"535 5.7.8 no\r\n"))
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        assert (await client.command("AUTH LOGIN")).code == 334
        reply = await client.command("dXNlcg==", secret=True)
        assert reply.code == 535
    secret = [e for e in client.transcript if e.secret]
    assert [e.raw for e in secret] == [b"dXNlcg==\r\n"]
    assert "dXNlcg" not in client.transcript.to_text()


async def test_command_refuses_embedded_line_ends(smtpd: StartServer):
    server = await smtpd()
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        with pytest.raises(ValueError, match="CR or LF"):
            await client.command("NOOP\r\nRSET")


async def test_5xx_to_ehlo_is_a_reply_not_an_error(raw_server: StartServer):
    server = await raw_server(scripted(replies={"EHLO": b"502 5.5.1 EHLO not implemented\r\n",
                                                "HELO": b"250 raw.test\r\n"}))
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        reply = await client.ehlo("client.test")
        assert reply.code == 502 and reply.enhanced == "5.5.1"
        assert client.capabilities is None
        assert (await client.helo("client.test")).code == 250
        assert client.state is State.READY


# -- STARTTLS and implicit TLS -----------------------------------------------------------------

async def _starttls_session(client: SMTPClient) -> None:
    assert (await client.read_greeting()).code == 220
    await client.ehlo("client.test")
    assert client.capabilities is not None and client.capabilities.starttls
    reply = await client.starttls()
    assert reply.code == 220


async def test_starttls_verified_with_cafile(smtpd: StartServer, server_tls: ssl.SSLContext,
                                             cafile: str):
    server = await smtpd(tls_context=server_tls)
    ctx = make_tls_context(cafile=cafile)
    async with await SMTPClient.connect("localhost", server.port, addresses=["127.0.0.1"],
                                        ssl_context=ctx, timeouts=FAST) as client:
        await _starttls_session(client)
        tls = client.tls
        assert tls is not None
        assert tls.mode == "starttls" and tls.verified and tls.verify_error is None
        assert tls.version.startswith("TLSv1.")
        assert tls.cipher
        assert "CN=localhost" in tls.subject
        assert "trustme" in tls.issuer
        assert "DNS:localhost" in tls.san and "IP:127.0.0.1" in tls.san
        assert tls.not_before < tls.not_after and tls.not_after.endswith("Z")
        # RFC 3207 §4.2: capabilities forgotten, EHLO needed again
        assert client.capabilities is None
        assert client.state is State.GREETED
        reply = await client.ehlo("client.test")
        assert reply.code == 250
        assert client.capabilities is not None and not client.capabilities.starttls
        await client.quit()
    assert server.connections == 1
    assert any(e.text.startswith("TLS established: TLSv1.") for e in client.transcript)


async def test_starttls_unknown_issuer_fails_with_the_reason(smtpd: StartServer,
                                                             server_tls: ssl.SSLContext):
    server = await smtpd(tls_context=server_tls)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    with pytest.raises(TLSFailure) as info:
        await _starttls_session(client)
    assert str(info.value) == ("starttls: certificate verify failed: "
                               "unable to get local issuer certificate")
    assert client.closed and client.tls is None


async def test_starttls_hostname_mismatch(smtpd: StartServer, server_tls: ssl.SSLContext,
                                          cafile: str):
    server = await smtpd(tls_context=server_tls)
    client = await SMTPClient.connect("mx.other.test", server.port, addresses=["127.0.0.1"],
                                      ssl_context=make_tls_context(cafile=cafile),
                                      timeouts=FAST)
    with pytest.raises(TLSFailure, match="starttls: certificate verify failed: hostname "
                                         "mismatch.*mx.other.test"):
        await _starttls_session(client)


async def test_starttls_insecure_proceeds_unverified_with_the_reason(
        smtpd: StartServer, self_signed_tls: ssl.SSLContext):
    server = await smtpd(tls_context=self_signed_tls)
    ctx = make_tls_context(insecure=True)
    async with await SMTPClient.connect(server.host, server.port, ssl_context=ctx,
                                        timeouts=FAST) as client:
        await _starttls_session(client)
        tls = client.tls
        assert tls is not None
        assert not tls.verified
        assert tls.verify_error == "unable to get local issuer certificate"
        # the summary is read from the DER form, which an unverified session still has
        assert "CN=" in tls.subject or tls.san
        assert "IP:127.0.0.1" in tls.san
        assert tls.not_after
        assert client.state is State.GREETED
        assert (await client.ehlo("client.test")).code == 250
        await client.quit()
    # the verified attempt cost one connection; the fallback replayed greeting/EHLO/STARTTLS
    assert server.connections == 2
    notes = [e.text for e in client.transcript if e.direction is Direction.NOTE]
    assert any("reconnecting without verification" in n for n in notes)
    sent = [e.text for e in client.transcript if e.direction is Direction.CLIENT]
    assert sent[:4] == ["EHLO client.test", "STARTTLS", "EHLO client.test", "STARTTLS"]


async def test_implicit_tls_verified(smtpd: StartServer, server_tls: ssl.SSLContext, cafile: str):
    server = await smtpd(implicit=server_tls)
    ctx = make_tls_context(cafile=cafile)
    async with await SMTPClient.connect(server.host, server.port, implicit_tls=True,
                                        ssl_context=ctx, timeouts=FAST) as client:
        assert client.tls is not None and client.tls.mode == "implicit" and client.tls.verified
        greeting = await client.read_greeting()
        assert greeting.code == 220
        reply = await client.ehlo("client.test")
        assert reply.code == 250
        await client.quit()
    first = next(e for e in client.transcript if e.direction is Direction.SERVER)
    assert first.latency is not None and first.latency >= 0


async def test_implicit_tls_insecure_falls_back(smtpd: StartServer,
                                                self_signed_tls: ssl.SSLContext):
    server = await smtpd(implicit=self_signed_tls)
    async with await SMTPClient.connect(server.host, server.port, implicit_tls=True,
                                        ssl_context=make_tls_context(insecure=True),
                                        timeouts=FAST) as client:
        assert client.tls is not None and not client.tls.verified
        assert client.tls.verify_error == "unable to get local issuer certificate"
        assert (await client.read_greeting()).code == 220
    assert server.connections == 2


async def test_implicit_tls_against_a_plain_port(smtpd: StartServer, cafile: str):
    server = await smtpd()
    with pytest.raises(TLSFailure) as info:
        await SMTPClient.connect(server.host, server.port, implicit_tls=True,
                                 ssl_context=make_tls_context(cafile=cafile), timeouts=FAST)
    assert str(info.value).startswith("tls: TLS handshake failed: ")
    assert "\n" not in str(info.value)


async def test_starttls_refused_is_returned(raw_server: StartServer):
    server = await raw_server(scripted(replies={"STARTTLS": b"454 4.7.0 TLS not available\r\n"}))
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        reply = await client.starttls()
        assert reply.code == 454 and client.tls is None and not client.closed


async def test_starttls_response_injection_is_refused(raw_server: StartServer):
    server = await raw_server(scripted(
        replies={"STARTTLS": b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n"}))
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    await client.read_greeting()
    with pytest.raises(ProtocolViolation, match="starttls: .*after its 220 reply"):
        await client.starttls()
    assert client.closed


# -- connecting --------------------------------------------------------------------------------

async def test_connection_refused(closed_port: int):
    with pytest.raises(ConnectError) as info:
        await SMTPClient.connect("127.0.0.1", closed_port, timeouts=FAST)
    assert str(info.value) == f"connect: connection refused (127.0.0.1:{closed_port})"


async def test_every_address_is_tried_in_turn(smtpd: StartServer):
    server = await smtpd()
    # 127.0.0.2 is loopback too, but nobody listens there on this port
    transcript = Transcript()
    async with await SMTPClient.connect("mx.test.invalid", server.port, timeouts=FAST,
                                        addresses=["127.0.0.2", "127.0.0.1"],
                                        transcript=transcript) as client:
        assert client.peer[0] == "127.0.0.1"
        assert client.host == "mx.test.invalid"
        assert (await client.read_greeting()).code == 220
    notes = [e.text for e in transcript if e.direction is Direction.NOTE]
    assert notes[0] == f"connect to 127.0.0.2:{server.port} failed: connection refused"


async def test_all_addresses_failing_lists_each(closed_port: int):
    with pytest.raises(ConnectError) as info:
        await SMTPClient.connect("mx.test.invalid", closed_port, timeouts=FAST,
                                 addresses=["127.0.0.2", "127.0.0.1"])
    assert str(info.value) == (f"connect: connection refused (127.0.0.2:{closed_port}); "
                               f"connection refused (127.0.0.1:{closed_port})")


async def test_family_filter(closed_port: int):
    with pytest.raises(ConnectError, match="not an IPv4 address"):
        await SMTPClient.connect("::1", closed_port, family=socket.AF_INET)
    with pytest.raises(ConnectError, match="no IPv6 address for mx"):
        await SMTPClient.connect("mx", closed_port, family=socket.AF_INET6,
                                 addresses=["127.0.0.1"])


async def test_localhost_name_is_resolved(smtpd: StartServer):
    # /etc/hosts resolution (no DNS traffic): getaddrinfo with the family filter
    server = await smtpd()
    async with await SMTPClient.connect("localhost", server.port, family=socket.AF_INET,
                                        timeouts=FAST) as client:
        assert client.peer == ("127.0.0.1", server.port)


@needs_ipv6
async def test_ipv6_loopback(smtpd: StartServer):
    server = await smtpd(host="::1")
    async with await SMTPClient.connect("::1", server.port, timeouts=FAST) as client:
        assert client.peer == ("::1", server.port)
        assert (await client.read_greeting()).code == 220
        assert (await client.ehlo("client.test")).code == 250
    assert client.transcript[0].text == f"connected to [::1]:{server.port}"


# -- hostile and broken servers ----------------------------------------------------------------

async def test_greeting_deadline_covers_the_whole_reply(raw_server: StartServer):
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"220 slow.example ESMTP at one byte per 0.2 s\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    server = await raw_server(drip)
    client = await SMTPClient.connect(server.host, server.port,
                                      timeouts=Timeouts(connect=2, greeting=0.5))
    try:
        with pytest.raises(StepTimeout) as info:
            await client.read_greeting()
    finally:
        await client.close()
    assert str(info.value).startswith("greeting: timed out after 0.5 s waiting for the server")
    assert "had started" in str(info.value)


async def test_reply_deadline_names_the_command(raw_server: StartServer):
    server = await raw_server(scripted(replies={"MAIL": HANG}))
    async with await SMTPClient.connect(
            server.host, server.port, timeouts=Timeouts(connect=2, greeting=2, reply=0.3)
    ) as client:
        await client.read_greeting()
        await client.helo("client.test")
        with pytest.raises(StepTimeout) as info:
            await client.command("MAIL FROM:<a@client.test>")
    assert str(info.value) == "MAIL: timed out after 0.3 s waiting for the server"


async def test_server_closes_at_once(raw_server: StartServer):
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return

    server = await raw_server(rude)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    with pytest.raises(ServerClosed) as info:
        await client.read_greeting()
    await client.close()
    assert str(info.value) == "greeting: server closed the connection"


async def test_server_closes_mid_session(raw_server: StartServer):
    server = await raw_server(scripted(replies={"MAIL": CLOSE}))
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        with pytest.raises(ServerClosed, match="^MAIL: server closed the connection$"):
            await client.command("MAIL FROM:<a@client.test>")
        assert await client.quit() is None


async def test_final_reply_without_line_end_is_delivered(raw_server: StartServer):
    server = await raw_server(scripted(replies={"QUIT": b"221 bye"}))
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        reply = await client.quit()
    assert reply is not None and reply.code == 221 and reply.diagnostics


async def test_garbage_greeting(raw_server: StartServer):
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nServer: \x1b[31mnginx\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    server = await raw_server(http)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    with pytest.raises(ProtocolViolation) as info:
        await client.read_greeting()
    await client.close()
    assert str(info.value) == 'greeting: not an SMTP reply: "HTTP/1.1 400 Bad Request"'


async def test_escape_sequences_in_errors_are_escaped(raw_server: StartServer):
    async def evil(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x1b]0;pwned\x07\x1b[2J\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    server = await raw_server(evil)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    with pytest.raises(ProtocolViolation) as info:
        await client.read_greeting()
    await client.close()
    message = str(info.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b]0;pwned\\x07" in message


async def test_over_long_reply_line_is_capped_and_reported(raw_server: StartServer):
    size = 4 * 1024 * 1024

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ")
        block = b"A" * 65536
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        writer.write(b"\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    server = await raw_server(flood)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    greeting = await client.read_greeting()  # read to its end, reported, not refused
    await client.close()
    assert greeting.code == 220
    message = " ".join(d.message for d in greeting.diagnostics)
    assert "line 1: the line is " in message and "only the first 8192 were kept" in message
    [entry] = [e for e in client.transcript if e.direction is Direction.SERVER]
    assert len(entry.raw) <= 8192 + 2  # memory bounded: the rest was never kept


async def test_endless_multiline_reply_is_cut_and_reported(raw_server: StartServer):
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ok\r\n")
        await reader.readline()
        line = b"250-" + b"X" * 60 + b"\r\n"
        for _ in range(200):
            writer.write(line * 100)
            await writer.drain()
        writer.write(b"250 end\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    server = await raw_server(endless)
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        reply = await client.ehlo("client.test")  # read to its end: 1.3 MB, 20,001 lines
    assert reply.code == 250
    (cut,) = [d for d in reply.diagnostics if d.rule == "smtptui max_reply_size"]
    assert "octets) were read and discarded" in cut.message
    assert len(reply.raw) <= 1024 * 1024 + 66  # what we hold is capped by octets
    [_, entry] = [e for e in client.transcript if e.direction is Direction.SERVER]
    assert entry.reply is reply


async def test_data_rejected_mid_stream_returns_the_servers_reply(raw_server: StartServer):
    async def small(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ok\r\n")
        while line := await reader.readline():
            if line.startswith(b"DATA"):
                writer.write(b"354 go\r\n")
                await writer.drain()
                await reader.readexactly(100_000)
                writer.write(b"552 5.3.4 Message too big\r\n")
                await writer.drain()
                return
            writer.write(b"250 ok\r\n")
            await writer.drain()

    server = await raw_server(small)

    def endless() -> Iterator[bytes]:
        while True:
            yield b"y" * 1000 + b"\r\n"

    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    try:
        await client.read_greeting()
        await client.command("MAIL FROM:<a@client.test>")
        await client.command("RCPT TO:<b@raw.test>")
        await client.command("DATA")
        try:
            reply = await client.send_data(endless())
        except ServerClosed as exc:  # the reset can beat the reply on some kernels
            assert exc.step == "message data"
        else:
            assert reply.code == 552
        assert client.closed
    finally:
        await client.close()


async def test_every_failure_is_one_line_step_reason(raw_server: StartServer, closed_port: int):
    failures: list[SMTPClientError] = []
    try:
        await SMTPClient.connect("127.0.0.1", closed_port, timeouts=FAST)
    except SMTPClientError as exc:
        failures.append(exc)
    server = await raw_server(scripted(greeting=b"\x00\x01\x02\r\n"))
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    try:
        await client.read_greeting()
    except SMTPClientError as exc:
        failures.append(exc)
    await client.close()
    assert len(failures) == 2
    for exc in failures:
        assert str(exc) == f"{exc.step}: {exc.reason}"
        assert "\n" not in str(exc) and "\r" not in str(exc)


async def test_failing_message_source_drops_the_connection_without_the_end_marker(
        smtpd: StartServer):
    server = await smtpd()

    def broken() -> Iterator[bytes]:
        yield b"Subject: half\r\n\r\nfirst part\r\n"
        raise OSError("disk read error")

    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    await client.read_greeting()
    await client.ehlo("client.test")
    await client.command("MAIL FROM:<a@client.test>")
    await client.command("RCPT TO:<b@mx.test.invalid>")
    await client.command("DATA")
    with pytest.raises(OSError, match="disk read error"):
        await client.send_data(broken())
    assert client.closed
    await asyncio.sleep(0.05)
    assert server.handler is not None and server.handler.messages == []
    assert not any(e.raw == b".\r\n" for e in client.transcript)
    assert "partial message is not delivered" in client.transcript[-1].text


async def test_final_reply_to_data_has_its_own_deadline(raw_server: StartServer):
    async def silent_after_data(reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ok\r\n")
        while line := await reader.readline():
            if line == b"DATA\r\n":
                writer.write(b"354 go\r\n")
                await writer.drain()
                await reader.readuntil(b"\r\n.\r\n")
                await asyncio.sleep(3600)
            writer.write(b"250 ok\r\n")
            await writer.drain()

    server = await raw_server(silent_after_data)
    timeouts = Timeouts(connect=2, greeting=2, reply=2, data=0.3)
    async with await SMTPClient.connect(server.host, server.port, timeouts=timeouts) as client:
        await client.read_greeting()
        await client.command("MAIL FROM:<a@client.test>")
        await client.command("RCPT TO:<b@raw.test>")
        await client.command("DATA")
        with pytest.raises(StepTimeout) as info:
            await client.send_data([b"hello\r\n"])
    assert str(info.value) == "end of data: timed out after 0.3 s waiting for the server"


async def test_server_that_stops_reading_message_data_times_out(raw_server: StartServer):
    async def stops_reading(reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ok\r\n")
        while line := await reader.readline():
            if line == b"DATA\r\n":
                writer.write(b"354 go\r\n")
                await writer.drain()
                await asyncio.sleep(3600)
            writer.write(b"250 ok\r\n")
            await writer.drain()

    server = await raw_server(stops_reading)

    def endless() -> Iterator[bytes]:
        block = (b"z" * 998 + b"\r\n") * 64
        while True:
            yield block

    timeouts = Timeouts(connect=2, greeting=2, reply=2, data=0.3)
    client = await SMTPClient.connect(server.host, server.port, timeouts=timeouts)
    await client.read_greeting()
    await client.command("MAIL FROM:<a@client.test>")
    await client.command("RCPT TO:<b@raw.test>")
    await client.command("DATA")
    with pytest.raises(StepTimeout) as info:
        await client.send_data(endless())
    assert str(info.value) == ("message data: timed out after 0.3 s: "
                               "the server stopped reading")
    assert client.closed


async def test_tls_handshake_deadline(raw_server: StartServer, cafile: str):
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    server = await raw_server(mute)
    with pytest.raises(StepTimeout) as info:
        await SMTPClient.connect(server.host, server.port, implicit_tls=True,
                                 ssl_context=make_tls_context(cafile=cafile),
                                 timeouts=Timeouts(connect=0.3))
    assert str(info.value) == "tls: TLS handshake timed out after 0.3 s"


async def test_server_hanging_up_during_the_handshake(raw_server: StartServer, cafile: str):
    async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 ok\r\n")
        await reader.readline()
        writer.write(b"220 go ahead\r\n")
        await writer.drain()

    server = await raw_server(hangs_up)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST,
                                      ssl_context=make_tls_context(cafile=cafile))
    await client.read_greeting()
    with pytest.raises(TLSFailure) as info:
        await client.starttls()
    assert str(info.value).startswith("starttls: TLS handshake failed: ")
    assert client.closed


async def test_pipelined_replies_get_latencies_from_their_own_commands(smtpd: StartServer):
    server = await smtpd()
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        await client.ehlo("client.test")
        for line in ("MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test.invalid>", "DATA"):
            await client.send_line(line)
        codes = [(await client.read_reply("pipelined")).code for _ in range(3)]
        assert codes == [250, 250, 354]
        assert client.state is State.DATA
        reply = await client.send_data([b"Subject: pipelined\r\n\r\nbody\r\n"])
        assert reply.code == 250
    entries = list(client.transcript)
    for name in ("MAIL", "RCPT", "DATA"):
        sent = next(e for e in entries if e.text.startswith(name))
        answer = entries[entries.index(sent) + 1:]
        replies = [e for e in answer if e.direction is Direction.SERVER]
        # each reply's latency is measured from its own command, not the last one sent
        position = ("MAIL", "RCPT", "DATA").index(name)
        assert replies[position].latency == pytest.approx(
            replies[position].timestamp - sent.timestamp, abs=1e-3)


def test_timeouts_must_be_positive():
    with pytest.raises(ValueError, match="greeting timeout must be a positive number"):
        Timeouts(greeting=0)


async def test_data_streaming_memory_stays_bounded(raw_server: StartServer):
    """20 MB through send_data while tracemalloc watches: the message is never held."""
    import tracemalloc

    received = 0

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        writer.write(b"220 ok\r\n")
        while line := await reader.readline():
            if line == b"DATA\r\n":
                writer.write(b"354 go\r\n")
                await writer.drain()
                tail = b""
                while not tail.endswith(b"\r\n.\r\n"):
                    block = await reader.read(65536)
                    if not block:
                        return
                    received += len(block)
                    tail = (tail + block)[-5:]
            writer.write(b"250 ok\r\n")
            await writer.drain()

    server = await raw_server(sink)
    block = (b"m" * 98 + b"\r\n") * 1000  # 100 kB
    total = 200 * len(block)

    def message() -> Iterator[bytes]:
        for _ in range(200):
            yield block

    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        await client.command("MAIL FROM:<a@client.test>")
        await client.command("RCPT TO:<b@raw.test>")
        await client.command("DATA")
        tracemalloc.start()
        try:
            reply = await client.send_data(message())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert reply.code == 250
    assert received == total + 3
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while streaming {total} bytes"


async def test_expired_certificate_reason(smtpd: StartServer, ca, cafile: str):
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    leaf = ca.issue_cert("localhost", "127.0.0.1", not_before=now - datetime.timedelta(days=30),
                         not_after=now - datetime.timedelta(days=1))
    expired = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(expired)
    server = await smtpd(tls_context=expired)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST,
                                      ssl_context=make_tls_context(cafile=cafile))
    with pytest.raises(TLSFailure) as info:
        await _starttls_session(client)
    assert str(info.value) == "starttls: certificate verify failed: certificate has expired"
    # with --insecure the same session goes on, and says why it is not verified
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST,
                                      ssl_context=make_tls_context(cafile=cafile, insecure=True))
    async with client:
        await _starttls_session(client)
        assert client.tls is not None and not client.tls.verified
        assert client.tls.verify_error == "certificate has expired"
        assert client.tls.not_after < datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")


async def test_secret_initial_response_is_named_after_its_verb(raw_server: StartServer):
    server = await raw_server(scripted(replies={"AUTH": HANG}))
    async with await SMTPClient.connect(
            server.host, server.port, timeouts=Timeouts(connect=2, greeting=2, reply=0.2)
    ) as client:
        await client.read_greeting()
        await client.ehlo("client.test")
        with pytest.raises(StepTimeout, match="^AUTH: timed out"):
            await client.command("AUTH PLAIN AGFsaWNlAHNlY3JldA==", secret=True)
    assert "AGFsaWNl" not in client.transcript.to_text()


@needs_ipv6
async def test_ipv6_address_refused_then_ipv4(smtpd: StartServer):
    server = await smtpd()  # 127.0.0.1 only: the ::1 attempt is refused
    async with await SMTPClient.connect("mx.test.invalid", server.port, timeouts=FAST,
                                        addresses=["::1", "127.0.0.1"]) as client:
        assert client.peer == ("127.0.0.1", server.port)
    assert client.transcript[0].text == (
        f"connect to [::1]:{server.port} failed: connection refused")

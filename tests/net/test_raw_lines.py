"""The client's raw-line API (read_line, send_raw_line, wait_for_hangup): what the runner
uses after TURN, when the remote sends commands and we send the replies. Real sockets on
loopback; the same deadline and size rules as replies."""

from __future__ import annotations

import asyncio

import pytest

from smtptui.core.transcript import Direction
from smtptui.net.client import READ_SIZE, SMTPClient, Timeouts
from smtptui.net.errors import ProtocolViolation, ServerClosed, StepTimeout

from .conftest import Server

FAST = Timeouts(connect=2.0, greeting=2.0, reply=1.0, data=2.0)


def remote(*chunks: bytes, delay: float = 0.0, then_read: bool = False, log: list | None = None):
    """A peer that greets, then sends ``chunks`` (each after ``delay`` seconds), then
    optionally records what it reads until we close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 peer.test ESMTP\r\n")
        await writer.drain()
        for chunk in chunks:
            if delay:
                await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
        if then_read:
            while line := await reader.readline():
                assert log is not None
                log.append(line)
        else:
            await asyncio.sleep(3600)

    return handler


async def connected(server: Server, timeouts: Timeouts = FAST) -> SMTPClient:
    client = await SMTPClient.connect(server.host, server.port, timeouts=timeouts)
    await client.read_greeting()
    return client


async def test_read_line_returns_lines_and_records_them(raw_server):
    server = await raw_server(remote(b"HELO a.test\r\nMAIL FROM:<x@a.test>\n"))
    async with await connected(server) as client:
        assert await client.read_line("remote command") == "HELO a.test"
        assert await client.read_line("remote command") == "MAIL FROM:<x@a.test>"
    entries = [e for e in client.transcript if e.direction is Direction.SERVER]
    assert [e.raw for e in entries[1:]] == [b"HELO a.test\r\n", b"MAIL FROM:<x@a.test>\n"]
    assert entries[1].text == "HELO a.test"


async def test_read_line_deadline_covers_the_whole_line(raw_server):
    # One byte every 0.3 s: every read succeeds, the line never completes in 1 s.
    server = await raw_server(remote(*(bytes([b]) for b in b"HELO slow.test\r\n"), delay=0.3))
    async with await connected(server) as client:
        with pytest.raises(StepTimeout) as info:
            await client.read_line("remote command", 1.0)
    assert str(info.value) == "remote command: timed out after 1.0 s waiting for the remote"


async def test_read_line_over_the_cap_is_a_protocol_violation(raw_server):
    server = await raw_server(remote(b"X" * 300 + b"\r\n"))
    async with await connected(server) as client:
        with pytest.raises(ProtocolViolation) as info:
            await client.read_line("remote command", max_length=100)
        assert client.closed  # the rest of an over-long line is never read
    assert str(info.value) == "remote command: line longer than 100 octets"


async def test_endless_line_without_line_end_is_cut_at_the_stream_limit(raw_server):
    server = await raw_server(remote(b"Y" * (READ_SIZE + 10)))
    async with await connected(server) as client:
        with pytest.raises(ProtocolViolation, match="line longer than"):
            await client.read_line("remote command")


async def test_read_line_when_the_remote_hangs_up(raw_server):
    async def hang_up(reader, writer):
        writer.write(b"220 peer.test ESMTP\r\nHALF")
        await writer.drain()

    server = await raw_server(hang_up)
    async with await connected(server) as client:
        with pytest.raises(ServerClosed) as info:
            await client.read_line("remote command")
    assert str(info.value) == "remote command: the remote closed the connection mid-line"


async def test_send_raw_line_is_sent_as_given_and_recorded(raw_server):
    log: list[bytes] = []
    server = await raw_server(remote(then_read=True, log=log))
    async with await connected(server) as client:
        await client.send_raw_line("250-peer.test")
        await client.send_raw_line("250 OK")
        with pytest.raises(ValueError):
            await client.send_raw_line("250 a\r\nRSET")
        await asyncio.sleep(0.1)
    assert log == [b"250-peer.test\r\n", b"250 OK\r\n"]
    sent = [e.raw for e in client.transcript if e.direction is Direction.CLIENT]
    assert sent == [b"250-peer.test\r\n", b"250 OK\r\n"]


async def test_send_raw_line_on_a_closed_connection_names_the_step(raw_server):
    server = await raw_server(remote())
    client = await connected(server)
    await client.close()
    with pytest.raises(ServerClosed) as info:
        await client.send_raw_line("221 bye", step="reply")
    assert str(info.value) == "reply: the connection is closed"


async def test_wait_for_hangup(raw_server):
    async def quits(reader, writer):
        writer.write(b"220 peer.test ESMTP\r\nQUIT\r\n")
        await writer.drain()
        await reader.readline()  # our 221, then it hangs up

    server = await raw_server(quits)
    async with await connected(server) as client:
        assert await client.read_line("remote command") == "QUIT"
        await client.send_raw_line("221 bye")
        assert await client.wait_for_hangup(2.0) is True
    server2 = await raw_server(remote())
    async with await connected(server2) as client:
        assert await client.wait_for_hangup(0.2) is False


async def test_a_secret_never_names_a_step(raw_server):
    """The step of a failed write is the verb, never the (secret) text of the line."""
    server = await raw_server(remote())
    client = await connected(server)
    await client.close()
    with pytest.raises(ServerClosed) as info:
        await client.send_line("AUTH PLAIN AHVzZXIAcGFzcw==", secret=True)
    assert "AHVz" not in str(info.value)

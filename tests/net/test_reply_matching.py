"""Replies are matched to their commands: a reply cut short is a failure of its step,
and a reply no command was waiting for makes the next step fail instead of shifting
every later reply onto the wrong command (issue: reliability, items 1 and 2)."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from smtptui.core.transcript import Direction
from smtptui.net.client import SMTPClient, Timeouts
from smtptui.net.errors import ProtocolViolation, ServerClosed

FAST = Timeouts(connect=2.0, greeting=2.0, reply=2.0, data=5.0)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_multiline_reply_cut_short_fails_the_step(raw_server, how: str) -> None:
    async def handler(reader, writer):
        writer.write(b"220 cut.test ready\r\n")
        await reader.readline()
        writer.write(b"250-cut.test\r\n250-PIPELINING\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        if how == "rst":
            _reset(writer)
        else:
            writer.close()

    server = await raw_server(handler)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    await client.read_greeting()
    with pytest.raises(ServerClosed) as info:
        await client.ehlo("client.test")
    await client.close()
    if how == "fin":
        assert str(info.value) == ("EHLO: connection closed in the middle of a multi-line "
                                   "reply after 2 lines")
    else:
        assert str(info.value).startswith("EHLO: ")
    assert client.capabilities is None, "nothing of the cut reply is taken as capabilities"
    replies = [e for e in client.transcript if e.direction is Direction.SERVER]
    assert b"250-PIPELINING" in b"".join(e.raw for e in replies), "what came is kept"


async def test_final_line_without_crlf_is_still_a_reply(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 ok\r\n")
        await reader.readline()
        writer.write(b"421 going away")  # no CRLF, then FIN: the reply is complete
        await writer.drain()

    server = await raw_server(handler)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    await client.read_greeting()
    reply = await client.command("NOOP")
    assert reply.code == 421
    await client.close()


async def test_unsolicited_reply_after_greeting_fails_the_next_step(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 ok\r\n250 surprise\r\n")
        while await reader.readline():
            writer.write(b"250-ok.test\r\n250 PIPELINING\r\n")
            await writer.drain()

    server = await raw_server(handler)
    client = await SMTPClient.connect(server.host, server.port, timeouts=FAST)
    greeting = await client.read_greeting()
    assert greeting.code == 220
    with pytest.raises(ProtocolViolation) as info:
        await client.ehlo("client.test")
    await client.close()
    message = str(info.value)
    assert message.startswith('EHLO: the server sent a reply no command was waiting for '
                              '("250 surprise")')
    assert "cannot be trusted" in message
    assert client.capabilities is None
    notes = [e.text for e in client.transcript if e.direction is Direction.NOTE]
    assert any("unsolicited reply" in n for n in notes)


async def test_huge_ehlo_is_read_whole(raw_server) -> None:
    keywords = [f"X-KEYWORD-{i:05d}" for i in range(10_000)]  # ~170 KB

    async def handler(reader, writer):
        writer.write(b"220 big.test\r\n")
        await reader.readline()
        body = b"".join(b"250-%s\r\n" % k.encode() for k in keywords)
        writer.write(b"250-big.test\r\n" + body + b"250 HELP\r\n")
        await writer.drain()
        await reader.readline()

    server = await raw_server(handler)
    async with await SMTPClient.connect(server.host, server.port, timeouts=FAST) as client:
        await client.read_greeting()
        reply = await client.ehlo("client.test")
    assert reply.code == 250 and len(reply.lines) == 10_002
    assert client.capabilities is not None and len(client.capabilities) == 10_001
    assert "X-KEYWORD-09999" in client.capabilities

"""TURN (RFC 821 §4.1.1, §3.8): after its 250 the server becomes the sender-SMTP on the
same connection and delivers the mail queued for the client's host.

Read beside the RFC: the new receiver greets (220); the old receiver says HELO, then one
MAIL/RCPT/DATA transaction per queued message, and QUIT. Replies are read with the
core's bounded :class:`~smtptui.core.replies.ReplyParser`, the one the client uses.
Anything that is no SMTP reply, a reply past the bounds, the peer going away or the
session timeout ends the exchange; the caller then closes the connection.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

from smtptui.core.data import DotStuffer
from smtptui.core.replies import Reply, ReplyParser
from smtptui.server.shared import CHUNK, describe
from smtptui.server.world import QueuedMessage

# The client's replies: a few short lines each (RFC 5321 §4.5.3.1.5: 512 octets a
# line). What is kept of one is bounded; past it, 421.
TURN_LINE_OCTETS = 1024
TURN_REPLY_LINES = 100
TURN_REPLY_OCTETS = 64 * 1024


class _TurnAbort(Exception):
    """The exchange cannot go on (its text is the log's reason)."""


_ENDS = (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
         ConnectionError, OSError, _TurnAbort)


class TurnSender:
    """The server in the sender role on one connection after TURN."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 hostname: str, queue: tuple[QueuedMessage, ...], delivered: set[int],
                 event: Callable[[str], None]) -> None:
        self.reader = reader
        self.writer = writer
        self.hostname = hostname
        self.queue = queue
        self.delivered = delivered  # queue indexes delivered (shared by the sessions)
        self.event = event
        self.parser = ReplyParser(max_line_length=TURN_LINE_OCTETS,
                                  max_reply_lines=TURN_REPLY_LINES,
                                  max_reply_octets=TURN_REPLY_OCTETS)
        self.replies: collections.deque[Reply] = collections.deque()

    async def run(self, client: str, timeout: float) -> None:
        """Deliver to ``client``; every way the exchange ends is logged, none raised."""
        try:
            # In this task, not wait_for's inner one: a peer reset during a cancel would
            # leave that task's exception unretrieved.
            async with asyncio.timeout(timeout):
                await self.send_queue(client)
        except _ENDS as exc:
            self.event(f"TURN session ended: {describe(exc)}")

    async def send_queue(self, client: str) -> None:
        """RFC 821 §4.1.1: greeting, HELO, a transaction per message for ``client``, QUIT."""
        code = await self.read_reply()  # the new receiver's 220 greeting
        if code != 220:
            raise _TurnAbort(f"greeting {code}, not 220")
        if await self.say(f"HELO {self.hostname}") != 250:
            await self.say("QUIT")
            return
        for index, msg in enumerate(self.queue):
            if index in self.delivered or msg.host.lower() != client.lower():
                continue
            if await self.send_message(index, msg):
                self.delivered.add(index)
        await self.say("QUIT")

    async def send_message(self, index: int, msg: QueuedMessage) -> bool:
        """One transaction; True when the receiver took the message (250 after the data)."""
        if await self.say(f"MAIL FROM:<{msg.sender}>") != 250:
            await self.say("RSET")
            return False
        accepted = 0
        for r in msg.recipients:
            if await self.say(f"RCPT TO:<{r}>") in (250, 251):
                accepted += 1
        if not accepted or await self.say("DATA") != 354:
            await self.say("RSET")
            return False
        stuffer = DotStuffer()
        self.writer.write(stuffer.feed(msg.data.encode("utf-8")) + stuffer.finish())
        await self.writer.drain()
        code = await self.read_reply()
        self.event(f"TURN sent message {index + 1} -> {code}")
        return code == 250

    async def say(self, line: str) -> int:
        """Send one command and return its reply's code."""
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()
        code = await self.read_reply()
        self.event(f"TURN sent {line.split(' ')[0]} -> {code}")
        return code

    async def read_reply(self) -> int:
        """The code of the receiver's next reply. Past :data:`TURN_REPLY_OCTETS` the
        reply is refused with 421 and the exchange ends: a peer streaming ``250-`` lines
        costs that much memory, never more (it had taken the server to 3.6 GB)."""
        read = 0
        while not self.replies:
            chunk = await self.reader.read(CHUNK)
            if not chunk:
                raise _TurnAbort("the connection closed before a complete reply")
            self.replies.extend(self.parser.feed(chunk))
            read += len(chunk)
            if not self.replies and read > TURN_REPLY_OCTETS:
                self.writer.write(f"421 {self.hostname} reply too long, closing "
                                  "transmission channel\r\n".encode())
                raise _TurnAbort(f"a reply of more than {TURN_REPLY_OCTETS} octets; 421 sent")
        reply = self.replies.popleft()
        if reply.code is None or reply.has_errors:
            errors = "; ".join(d.message for d in reply.diagnostics)
            raise _TurnAbort(f"not an SMTP reply: {errors or reply.raw[:60]!r}")
        return reply.code


"""A bare asyncio server on loopback, in its own thread, driven by a per-test coroutine.

For what aiosmtpd will not do: misbehaving servers (garbage greeting, silence, hanging
up mid-session, escape sequences in the text) and TURN. Used by the probe and run tests,
whose code under test runs its own event loop, hence the separate thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A bare TCP server on 127.0.0.1 in its own thread, speaking whatever ``handler`` says."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self._handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        async def main() -> None:
            self._server = await asyncio.start_server(serve, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(main())
        self._loop.run_forever()

    def start(self) -> RawServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("raw test server did not start")
        return self

    def stop(self) -> None:
        def shutdown() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def raw_servers() -> Iterator[Callable[[Handler], RawServer]]:
    """The body of a ``raw_server`` fixture: a factory, every server stopped afterwards."""
    started: list[RawServer] = []

    def make(handler: Handler) -> RawServer:
        server = RawServer(handler).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def scripted(banner: bytes, replies: Mapping[bytes, bytes], default: bytes = b"") -> Handler:
    """A server that greets with ``banner`` and answers each command by its verb (upper
    case) from ``replies``, else with ``default``; it hangs up after answering QUIT."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)
        while line := await reader.readline():
            verb = line.split()[0].upper() if line.split() else b""
            writer.write(replies.get(verb, default))
            await writer.drain()
            if verb == b"QUIT":
                return

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection and never says a word."""
    await asyncio.sleep(30)


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection and closes it at once."""
    return

"""Fixtures for the teaching server: an in-process server on 127.0.0.1 port 0 and a raw
line-level client, so tests see exactly the bytes a learner would."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from smtptui.server.app import ServerEvent, start_server
from smtptui.server.world import World, load_world


class Client:
    """A raw SMTP client over asyncio streams: send lines, read whole replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> list[str]:
        lines = []
        while True:
            raw = await asyncio.wait_for(self.reader.readline(), 10)
            if not raw:
                raise ConnectionError("server closed the connection")
            line = raw.decode("utf-8").rstrip("\r\n")
            lines.append(line)
            if line[3:4] != "-":
                return lines

    async def cmd(self, line: str) -> list[str]:
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def code(self, line: str) -> int:
        return int((await self.cmd(line))[0][:3])

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


class Lab:
    """A running server plus where its mail went."""

    def __init__(self, server: asyncio.Server, port: int, maildir: Path,
                 events: list[ServerEvent]) -> None:
        self.server, self.port, self.maildir, self.events = server, port, maildir, events
        self.clients: list[Client] = []

    async def connect(self, *, greet: bool = True) -> tuple[Client, list[str]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        client = Client(reader, writer)
        self.clients.append(client)
        greeting = await client.reply() if greet else []
        return client, greeting

    def messages(self, host: str, box: str) -> list[bytes]:
        new = self.maildir / host.lower() / box / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.is_dir() else []


def world_file(tmp_path: Path, text: str, name: str = "world.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "tls"


@pytest.fixture
async def lab(tmp_path: Path, tls_dir: Path) -> AsyncIterator[Callable]:
    """``await lab(world_toml_text or World, play=None)`` -> Lab on an ephemeral port."""
    started: list[Lab] = []

    async def make(world: str | World, *, play: str | None = None) -> Lab:
        if isinstance(world, str):
            world = load_world(world_file(tmp_path, world, f"w{len(started)}.toml"))
        events: list[ServerEvent] = []
        maildir = tmp_path / f"maildir{len(started)}"
        server, port = await start_server(world, "127.0.0.1", 0, maildir=maildir, play=play,
                                           on_event=events.append, tls_dir=tls_dir)
        started.append(Lab(server, port, maildir, events))
        return started[-1]

    yield make
    for lab_ in started:
        for c in lab_.clients:
            await c.close()
        lab_.server.close()
        await lab_.server.wait_closed()

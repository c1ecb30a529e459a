"""Start the teaching server on the caller's own event loop.

aiosmtpd's controllers start their own loop (or cannot start inside a running one,
like Textual's), so the TUI, the shell and ``smtptui run`` call :func:`start_server`
from inside their loop and get an ``asyncio.Server`` on an ephemeral loopback port.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from smtptui.server.personas import get_persona
from smtptui.server.protocol import TeachingSMTP
from smtptui.server.shared import ServerApp, ServerEvent, printable
from smtptui.server.storage import Store
from smtptui.server.world import World, default_world

__all__ = ["ServerApp", "ServerEvent", "data_dir", "needs_tls", "printable", "start_server",
           "stop_server", "world_as"]

BACKLOG = 1024
"""Connections the kernel may queue before the server accepts them (asyncio's default,
100, made a burst of 500 learners' connections wait on SYN retries)."""

logging.getLogger("mail.log").addHandler(logging.NullHandler())  # we report events ourselves

def data_dir() -> Path:
    """The user data dir (platformdirs), where default Maildirs and the TLS key live."""
    import platformdirs

    return Path(platformdirs.user_data_dir("smtptui", appauthor=False))


def needs_tls(world: World) -> bool:
    host = world.host
    exts = host.extensions if host.extensions is not None else get_persona(host.persona).extensions
    return "STARTTLS" in exts


async def start_server(
    world: World | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    maildir: str | os.PathLike[str] | None = None,
    play: str | None = None,
    on_event: Callable[[ServerEvent], None] | None = None,
    tls_dir: str | os.PathLike[str] | None = None,
    timeout: float = 300.0,
) -> tuple[asyncio.Server, int]:
    """Listen on ``host:port`` (port 0 picks a free one) on the caller's loop.

    ``play`` names the world host to play (default: the world's main host), so one
    world file can serve every session of a multi-host scenario. ``maildir`` defaults
    to the user data dir; ``tls_dir`` is where the self-signed certificate is kept.
    Returns the server (close it with ``server.close(); await server.wait_closed()``)
    and the bound port. Never connects anywhere.
    """
    loop = loop or asyncio.get_running_loop()
    world = world or default_world()
    if play is not None:
        world = world_as(world, play)
    base = data_dir()
    store = Store(maildir if maildir is not None else base / "maildir")
    ctx = None
    if needs_tls(world):
        from smtptui.server.tls import server_context

        ctx = server_context(world.host.hostname,
                             Path(tls_dir) if tls_dir is not None else base / "tls")
    app = ServerApp(world, loop=loop, store=store, tls_context=ctx, on_event=on_event,
                    timeout=timeout)
    server = await loop.create_server(lambda: TeachingSMTP(app), host, port, backlog=BACKLOG)
    bound = server.sockets[0].getsockname()[1]
    server.app = app  # type: ignore[attr-defined]  # for tests and UIs: sessions, store
    return server, bound


async def stop_server(server: asyncio.Server, grace: float = 2.0) -> int:
    """Stop listening, tell every open session ``421 <host> Service not available,
    closing transmission channel`` (RFC 821 §4.2: any command may get it when the
    service must shut down) and close it. Returns how many sessions were open."""
    server.close()
    app: ServerApp | None = getattr(server, "app", None)
    count = 0
    if app is not None:
        for proto in list(app.open):
            count += 1
            proto.shutdown()
    try:
        await asyncio.wait_for(server.wait_closed(), grace)
    except TimeoutError:
        pass
    await asyncio.sleep(0)  # let connection_lost callbacks run
    return count


def world_as(world: World, name: str) -> World:
    """The same world seen from host ``name``: it becomes the main host, the old main
    host one of the others. Raises ValueError for a name the world does not have."""
    if world.host.is_local_domain(name):
        return world
    target = world.find_host(name)
    if target is None:
        known = ", ".join([world.host.hostname] + [h.hostname for h in world.hosts.values()])
        raise ValueError(f"{world.source}: no host {name!r} in this world (hosts: {known})")
    others = {k: v for k, v in world.hosts.items() if v is not target}
    others[world.host.hostname.lower()] = world.host
    return World(target, others, world.max_sessions, world.source)

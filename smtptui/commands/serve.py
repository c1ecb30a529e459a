"""``smtptui serve``: run the embedded teaching server standalone.

The first stdout line is ``listening on HOST:PORT`` (flushed at once, so a script or a
test can read the port when it asked for port 0); then one line per session event.
Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:2525",
                        help="address to listen on (default 127.0.0.1:2525; port 0 picks "
                             "a free port)")
    parser.add_argument("--world", metavar="FILE",
                        help="world file (TOML, see lessons/README.md); default: a small "
                             "built-in lab world")
    parser.add_argument("--persona", metavar="NAME",
                        help="play this persona instead of the world's: modern, rfc821, "
                             "rfc821-minimal, sendmail-8.9, rfc5321")
    parser.add_argument("--host", metavar="NAME", dest="play",
                        help="play this host of the world instead of its main host")
    parser.add_argument("--maildir", metavar="DIR",
                        help="where delivered mail goes (default: the user data dir)")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``:PORT`` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"--listen {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"--listen {text!r}: expected HOST:PORT")
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


def run(args: argparse.Namespace) -> int:
    from smtptui.server.app import world_as
    from smtptui.server.world import WorldError, default_world, load_world

    try:
        host, port = parse_listen(args.listen)
        world = load_world(args.world) if args.world else default_world()
        if args.play:
            world = world_as(world, args.play)
        if args.persona:
            world = world.with_persona(args.persona)
    except (ValueError, WorldError) as exc:
        print(f"smtptui serve: {exc}", file=sys.stderr)
        return 2
    if hasattr(sys.stdout, "reconfigure"):  # a non-UTF-8 terminal gets \xe9, not an error
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return asyncio.run(_serve(world, host, port, args))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # whoever read the log went away (smtptui serve | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _print_event(event) -> None:  # type: ignore[no-untyped-def]
    stamp = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
    print(f"{stamp} [{event.session}] {event.peer} {event.text}", flush=True)


async def _serve(world, host: str, port: int, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from smtptui.server.app import start_server, stop_server
    from smtptui.server.tls import TLSSetupError

    try:
        server, bound = await start_server(world, host, port, maildir=args.maildir,
                                           on_event=_print_event)
    except (OSError, ValueError, TLSSetupError) as exc:
        print(f"smtptui serve: cannot listen on {host}:{port}: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    shown = f"[{host}]" if ":" in host else host
    print(f"listening on {shown}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    await stop.wait()
    print("stopping", flush=True)
    closed = await stop_server(server)
    print(f"stopped ({closed} open session(s) told 421 and closed)", flush=True)
    return 0


class EmbeddedConnector:
    """Connects each session of a ``smtptui run`` script to the embedded teaching server
    (no TARGET). The server runs on the caller's loop; each world host a script talks to
    (``Session.host_hint``: ``#!session NAME`` or the greeting's host name) is started
    once, on an ephemeral 127.0.0.1 port, and reused by later sessions, so world state
    such as mail queued for TURN carries over between sessions. STARTTLS is verified
    against the server's own certificate. Call :meth:`aclose` when the run is over.
    """

    def __init__(self, world, *, maildir: str | None = None,  # type: ignore[no-untyped-def]
                 tls_dir: str | None = None, timeouts=None) -> None:
        self.world = world
        self.maildir = maildir
        self.tls_dir = tls_dir
        self.timeouts = timeouts
        self._servers: dict[str, tuple[asyncio.Server, int]] = {}

    def _host_for(self, session) -> str:  # type: ignore[no-untyped-def]
        hint = getattr(session, "host_hint", None)
        if hint and self.world.find_host(hint) is not None:
            return self.world.find_host(hint).hostname
        return self.world.host.hostname

    def label(self, session) -> str:  # type: ignore[no-untyped-def]
        return f"embedded server as {self._host_for(session)}"

    async def __call__(self, session):  # type: ignore[no-untyped-def]
        from smtptui.net.client import SMTPClient, Timeouts, make_tls_context
        from smtptui.server.app import data_dir, start_server, world_as
        from smtptui.server.tls import cert_paths

        named = getattr(session, "name", None)
        if named and self.world.find_host(named) is None:
            from smtptui.net.errors import ConnectError

            hosts = [self.world.host.hostname, *(h.hostname for h in self.world.hosts.values())]
            raise ConnectError("connect", f"#!session {named}: no such host in the world "
                                          f"{self.world.source} (hosts: {', '.join(hosts)})")
        name = self._host_for(session)
        key = name.lower()
        if key not in self._servers:
            self._servers[key] = await start_server(
                world_as(self.world, name), "127.0.0.1", 0, maildir=self.maildir,
                tls_dir=self.tls_dir)
        _server, port = self._servers[key]
        tls_dir = self.tls_dir or str(data_dir() / "tls")
        cert, _ = cert_paths(name, Path(tls_dir))
        ctx = make_tls_context(cafile=str(cert)) if cert.exists() else None
        return await SMTPClient.connect(
            "127.0.0.1", port, server_hostname=name if ctx is not None else None,
            ssl_context=ctx, timeouts=self.timeouts or Timeouts())

    async def aclose(self) -> None:
        from smtptui.server.app import stop_server

        for server, _ in self._servers.values():
            await stop_server(server)
        self._servers.clear()

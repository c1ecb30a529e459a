"""``smtptui serve``: run the embedded teaching server standalone.

The first stdout line is ``listening on HOST:PORT`` (flushed at once, so a script or a
test can read the port); then one line per session event. Without ``--listen`` the
port is a free one picked by the kernel: a fixed default (2525) collides with a local
MTA's listener.
Ctrl-C or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
import time

from smtptui.core.text import is_ascii_digits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:0",
                        help="address to listen on (default: 127.0.0.1 on a free port, "
                             "printed on the first line; port 0 picks a free port)")
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
    if not is_ascii_digits(port_text) or not 0 <= int(port_text) <= 65535:
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

    watchdog: list[threading.Timer] = []

    def on_signal(signum: int, frame: object) -> None:
        # A plain signal handler runs between any two bytecodes, even while a session
        # keeps the loop busy; the loop is asked to stop, and a watchdog makes sure
        # the process ends within the grace period whatever the loop is doing.
        loop.call_soon_threadsafe(stop.set)
        if not watchdog:
            watchdog.append(_watchdog(GRACE + 1.0))

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        await stop.wait()
        print("stopping", flush=True)
        closed = await stop_server(server, GRACE)
        print(f"stopped ({closed} open session(s) told 421 and closed)", flush=True)
    finally:
        for timer in watchdog:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


GRACE = 2.0
"""Seconds open sessions get to end after SIGTERM or Ctrl-C."""


def _watchdog(seconds: float) -> threading.Timer:
    """End the process after ``seconds`` unless cancelled (the clean stop finished)."""

    def force() -> None:
        try:
            os.write(2, b"smtptui serve: sessions did not end within the grace period; "
                        b"exiting\n")
        finally:
            os._exit(1)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()
    return timer

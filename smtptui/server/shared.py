"""What every session of one teaching server shares: the world, persona, store, clock
and counters, and the events the sessions report.

Its own module so that the protocol (one connection) and the app (starting and stopping
the server) both depend on it and not on each other: no import cycle in the server.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smtptui.core.text import printable
from smtptui.server.personas import Persona, format_date, get_persona, new_qid
from smtptui.server.storage import Store
from smtptui.server.world import World

__all__ = ["AUTH_TABLE_SIZE", "CHUNK", "LOG_LIMIT", "ServerApp", "ServerEvent", "describe", "printable"]

AUTH_TABLE_SIZE = 10_000  # client addresses whose AUTH failures are remembered
CHUNK = 1 << 16  # octets asked of a connection per read, by the session and after TURN
LOG_LIMIT = 300
"""Characters of one log event: what a client typed is quoted, escaped, and cut here."""


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One thing that happened in a session, for the log (``smtptui serve``) or a UI."""

    session: int
    peer: str
    text: str
    timestamp: float


class ServerApp:
    """State shared by all sessions of one server: world, persona, store, counters."""

    def __init__(self, world: World, *, loop: asyncio.AbstractEventLoop, store: Store,
                 tls_context: ssl.SSLContext | None,
                 on_event: Callable[[ServerEvent], None] | None = None,
                 timeout: float = 300.0) -> None:
        self.world = world
        self.loop = loop
        self.store = store
        self.tls_context = tls_context
        self.on_event = on_event
        self.timeout = timeout
        self.persona: Persona = get_persona(world.host.persona)
        exts = world.host.extensions
        self.extensions: tuple[str, ...] = exts if exts is not None else self.persona.extensions
        self.sessions = 0
        self.open: set[Any] = set()  # live TeachingSMTP connections, for a clean stop
        self.turn_delivered: set[int] = set()
        self.auth_failures: dict[str, int] = {}  # client address -> recent AUTH failures
        self._ids = itertools.count(1)
        host = world.host
        self.version = host.software_version or self.persona.version
        # A world may pin the clock (a lesson set in 1999): it starts there and runs on.
        self.clock_offset = (datetime.fromisoformat(host.clock).timestamp() - time.time()
                             if host.clock else 0.0)

    def note_auth_failure(self, ip: str) -> None:
        """Count a failed AUTH from ``ip``; the table is bounded (oldest dropped)."""
        self.auth_failures[ip] = self.auth_failures.pop(ip, 0) + 1
        while len(self.auth_failures) > AUTH_TABLE_SIZE:
            del self.auth_failures[next(iter(self.auth_failures))]

    def next_session_id(self) -> int:
        return next(self._ids)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def date(self, when: float | None = None) -> str:
        """A date in the persona's style, the world's zone and zone name."""
        host = self.world.host
        return format_date(self.persona.date_style, self.now() if when is None else when,
                           host.zone, host.time_zone_name)

    def new_qid(self, pid: int, seq: int, when: float) -> str:
        """Queue id of a session's ``seq``-th message (0-based), in the persona's form."""
        return new_qid(self.persona.qid_style, when, self.world.host.zone, pid, seq)

    def emit(self, session: int, peer: str, text: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(ServerEvent(session, printable(peer, 100), printable(text, LOG_LIMIT), time.time()))
            except Exception:  # noqa: BLE001 - a broken log (closed pipe, UI bug) must not end sessions
                self.on_event = None


def describe(exc: BaseException) -> str:
    """An exception as one log event names it: ``Type: text`` (or just the type)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

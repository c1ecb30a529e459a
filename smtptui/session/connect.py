"""Where a session connects: one typed interface for the three kinds of place.

- :class:`EmbeddedConnector` -- the embedded teaching server, started on the caller's
  event loop (an ephemeral 127.0.0.1 port per world host, never a fixed port that
  collides with a local MTA), STARTTLS verified against its own certificate;
- :class:`TargetConnector` (from :mod:`smtptui.net.connector`) -- a TARGET, with the
  asyncio client or, for one-shot commands, the blocking one;
- :class:`DomainConnector` -- ``@domain``: the domain's MX hosts (RFC 5321 §5.1),
  resolved once, tried in order (or one picked by the user: :meth:`DomainConnector.mx`).

Every connector has ``label(hint)`` (for error lines), is awaited with an optional
``hint`` (a script session naming a world host; None for interactive use) to give a
connected :class:`~smtptui.net.client.SMTPClient`, and has ``aclose()``. ``smtptui
run``, ``serve``, the app and the shell all get theirs from :func:`make_connector`.
"""

from __future__ import annotations

from collections.abc import Callable

# Light on purpose: a one-shot command (send) connects from here without importing
# asyncio, the asyncio client or the script runner; they are imported where used.
from smtptui.core.frozen import frozen
from smtptui.net.connection import Timeouts
from smtptui.net.connector import TargetConnector
from smtptui.net.errors import ConnectError
from smtptui.net.targets import check_cafile

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    import asyncio
    import ssl
    from pathlib import Path
    from typing import Any, Protocol

    from smtptui.core.transcript import Transcript
    from smtptui.net.client import SMTPClient
    from smtptui.net.connection import ProbeOptions
    from smtptui.net.targets import Target
    from smtptui.server.app import ServerEvent
    from smtptui.server.world import World
    from smtptui.teaching.model import Lesson

__all__ = [
    "ConnectSpec",
    "Connector",
    "DomainConnector",
    "EmbeddedConnector",
    "MXChoice",
    "TargetConnector",
    "connector_for",
    "lesson_connector",
    "make_connector",
    "options",
    "persona_names",
    "timeouts_for",
]


if TYPE_CHECKING:
    class Connector(Protocol):
        """Opens one connection (for a script session, or an interactive one)."""

        embedded: bool

        def label(self, hint: Any = None) -> str: ...

        async def __call__(self, hint: Any = None, *,
                           transcript: Transcript | None = None) -> SMTPClient: ...

        async def aclose(self) -> None: ...
else:
    Connector = object  # an interface for type checkers; any object with these methods


def timeouts_for(timeout: float | None) -> Timeouts:
    """``--timeout S`` applies to every step; None keeps the client's defaults."""
    if timeout is None:
        return Timeouts()
    return Timeouts(connect=timeout, greeting=timeout, reply=timeout, data=timeout)


class EmbeddedConnector:
    """The embedded teaching server, on the caller's loop.

    Each world host a session talks to (``hint.host_hint``: ``#!session NAME`` or the
    greeting's host name in a script; the world's main host otherwise) is started once,
    on an ephemeral 127.0.0.1 port, and reused by later sessions, so world state such
    as mail queued for TURN carries over. ``on_event`` receives the server's own log
    events. Call :meth:`aclose` when done.
    """

    embedded = True

    def __init__(self, world: World, *, maildir: str | None = None,
                 tls_dir: str | None = None, timeouts: Timeouts | None = None,
                 on_event: Callable[[ServerEvent], None] | None = None) -> None:
        self.world = world
        self.maildir = maildir
        self.tls_dir = tls_dir
        self.timeouts = timeouts
        self.on_event = on_event
        self.default_host: str | None = None
        """The world host an interactive connection (no hint) talks to; None: the main
        one. The guided mode sets it for a lesson's later sessions (RFC 821 relays)."""
        self._servers: dict[str, tuple[asyncio.Server, int]] = {}

    def _host_for(self, hint: Any) -> str:
        name = getattr(hint, "host_hint", None) or self.default_host
        found = self.world.find_host(name) if name else None
        return found.hostname if found is not None else self.world.host.hostname

    def label(self, hint: Any = None) -> str:
        return f"embedded server as {self._host_for(hint)}"

    @property
    def hostname(self) -> str:
        return self.world.host.hostname

    @property
    def persona(self) -> str:
        return self.world.host.persona

    def port_of(self, hint: Any = None) -> int | None:
        """The port the server for this host listens on (None before it started)."""
        started = self._servers.get(self._host_for(hint).lower())
        return started[1] if started is not None else None

    def server_of(self, hint: Any = None) -> asyncio.Server | None:
        started = self._servers.get(self._host_for(hint).lower())
        return started[0] if started is not None else None

    def cafile(self, hint: Any = None) -> Path:
        """The embedded server's self-signed certificate (made on first use)."""
        from pathlib import Path

        from smtptui.server.app import data_dir
        from smtptui.server.tls import cert_paths

        tls_dir = self.tls_dir or str(data_dir() / "tls")
        cert, _ = cert_paths(self._host_for(hint), Path(tls_dir))
        return cert

    async def __call__(self, hint: Any = None, *,
                       transcript: Transcript | None = None) -> SMTPClient:
        from smtptui.server.app import start_server, world_as

        named = getattr(hint, "name", None)
        if named and self.world.find_host(named) is None:
            hosts = [self.world.host.hostname, *(h.hostname for h in self.world.hosts.values())]
            raise ConnectError("connect", f"#!session {named}: no such host in the world "
                                          f"{self.world.source} (hosts: {', '.join(hosts)})")
        name = self._host_for(hint)
        key = name.lower()
        if key not in self._servers:
            try:
                self._servers[key] = await start_server(
                    world_as(self.world, name), "127.0.0.1", 0, maildir=self.maildir,
                    tls_dir=self.tls_dir, on_event=self.on_event)
            except (OSError, ValueError) as exc:
                raise ConnectError("start", f"the embedded server could not start: "
                                            f"{getattr(exc, 'strerror', None) or exc}") from None
        _server, port = self._servers[key]
        cert = self.cafile(hint)
        from smtptui.net.client import SMTPClient
        from smtptui.net.tls import make_tls_context

        ctx = make_tls_context(cafile=str(cert)) if cert.exists() else None
        return await SMTPClient.connect(
            "127.0.0.1", port, server_hostname=name if ctx is not None else None,
            ssl_context=ctx, timeouts=self.timeouts or Timeouts(), transcript=transcript)

    async def aclose(self) -> None:
        from smtptui.server.app import stop_server

        servers, self._servers = list(self._servers.values()), {}
        for server, _ in servers:
            await stop_server(server)


@frozen
class MXChoice:
    """One mail exchanger of a domain, in RFC 5321 §5.1 order (or why it can't be used)."""

    host: str
    port: int
    preference: int | None
    addresses: tuple[str, ...]
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None


class DomainConnector:
    """A ``@domain`` target: resolve the MX hosts once, then connect to the first that
    answers -- or, after :meth:`choose`, to the one the user picked."""

    embedded = False

    def __init__(self, target: Target, options: ProbeOptions,
                 ssl_context: ssl.SSLContext | None, timeouts: Timeouts) -> None:
        self.target = target
        self.options = options
        self.ssl_context = ssl_context
        self.timeouts = timeouts
        self._choices: list[MXChoice] | None = None
        self._chosen: MXChoice | None = None
        self.error: str | None = None

    def label(self, hint: Any = None) -> str:
        if self._chosen is not None:
            return f"{self._chosen.host}:{self._chosen.port} (MX of @{self.target.mail_domain})"
        if self.target.mail_domain is not None:
            return f"@{self.target.mail_domain}"
        return self.target.display

    async def mx(self) -> list[MXChoice]:
        """The domain's mail exchangers (each with addresses, or an error); a DNS failure
        is one choice with the error and no host."""
        if self._choices is None:
            from smtptui.net.probe import HostSpec, expand_target

            found = await expand_target(self.target, self.options)
            choices: list[MXChoice] = []
            for item in found:
                if isinstance(item, HostSpec):
                    choices.append(MXChoice(item.host, item.port, item.mx_preference,
                                            tuple(item.addresses or ())))
                else:
                    choices.append(MXChoice(item.host or "", item.port, item.mx_preference, (),
                                            item.error or "dns: failed"))
            self._choices = choices
        return list(self._choices)

    def choose(self, choice: MXChoice) -> None:
        self._chosen = choice

    async def resolve(self) -> TargetConnector | DomainConnector:
        """A connector over the usable MX hosts (for ``run``); self when there are none."""
        usable = [c for c in await self.mx() if c.usable]
        if not usable:
            failed = self._choices[0].error if self._choices else None
            self.error = failed or "dns: no mail exchanger"
            return self
        return self._over(usable)

    def _over(self, choices: list[MXChoice]) -> TargetConnector:
        return TargetConnector(
            [(c.host, c.port, c.addresses, c.host) for c in choices],
            implicit_tls=self.target.implicit_tls, ssl_context=self.ssl_context,
            timeouts=self.timeouts, family=self.options.family)

    async def __call__(self, hint: Any = None, *,
                       transcript: Transcript | None = None) -> SMTPClient:
        if self._chosen is not None:
            return await self._over([self._chosen])(hint, transcript=transcript)
        resolved = await self.resolve()
        if resolved is self:
            step, _, reason = (self.error or "dns: no mail exchanger").partition(": ")
            raise ConnectError(step, reason)
        return await resolved(hint, transcript=transcript)  # type: ignore[call-arg]

    async def aclose(self) -> None:
        return None


def options(*, helo: str | None = None, starttls: str = "no", cafile: str | None = None,
            insecure: bool = False, timeout: float | None = None, resolver: str | None = None,
            family: int = 0) -> ProbeOptions:
    """The connection options of :func:`make_connector` from plain values (what a front
    end's command line gives), so front ends need not import the network layer.
    ``resolver`` is ``IP[:PORT]``; ValueError (a usage error, one line) when it or
    ``cafile`` is unusable. ``helo`` defaults to ``localhost`` here: looking up this
    machine's FQDN can take seconds, and an interactive user types their own EHLO."""
    from smtptui.net.connection import ProbeOptions

    check_cafile(cafile)
    server = None
    if resolver is not None:
        from smtptui.net.dns import parse_nameserver  # imports asyncio: only when asked

        try:
            server = parse_nameserver(resolver)
        except ValueError as exc:
            raise ValueError(f"--resolver: {exc}") from None
    return ProbeOptions(helo=helo or "localhost", starttls=starttls,  # type: ignore[arg-type]
                        cafile=cafile, insecure=insecure, timeout=timeout, resolver=server,
                        family=family)


def make_connector(target: str | None, options: ProbeOptions, *, tls: bool = False,
                   world: World | None = None, persona: str | None = None,
                   maildir: str | None = None, tls_dir: str | None = None,
                   on_event: Callable[[ServerEvent], None] | None = None,
                   blocking: bool = False) -> Connector:
    """The connector for a TARGET (host, host:port, [v6]:port, smtp://, smtps://,
    @domain) or, with no TARGET, the embedded teaching server with ``world`` (default:
    the built-in world) and ``persona``. ValueError (a usage error, one line) for a bad
    target, world, persona or certificate file.

    ``blocking``: a host TARGET gets the blocking client, for a one-shot command that
    runs without an event loop (its connector's ``blocking`` is then True; the embedded
    server, an ``@domain`` and ``--resolver`` still need the event loop)."""
    timeouts = timeouts_for(options.timeout)
    if target is None:
        from smtptui.server.world import WorldError, default_world

        chosen = world or default_world()
        if persona:
            try:
                chosen = chosen.with_persona(persona)
            except WorldError as exc:
                raise ValueError(str(exc)) from None
        return EmbeddedConnector(chosen, maildir=maildir, tls_dir=tls_dir,
                                 timeouts=None if options.timeout is None else timeouts,
                                 on_event=on_event)
    from smtptui.net.targets import parse_target

    parsed = parse_target(target, tls=tls)
    ctx = None
    if options.ssl_context is not None:
        ctx = options.ssl_context
    elif options.cafile is not None or options.insecure:
        try:
            from smtptui.net.tls import make_tls_context

            ctx = make_tls_context(cafile=options.cafile, insecure=options.insecure)
        except (OSError, ValueError) as exc:
            raise ValueError(str(exc)) from None  # names the file already
    if parsed.mail_domain is not None or options.resolver is not None:
        return DomainConnector(parsed, options, ctx, timeouts)
    assert parsed.host is not None
    return TargetConnector([(parsed.host, parsed.port, None, None)], implicit_tls=parsed.implicit_tls,
                   ssl_context=ctx, timeouts=timeouts, family=options.family,
                   blocking=blocking)


@frozen
class ConnectSpec:
    """Where to connect, as plain values a front end can keep, show and edit (the launch
    options and the connect dialog): the same TARGET forms and options as ``probe`` and
    ``run``. ``target`` None means the embedded teaching server with ``world`` (a world
    file; None: the built-in world) and ``persona``.

    Front ends build connectors from this instead of importing ``net`` themselves.
    """

    target: str | None = None
    tls: bool = False
    starttls: str = "manual"   # interactive: the user types STARTTLS (or auto, yes, no)
    cafile: str | None = None
    insecure: bool = False
    timeout: float | None = None
    resolver: str | None = None
    helo: str | None = None
    family: int = 0
    world: str | None = None
    persona: str | None = None

    @property
    def embedded(self) -> bool:
        return self.target is None

    def describe(self) -> str:
        """One line naming the place: the target, or the embedded server and persona."""
        if self.target is None:
            where = f"world {self.world}" if self.world else "built-in world"
            return f"embedded teaching server ({self.persona or 'its persona'}, {where})"
        return self.target + (" (implicit TLS)" if self.tls else "")


def connector_for(spec: ConnectSpec, *, on_event: Callable[[ServerEvent], None] | None = None,
                  world: World | None = None) -> Connector:
    """The connector for ``spec``; ValueError (one line, for the user) when a target,
    option, world file, persona or certificate file is wrong. ``world``: an already
    built world for the embedded server (a lesson's), instead of ``spec.world``."""
    from smtptui.net.connection import ProbeOptions

    if spec.target is not None and spec.world is not None:
        raise ValueError("--world configures the embedded teaching server; it cannot be "
                         "used with a TARGET")
    if spec.target is not None and spec.persona is not None:
        raise ValueError("--persona configures the embedded teaching server; it cannot be "
                         "used with a TARGET")
    if spec.starttls not in ("manual", "auto", "yes", "no"):
        raise ValueError(f"--starttls {spec.starttls!r}: expected auto, yes or no")
    check_cafile(spec.cafile)
    resolver = None
    if spec.resolver:
        from smtptui.net.dns import parse_nameserver

        try:
            resolver = parse_nameserver(spec.resolver)
        except ValueError as exc:
            raise ValueError(f"--resolver: {exc}") from None
    # The options' helo is the probe's EHLO name, and no session connector probes: the
    # user types their own EHLO. No getfqdn() here (a DNS lookup, seconds on some hosts).
    options = ProbeOptions(helo=spec.helo or "localhost",
                           starttls="auto" if spec.starttls == "manual"  # type: ignore[arg-type]
                           else spec.starttls,
                           cafile=spec.cafile, insecure=spec.insecure, timeout=spec.timeout,
                           resolver=resolver, family=spec.family, ptr=False)
    if spec.target is None and spec.world is not None and world is None:
        from smtptui.server.world import WorldError, load_world

        try:
            world = load_world(spec.world)
        except (WorldError, OSError) as exc:
            raise ValueError(str(exc)) from None
    return make_connector(spec.target, options, tls=spec.tls, world=world,
                          persona=spec.persona, on_event=on_event)


def lesson_connector(lesson: Lesson, spec: ConnectSpec | None = None) -> Connector:
    """Where a guided lesson talks: ``spec.target`` (lessons marked ``real_server``), else
    a *fresh* embedded server playing the lesson's world -- fresh on every call, so a
    restarted lesson finds the world as written (mail queued for TURN included).
    ValueError (one line) as :func:`connector_for`."""
    spec = spec or ConnectSpec()
    if spec.target is not None:
        if not lesson.real_server:
            raise ValueError(f"lesson {lesson.id!r} needs the embedded teaching server's "
                             "world; it cannot run against a TARGET")
        return connector_for(spec)
    from smtptui.server.world import WorldError, default_world, world_from_mapping

    source = lesson.world
    try:
        world = default_world() if source is None else world_from_mapping(
            source.data, source.filename, source.text, source.base)
    except WorldError as exc:
        raise ValueError(str(exc)) from None
    return connector_for(spec, world=world)


def persona_names() -> tuple[str, ...]:
    """The embedded server's personas (for a front end's picker)."""
    from smtptui.server.world import PERSONA_NAMES

    return tuple(PERSONA_NAMES)

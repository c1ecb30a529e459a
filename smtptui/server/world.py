"""The world: the hosts, mailboxes, lists and rules the teaching server plays.

A world is plain data read from TOML (``tomllib``): nothing in it is evaluated, formatted
or executed. Errors name the file, the line and the key, because a learner editing a
lesson file needs to know exactly what to fix. ``tomllib`` reports no line numbers for
values, so :func:`~smtptui.core.tomlkeys.locate_key` finds the key's line by scanning
the text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from smtptui.core.text import ip_literal, printable
from smtptui.core.tomlkeys import locate_key
from smtptui.server.paths import parse_member, parse_path

PERSONA_NAMES = ("modern", "rfc821", "rfc821-minimal", "sendmail-8.9", "rfc5321")
FORWARD_MODES = ("will-forward", "please-try")
DEFAULT_MAX_RECIPIENTS = 100  # RFC 821 §4.5.3 / RFC 5321 §4.5.3.1.8: at least 100
DEFAULT_SIZE_LIMIT = 10 * 1024 * 1024
DEFAULT_MAX_SESSIONS = 100

_ZONE_RE = re.compile(r"^([+-])([0-9][0-9]):?([0-9][0-9])$")
_ZONE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+-]{0,9}$")
_IPV4_RE = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_HOSTNAME_RE = re.compile(r"^(?:\[[^\]\s]+\]|#[0-9]+|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$")
_KEYWORD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(?: [\x21-\x7e]+)*$")


class WorldError(ValueError):
    """One clear line: ``FILE:LINE: key: problem``."""


@dataclass(frozen=True, slots=True)
class Forward:
    """Where a moved user now lives, and whether this host forwards (251) or refers (551)."""

    to: str
    mode: Literal["will-forward", "please-try"]


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """Mail waiting on this host for ``host``; it is delivered when ``host`` sends TURN."""

    host: str
    sender: str
    recipients: tuple[str, ...]
    data: str


SERVICES = ("open", "closing", "refused")
"""How a host answers a connection: normally; 421 and close (shutting down, RFC 5321
§3.8); or 554 instead of 220, then 503 to everything but QUIT (no service, §3.1)."""


@dataclass(frozen=True, slots=True)
class Host:
    """One host of the world: its name, persona and local users."""

    hostname: str
    persona: str = "modern"
    banner: str | None = None
    extensions: tuple[str, ...] | None = None
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    size_limit: int = DEFAULT_SIZE_LIMIT
    domains: tuple[str, ...] = ()
    mailboxes: Mapping[str, str] = field(default_factory=dict)
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    forwards: Mapping[str, Forward] = field(default_factory=dict)
    logged_in: tuple[str, ...] = ()
    relay_domains: tuple[str, ...] = ()
    users: Mapping[str, str] = field(default_factory=dict)
    queue: tuple[QueuedMessage, ...] = ()
    allow_plaintext_auth: bool = False
    # Fidelity keys: what a lesson pins so a replay matches its source letter for letter.
    case_sensitive_mailboxes: bool | None = None  # None: the persona's default
    clear_8th_bit: bool = False     # store 7-bit, as a 1982 MTA did (RFC 821 §2)
    clock: str | None = None        # ISO 8601 start instant; the clock runs on from it
    time_zone: str | None = None    # "+09:00": dates in this zone (default: local; UT)
    time_zone_name: str | None = None  # "JST": written after the offset, or as RFC 821's zone
    software_version: str | None = None  # the version sendmail-8.9 names ("8.9.1a/3.7W")
    peer_address: str | None = None  # the client address the server reports
    process_id: int | None = None   # sendmail-8.9 queue ids end in it
    # Failure keys: what a debugging lesson makes the server do on purpose.
    service: str = "open"           # "closing": 421 at connect; "refused": 554 greeting
    temporary_failures: tuple[str, ...] = ()  # local parts whose RCPT gets 451

    @property
    def zone(self) -> timezone | None:
        """The time zone dates are written in; None means the machine's local zone."""
        if self.time_zone is not None:
            return parse_zone(self.time_zone)
        if self.clock is not None:
            tz = datetime.fromisoformat(self.clock).tzinfo
            return timezone(tz.utcoffset(None)) if tz is not None else None  # type: ignore[arg-type]
        return None

    @property
    def mailboxes_case_sensitive(self) -> bool:
        if self.case_sensitive_mailboxes is not None:
            return self.case_sensitive_mailboxes
        from smtptui.server.personas import PERSONAS  # world files name personas by string

        return PERSONAS[self.persona].case_sensitive_mailboxes

    @property
    def message_limit(self) -> int:
        """Octets per message; ``size_limit = 0`` announces no limit (RFC 1870 §4)."""
        return self.size_limit or 1 << 62

    def is_local_domain(self, domain: str) -> bool:
        """True when ``domain`` names this host (case-insensitive, RFC 821 §3.7)."""
        d = domain.lower()
        return d == self.hostname.lower() or d in (x.lower() for x in self.domains)

    def relays_to(self, domain: str) -> bool:
        d = domain.lower()
        return any(r == "*" or r.lower() == d for r in self.relay_domains)

    def _lookup(self, table: Mapping[str, Any], local: str, domain: str | None) -> str | None:
        """The key of ``table`` matching local@domain: address, then local part.

        Domains never depend on case. Local parts do where mailbox names are case
        sensitive (RFC 821 §4.1.2, the rfc821 personas); elsewhere an exact match wins,
        then a unique case-insensitive one, as most MTAs do."""
        sensitive = self.mailboxes_case_sensitive
        if domain is not None:
            for key in table:
                if "@" not in key:
                    continue
                klocal, _, kdomain = key.rpartition("@")
                if kdomain.lower() == domain.lower() and (
                        klocal == local or not sensitive and klocal.lower() == local.lower()):
                    return key
        if local in table:
            return local
        if sensitive:
            return None
        folded = [k for k in table if "@" not in k and k.lower() == local.lower()]
        return folded[0] if len(folded) == 1 else None

    def mailbox(self, local: str, domain: str | None = None) -> str | None:
        """The mailbox key for a local part, or None."""
        return self._lookup(self.mailboxes, local, domain)

    def forward(self, local: str, domain: str | None = None) -> Forward | None:
        key = self._lookup(self.forwards, local, domain)
        return None if key is None else self.forwards[key]

    def mailing_list(self, name: str, domain: str | None = None) -> str | None:
        return self._lookup(self.lists, name, domain)

    def is_logged_in(self, local: str) -> bool:
        if self.mailboxes_case_sensitive:
            return any(u.split("@")[0] == local for u in self.logged_in)
        return any(u.split("@")[0].lower() == local.lower() for u in self.logged_in)


def parse_zone(text: str) -> timezone:
    """``+09:00`` / ``-0800`` / ``UTC`` -> a fixed-offset zone; ValueError otherwise."""
    if text.upper() in ("UTC", "UT", "GMT", "Z"):
        return UTC
    m = _ZONE_RE.match(text)
    if not m or int(m.group(2)) > 23 or int(m.group(3)) > 59:
        raise ValueError(f"{text!r} is not a UTC offset like +09:00")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
    return timezone(-delta if m.group(1) == "-" else delta)


@dataclass(frozen=True, slots=True)
class World:
    """The host the server plays (``host``) and the other hosts it can reach (``hosts``)."""

    host: Host
    hosts: Mapping[str, Host] = field(default_factory=dict)  # lower-case name -> Host
    max_sessions: int = DEFAULT_MAX_SESSIONS
    source: str = "<built-in world>"

    def find_host(self, domain: str) -> Host | None:
        """The world host named ``domain`` (the main host included), or None."""
        if self.host.is_local_domain(domain):
            return self.host
        for h in self.hosts.values():
            if h.is_local_domain(domain):
                return h
        return None

    def with_persona(self, persona: str) -> World:
        """A copy whose main host plays ``persona`` (``--persona`` overrides the file)."""
        if persona not in PERSONA_NAMES:
            raise WorldError(f"unknown persona {persona!r} (known: {', '.join(PERSONA_NAMES)})")
        h = self.host
        new = Host(**{f: getattr(h, f) for f in Host.__dataclass_fields__} | {"persona": persona})
        return World(new, self.hosts, self.max_sessions, self.source)


DEMO_USER = "alice"
DEMO_PASSWORD = "wonderland"
"""The built-in world's AUTH account (a teaching server on loopback: not a secret)."""


def default_world() -> World:
    """The world used when none is given: a small lab host with two users and a list."""
    host = Host(
        hostname="smtptui.test",
        domains=("localhost",),
        mailboxes=MappingProxyType({"alice": "Alice Liddell", "bob": "Bob Dobbs",
                                    "postmaster": "Postmaster"}),
        lists=MappingProxyType({"everyone": ("alice@smtptui.test", "bob@smtptui.test")}),
        logged_in=("alice",),
        relay_domains=("other.test",),
        # The demo account for AUTH (offered after STARTTLS), documented in the README.
        users=MappingProxyType({DEMO_USER: DEMO_PASSWORD}),
    )
    other = Host(hostname="other.test", mailboxes=MappingProxyType({"carol": "Carol Ann"}))
    return World(host, MappingProxyType({"other.test": other}))


# --------------------------------------------------------------------------- validation

class _Ctx:
    def __init__(self, source: str, text: str):
        self.source, self.text = source, text

    def fail(self, path: tuple[str | int, ...], message: str) -> WorldError:
        line = locate_key(self.text, path) if self.text else 0
        name = "".join(_show_key(p, i == 0) for i, p in enumerate(path)) or "(top)"
        where = f"{self.source}:{line}" if line else self.source
        return WorldError(f"{where}: {name}: {message}")


_BARE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _show_key(part: str | int, first: bool) -> str:
    """One key of a dotted path as the learner would write it; a key holding control or
    invisible characters is quoted and escaped, so the error stays one clean line."""
    if isinstance(part, int):
        return f"[{part}]"
    text = part if _BARE_RE.match(part) else '"' + "".join(
        c if c.isprintable() and c not in '"\\' else
        ("\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x10000
         else f"\\U{ord(c):08x}")
        for c in part) + '"'
    return text if first else "." + text


def _typename(v: Any) -> str:
    return {str: "a string", int: "an integer", bool: "true/false", list: "a list",
            dict: "a table", float: "a number"}.get(type(v), type(v).__name__)


def _want(ctx: _Ctx, path: tuple, v: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if isinstance(v, bool) and kind is int:
        raise ctx.fail(path, f"expected {what}, got {_typename(v)}")
    if not isinstance(v, kind):
        raise ctx.fail(path, f"expected {what}, got {_typename(v)}")
    return v


def _str_list(ctx: _Ctx, path: tuple, v: Any) -> tuple[str, ...]:
    _want(ctx, path, v, list, "a list of strings")
    for i, item in enumerate(v):
        _want(ctx, path + (i,), item, str, "a string")
    return tuple(v)


def _positive(ctx: _Ctx, path: tuple, v: Any) -> int:
    _want(ctx, path, v, int, "an integer")
    if v < 1:
        raise ctx.fail(path, f"must be at least 1, got {v}")
    return v


def _hostname(ctx: _Ctx, path: tuple, v: Any) -> str:
    _want(ctx, path, v, str, "a host name")
    if not _HOSTNAME_RE.match(v) or (v.startswith("[") and ip_literal(v) is None):
        raise ctx.fail(path, f"{_shown(v)} is not a host name")
    return v


def _wire(ctx: _Ctx, path: tuple, v: Any, what: str = "a string", *,
          empty: bool = False) -> str:
    """A text the server writes on the wire (a reply, a MAIL FROM, a list member): one
    line of printable text. A CR or LF in it would split a reply and let the world
    inject lines the learner takes for the server's (``VRFY alice`` -> a second 250)."""
    _want(ctx, path, v, str, what)
    if not v and not empty:
        raise ctx.fail(path, "must not be empty")
    bad = next((c for c in v if not c.isprintable()), None)
    if bad is not None:
        raise ctx.fail(path, f"must be one line of printable text; {_shown(bad)} at "
                       f"column {v.index(bad) + 1} is not (a CR or LF would split a reply)")
    return v


def _shown(text: str) -> str:
    """A world value quoted in an error: escaped, so the error stays one clean line."""
    return repr(printable(text, 80))


def _wire_key(ctx: _Ctx, path: tuple, key: str) -> None:
    """A table key the server puts on the wire (a mailbox or list name)."""
    if not key or not key.isprintable():
        raise ctx.fail(path, "the name must be one line of printable text, not empty")


def _address(ctx: _Ctx, path: tuple, v: Any) -> str:
    """An address the server writes in a command (``MAIL FROM:<...>``, ``RCPT TO:``)."""
    text = _wire(ctx, path, v, "an address").strip("<>")
    if parse_path(f"<{text}>") is None:
        raise ctx.fail(path, f"{_shown(v)} is not an address like user@host")
    return text


_HOST_KEYS = {"hostname", "persona", "banner", "extensions", "max_recipients", "size_limit",
              "domains", "mailboxes", "lists", "forwards", "logged_in", "relay_domains",
              "users", "queue", "allow_plaintext_auth", "case_sensitive_mailboxes",
              "clear_8th_bit", "clock", "time_zone", "time_zone_name", "software_version",
              "peer_address", "process_id", "service", "temporary_failures"}
_TOP_KEYS = _HOST_KEYS | {"hosts", "max_sessions"}


def _host(ctx: _Ctx, base: tuple, data: dict, *, name: str | None = None,
          top: bool = False) -> Host:
    allowed = _TOP_KEYS if top else _HOST_KEYS
    for key in data:
        if key not in allowed:
            hint = " (only at the top level)" if key in _TOP_KEYS else ""
            raise ctx.fail(base + (key,), f"unknown key{hint}; known keys: "
                           + ", ".join(sorted(allowed)))
    kw: dict[str, Any] = {}
    if "hostname" in data:
        kw["hostname"] = _hostname(ctx, base + ("hostname",), data["hostname"])
        if name is not None and kw["hostname"].lower() != name.lower():
            raise ctx.fail(base + ("hostname",), f"differs from the table name {name!r}")
    elif name is not None:
        kw["hostname"] = _hostname(ctx, base, name)
    else:
        raise ctx.fail(base + ("hostname",), "missing: every world needs a hostname")
    if "persona" in data:
        p = _want(ctx, base + ("persona",), data["persona"], str, "a persona name")
        if p not in PERSONA_NAMES:
            raise ctx.fail(base + ("persona",),
                           f"unknown persona {p!r} (known: {', '.join(PERSONA_NAMES)})")
        kw["persona"] = p
    if "banner" in data:
        b = _want(ctx, base + ("banner",), data["banner"], str, "a string")
        if any(c in b for c in "\r\n") or not b.isascii():
            raise ctx.fail(base + ("banner",), "must be one line of ASCII text")
        kw["banner"] = b
    if "extensions" in data:
        exts = _str_list(ctx, base + ("extensions",), data["extensions"])
        for i, e in enumerate(exts):
            if not _KEYWORD_RE.match(e):
                raise ctx.fail(base + ("extensions", i), f"{e!r} is not an EHLO keyword line")
        kw["extensions"] = tuple(e.upper().split(" ", 1)[0] + e[len(e.split(" ", 1)[0]):]
                                 for e in exts)
    if "max_recipients" in data:
        kw["max_recipients"] = _positive(ctx, base + ("max_recipients",), data["max_recipients"])
    if "size_limit" in data:  # 0: SIZE without a number, no limit (RFC 1870 §4)
        v = _want(ctx, base + ("size_limit",), data["size_limit"], int, "an integer")
        if v < 0:
            raise ctx.fail(base + ("size_limit",), f"must be 0 (no limit) or more, got {v}")
        kw["size_limit"] = v
    for key in ("case_sensitive_mailboxes", "clear_8th_bit"):
        if key in data:
            kw[key] = _want(ctx, base + (key,), data[key], bool, "true or false")
    if "clock" in data:
        v = _want(ctx, base + ("clock",), data["clock"], str, "a date and time")
        try:
            instant = datetime.fromisoformat(v)
        except ValueError:
            instant = None
        if instant is None or instant.tzinfo is None:
            raise ctx.fail(base + ("clock",), f"{v!r} is not an ISO 8601 time with a UTC "
                           "offset, like 1999-11-01T00:07:25+09:00")
        kw["clock"] = v
    if "time_zone" in data:
        v = _want(ctx, base + ("time_zone",), data["time_zone"], str, "a UTC offset")
        try:
            parse_zone(v)
        except ValueError as exc:
            raise ctx.fail(base + ("time_zone",), str(exc)) from None
        kw["time_zone"] = v
    if "time_zone_name" in data:
        v = _want(ctx, base + ("time_zone_name",), data["time_zone_name"], str, "a zone name")
        if not _ZONE_NAME_RE.match(v):
            raise ctx.fail(base + ("time_zone_name",), f"{v!r} is not a zone name like JST")
        kw["time_zone_name"] = v
    if "software_version" in data:
        v = _want(ctx, base + ("software_version",), data["software_version"], str, "a string")
        if not v or not v.isascii() or not all(c.isprintable() and c != " " for c in v):
            raise ctx.fail(base + ("software_version",), "must be one word of ASCII text")
        kw["software_version"] = v
    if "peer_address" in data:
        v = _want(ctx, base + ("peer_address",), data["peer_address"], str, "an IPv4 address")
        if not _IPV4_RE.match(v) or any(int(x) > 255 for x in v.split(".")):
            raise ctx.fail(base + ("peer_address",), f"{v!r} is not an IPv4 address")
        kw["peer_address"] = v
    if "process_id" in data:
        v = _positive(ctx, base + ("process_id",), data["process_id"])
        if v > 99999:
            raise ctx.fail(base + ("process_id",), f"must be at most 99999, got {v}")
        kw["process_id"] = v
    for key in ("domains", "relay_domains"):
        if key in data:
            names = _str_list(ctx, base + (key,), data[key])
            for i, d in enumerate(names):
                if not (key == "relay_domains" and d == "*"):
                    _hostname(ctx, base + (key, i), d)
            kw[key] = names
    if "service" in data:
        v = _want(ctx, base + ("service",), data["service"], str, '"open", "closing" or "refused"')
        if v not in SERVICES:
            raise ctx.fail(base + ("service",), f'must be "open", "closing" (421 at connect) '
                                                f'or "refused" (554 greeting), not {v!r}')
        kw["service"] = v
    if "temporary_failures" in data:
        kw["temporary_failures"] = _str_list(ctx, base + ("temporary_failures",),
                                             data["temporary_failures"])
        for i, u in enumerate(kw["temporary_failures"]):
            _wire(ctx, base + ("temporary_failures", i), u)
    if "logged_in" in data:
        kw["logged_in"] = _str_list(ctx, base + ("logged_in",), data["logged_in"])
        for i, u in enumerate(kw["logged_in"]):
            _wire(ctx, base + ("logged_in", i), u)
    if "allow_plaintext_auth" in data:
        kw["allow_plaintext_auth"] = _want(ctx, base + ("allow_plaintext_auth",),
                                           data["allow_plaintext_auth"], bool, "true or false")
    for key in ("mailboxes", "users"):
        if key in data:
            table = _want(ctx, base + (key,), data[key], dict, "a table")
            for k, v in table.items():
                _wire_key(ctx, base + (key, k), k)
                if key == "mailboxes":  # the full name: VRFY and EXPN replies quote it
                    _wire(ctx, base + (key, k), v, empty=True)
                else:  # a password never reaches the wire
                    _want(ctx, base + (key, k), v, str, "a string")
            kw[key] = MappingProxyType(dict(table))
    if "lists" in data:
        table = _want(ctx, base + ("lists",), data["lists"], dict, "a table")
        lists = {}
        for k, v in table.items():
            _wire_key(ctx, base + ("lists", k), k)
            members = _str_list(ctx, base + ("lists", k), v)
            for i, m in enumerate(members):  # EXPN writes each one as a reply line
                _wire(ctx, base + ("lists", k, i), m, "a member")
                if parse_path(f"<{parse_member(m)[1]}>") is None:
                    raise ctx.fail(base + ("lists", k, i), f"{_shown(m)} is not a member "
                                   'like "Name <user@host>", "<user@host>" or "user"')
            lists[k] = members
        kw["lists"] = MappingProxyType(lists)
    if "forwards" in data:
        table = _want(ctx, base + ("forwards",), data["forwards"], dict, "a table")
        fw = {}
        for k, v in table.items():
            p = base + ("forwards", k)
            _want(ctx, p, v, dict, 'a table like { to = "user@host", mode = "will-forward" }')
            for sub in v:
                if sub not in ("to", "mode"):
                    raise ctx.fail(p + (sub,), "unknown key; known keys: mode, to")
            if "to" not in v:
                raise ctx.fail(p, "missing key 'to'")
            _wire_key(ctx, p, k)
            to = _address(ctx, p + ("to",), v["to"])
            mode = _want(ctx, p + ("mode",), v.get("mode", "will-forward"), str, "a string")
            if mode not in FORWARD_MODES:
                raise ctx.fail(p + ("mode",), f"must be one of {', '.join(FORWARD_MODES)}")
            fw[k] = Forward(to, mode)  # type: ignore[arg-type]
        kw["forwards"] = MappingProxyType(fw)
    if "queue" in data:
        q = _want(ctx, base + ("queue",), data["queue"], list, "a list of tables ([[queue]])")
        items = []
        for i, v in enumerate(q):
            p = base + ("queue", i)
            _want(ctx, p, v, dict, "a table")
            for sub in v:
                if sub not in ("host", "from", "to", "data"):
                    raise ctx.fail(p + (sub,), "unknown key; known keys: data, from, host, to")
            for need in ("host", "from", "to", "data"):
                if need not in v:
                    raise ctx.fail(p, f"missing key {need!r}")
            items.append(QueuedMessage(
                host=_hostname(ctx, p + ("host",), v["host"]),
                sender=("" if v["from"] in ("", "<>")
                        else _address(ctx, p + ("from",), v["from"])),
                recipients=tuple(_address(ctx, p + ("to", i), r) for i, r in
                                 enumerate(_str_list(ctx, p + ("to",), v["to"]))),
                data=_want(ctx, p + ("data",), v["data"], str, "the message text"),
            ))
        kw["queue"] = tuple(items)
    return Host(**kw)


def world_from_mapping(data: Mapping[str, Any], source: str = "<world>", text: str = "",
                       base: tuple[str, ...] = ()) -> World:
    """Build a World from parsed TOML (a lesson passes its ``[world]`` table and
    ``base=("world",)`` so errors point at the right lines)."""
    ctx = _Ctx(source, text)
    data = dict(data)
    hosts_raw = data.pop("hosts", {})
    max_sessions = data.pop("max_sessions", DEFAULT_MAX_SESSIONS)
    max_sessions = _positive(ctx, base + ("max_sessions",), max_sessions)
    main = _host(ctx, base, data, top=True)
    _want(ctx, base + ("hosts",), hosts_raw, dict, "a table of [hosts.NAME] tables")
    hosts: dict[str, Host] = {}
    for name, h in hosts_raw.items():
        p = base + ("hosts", name)
        _want(ctx, p, h, dict, "a table")
        if name.lower() == main.hostname.lower():
            raise ctx.fail(p, "is the main host itself")
        hosts[name.lower()] = _host(ctx, p, h, name=name)
    world = World(main, MappingProxyType(hosts), max_sessions, source)
    tables = {main.hostname.lower(): base} | {
        name.lower(): base + ("hosts", name) for name in hosts_raw}
    for h in (main, *hosts.values()):
        _check_certificate_name(ctx, tables[h.hostname.lower()], h)
    _check_loops(ctx, world, tables)
    return world


def _check_certificate_name(ctx: _Ctx, base: tuple, host: Host) -> None:
    """A host that offers STARTTLS needs its name in a certificate: a DNS name or an
    IP literal. RFC 821's ``#123`` (and a label over 63 octets) cannot be one, so such a
    world is refused here, not with a traceback at the first STARTTLS."""
    from smtptui.server.personas import PERSONAS  # world files name personas by string

    exts = host.extensions if host.extensions is not None else PERSONAS[host.persona].extensions
    if not any(e.split(" ", 1)[0] == "STARTTLS" for e in exts):
        return
    name = host.hostname
    if name.startswith("[") or certificate_name_ok(name):
        return
    raise ctx.fail(base + ("hostname",), f"{_shown(name)} cannot be the name in a TLS "
                   f"certificate, and persona {host.persona!r} offers STARTTLS: use a DNS "
                   "name (labels of 1-63 letters, digits and hyphens) or an address literal")


def certificate_name_ok(name: str) -> bool:
    """True for a DNS name a certificate's subjectAltName can hold."""
    labels = name.rstrip(".").split(".")
    return (len(name) <= 253 and name.isascii() and all(
        _LABEL_RE.match(label) for label in labels))


_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _check_loops(ctx: _Ctx, world: World, tables: Mapping[str, tuple]) -> None:
    """Refuse a list that includes itself or a forward that comes back, directly or
    through other lists, forwards and hosts: expanding one would never end (each round
    multiplies the copies). The error names the whole cycle."""
    edges: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    for h in (world.host, *world.hosts.values()):
        for name, members in h.lists.items():
            edges[(h.hostname, "lists", name)] = [
                n for n in (_node(world, h, parse_member(m)[1]) for m in members) if n]
        for name, fwd in h.forwards.items():
            if fwd.mode == "will-forward":
                n = _node(world, h, fwd.to)
                edges[(h.hostname, "forwards", name)] = [n] if n else []
    done: set[tuple[str, str, str]] = set()
    for start, first_children in edges.items():
        trail: list[tuple[str, str, str]] = []
        on_trail: set[tuple[str, str, str]] = set()
        stack = [(start, iter(first_children))]
        trail.append(start)
        on_trail.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                trail.pop()
                on_trail.discard(node)
                done.add(node)
                continue
            if child in on_trail:
                cycle = trail[trail.index(child):] + [child]
                first = cycle[0]
                shown = " -> ".join(f"{k[2]}@{k[0]}" for k in cycle)
                what = "the list includes itself" if first[1] == "lists" else (
                    "the forward comes back to itself")
                raise ctx.fail(tables[first[0].lower()] + (first[1], first[2]),
                               f"{what} ({shown}); each member may be expanded only once")
            if child not in done and child in edges:
                stack.append((child, iter(edges[child])))
                trail.append(child)
                on_trail.add(child)


def _node(world: World, at: Host, text: str) -> tuple[str, str, str] | None:
    """The list or forward an address names inside the world, or None (a mailbox,
    a host outside the world, a source route: those end an expansion)."""
    p = parse_path(f"<{text}>")
    if p is None or p.route:
        return None
    host = at if p.domain is None else world.find_host(p.domain)
    if host is None or host.mailbox(p.name, p.domain) is not None:
        return None
    key = host.mailing_list(p.name, p.domain)
    if key is not None:
        return (host.hostname, "lists", key)
    key = host._lookup(host.forwards, p.name, p.domain)
    if key is not None and host.forwards[key].mode == "will-forward":
        return (host.hostname, "forwards", key)
    return None


def load_world(path: str | Path) -> World:
    """Read a world file (a bare world, or a lesson with a ``[world]`` table)."""
    from smtptui.core.limits import InputTooLong, read_limited

    p = Path(path)
    try:
        text = read_limited(p, what="world file").decode("utf-8")
    except InputTooLong as exc:
        raise WorldError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError(f"{p}: cannot read world file: {getattr(exc, 'strerror', None) or exc}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorldError(f"{p}: invalid TOML: {exc}") from None
    if "world" in data and "hostname" not in data:
        inner = data["world"]
        if not isinstance(inner, dict):
            raise _Ctx(str(p), text).fail(("world",), "expected a table")
        return world_from_mapping(inner, str(p), text, base=("world",))
    return world_from_mapping(data, str(p), text)

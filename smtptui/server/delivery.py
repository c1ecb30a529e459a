"""Routing inside the world: who gets a copy, on which host, by which hops.

Nothing here opens a connection. "Relaying" to another host of the world means
computing what that host would do (RFC 821 §3.6: strip itself from the forward-path,
prepend itself to the reverse-path, add a Received: line) and storing the result in
that host's Maildirs. An address outside the world is never accepted at RCPT time;
if one turns up later (a list member, a forward target) the copy goes to
``_undeliverable`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smtptui.server.paths import Path, parse_member, parse_path
from smtptui.server.world import Host, World

Kind = Literal["MAIL", "SEND", "SOML", "SAML"]
MAX_HOPS = 16
MAX_TARGETS = 10_000
"""Copies one recipient may expand to. The world loader refuses list loops; this bounds
the CPU one RCPT can cost whatever the world holds, so no session starves the others."""


@dataclass(frozen=True, slots=True)
class Target:
    """One final copy: a Maildir (``mailbox``), a terminal, or undeliverable."""

    host: str                 # the world host (or relay domain) holding it
    box: str                  # mailbox / user name ("" for undeliverable)
    where: Literal["mailbox", "terminal", "undeliverable"]
    hops: tuple[str, ...]     # hosts the message passed, first = the receiving server
    reason: str = ""


def relays_to(world: World, host: Host, domain: str) -> bool:
    """May ``host`` relay to ``domain``? Only to names in its relay_domains ("*" = every
    host of the world); never outside the world."""
    d = domain.lower()
    for r in host.relay_domains:
        if r == "*":
            if world.find_host(d) is not None:
                return True
        elif r.lower() == d:
            return True
    return False


def in_world(world: World, domain: str) -> bool:
    """A domain the world knows: a host, or a relay domain of some host."""
    if world.find_host(domain) is not None:
        return True
    hosts = (world.host, *world.hosts.values())
    return any(r.lower() == domain.lower() for h in hosts for r in h.relay_domains)


class _Walk:
    """One expansion: the lists and forwards already expanded (each expands once, as
    sendmail's alias expansion does) and the copies made so far."""

    __slots__ = ("active", "count", "done")

    def __init__(self) -> None:
        self.active: set[tuple[str, str, str]] = set()  # being expanded: seeing it is a loop
        self.done: set[tuple[str, str, str]] = set()    # expanded: its copies exist
        self.count = 0


def leaves_world(world: World, path: Path) -> str | None:
    """The first domain of ``path`` -- a hop of its source route or its final domain --
    that is not in the world, or None. ``<@other.test:victim@evil.example>`` passes a
    world host but ends outside: relaying there is refused at RCPT, like any other."""
    for domain in (*path.route, path.domain):
        if domain is not None and not in_world(world, domain):
            return domain
    return None


def route(world: World, at: Host | None, at_name: str, path: Path, kind: Kind,
          hops: tuple[str, ...] = (), depth: int = 0, walk: _Walk | None = None
          ) -> list[Target]:
    """Where a message for ``path`` ends up when host ``at`` receives it.

    ``at`` is None for a relay domain with no [hosts] table: it accepts any mailbox.
    Work is bounded: each list and forward expands once, at most :data:`MAX_TARGETS`
    copies are made and :data:`MAX_HOPS` hops travelled.
    """
    walk = walk or _Walk()
    hops = hops + (at_name,)
    walk.count += 1
    if walk.count > MAX_TARGETS:
        return [Target(at_name, "", "undeliverable", hops,
                       f"more than {MAX_TARGETS} copies: expansion stopped")]
    if depth > MAX_HOPS:
        return [Target(at_name, "", "undeliverable", hops, "mail loop: too many hops")]
    r = list(path.route)
    while r and _names(at, at_name, r[0]):
        r.pop(0)  # RFC 821 §3.6: the host strips itself from the forward-path
    next_domain = r[0] if r else path.domain
    if next_domain is not None and not _names(at, at_name, next_domain):
        nxt = world.find_host(next_domain)
        if nxt is None and not in_world(world, next_domain):
            return [Target(at_name, "", "undeliverable", hops,
                           f"{next_domain} is outside the world; nothing is sent out")]
        return route(world, nxt, nxt.hostname if nxt else next_domain.lower(),
                     path.with_route(tuple(r)), kind, hops, depth + 1, walk)
    if at is None:  # a relay-domain sink: every mailbox exists
        return [Target(at_name, path.name, "mailbox", hops)]
    return _local(world, at, path.name, path.domain, kind, hops, depth, walk)


def _names(at: Host | None, at_name: str, domain: str) -> bool:
    return at.is_local_domain(domain) if at is not None else domain.lower() == at_name.lower()


def _local(world: World, at: Host, local: str, domain: str | None, kind: Kind,
           hops: tuple[str, ...], depth: int, walk: _Walk) -> list[Target]:
    box = at.mailbox(local, domain)
    if box is not None or local.lower() == "postmaster":
        name = box or "postmaster"
        user = name.split("@")[0]
        active = at.is_logged_in(user)
        if kind == "SEND":
            if active:
                return [Target(at.hostname, user, "terminal", hops)]
            return [Target(at.hostname, "", "undeliverable", hops, f"{user} is not logged in")]
        if kind == "SOML":
            return [Target(at.hostname, user, "terminal" if active else "mailbox", hops)]
        if kind == "SAML" and active:
            return [Target(at.hostname, user, "mailbox", hops),
                    Target(at.hostname, user, "terminal", hops)]
        return [Target(at.hostname, user, "mailbox", hops)]
    lst = at.mailing_list(local, domain)
    if lst is not None:
        key = (at.hostname.lower(), "list", lst)
        if key in walk.done:
            return []  # a list named twice: its members have their copies already
        if key in walk.active:
            return [Target(at.hostname, "", "undeliverable", hops,
                           f"mail loop: list {lst} includes itself")]
        if not at.lists[lst]:
            return [Target(at.hostname, "", "undeliverable", hops, f"list {lst} is empty")]
        walk.active.add(key)
        out: list[Target] = []
        for member in at.lists[lst]:
            if walk.count > MAX_TARGETS:
                break
            _, text = parse_member(member)
            p = parse_path(f"<{text}>")
            if p is None:
                out.append(Target(at.hostname, "", "undeliverable", hops,
                                  f"list {lst}: bad member {member!r}"))
                continue
            if p.domain is None and not p.route:
                p = Path((), p.local, at.hostname)
            out += route(world, at, at.hostname, p, kind, hops[:-1], depth + 1, walk)
        walk.active.discard(key)
        walk.done.add(key)
        return out
    fwd = at.forward(local, domain)
    if fwd is not None and fwd.mode == "will-forward":
        key = (at.hostname.lower(), "forward", local.lower())
        if key in walk.active:
            return [Target(at.hostname, "", "undeliverable", hops,
                           f"mail loop: the forward of {local} comes back")]
        p = parse_path(f"<{fwd.to}>")
        if p is not None:
            walk.active.add(key)
            try:
                return route(world, at, at.hostname, p, kind, hops[:-1], depth + 1, walk)
            finally:
                walk.active.discard(key)
    return [Target(at.hostname, "", "undeliverable", hops, f"no mailbox {local!r} here")]


def dedupe(targets: list[Target]) -> list[Target]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for t in targets:
        key = (t.host.lower(), t.box, t.where)
        if t.where == "undeliverable" or key not in seen:
            seen.add(key)
            out.append(t)
    return out


def received_line(*, helo: str, ip: str | None, by: str, proto: str, qid: str,
                  rcpt: str | None, date: str, peer_host: str | None = None,
                  version: str = "smtptui", short: bool = False) -> bytes:
    """A Received: trace field. ``short`` is RFC 821 §4.1.2's stamp as Appendix F prints
    it (``from A by B ; 2 Nov 81 22:40:10 UT``); otherwise the seed lecture's sendmail
    form, ``from NAME (HOST [IP]) by HOST (VERSION) with ESMTP id ID for <RCPT>; DATE``
    (RFC 5321 §4.4). ``date`` is already written in the persona's style."""
    if short:
        return f"Received: from {helo} by {by} ; {date}\r\n".encode("ascii", "replace")
    frm = helo
    if ip:
        frm += f" ({peer_host} [{ip}])" if peer_host else f" ([{ip}])"
    line = f"Received: from {frm}\r\n\tby {by} ({version}) with {proto} id {qid}"
    if rcpt:
        line += f"\r\n\tfor <{rcpt}>"
    return (line + f"; {date}\r\n").encode("utf-8", "replace")

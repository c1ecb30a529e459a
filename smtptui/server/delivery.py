"""Routing inside the world: who gets a copy, on which host, by which hops.

Nothing here opens a connection. "Relaying" to another host of the world means
computing what that host would do (RFC 821 §3.6: strip itself from the forward-path,
prepend itself to the reverse-path, add a Received: line) and storing the result in
that host's Maildirs. An address outside the world is never accepted at RCPT time;
if one turns up later (a list member, a forward target) the copy goes to
``_undeliverable`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from smtptui.server.paths import Path, parse_member, parse_path
from smtptui.server.world import Host, World

Kind = Literal["MAIL", "SEND", "SOML", "SAML"]
Copy = Literal["mailbox", "terminal"]
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


# RFC 821 §4.1.1 (SEND, SOML, SAML) and §4.3: for a local user, by command and by whether
# the user is logged in, the RCPT reply and where the copies go. No copies: refused.
USER_POLICY: Mapping[tuple[Kind, bool], tuple[str, tuple[Copy, ...]]] = MappingProxyType({
    ("MAIL", False): ("rcpt_ok", ("mailbox",)),
    ("MAIL", True): ("rcpt_ok", ("mailbox",)),
    ("SEND", False): ("not_active", ()),                # 450 User not active now
    ("SEND", True): ("rcpt_ok", ("terminal",)),
    ("SOML", False): ("will_mail", ("mailbox",)),       # 250 ... so will do mail.
    ("SOML", True): ("rcpt_ok", ("terminal",)),
    ("SAML", False): ("rcpt_ok", ("mailbox",)),
    ("SAML", True): ("rcpt_ok", ("mailbox", "terminal")),
})


@dataclass(frozen=True, slots=True)
class Decision:
    """What a host does with one forward-path: the RCPT reply (a persona's reply key and
    the values its text needs), whether the recipient is accepted, and for a local name
    what it is -- so RCPT and delivery cannot disagree about it."""

    key: str
    accepted: bool
    values: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None            # a mailbox (postmaster included) ...
    copies: tuple[Copy, ...] = ()      # ... and where its copies go (USER_POLICY)
    mailing_list: str | None = None    # a list: every member gets a copy
    forward_to: str | None = None      # a user who moved: this host forwards (251)


def next_hop(at: Host | None, at_name: str, path: Path) -> tuple[tuple[str, ...], str | None]:
    """The forward-path's source route once ``at`` has stripped itself from its front
    (RFC 821 §3.6), and the domain the path goes to next (None: no domain, local)."""
    r = list(path.route)
    while r and _names(at, at_name, r[0]):
        r.pop(0)
    return tuple(r), r[0] if r else path.domain


def decide_local(host: Host, path: Path, kind: Kind) -> Decision:
    """What ``path``'s local part names at ``host``, in RFC 821's order: a user (or
    Postmaster, which every host has, §4.5.1), a mailing list, a user who moved
    (§3.2: 251 will-forward, 551 please-try), or nothing (550)."""
    addr = {"addr": path.mailbox}
    box = host.mailbox(path.name, path.domain)
    if box is not None or path.name.lower() == "postmaster":
        user = (box or "postmaster").split("@")[0]
        key, copies = USER_POLICY[kind, host.is_logged_in(user)]
        return Decision(key, bool(copies), addr, user=user, copies=copies)
    lst = host.mailing_list(path.name, path.domain)
    if lst is not None:
        return Decision("rcpt_ok", True, addr, mailing_list=lst)
    fwd = host.forward(path.name, path.domain)
    if fwd is not None and fwd.mode == "will-forward":
        return Decision("will_forward", True, {"to": fwd.to}, forward_to=fwd.to)
    if fwd is not None:
        return Decision("please_try", False, {"to": fwd.to})
    return Decision("no_user", False, addr)


def rcpt_decision(world: World, host: Host, path: Path, kind: Kind) -> Decision:
    """RCPT TO at ``host`` (the server's main host): a local name is decided by
    :func:`decide_local`, after the world's deliberate temporary failures (451); a path
    that goes on is relayed only to the host's relay_domains and never out of the world
    (RFC 821 §3.6; RFC 5321 §3.9 leaves relaying to the host's policy)."""
    _, next_domain = next_hop(host, host.hostname, path)
    if next_domain is None or host.is_local_domain(next_domain):
        if any(path.name.lower() == t.lower() for t in host.temporary_failures):
            return Decision("tempfail", False)  # a world's mailbox failing on purpose
        return decide_local(host, path, kind)
    addr = path.mailbox
    if relays_to(world, host, next_domain):
        outside = leaves_world(world, path)
        if outside is not None:  # <@world-host:victim@elsewhere>: relaying out
            return Decision("relay_denied", False, {"addr": addr, "domain": outside})
        return Decision("rcpt_ok", True, {"addr": addr})
    return Decision("relay_denied", False, {"addr": addr, "domain": next_domain})


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
    r, next_domain = next_hop(at, at_name, path)
    if next_domain is not None and not _names(at, at_name, next_domain):
        nxt = world.find_host(next_domain)
        if nxt is None and not in_world(world, next_domain):
            return [Target(at_name, "", "undeliverable", hops,
                           f"{next_domain} is outside the world; nothing is sent out")]
        return route(world, nxt, nxt.hostname if nxt else next_domain.lower(),
                     path.with_route(r), kind, hops, depth + 1, walk)
    if at is None:  # a relay-domain sink: every mailbox exists
        return [Target(at_name, path.name, "mailbox", hops)]
    return _local(world, at, path, kind, hops, depth, walk)


def _names(at: Host | None, at_name: str, domain: str) -> bool:
    return at.is_local_domain(domain) if at is not None else domain.lower() == at_name.lower()


def _local(world: World, at: Host, path: Path, kind: Kind,
           hops: tuple[str, ...], depth: int, walk: _Walk) -> list[Target]:
    d = decide_local(at, path, kind)  # what RCPT answered for this name, at this host
    if d.user is not None:
        if not d.copies:
            return [Target(at.hostname, "", "undeliverable", hops, f"{d.user} is not logged in")]
        return [Target(at.hostname, d.user, where, hops) for where in d.copies]
    lst = d.mailing_list
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
    local = path.name
    if d.forward_to is not None:
        key = (at.hostname.lower(), "forward", local.lower())
        if key in walk.active:
            return [Target(at.hostname, "", "undeliverable", hops,
                           f"mail loop: the forward of {local} comes back")]
        p = parse_path(f"<{d.forward_to}>")
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

"""What VRFY, EXPN and HELP answer (RFC 821 §4.1.1, §3.3; RFC 5321 §3.5, §4.1.1.8),
as functions of the world and the persona: no I/O, no reply formatting.

Each returns a persona reply key with the values its text needs, or the lines of a
multi-line reply; the protocol words and sends them.
"""

from __future__ import annotations

import textwrap

from smtptui.core.commands import COMMANDS, help_text, lookup
from smtptui.server.paths import Path, parse_member
from smtptui.server.personas import Persona
from smtptui.server.world import Host, World

Answer = tuple[str, dict[str, str]]
"""A persona reply key and the values its text needs."""

HELP_WIDTH = 70
"""HELP's explanation is wrapped to this many characters a line."""


def query_local(host: Host, arg: str) -> tuple[str, str | None]:
    """The local part (and this host's domain, if named) a VRFY/EXPN argument asks
    about: ``<...>`` and quoting are taken off; another host's address is looked up
    whole, so it matches nothing here."""
    text = arg.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if "\\" in text or text[:1] == '"':  # quoting: "\x" is "x", "a.b" is a.b
        text = Path((), text, None).name
    if "@" in text:
        local, _, domain = text.rpartition("@")
        if host.is_local_domain(domain):
            return local, domain
    return text, None


def address(host: Host, box: str) -> str:
    """A mailbox key as a full address at ``host``."""
    return box if "@" in box else f"{box}@{host.hostname}"


def vrfy(host: Host, arg: str) -> Answer:
    """RFC 821 §3.3: a user (250 with the full name), a user who moved (251/551), a
    list (550: EXPN is for those), Postmaster, else the words of a full name: one match
    (250), several (553 ambiguous) or none (550)."""
    local, domain = query_local(host, arg)
    box = host.mailbox(local, domain)
    if box is not None:
        name = host.mailboxes[box]
        return "vrfy", {"name": f"{name} " if name else "", "addr": address(host, box)}
    fwd = host.forward(local, domain)
    if fwd is not None:
        return ("will_forward" if fwd.mode == "will-forward" else "please_try"), {"to": fwd.to}
    if host.mailing_list(local, domain) is not None:
        return "is_list", {}
    if local.lower() == "postmaster":  # any case, in every RFC (RFC 5321 §4.5.1)
        return "vrfy", {"name": "", "addr": f"postmaster@{host.hostname}"}
    words = local.lower().split()
    found = [b for b, name in host.mailboxes.items()
             if words and all(w in name.lower().split() for w in words)]
    if len(found) == 1:
        box = found[0]
        return "vrfy", {"name": f"{host.mailboxes[box]} ", "addr": address(host, box)}
    return ("ambiguous" if found else "no_match"), {}


def expn(world: World, host: Host, arg: str) -> Answer | list[str]:
    """RFC 821 §3.3: a list's members, one ``Name <address>`` line each (a member's
    name looked up where it lives, in the world), or why not: a user (550) or nothing
    (550). An empty list is an empty list of lines."""
    local, domain = query_local(host, arg)
    lst = host.mailing_list(local, domain)
    if lst is None:
        return ("not_list" if host.mailbox(local, domain) is not None else "no_match"), {}
    lines = []
    for member in host.lists[lst]:
        name, path = parse_member(member)
        if not name and "@" in path and ":" not in path:
            mlocal, _, mdomain = path.rpartition("@")
            world_host = world.find_host(mdomain)
            if world_host is not None:
                key = world_host.mailbox(mlocal, mdomain)
                name = world_host.mailboxes.get(key, "") if key else ""
        elif not name and "@" not in path:
            key = host.mailbox(path)
            name = host.mailboxes.get(key, "") if key else ""
            path = address(host, path)
        lines.append(f"{name} <{path}>" if name else f"<{path}>")
    return lines


# Commands a persona explains though it does not list them as its verbs.
_HELP_EXTRA = ("EHLO", "STARTTLS", "AUTH")


def help_topic(persona: Persona, topic: str) -> list[str] | None:
    """The command table's own HELP text for ``topic`` in the persona's dialect (RFC
    821 speaks of RFC 821 only), 7-bit as reply text must be (RFC 5321 §4.2: no "§");
    None for a command this persona does not know."""
    spec = lookup(topic.strip())
    if spec is None or (spec.verb not in persona.verbs and spec.verb not in _HELP_EXTRA):
        return None
    *head, paragraph = help_text(spec.verb, persona.dialect)
    wrapped = textwrap.wrap(" ".join(paragraph.split()), HELP_WIDTH,
                            break_long_words=False, break_on_hyphens=False)
    return [line.replace("§", "section ") for line in [*head, *wrapped]]


def help_verbs(persona: Persona) -> list[str]:
    """The persona's commands in table order, eight a line."""
    verbs = [v for v in COMMANDS if v in persona.verbs]
    return ["    " + " ".join(verbs[i:i + 8]) for i in range(0, len(verbs), 8)]

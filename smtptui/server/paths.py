"""Paths as RFC 821 §4.1.2 writes them: ``<@hostA,@hostB:user@hostC>``, split for routing.

Whether a client's path is *valid* is decided by the core's grammar
(``core.grammar.check``), the same checker ``smtptui check`` uses; this module only
splits a path into the parts routing needs. The source route (the ``@host,`` list)
must survive, because the server relays along it (RFC 821 §3.6); email.headerregistry
would silently drop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Path:
    """A reverse- or forward-path. ``local`` is empty for the null path ``<>``; it keeps
    the client's quoting (``"a b"``, ``Sm\\ith``); :attr:`name` is the mailbox name."""

    route: tuple[str, ...]
    local: str
    domain: str | None

    @property
    def is_null(self) -> bool:
        return not self.local and not self.route

    @property
    def name(self) -> str:
        """The local part as a name: quotes and backslash quoting resolved (RFC 821
        §4.1.2: ``\\`` quotes the next character; ``"..."`` quotes the whole)."""
        text = self.local
        if len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        return _QUOTED_PAIR.sub(r"\1", text) if "\\" in text else text

    @property
    def mailbox(self) -> str:
        return f"{self.local}@{self.domain}" if self.domain else self.local

    def __str__(self) -> str:
        if self.is_null:
            return ""
        route = ",".join("@" + h for h in self.route)
        return f"{route}:{self.mailbox}" if route else self.mailbox

    def bracketed(self) -> str:
        return f"<{self}>"

    def with_route(self, route: tuple[str, ...]) -> Path:
        return Path(route, self.local, self.domain)


def parse_path(text: str, *, allow_null: bool = False) -> Path | None:
    """Split ``<...>`` into route, local part and domain; None when it is not even
    shaped like a path (world data: list members, forward targets). A client's path is
    checked by the grammar before it gets here."""
    text = text.strip()
    if len(text) < 2 or text[0] != "<" or text[-1] != ">":
        return None
    inner = text[1:-1]
    if not inner:
        return Path((), "", None) if allow_null else None
    if any(c.isspace() and c != " " for c in inner) or (" " in inner and '"' not in inner):
        return None
    route: tuple[str, ...] = ()
    if inner[0] == "@":
        hops, sep, inner = inner.partition(":")
        if not sep:
            return None
        route = tuple(h[1:] for h in hops.split(","))
        if any(not h for h in route):
            return None
    local, at, domain = inner.rpartition("@")
    if not at:
        local, domain = inner, ""
    if not local or (at and not domain):
        return None
    return Path(route, local, domain or None)


def split_path_and_params(arg: str) -> tuple[str, list[str]]:
    """``<a@b> SIZE=10 BODY=8BITMIME`` -> ("<a@b>", ["SIZE=10", "BODY=8BITMIME"])."""
    arg = arg.strip()
    if arg.startswith("<"):
        end = _closing_bracket(arg)
        if end < 0:
            return arg, []
        return arg[: end + 1], arg[end + 1:].split()
    parts = arg.split()
    return (parts[0] if parts else ""), parts[1:]


def _closing_bracket(arg: str) -> int:
    """Index of the ``>`` that closes the path, skipping quoted strings and ``\\x``."""
    quoted = False
    i = 1
    while i < len(arg):
        c = arg[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ">" and not quoted:
            return i
        i += 1
    return -1


def parse_member(text: str) -> tuple[str, str]:
    """A list member ``"Full Name <path>"``, ``"<path>"`` or ``"path"`` -> (name, path)."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        i = text.rfind("<")
        return text[:i].strip(), text[i + 1: -1]
    return "", text

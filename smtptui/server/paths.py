"""Paths as RFC 821 §4.1.2 writes them: ``<@hostA,@hostB:user@hostC>``.

The source route (the ``@host,`` list) must survive parsing, because the server relays
along it (RFC 821 §3.6); email.headerregistry would silently drop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_STRING = rf"{_ATOM}(?:\.{_ATOM})*"
_QUOTED = r'"(?:[^"\\\r\n]|\\.)*"'
_DOMAIN = r"(?:\[[^\]\s]+\]|#\d+|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
_PATH_RE = re.compile(
    rf"^<(?:(?P<route>@{_DOMAIN}(?:,@{_DOMAIN})*):)?"
    rf"(?P<local>{_DOT_STRING}|{_QUOTED})(?:@(?P<domain>{_DOMAIN}))?>$"
)
_UTF8_PATH_RE = re.compile(
    rf"^<(?:(?P<route>@{_DOMAIN}(?:,@{_DOMAIN})*):)?"
    rf"(?P<local>[^\s<>@\"]+|{_QUOTED})(?:@(?P<domain>[^\s<>@,:]+))?>$"
)


@dataclass(frozen=True, slots=True)
class Path:
    """A reverse- or forward-path. ``local`` is empty for the null path ``<>``."""

    route: tuple[str, ...]
    local: str
    domain: str | None

    @property
    def is_null(self) -> bool:
        return not self.local and not self.route

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


def parse_path(text: str, *, allow_null: bool = False, utf8: bool = False) -> Path | None:
    """Parse ``<...>``; None when the text is not a path."""
    text = text.strip()
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        return None  # bytes that are not UTF-8 (aiosmtpd hands them over surrogate-escaped)
    if text == "<>":
        return Path((), "", None) if allow_null else None
    m = (_UTF8_PATH_RE if utf8 else _PATH_RE).match(text)
    if not m:
        return None
    route = tuple(h[1:] for h in m.group("route").split(",")) if m.group("route") else ()
    return Path(route, m.group("local"), m.group("domain"))


def split_path_and_params(arg: str) -> tuple[str, list[str]]:
    """``<a@b> SIZE=10 BODY=8BITMIME`` -> ("<a@b>", ["SIZE=10", "BODY=8BITMIME"])."""
    arg = arg.strip()
    if arg.startswith("<"):
        end = arg.find(">")
        if end < 0:
            return arg, []
        return arg[: end + 1], arg[end + 1:].split()
    parts = arg.split()
    return (parts[0] if parts else ""), parts[1:]


def parse_member(text: str) -> tuple[str, str]:
    """A list member ``"Full Name <path>"``, ``"<path>"`` or ``"path"`` -> (name, path)."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        i = text.rfind("<")
        return text[:i].strip(), text[i + 1: -1]
    return "", text

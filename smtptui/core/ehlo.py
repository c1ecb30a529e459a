"""EHLO capabilities: what the server's 250 reply to EHLO advertises.

RFC 5321 §4.1.1.1 (RFC 1869 §4.3)::

    ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
                 / ( "250-" Domain [ SP ehlo-greet ] CRLF
                     *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
    ehlo-line    = ehlo-keyword *( SP ehlo-param )
    ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    ehlo-param   = 1*(%d33-126)

Servers do not always follow it, so nothing here raises: odd lines are kept (the user
should see exactly what was advertised) and diagnosed. The pre-RFC 2554 ``AUTH=LOGIN
PLAIN`` form that old servers still send is understood and merged into
``auth_mechanisms``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from smtptui.core.diagnostics import Diagnostic, error, warning
from smtptui.core.extensions import describe
from smtptui.core.frozen import frozen
from smtptui.core.replies import Reply

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Capabilities", "Capability", "parse_ehlo"]

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_PARAM = re.compile(r"[\x21-\x7e]+")
_RULE = "RFC 5321 §4.1.1.1"
OLD_AUTH = "AUTH="
"""Keyword under which an old-style ``AUTH=LOGIN PLAIN`` line is kept."""


@frozen
class Capability:
    """One ehlo-line: keyword (upper case) and its parameters as sent."""

    keyword: str
    params: tuple[str, ...]
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"keyword": self.keyword, "params": list(self.params),
                "description": self.description}


@frozen
class Capabilities:
    """The parsed EHLO reply. Keyword look-ups are case-insensitive."""

    domain: str
    greeting: str
    items: tuple[Capability, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and keyword.upper() in self.keywords

    def __iter__(self) -> Iterator[Capability]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, keyword: str) -> Capability | None:
        """The first item with ``keyword`` (for "AUTH", the old AUTH= form as a fallback)."""
        k = keyword.upper()
        for item in self.items:
            if item.keyword == k:
                return item
        if k == "AUTH":
            return self.get(OLD_AUTH)
        return None

    def params(self, keyword: str) -> tuple[str, ...]:
        item = self.get(keyword)
        return item.params if item is not None else ()

    @property
    def keywords(self) -> frozenset[str]:
        """Advertised keywords (upper case). An old-style AUTH= line also counts as AUTH."""
        kws = {item.keyword for item in self.items}
        if OLD_AUTH in kws:
            kws.add("AUTH")
        return frozenset(kws)

    @property
    def size_limit(self) -> int | None:
        """RFC 1870: the largest message in octets; 0 = no fixed limit; None when SIZE is
        not advertised or has no (valid) number."""
        params = self.params("SIZE")
        if params and params[0].isascii() and params[0].isdigit():
            return int(params[0])
        return None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """SASL mechanisms from ``AUTH ...`` and old-style ``AUTH=...`` lines, in order,
        without duplicates (compared case-insensitively)."""
        seen: dict[str, str] = {}
        for item in self.items:
            if item.keyword in ("AUTH", OLD_AUTH):
                for mech in item.params:
                    seen.setdefault(mech.upper(), mech)
        return tuple(seen.values())

    @property
    def starttls(self) -> bool:
        return "STARTTLS" in self.keywords

    @property
    def pipelining(self) -> bool:
        return "PIPELINING" in self.keywords

    @property
    def eight_bit_mime(self) -> bool:
        return "8BITMIME" in self.keywords

    @property
    def dsn(self) -> bool:
        return "DSN" in self.keywords

    @property
    def enhanced_status_codes(self) -> bool:
        return "ENHANCEDSTATUSCODES" in self.keywords

    @property
    def smtputf8(self) -> bool:
        return "SMTPUTF8" in self.keywords

    @property
    def chunking(self) -> bool:
        return "CHUNKING" in self.keywords

    @property
    def etrn(self) -> bool:
        return "ETRN" in self.keywords

    @property
    def expn(self) -> bool:
        return "EXPN" in self.keywords

    @property
    def help(self) -> bool:
        return "HELP" in self.keywords

    @property
    def verb(self) -> bool:
        """sendmail's VERB (verbose delivery with 0xy progress replies)."""
        return "VERB" in self.keywords

    @property
    def onex(self) -> bool:
        """sendmail's ONEX (one transaction only)."""
        return "ONEX" in self.keywords

    @property
    def xusr(self) -> bool:
        """sendmail's XUSR (initial user submission)."""
        return "XUSR" in self.keywords

    def to_list(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.items]

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "greeting": self.greeting,
            "capabilities": self.to_list(),
            "size_limit": self.size_limit,
            "auth_mechanisms": list(self.auth_mechanisms),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def parse_ehlo(reply: Reply) -> Capabilities:
    """Read the capabilities from a 250 reply to EHLO. Never raises; a reply that is not
    250 gives empty capabilities with an error diagnostic."""
    diags: list[Diagnostic] = []
    if reply.code != 250:
        diags.append(error(0, 3, f"EHLO was not accepted (reply {reply.code}); no capabilities",
                           _RULE))
        return Capabilities("", "", (), tuple(diags))
    first = reply.lines[0] if reply.lines else ""
    domain, _, greeting = first.partition(" ")
    if not domain:
        diags.append(warning(4, 4, "line 1: the EHLO reply does not start with the server's "
                                   "domain", _RULE))
    items: list[Capability] = []
    seen: set[str] = set()
    for n, line in enumerate(reply.lines[1:], start=2):
        item = _parse_line(line, n, diags)
        if item is None:
            continue
        if item.keyword in seen:
            diags.append(warning(4, 4 + len(item.keyword),
                                 f"line {n}: {item.keyword} is advertised twice", _RULE))
        seen.add(item.keyword)
        items.append(item)
    return Capabilities(domain, greeting, tuple(items), tuple(diags) + reply.diagnostics)


def _parse_line(line: str, n: int, diags: list[Diagnostic]) -> Capability | None:
    col = 4  # text starts after "250-"
    if not line.strip():
        diags.append(warning(col, col, f"line {n}: empty ehlo-line", _RULE))
        return None
    if line != line.strip(" ") or "  " in line or "\t" in line:
        diags.append(warning(col, col + len(line),
                             f"line {n}: extra white space (ehlo-params are separated by "
                             f"single spaces)", _RULE))
    word, *params = line.split()
    upper = word.upper()
    if upper.startswith(OLD_AUTH):
        # Old-style "AUTH=LOGIN PLAIN" (draft-era AUTH, still sent for old clients).
        mechs = tuple(p for p in [word[5:], *params] if p)
        return Capability(OLD_AUTH, mechs,
                          describe("AUTH") + " Old-style AUTH= line, kept for pre-RFC 2554 "
                          "clients.")
    if _KEYWORD.fullmatch(word) is None:
        bad = next((i for i, ch in enumerate(word)
                    if not (ch.isascii() and (ch.isalnum() or (ch == "-" and i)))), 0)
        diags.append(error(col + bad, col + bad + 1,
                           f"line {n}: {word!r} is not a valid ehlo-keyword (letters, digits "
                           f"and '-', starting with a letter or digit)", _RULE + " ehlo-keyword"))
    for p in params:
        if _PARAM.fullmatch(p) is None:
            diags.append(warning(col, col + len(line),
                                 f"line {n}: parameter {p!r} of {upper} has characters "
                                 f"outside %d33-126", _RULE + " ehlo-param"))
    if upper == "SIZE" and params and not (params[0].isascii() and params[0].isdigit()):
        diags.append(warning(col + 5, col + 5 + len(params[0]),
                             f"line {n}: SIZE parameter {params[0]!r} is not a number",
                             "RFC 1870 §4"))
    return Capability(upper, tuple(params), describe(upper))

"""Command-line completion, independent of any front end.

Given the line typed so far (the cursor at its end), ``complete`` says what could come
next: verbs (the ones that make sense in the session state first), the ``FROM:<`` /
``TO:<`` templates, addresses used earlier, ESMTP parameters the server advertised and
their values, AUTH mechanisms, HELP topics. Each candidate carries a one-line meaning
taken from the command and extension tables, so completion teaches while it helps.

It runs on every keystroke: no I/O, no parsing beyond the current line, and at most a
bounded scan of recent history. It never raises, whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from smtptui.core.commands import COMMANDS, Arg, CommandSpec
from smtptui.core.extensions import EXTENSIONS, parameters_for
from smtptui.core.state import SessionTracker, State, legal_in, usual_in
from smtptui.core.text import is_ascii_digits

if TYPE_CHECKING:
    from smtptui.core.ehlo import Capabilities

__all__ = ["KINDS", "Candidate", "complete"]

KINDS = frozenset({"verb", "template", "parameter", "value", "address", "topic"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """Replace ``partial_line[start:]`` with ``text``; show ``display`` and ``meaning``."""

    text: str
    start: int
    display: str
    meaning: str
    kind: str


HISTORY_SCAN = 1000
"""How many recent history lines are searched for addresses (keeps keystrokes cheap)."""

_ADDRESS = re.compile(r"<([^<>\s]+)>")
_WS = " \t"

# Verbs whose argument is required: completing the verb adds the separating space.
_NEEDS_ARGUMENT = frozenset(v for v, s in COMMANDS.items()
                            if s.arg not in (Arg.NONE, Arg.OPTIONAL_STRING))

_MECHANISMS = {
    "PLAIN": "user name and password in one base64 line (RFC 4616)",
    "LOGIN": "user name, then password, each base64 (non-standard, widely used)",
    "CRAM-MD5": "challenge-response: the password itself is not sent (RFC 2195)",
    "DIGEST-MD5": "challenge-response, obsolete (RFC 6331)",
    "SCRAM-SHA-1": "salted challenge-response (RFC 5802)",
    "SCRAM-SHA-256": "salted challenge-response (RFC 7677)",
    "XOAUTH2": "OAuth 2.0 bearer token (Google, Microsoft)",
    "OAUTHBEARER": "OAuth 2.0 bearer token (RFC 7628)",
    "EXTERNAL": "identity from the TLS client certificate (RFC 4422 Appendix A)",
    "GSSAPI": "Kerberos (RFC 4752)",
    "ANONYMOUS": "no credentials (RFC 4505)",
    "NTLM": "Microsoft NTLM (non-standard)",
}


def _cased(text: str, lower: bool) -> str:
    return text.lower() if lower else text


def _has_lower(text: str) -> bool:
    return any(c.islower() for c in text)


def complete(partial_line: str, state: State | SessionTracker | None = None,
             capabilities: Capabilities | None = None, history: Sequence[str] = (),
             local_name: str | None = None) -> list[Candidate]:
    """Candidates for what may follow ``partial_line``, best first.

    ``state`` may be a ``State`` or the live ``SessionTracker`` (which also knows TLS,
    AUTH and the capabilities). ``capabilities``: the parsed EHLO reply; when given,
    only advertised extensions are offered. ``history``: earlier command lines, oldest
    first, for address completion. ``local_name``: this host's name for HELO/EHLO (the
    core does no I/O, so the caller looks it up).
    """
    tracker = state if isinstance(state, SessionTracker) else None
    if tracker is not None:
        if capabilities is None:
            capabilities = tracker.capabilities
        if tracker.sending_data:
            return []  # message text, not a command
        state = tracker.state
    elif state is State.DATA:
        return []
    if state is State.AUTH:
        return []      # a base64 SASL response: a secret, nothing to suggest
    line = partial_line if isinstance(partial_line, str) else ""
    lead = len(line) - len(line.lstrip(_WS))
    body = line[lead:]
    cut = _first_ws(body)
    if cut == -1:
        return _verbs(body, lead, state, tracker, capabilities)
    verb = body[:cut].upper()
    rest_start = lead + cut
    while rest_start < len(line) and line[rest_start] in _WS:
        rest_start += 1
    handler = _ARGUMENTS.get(verb)
    if handler is None:
        return []
    ctx = _Context(line, verb, rest_start, _has_lower(body[:cut]), capabilities, history,
                   local_name)
    return handler(ctx)


def _first_ws(text: str) -> int:
    positions = [i for i in (text.find(" "), text.find("\t")) if i != -1]
    return min(positions) if positions else -1


@lru_cache(maxsize=64)
def _verb_order(first: tuple[str, ...], advertised: frozenset[str] | None) -> tuple[str, ...]:
    """All verbs: ``first`` (usual, then legal), then advertised ones, then the rest."""
    order = dict.fromkeys(v for v in first if v in COMMANDS)
    if advertised is not None:
        order.update(dict.fromkeys(
            v for v, s in COMMANDS.items()
            if s.ehlo_keyword is None or s.ehlo_keyword in advertised))
    order.update(dict.fromkeys(COMMANDS))
    return tuple(order)


def _verbs(prefix: str, start: int, state: State | None, tracker: SessionTracker | None,
           capabilities: Capabilities | None) -> list[Candidate]:
    upper = prefix.upper()
    lower = _has_lower(prefix)
    if tracker is not None:
        first = (*tracker.usual_next(), *tracker.legal_verbs())
    elif isinstance(state, State):
        first = (*usual_in(state), *legal_in(state, capabilities=capabilities))
    else:
        first = ()
    advertised = capabilities.keywords if capabilities is not None else None
    out = []
    for verb in _verb_order(first, advertised):
        if verb.startswith(upper):
            shown = _cased(verb, lower)
            text = shown + " " if verb in _NEEDS_ARGUMENT else shown
            out.append(Candidate(text, start, shown, COMMANDS[verb].summary, "verb"))
    return out


@dataclass(frozen=True, slots=True)
class _Context:
    line: str
    verb: str
    start: int          # where the argument begins in line
    lower: bool         # the user typed the verb in lower case
    capabilities: Capabilities | None
    history: Sequence[str]
    local_name: str | None

    @property
    def rest(self) -> str:
        return self.line[self.start:]


MAX_ADDRESSES = 50
"""At most this many address candidates (a menu, not a dump of the history)."""


@lru_cache(maxsize=8)
def _addresses_in(recent: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(address, lower-cased) in angle brackets, most recent first, once each.

    Cached on the recent lines themselves: while the user types one command the
    history does not change, so each keystroke after the first is a dict lookup.
    """
    seen: dict[str, str] = {}
    for entry in reversed(recent):
        if isinstance(entry, str):
            for address in reversed(_ADDRESS.findall(entry)):
                seen.setdefault(address.lower(), address)
    return tuple((address, key) for key, address in seen.items())


def _matching_addresses(typed: str, history: Sequence[str]) -> list[str]:
    try:
        recent = tuple(history[-HISTORY_SCAN:])
    except (TypeError, ValueError, KeyError):
        recent = tuple(list(history)[-HISTORY_SCAN:])
    key = typed.lower()
    prefixed: list[str] = []
    inside: list[str] = []
    for address, lowered in _addresses_in(recent):
        if lowered.startswith(key):
            prefixed.append(address)
        elif key and key in lowered:
            inside.append(address)
    return (prefixed + inside)[:MAX_ADDRESSES]


def _path(ctx: _Context) -> list[Candidate]:
    """MAIL FROM:<reverse-path> [params] and RCPT TO:<forward-path> [params].

    The "FROM:<" / "TO:<" template is the verb's first template in the command table.
    """
    spec = COMMANDS[ctx.verb]
    template = spec.templates[0]
    keyword = template.rstrip("<")
    reverse = spec.arg is Arg.REVERSE_PATH
    rest = ctx.rest
    if len(rest) < len(template) and template.startswith(rest.upper()):
        lower = _has_lower(rest) or (not rest and ctx.lower)
        meaning = ("reverse-path: where errors go back to" if reverse
                   else "forward-path: one recipient")
        out = [Candidate(_cased(template, lower), ctx.start, _cased(template, lower),
                         meaning, "template")]
        if reverse:
            null = _cased(keyword, lower) + "<>"
            out.append(Candidate(null, ctx.start, null,
                                 "the null reverse-path, for bounces (RFC 5321 §4.5.5)",
                                 "template"))
        return out
    if not rest.upper().startswith(keyword):
        return []
    pos = ctx.start + len(keyword)
    while pos < len(ctx.line) and ctx.line[pos] in _WS:  # "FROM: <" is lenient but common
        pos += 1
    after = ctx.line[pos:]
    if not after.startswith("<"):
        if after:
            return []
        return [Candidate("<" + a + ">", pos, a, "used earlier in this session", "address")
                for a in _matching_addresses("", ctx.history)]
    close = after.find(">")
    if close == -1:
        typed = after[1:]
        return [Candidate(a + ">", pos + 1, a, "used earlier in this session", "address")
                for a in _matching_addresses(typed, ctx.history)]
    return _parameters(ctx, pos + close + 1)


def _parameters(ctx: _Context, at: int) -> list[Candidate]:
    """ESMTP parameters after the closed path (RFC 5321 §4.1.2 Mail-parameters)."""
    region = ctx.line[at:]
    if not region or region[0] not in _WS:
        return []
    tokens = region.split()
    ends_ws = region[-1] in _WS
    token = "" if ends_ws or not tokens else tokens[-1]
    token_start = len(ctx.line) - len(token)
    used = {t.split("=", 1)[0].upper() for t in (tokens if ends_ws else tokens[:-1])}
    caps = ctx.capabilities
    known = {p.keyword: p for p in parameters_for(ctx.verb)}
    if "=" in token:
        name, value = token.split("=", 1)
        param = known.get(name.upper())
        if param is None:
            return []
        lower = _has_lower(value) or (not value and _has_lower(name))
        return [Candidate(_cased(v, lower), token_start + len(name) + 1, _cased(v, lower),
                          f"{param.keyword}={v}: {param.summary}", "value")
                for v in param.values if v.upper().startswith(value.upper())
                and (caps is None or v.upper() not in EXTENSIONS or v.upper() in caps)]
    lower = _has_lower(token) or (not token and ctx.lower)
    out = []
    for param in known.values():
        if param.keyword in used or not param.keyword.startswith(token.upper()):
            continue
        if caps is not None and param.extension not in caps:
            continue  # the server did not advertise it
        meaning = f"{param.summary} ({param.rfc})"
        if param.keyword == "SIZE" and caps is not None and caps.size_limit:
            meaning = f"{param.summary}; server limit {caps.size_limit} octets ({param.rfc})"
        text = param.keyword + ("=" if param.value else "")
        out.append(Candidate(_cased(text, lower), token_start, _cased(text, lower), meaning,
                             "parameter"))
    return out


def _auth(ctx: _Context) -> list[Candidate]:
    rest = ctx.rest
    if any(c in _WS for c in rest):
        return []  # an initial response follows: secret, never suggested
    caps = ctx.capabilities
    if caps is not None and "AUTH" in caps:
        mechanisms: Sequence[str] = caps.auth_mechanisms
    else:
        mechanisms = COMMANDS["AUTH"].templates
    lower = _has_lower(rest) or (not rest and ctx.lower)
    return [Candidate(_cased(m, lower), ctx.start, _cased(m, lower),
                      _MECHANISMS.get(m.upper(), "SASL mechanism advertised by the server"),
                      "value")
            for m in mechanisms if m.upper().startswith(rest.upper())]


def _help(ctx: _Context) -> list[Candidate]:
    rest = ctx.rest
    if any(c in _WS for c in rest):
        return []
    lower = _has_lower(rest) or (not rest and ctx.lower)
    return [Candidate(_cased(v, lower), ctx.start, _cased(v, lower), spec.summary, "topic")
            for v, spec in COMMANDS.items() if v.startswith(rest.upper())]


def _hello(ctx: _Context) -> list[Candidate]:
    rest = ctx.rest
    if any(c in _WS for c in rest):
        return []
    names = [ctx.local_name] if ctx.local_name else []
    names += [n for n in ("localhost",) if n not in names]
    return [Candidate(n, ctx.start, n,
                      "this client's host name (RFC 5321 §4.1.1.1: FQDN or address literal)",
                      "value")
            for n in names if n.lower().startswith(rest.lower())]


def _lookup_argument(ctx: _Context) -> list[Candidate]:
    """VRFY/EXPN: the mailboxes used earlier are the likeliest things to ask about."""
    rest = ctx.rest.lstrip("<")
    if any(c in _WS for c in rest):
        return []
    return [Candidate(a, len(ctx.line) - len(rest), a, "used earlier in this session",
                      "address")
            for a in _matching_addresses(rest, ctx.history)]


def _bdat(ctx: _Context) -> list[Candidate]:
    parts = ctx.rest.split(" ")
    if len(parts) == 2 and is_ascii_digits(parts[0]) and "LAST".startswith(parts[1].upper()):
        last = _cased("LAST", _has_lower(parts[1]) or (not parts[1] and ctx.lower))
        return [Candidate(last, len(ctx.line) - len(parts[1]), last,
                          "the last chunk: completes the message (RFC 3030 §2)", "value")]
    return []


_BY_ARG: dict[Arg, Callable[[_Context], list[Candidate]]] = {
    Arg.REVERSE_PATH: _path, Arg.FORWARD_PATH: _path,
    Arg.AUTH: _auth,
    Arg.DOMAIN: _hello, Arg.EHLO_DOMAIN: _hello,
    Arg.STRING: _lookup_argument,
    Arg.BDAT: _bdat,
}


def _argument_completer(spec: CommandSpec) -> Callable[[_Context], list[Candidate]] | None:
    """How the argument of a verb is completed: by the kind of argument the table gives."""
    if spec.arg is Arg.OPTIONAL_STRING and "<topic>" in spec.templates:
        return _help  # HELP [topic]: NOOP's optional string has nothing to offer
    return _BY_ARG.get(spec.arg)


_ARGUMENTS: dict[str, Callable[[_Context], list[Candidate]]] = {
    verb: completer for verb, spec in COMMANDS.items()
    if (completer := _argument_completer(spec)) is not None
}

"""The command table: one entry per SMTP verb.

Everything the tool says about a command -- HELP text, completion, validation, the
reply codes it expects -- is derived from this table, so they cannot disagree.

Sources: RFC 821 §4.1 (the 14 commands) and §4.3 (command-reply sequences),
RFC 1869 (EHLO), RFC 5321 §4.1 and §4.3.2, and the extension RFCs named per entry.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from smtptui.core.frozen import frozen

TYPE_CHECKING = False  # typing costs milliseconds of every `smtptui check`: not at run time
if TYPE_CHECKING:
    from typing import Literal

    Dialect = Literal["rfc821", "rfc5321"]
    """Which standard a line is judged by: RFC 821's 1982 BNF or RFC 5321's ABNF (the one
    type every module uses: the checker, the reply sequences, the server's personas)."""


def __getattr__(name: str) -> object:
    """``Dialect`` for code that imports it at run time (it is only a type)."""
    if name == "Dialect":
        from typing import Literal

        return Literal["rfc821", "rfc5321"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Arg(str, enum.Enum):
    """What kind of argument a verb takes; the grammar checker dispatches on it."""

    NONE = "none"                  # DATA RSET QUIT TURN STARTTLS (nothing may follow)
    DOMAIN = "domain"              # HELO <SP> <domain>
    EHLO_DOMAIN = "ehlo-domain"    # EHLO SP (Domain / address-literal)
    REVERSE_PATH = "reverse-path"  # MAIL/SEND/SOML/SAML FROM:<reverse-path> [params]
    FORWARD_PATH = "forward-path"  # RCPT TO:<forward-path> [params]
    STRING = "string"              # VRFY/EXPN <SP> <string>
    OPTIONAL_STRING = "optional-string"  # HELP [<SP> <string>], NOOP [SP String] (5321)
    AUTH = "auth"                  # AUTH SP mechanism [SP initial-response]
    BDAT = "bdat"                  # BDAT SP chunk-size [SP LAST]
    ETRN = "etrn"                  # ETRN SP [@|#]node
    FREE = "free"                  # anything (unknown / local verbs)


class Origin(str, enum.Enum):
    RFC821 = "RFC 821"
    RFC1869 = "RFC 1869"
    EXTENSION = "extension"
    NONSTANDARD = "non-standard"


_NO_REPLIES: Mapping[str, tuple[int, ...]] = MappingProxyType({})


@frozen
class CommandSpec:
    """One SMTP verb.

    ``ends_pipeline``: RFC 2920 §3.1 (EHLO DATA VRFY EXPN TURN QUIT NOOP), RFC 3207
    (STARTTLS), RFC 4954 (AUTH) and HELO: a client that pipelines sends nothing after
    it until the reply is in, because the reply changes what may come next.

    ``replies`` holds the RFC 821 §4.3 command-reply sequence as prefix -> codes, with
    the prefixes I (intermediate), S (success), F (failure), E (error). For verbs RFC 821
    does not define, it is the sequence of the defining RFC. ``replies_5321`` is the
    RFC 5321 §4.3.2 sequence (empty for verbs that RFC drops).
    """

    verb: str
    syntax: str
    summary: str
    rfc: str
    arg: Arg
    origin: Origin
    minimum_821: bool = False      # RFC 821 §4.5.1 minimum implementation
    minimum_5321: bool = False     # RFC 5321 §4.5.1 MUST support
    obsolete_5321: bool = False    # deprecated by RFC 5321 Appendix F
    ehlo_keyword: str | None = None  # the EHLO keyword that advertises it, if any
    replies: Mapping[str, tuple[int, ...]] = _NO_REPLIES
    replies_5321: Mapping[str, tuple[int, ...]] = _NO_REPLIES
    templates: tuple[str, ...] = ()  # completion templates after "VERB "
    help: str = ""                 # a few sentences for HELP / the explain pane
    # The same for a 1982 reader (an RFC 821 server's HELP), where ``help`` speaks of
    # later RFCs, ESMTP or codes RFC 821 does not have; empty when ``help`` will do.
    help_821: str = ""
    ends_pipeline: bool = False    # may only be the last command of a pipelined group

    @property
    def allowed_codes(self) -> frozenset[int]:
        """Every reply code RFC 821 §4.3 (or the defining RFC) allows for this verb."""
        return frozenset(c for codes in self.replies.values() for c in codes)

    @property
    def allowed_codes_5321(self) -> frozenset[int]:
        return frozenset(c for codes in self.replies_5321.values() for c in codes)


def _r(**kw: tuple[int, ...]) -> Mapping[str, tuple[int, ...]]:
    return MappingProxyType(dict(kw))


_ANY_5321_E = (500, 501, 421)  # RFC 5321 §4.3.2: any command may get these

_TABLE: tuple[CommandSpec, ...] = (
    CommandSpec(
        "HELO", "HELO <SP> <domain> <CRLF>",
        "Identify the client host to the server (plain SMTP).",
        "RFC 821 §4.1.1", Arg.DOMAIN, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        ends_pipeline=True,
        replies=_r(S=(250,), E=(500, 501, 504, 421)),
        replies_5321=_r(S=(250,), E=(504, 550, 502) + _ANY_5321_E),
        templates=("<domain>",),
        help="Opens the session: the client names its own host and the server answers "
             "with its name. RFC 5321 prefers EHLO but servers must still accept HELO.",
        help_821="Opens the session: the client names its own host and the server answers with its name.",
    ),
    CommandSpec(
        "EHLO", "EHLO SP ( Domain / address-literal ) CRLF",
        "Identify the client and ask for the server's extensions (ESMTP).",
        "RFC 1869 §4; RFC 5321 §4.1.1.1", Arg.EHLO_DOMAIN, Origin.RFC1869,
        minimum_5321=True,
        ends_pipeline=True,
        replies=_r(S=(250,), F=(550,), E=(500, 501, 502, 504, 421, 554, 503)),
        replies_5321=_r(S=(250,), E=(504, 550, 502) + _ANY_5321_E),
        templates=("<domain>", "[<address-literal>]"),
        help="Like HELO, but the server answers with a multi-line 250 listing the service "
             "extensions it supports (SIZE, PIPELINING, STARTTLS ...). A server without "
             "extensions answers 500; then fall back to HELO.",
    ),
    CommandSpec(
        "MAIL", "MAIL <SP> FROM:<reverse-path> <CRLF>",
        "Start a mail transaction and give the sender (reverse-path).",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.2", Arg.REVERSE_PATH, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        replies=_r(S=(250,), F=(552, 451, 452), E=(500, 501, 421)),
        replies_5321=_r(S=(250,), E=(552, 451, 452, 550, 553, 503, 455, 555) + _ANY_5321_E),
        templates=("FROM:<",),
        help="Clears the buffers and starts a new transaction. The reverse-path is where "
             "errors go back to; <> (the null path) is used for bounces. ESMTP parameters "
             "such as SIZE= or BODY= may follow the path.",
        help_821="Clears the buffers and starts a new transaction, even in the middle of one. The reverse-path is where errors go back to.",
    ),
    CommandSpec(
        "RCPT", "RCPT <SP> TO:<forward-path> <CRLF>",
        "Add one recipient (forward-path) to the transaction.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.3", Arg.FORWARD_PATH, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        replies=_r(S=(250, 251), F=(550, 551, 552, 553, 450, 451, 452), E=(500, 501, 503, 421)),
        replies_5321=_r(S=(250, 251),
                        E=(550, 551, 552, 553, 450, 451, 452, 503, 455, 555) + _ANY_5321_E),
        templates=("TO:<",),
        help="Repeat once per recipient. 251 means the server will forward; 551 means the "
             "user is elsewhere and tells you where to try.",
    ),
    CommandSpec(
        "DATA", "DATA <CRLF>",
        "Send the message; the server answers 354, then lines up to <CRLF>.<CRLF>.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.4", Arg.NONE, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        ends_pipeline=True,
        replies=_r(I=(354,), S=(250,), F=(552, 554, 451, 452), E=(500, 501, 503, 421)),
        replies_5321=_r(I=(354,), S=(250,), E=(552, 554, 451, 452, 450, 550, 503) + _ANY_5321_E),
        help="After 354, type the message (headers, blank line, body) and end it with a "
             "line holding a single dot. Lines that begin with a dot are sent with the dot "
             "doubled (transparency, RFC 821 §4.5.2).",
    ),
    CommandSpec(
        "RSET", "RSET <CRLF>",
        "Abort the current transaction and clear all buffers.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.5", Arg.NONE, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        replies=_r(S=(250,), E=(500, 501, 504, 421)),
        replies_5321=_r(S=(250,), E=_ANY_5321_E),
        help="Forgets the sender, the recipients and any message data of the current "
             "transaction; the session itself (HELO/EHLO, TLS, AUTH) stays. Always legal.",
        help_821="Forgets the sender, the recipients and any message data of the current transaction. Always legal.",
    ),
    CommandSpec(
        "SEND", "SEND <SP> FROM:<reverse-path> <CRLF>",
        "Like MAIL, but deliver to the user's terminal.",
        "RFC 821 §4.1.1", Arg.REVERSE_PATH, Origin.RFC821,
        obsolete_5321=True, ehlo_keyword="SEND",
        replies=_r(S=(250,), F=(552, 451, 452), E=(500, 501, 502, 421)),
        templates=("FROM:<",),
        help="Delivers to the terminal of a logged-in user instead of a mailbox; RCPT "
             "fails with 450 if the user is not active. Deprecated by RFC 5321 (F.6).",
        help_821="Delivers to the terminal of a logged-in user instead of a mailbox; RCPT fails with 450 if the user is not active.",
    ),
    CommandSpec(
        "SOML", "SOML <SP> FROM:<reverse-path> <CRLF>",
        "Send Or MaiL: to the terminal if the user is active, else to the mailbox.",
        "RFC 821 §4.1.1", Arg.REVERSE_PATH, Origin.RFC821,
        obsolete_5321=True, ehlo_keyword="SOML",
        replies=_r(S=(250,), F=(552, 451, 452), E=(500, 501, 502, 421)),
        templates=("FROM:<",),
        help="Starts a transaction like MAIL; a recipient who is not logged in still gets "
             "the message in the mailbox (RCPT may say so in its 250 text). Deprecated "
             "by RFC 5321 (F.6).",
        help_821="Starts a transaction like MAIL; a recipient who is not logged in still gets the message in the mailbox (RCPT may say so in its 250 text).",
    ),
    CommandSpec(
        "SAML", "SAML <SP> FROM:<reverse-path> <CRLF>",
        "Send And MaiL: to the terminal if active, and to the mailbox.",
        "RFC 821 §4.1.1", Arg.REVERSE_PATH, Origin.RFC821,
        obsolete_5321=True, ehlo_keyword="SAML",
        replies=_r(S=(250,), F=(552, 451, 452), E=(500, 501, 502, 421)),
        templates=("FROM:<",),
        help="Starts a transaction like MAIL; the message goes to the mailbox and, if "
             "the recipient is logged in, to the terminal too. Deprecated by RFC 5321 "
             "(F.6).",
        help_821="Starts a transaction like MAIL; the message goes to the mailbox and, if the recipient is logged in, to the terminal too.",
    ),
    CommandSpec(
        "VRFY", "VRFY <SP> <string> <CRLF>",
        "Ask the server to confirm a user name and give the full name and mailbox.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.6", Arg.STRING, Origin.RFC821,
        minimum_5321=True,
        ends_pipeline=True,
        replies=_r(S=(250, 251), F=(550, 551, 553), E=(500, 501, 502, 504, 421)),
        replies_5321=_r(S=(250, 251, 252), E=(550, 551, 553, 502, 504) + _ANY_5321_E),
        templates=("<user>",),
        help="252 means the server will not verify but will try to deliver; many servers "
             "disable VRFY to stop address harvesting.",
        help_821="Asks the server to confirm a user name; the reply gives the full name and the mailbox.",
    ),
    CommandSpec(
        "EXPN", "EXPN <SP> <string> <CRLF>",
        "Ask the server to expand a mailing list (multi-line reply).",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.7", Arg.STRING, Origin.RFC821,
        ehlo_keyword="EXPN",
        ends_pipeline=True,
        replies=_r(S=(250,), F=(550,), E=(500, 501, 502, 504, 421)),
        replies_5321=_r(S=(250, 252), E=(550, 500, 502, 504, 501, 421)),
        templates=("<list>",),
        help="The reply lists the members, one per line. Like VRFY it leaks addresses, "
             "so most servers answer 502 or 252.",
        help_821="Asks the server to expand a mailing list; the reply lists the members, one per line.",
    ),
    CommandSpec(
        "HELP", "HELP [<SP> <string>] <CRLF>",
        "Ask for help, optionally on a topic (usually a command name).",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.8", Arg.OPTIONAL_STRING, Origin.RFC821,
        ehlo_keyword="HELP",
        replies=_r(S=(211, 214), E=(500, 501, 502, 504, 421)),
        replies_5321=_r(S=(211, 214), E=(502, 504) + _ANY_5321_E),
        templates=("<topic>",),
        help="The server's help text (214), meant for a human at a terminal; its content "
             "is up to the server. A topic is usually a command name.",
    ),
    CommandSpec(
        "NOOP", "NOOP <CRLF>",
        "Do nothing; the server replies 250 OK.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.9", Arg.OPTIONAL_STRING, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        ends_pipeline=True,
        replies=_r(S=(250,), E=(500, 421)),
        replies_5321=_r(S=(250,), E=_ANY_5321_E),
        help="Useful to check the connection is alive. RFC 5321 allows an argument, "
             "which the server ignores; RFC 821 allows none.",
        help_821="Does nothing but get a 250: useful to check the connection is alive. It takes no argument.",
    ),
    CommandSpec(
        "QUIT", "QUIT <CRLF>",
        "Ask the server to reply 221 and close the channel.",
        "RFC 821 §4.1.1; RFC 5321 §4.1.1.10", Arg.NONE, Origin.RFC821,
        minimum_821=True, minimum_5321=True,
        ends_pipeline=True,
        replies=_r(S=(221,), E=(500,)),
        replies_5321=_r(S=(221,), E=_ANY_5321_E),
        help="Ends the session. The server answers 221 before it closes the connection; "
             "an unfinished transaction is aborted.",
    ),
    CommandSpec(
        "TURN", "TURN <CRLF>",
        "Swap roles: the server becomes the sender-SMTP.",
        "RFC 821 §4.1.1", Arg.NONE, Origin.RFC821,
        obsolete_5321=True, ehlo_keyword="TURN",
        ends_pipeline=True,
        replies=_r(S=(250,), F=(502,), E=(500, 503)),
        help="After 250 the server sends the mail it holds for you. Deprecated by "
             "RFC 5321 (F.1): anyone could claim to be your host. ETRN replaced it.",
        help_821="After 250 the roles swap: the server becomes the sender and sends the mail it holds for you.",
    ),
    CommandSpec(
        "STARTTLS", "STARTTLS CRLF",
        "Upgrade the connection to TLS (then EHLO again).",
        "RFC 3207", Arg.NONE, Origin.EXTENSION, ehlo_keyword="STARTTLS",
        ends_pipeline=True,
        replies=_r(S=(220,), E=(454, 501, 500, 421)),
        replies_5321=_r(S=(220,), E=(454, 501) + _ANY_5321_E),
        help="After 220 both sides start a TLS handshake; the session returns to the "
             "initial state and the extension list may change (AUTH often appears).",
    ),
    CommandSpec(
        "AUTH", "AUTH SP sasl-mech [SP initial-response] CRLF",
        "Authenticate with a SASL mechanism (PLAIN, LOGIN, ...).",
        "RFC 4954", Arg.AUTH, Origin.EXTENSION, ehlo_keyword="AUTH",
        ends_pipeline=True,
        replies=_r(I=(334,), S=(235,), E=(432, 454, 500, 501, 503, 504, 530, 534, 535, 538, 421)),
        replies_5321=_r(I=(334,), S=(235,),
                        E=(432, 454, 500, 501, 503, 504, 530, 534, 535, 538, 421)),
        templates=("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"),
        help="Credentials travel base64-encoded, not encrypted: use it only after STARTTLS.",
    ),
    CommandSpec(
        "BDAT", "BDAT SP chunk-size [ SP LAST ] CRLF",
        "Send a chunk of exactly chunk-size octets of message (CHUNKING).",
        "RFC 3030", Arg.BDAT, Origin.EXTENSION, ehlo_keyword="CHUNKING",
        replies=_r(S=(250,), E=(503, 552, 554, 451, 452, 500, 501, 421)),
        replies_5321=_r(S=(250,), E=(503, 552, 554, 451, 452) + _ANY_5321_E),
        templates=("<size>", "<size> LAST"),
        help="No dot-stuffing and no final dot: the size says where the chunk ends. "
             "The last chunk carries LAST.",
    ),
    CommandSpec(
        "ETRN", "ETRN SP [ \"@\" / \"#\" ] node CRLF",
        "Ask the server to start delivering its queue for a node (replaces TURN).",
        "RFC 1985", Arg.ETRN, Origin.EXTENSION, ehlo_keyword="ETRN",
        replies=_r(S=(250, 251, 252, 253), E=(458, 459, 500, 501, 502, 421)),
        replies_5321=_r(S=(250, 251, 252, 253), E=(458, 459, 502) + _ANY_5321_E),
        templates=("<domain>", "@<domain>", "#<queue>"),
        help="The server opens a new connection to the node and delivers what it queued "
             "for it, so a claimed name proves nothing (unlike TURN). '@' asks for "
             "subdomains too, '#' names a queue.",
    ),
    CommandSpec(
        "VERB", "VERB CRLF",
        "sendmail: go into verbose mode (non-standard 0xy progress replies).",
        "sendmail 8.9 srvrsmtp.c", Arg.NONE, Origin.NONSTANDARD, ehlo_keyword="VERB",
        replies=_r(S=(250,), E=(502, 500)),
        help="Not in any RFC. sendmail then reports delivery progress in replies whose "
             "code starts with 0, which RFC 5321 clients cannot parse.",
    ),
    CommandSpec(
        "ONEX", "ONEX CRLF",
        "sendmail: promise only one transaction in this session.",
        "sendmail 8.9 srvrsmtp.c", Arg.NONE, Origin.NONSTANDARD, ehlo_keyword="ONEX",
        replies=_r(S=(250,), E=(500,)),
        help="Not in any RFC. Lets sendmail skip forking a child for the transaction.",
    ),
    CommandSpec(
        "XUSR", "XUSR CRLF",
        "sendmail: mark this as an initial user submission (like sendmail -U).",
        "sendmail 8.9 srvrsmtp.c", Arg.NONE, Origin.NONSTANDARD, ehlo_keyword="XUSR",
        replies=_r(S=(250,), E=(500,)),
        help="Not in any RFC. Marks the message as a first submission from a user agent, "
             "so sendmail may fix up its headers (the idea RFC 6409 made port 587).",
    ),
)

COMMANDS: Mapping[str, CommandSpec] = MappingProxyType({c.verb: c for c in _TABLE})
"""Every known verb, upper case, in table order."""

RFC821_VERBS: tuple[str, ...] = tuple(c.verb for c in _TABLE if c.origin is Origin.RFC821)
"""The 14 commands of RFC 821 §4.1.2, in the RFC's order."""


def lookup(verb: str) -> CommandSpec | None:
    """The table entry for ``verb`` (any case), or None for an unknown verb."""
    return COMMANDS.get(verb.upper())


_PREFIXES = ("I", "S", "F", "E")


def reply_sequence(spec: CommandSpec, dialect: str = "rfc821") -> str:
    """The command-reply sequence as the RFCs write it: ``S: 250; F: 550; E: 500, 501``."""
    table = spec.replies if dialect == "rfc821" else spec.replies_5321
    return "; ".join(f"{p}: {', '.join(map(str, table[p]))}" for p in _PREFIXES if p in table)


def help_text(verb: str | None = None, dialect: str = "rfc5321") -> tuple[str, ...]:
    """Lines of HELP for ``verb`` (any case), or the command list when ``verb`` is None.

    Every front end (the TUI's help pane, the teaching server's 214 reply) shows this,
    so what smtptui says about a command is the table and nothing else. An unknown
    verb gives ``()``. ``dialect="rfc821"`` is what a 1982 server says: RFC 821 only,
    no word of ESMTP or of the RFCs that came later.
    """
    if verb is None:
        lines = ["Commands (HELP <command> for one):"]
        for origin, title in ((Origin.RFC821, "RFC 821"), (Origin.RFC1869, "RFC 1869"),
                              (Origin.EXTENSION, "extensions"),
                              (Origin.NONSTANDARD, "non-standard")):
            verbs = [c.verb for c in _TABLE if c.origin is origin]
            lines.append(f"  {title}: {' '.join(verbs)}")
        return tuple(lines)
    spec = lookup(verb.strip())
    if spec is None:
        return ()
    if dialect == "rfc821" and spec.origin is Origin.RFC821:
        lines = [f"{spec.verb}: {spec.summary}", f"Syntax: {spec.syntax}",
                 f"Defined in: {spec.rfc.split(';')[0].strip()}"]
        if spec.minimum_821:
            lines.append("Status: in the RFC 821 minimum set (§4.5.1)")
        lines.append(f"Replies (RFC 821 §4.3): {reply_sequence(spec)}")
        lines.append(spec.help_821 or spec.help)
        return tuple(lines)
    status = []
    if spec.minimum_821:
        status.append("in the RFC 821 minimum set (§4.5.1)")
    if spec.minimum_5321:
        status.append("every RFC 5321 server must implement it (§4.5.1)")
    if spec.obsolete_5321:
        status.append("obsolete in RFC 5321 (Appendix F)")
    if spec.origin is Origin.NONSTANDARD:
        status.append("non-standard")
    if spec.ehlo_keyword is not None:
        status.append(f"advertised by EHLO as {spec.ehlo_keyword}")
    lines = [f"{spec.verb}: {spec.summary}", f"Syntax: {spec.syntax}", f"Defined in: {spec.rfc}"]
    if status:
        lines.append("Status: " + "; ".join(status))
    origin = "RFC 821 §4.3" if spec.origin is Origin.RFC821 else spec.rfc.split(";")[0]
    lines.append(f"Replies ({origin}): {reply_sequence(spec)}")
    if spec.replies_5321 and spec.origin is Origin.RFC821:
        lines.append(f"Replies (RFC 5321 §4.3.2): {reply_sequence(spec, 'rfc5321')}")
    lines.append(spec.help)
    return tuple(lines)

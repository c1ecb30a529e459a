"""Personas: which commands a server implements, what it advertises and how it words replies.

The same world can be played as a 1982 RFC 821 host, a minimal RFC 821 host, the
sendmail 8.9 server of the seed lecture, a plain RFC 5321 host or a modern submission
server. Reply *codes* are decided by the protocol module; a persona supplies the text.
Templates use ``str.format`` with values the server computes (host names, addresses,
queue ids) -- never with text taken from a world file as the template.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Literal

from smtptui.core.commands import COMMANDS, RFC821_VERBS
from smtptui.core.dates import DAY_NAMES, MONTH_NAMES
from smtptui.core.diagnostics import Diagnostic
from smtptui.core.grammar import Dialect

# RFC 821 §4.5.1: the minimum implementation.
MINIMUM_VERBS = tuple(v for v in RFC821_VERBS if COMMANDS[v].minimum_821)

# Enhanced status codes (RFC 3463) per reply key, used when ENHANCEDSTATUSCODES is on.
ENHANCED: Mapping[str, str] = MappingProxyType({
    "ok": "2.0.0", "mail_ok": "2.1.0", "rcpt_ok": "2.1.5", "data_ok": "2.0.0",
    "rset": "2.0.0", "noop": "2.0.0", "quit": "2.0.0", "vrfy": "2.1.5", "expn": "2.1.5",
    "will_forward": "2.1.5", "please_try": "5.1.6", "no_user": "5.1.1",
    "ambiguous": "5.1.4", "no_match": "5.1.1", "is_list": "5.1.1", "not_list": "5.1.1",
    "relay_denied": "5.7.1", "too_many": "4.5.3", "size_exceeded": "5.3.4",
    "size_declared": "5.3.4", "not_implemented": "5.5.1", "syntax": "5.5.4",
    "bad_path": "5.1.3", "bad_sender": "5.1.7", "need_helo": "5.5.1", "need_mail": "5.5.1",
    "need_rcpt": "5.5.1", "nested_mail": "5.5.1", "bad_param": "5.5.4",
    "not_active": "4.2.1", "will_mail": "2.1.5", "turn_ok": "2.0.0", "turn_nothing": "2.0.0",
    "turn_busy": "5.5.1", "help_unknown": "5.5.4", "verb": "2.0.0", "onex": "2.0.0",
    "xusr": "2.0.0", "etrn": "2.0.0", "auth_cleartext": "5.7.11", "tls_first": "5.7.0",
    "smtputf8": "5.6.7", "unstored": "4.3.0", "tempfail": "4.3.0", "helo_again": "5.5.1",
    "data_need_mail": "5.5.1", "params_need_ehlo": "5.5.4", "bad_syntax": "5.5.4",
})

_RFC821_TEXTS = {
    "greeting": "220 {host} {banner}",
    "banner": "Simple Mail Transfer Service Ready",
    "helo": "250 {host}",
    "ehlo_first": "250-{host}",
    "ok": "250 OK",
    "mail_ok": "250 OK",
    "rcpt_ok": "250 OK",
    "data_start": "354 Start mail input; end with <CRLF>.<CRLF>",
    "data_ok": "250 OK",
    "rset": "250 OK",
    "noop": "250 OK",
    "quit": "221 {host} Service closing transmission channel",
    "vrfy": "250 {name}<{addr}>",
    "will_forward": "251 User not local; will forward to <{to}>",
    "please_try": "551 User not local; please try <{to}>",
    "no_user": "550 No such user here",
    "ambiguous": "553 User ambiguous.",
    "no_match": "550 String does not match anything.",
    "is_list": "550 That is a mailing list, not a user.",
    "not_list": "550 That is a user name, not a mailing list.",
    "relay_denied": "550 Relaying denied: {domain} is not in this world "
                    "(this teaching server never sends mail out)",
    "too_many": "552 Recipient storage full, try again in another transaction",
    "size_exceeded": "552 Requested mail action aborted: exceeded storage allocation",
    "size_declared": "552 Message size exceeds fixed maximum message size",
    "not_implemented": "502 Command not implemented",
    "syntax": "501 Syntax error in parameters or arguments",
    "bad_path": "553 Requested action not taken: mailbox name not allowed",
    "bad_sender": "553 Requested action not taken: mailbox name not allowed",
    "need_helo": "503 Bad sequence of commands: send HELO first",
    "need_mail": "503 Bad sequence of commands: need MAIL before RCPT",
    "data_need_mail": "503 Bad sequence of commands: need MAIL and RCPT before DATA",
    "need_rcpt": "503 Bad sequence of commands: need RCPT before DATA",
    "nested_mail": "503 Bad sequence of commands: sender already given",
    "bad_param": "501 Syntax error in parameters or arguments",
    "params_need_ehlo": "501 Syntax error: parameters after the path need EHLO",
    # {why} is the grammar's own finding and rule, as ``smtptui check`` prints them.
    "bad_syntax": "501 Syntax error in parameters or arguments: {why}",
    "unknown_param": "555 {what} parameter not recognized or not implemented",
    "not_active": "450 User not active now",
    "will_mail": "250 User not active now, so will do mail.",
    "turn_ok": "250 OK",
    "turn_busy": "503 Bad sequence of commands: finish the mail transaction first",
    "help_first": "214-This is the {host} teaching server (smtptui). Commands:",
    "help_more": "For more information, HELP <command>.",
    "help_last": "214 End of HELP info",
    "help_topic_last": "214 End of HELP info",
    "help_unknown": "504 HELP topic \"{topic}\" unknown",
    "verb": "250 Verbose mode",
    "onex": "250 Only one transaction",
    "xusr": "250 Initial submission",
    "etrn": "250 Queuing for node {node} started",
    "auth_cleartext": "538 Encryption required for requested authentication mechanism",
    "tls_first": "530 Must issue a STARTTLS command first",
    "smtputf8": "553 Non-ASCII address needs SMTPUTF8",
    "unstored": "451 Requested action aborted: local error in processing",
    "helo_again": "503 {host} Duplicate HELO/EHLO",
    "too_busy": "421 {host} Too many sessions, try again later",
    "closing": "421 {host} Service not available, closing transmission channel",
    "no_service": "554 {host} No SMTP service here",
    "no_service_bad": "503 Bad sequence of commands: this server offers no service; QUIT",
    "tempfail": "451 Requested action aborted: local error in processing",
    "line_too_long": "500 Line too long.",  # RFC 821 §4.5.3's own example
}

_RFC5321_TEXTS = _RFC821_TEXTS | {
    "greeting": "220 {host} {banner}",
    "banner": "Simple Mail Transfer Service Ready",
    "ehlo_first": "250-{host} greets {client}",
    "too_many": "452 Too many recipients",
    "vrfy": "250 {name}<{addr}>",
}

_SENDMAIL_TEXTS = _RFC5321_TEXTS | {
    "banner": "ESMTP Sendmail {version}; {date}",
    "helo": "250 {host} Hello {client} [{ip}], pleased to meet you",
    "ehlo_first": "250-{host} Hello {client} [{ip}], pleased to meet you",
    "mail_ok": "250 <{addr}>... Sender ok",
    "rcpt_ok": "250 <{addr}>... Recipient ok",
    "data_start": "354 Enter mail, end with \".\" on a line by itself",
    "data_ok": "250 {qid} Message accepted for delivery",
    "rset": "250 Reset state",
    "quit": "221 {host} closing connection",
    "no_user": "550 <{addr}>... User unknown",
    "need_mail": "503 Need MAIL before RCPT",
    "data_need_mail": "503 Need MAIL command",
    "need_rcpt": "503 Need RCPT (recipient)",
    "nested_mail": "503 Sender already specified",
    "need_helo": "503 Polite people say HELO first",
    "too_many": "452 Too many recipients",
    "relay_denied": "550 <{addr}>... Relaying denied: {domain} is not in this world",
    "help_first": "214-This is sendmail version {version} (smtptui teaching persona)",
    "help_last": "214 End of HELP info",
}

_MODERN_TEXTS = _RFC5321_TEXTS | {
    "banner": "ESMTP smtptui teaching server",
    "ehlo_first": "250-{host} Hello {client} [{ip}]",
    "ok": "250 Ok",
    "mail_ok": "250 Sender <{addr}> ok",
    "rcpt_ok": "250 Recipient <{addr}> ok",
    "data_start": "354 End data with <CR><LF>.<CR><LF>",
    "data_ok": "250 Ok: queued as {qid}",
    "rset": "250 Ok",
    "noop": "250 Ok",
    "quit": "221 Bye",
    "no_user": "550 <{addr}>: Recipient address rejected: User unknown",
    "relay_denied": "550 <{addr}>: Relay access denied: {domain} is not in this world "
                    "(this teaching server never sends mail out)",
    "too_many": "452 Too many recipients",
    "need_helo": "503 Error: send HELO/EHLO first",
    "need_mail": "503 Error: need MAIL command",
    "data_need_mail": "503 Error: need RCPT command",  # Postfix's words for DATA first
    "need_rcpt": "503 Error: need RCPT command",
    "nested_mail": "503 Error: nested MAIL command",
    "not_implemented": "502 Error: command not implemented",
}


DateStyle = Literal["rfc821", "sendmail", "rfc5322"]
QidStyle = Literal["random", "sendmail"]


@dataclass(frozen=True, slots=True)
class Persona:
    """How one kind of server behaves on the wire: data a reader can set beside its RFC.

    The RFC 821 personas (``rfc821_codes``) follow §4.3: MAIL needs no HELO and starts a
    new transaction (§4.1.1), and every reply code is one §4.3 lists for the command.
    """

    name: str
    verbs: frozenset[str]          # implemented commands; other RFC 821 verbs get 502
    esmtp: bool                    # answers EHLO (RFC 1869); if not, EHLO gets 500
    extensions: tuple[str, ...]    # EHLO keywords in order (SIZE's value is added)
    texts: Mapping[str, str] = field(default_factory=dict)
    too_many_code: int = 452       # RFC 821: 552; RFC 5321 §4.5.3.1.10: 452
    duplicate_helo_refused: bool = False
    # A DATA text line over 1000 octets (RFC 821 §4.5.3, RFC 5321 §4.5.3.1.6): the 1982
    # personas answer the RFC's own example "500 Line too long." after the end of data;
    # the others accept the message, as Postfix and sendmail do, and the log says so.
    refuse_long_lines: bool = False
    # How command arguments are judged: core.grammar.check in this dialect; ``strict``
    # refuses the forms real MTAs tolerate (a space after FROM:, non-ASCII without
    # SMTPUTF8, ...). RFC 821's grammar is already strict about them.
    dialect: Dialect = "rfc5321"
    strict: bool = False
    rfc821_codes: bool = False     # replies inside RFC 821 §4.3's lists (see above)
    case_sensitive_mailboxes: bool = False  # RFC 821 §4.1.2; a world may override
    date_style: DateStyle = "rfc5322"
    # The Received: line the server adds: RFC 821 §4.1.2's short stamp as Appendix F
    # prints it (``from A by B ; 2 Nov 81 22:40:10 UT``), or the full sendmail form.
    short_received: bool = False
    qid_style: QidStyle = "random"
    version: str = "smtptui"       # the software version in banners and Received:

    def text(self, key: str) -> str:
        return self.texts[key]

    def needs_helo(self, verb: str) -> bool:
        """Whether ``verb`` gets 503 before HELO. RFC 821 never requires HELO first (§4.3
        lists no 503 for MAIL); only TURN needs the client's name there. Later RFCs
        expect EHLO/HELO before a transaction (RFC 5321 §4.1.4)."""
        return not self.rfc821_codes or verb == "TURN"

    def mail_restarts_transaction(self) -> bool:
        """MAIL inside a transaction: RFC 821 §4.1.1 has it clear "the reverse-path
        buffer, the forward-path buffer, and the mail data buffer" and start anew; RFC
        5321 §4.1.4 servers answer 503 (Postfix: "nested MAIL command")."""
        return self.rfc821_codes

    def dialect_for(self, verb: str) -> Dialect:
        """The grammar a command line is judged by: the persona's, but EHLO only exists
        from RFC 1869 on, so it is judged as RFC 5321 writes it."""
        return "rfc5321" if verb == "EHLO" else self.dialect

    def syntax_code(self, verb: str) -> int:
        """501, unless RFC 821 §4.3 lists only 500 for ``verb`` (NOOP, QUIT, TURN)."""
        if self.rfc821_codes:
            spec = COMMANDS.get(verb)
            if spec is not None and 501 not in spec.allowed_codes:
                return 500
        return 501


_ALL = frozenset(RFC821_VERBS)
_ESMTP_821 = frozenset(RFC821_VERBS) - {"SEND", "SOML", "SAML", "TURN"}
_1982 = {"refuse_long_lines": True, "dialect": "rfc821", "strict": True,
         "rfc821_codes": True, "case_sensitive_mailboxes": True, "date_style": "rfc821",
         "short_received": True}

PERSONAS: Mapping[str, Persona] = MappingProxyType({
    "rfc821": Persona("rfc821", _ALL, False, (), MappingProxyType(_RFC821_TEXTS), 552,
                      **_1982),  # type: ignore[arg-type]
    "rfc821-minimal": Persona("rfc821-minimal", frozenset(MINIMUM_VERBS), False, (),
                              MappingProxyType(_RFC821_TEXTS), 552,
                              **_1982),  # type: ignore[arg-type]
    "sendmail-8.9": Persona(
        "sendmail-8.9", _ESMTP_821 | {"EHLO", "VERB", "ONEX", "XUSR", "ETRN"}, True,
        ("EXPN", "VERB", "8BITMIME", "SIZE", "DSN", "ONEX", "ETRN", "XUSR", "HELP"),
        MappingProxyType(_SENDMAIL_TEXTS), 452, duplicate_helo_refused=True,
        date_style="sendmail", qid_style="sendmail", version="8.9.3/8.9.3"),
    "rfc5321": Persona("rfc5321", _ESMTP_821 | {"EHLO"}, True,
                       ("8BITMIME", "SIZE", "EXPN", "HELP"), MappingProxyType(_RFC5321_TEXTS),
                       452),
    "modern": Persona(
        "modern", _ESMTP_821 | {"EHLO"}, True,
        ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN",
         "STARTTLS", "AUTH"),
        MappingProxyType(_MODERN_TEXTS), 452),
})


# ----------------------------------------------------------------------------- policies

_PARENTHETICAL = re.compile(r"\s*\([^()]*\)$")


def syntax_reason(persona: Persona, d: Diagnostic) -> str:
    """The grammar's finding as the persona says it in a 501: the message and its rule,
    7-bit ("section" for "§", RFC 5321 §4.2). A 1982 server drops the checker's
    parenthetical hints, which name later RFCs and ESMTP it has never heard of."""
    message = d.message
    if persona.dialect == "rfc821":
        message = _PARENTHETICAL.sub("", message)
    return f"{message} [{d.rule}]".replace("§", "section ")


def _offset(d: datetime) -> str:
    minutes = int((d.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def format_date(style: DateStyle, when: float, zone: timezone | None,
                zone_name: str | None) -> str:
    """A date as the persona's era wrote it.

    rfc821: RFC 821 §4.1.2 <daytime>, ``2 Nov 81 22:40:10 UT`` (Appendix F's form);
    sendmail: ``Mon, 1 Nov 1999 00:07:25 +0900 (JST)`` (the seed lecture's banner);
    rfc5322: RFC 5322 §3.3 with a two-digit day, plus the zone name if the world gives one.
    ``zone`` None means the machine's local time (UT for rfc821).
    """
    if zone is None and style == "rfc821":
        zone = UTC
    d = datetime.fromtimestamp(when, zone) if zone is not None else \
        datetime.fromtimestamp(when).astimezone()
    clock = f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
    if style == "rfc821":
        name = zone_name or ("UT" if not d.utcoffset() else _offset(d))
        return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year % 100:02d} {clock} {name}"
    day = str(d.day) if style == "sendmail" else f"{d.day:02d}"
    text = f"{DAY_NAMES[d.weekday()]}, {day} {MONTH_NAMES[d.month - 1]} {d.year} {clock} {_offset(d)}"
    return f"{text} ({zone_name})" if zone_name else text


_QID_ALPHABET = string.ascii_uppercase + string.digits


def new_qid(style: QidStyle, when: float, zone: timezone | None, pid: int, seq: int) -> str:
    """A queue id in the persona's form.

    random: ten letters and digits. sendmail 8.9: a letter for the hour (A = 00), two
    letters counting messages of the process (AA, AB, ...), the process id in five digits:
    ``AAA09919`` at 00:07, ``VAA20289`` at 21:18 (both in the seed lecture).
    """
    if style == "random":
        return "".join(secrets.choice(_QID_ALPHABET) for _ in range(10))
    d = datetime.fromtimestamp(when, zone) if zone is not None else \
        datetime.fromtimestamp(when).astimezone()
    hour = chr(ord("A") + d.hour)
    count = chr(ord("A") + seq // 26 % 26) + chr(ord("A") + seq % 26)
    return f"{hour}{count}{pid % 100000:05d}"


def clear_8th_bit(data: bytes) -> tuple[bytes, int]:
    """``data`` with each octet's high bit cleared, as a 7-bit 1982 MTA stored it (RFC 821
    §2: 7-bit characters travel with the high-order bit zero), and how many changed."""
    low = data.translate(_TO_7BIT)
    changed = len(data) - len(data.translate(None, _HIGH))
    return low, changed


_TO_7BIT = bytes(i & 0x7F for i in range(256))
_HIGH = bytes(range(128, 256))


def stand_in_pid() -> int:
    """A process id for a session (sendmail forked one process per connection)."""
    return 1000 + secrets.randbelow(29000)


def get_persona(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise ValueError(f"unknown persona {name!r} (known: {', '.join(PERSONAS)})") from None

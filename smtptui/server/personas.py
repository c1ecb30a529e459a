"""Personas: which commands a server implements, what it advertises and how it words replies.

The same world can be played as a 1982 RFC 821 host, a minimal RFC 821 host, the
sendmail 8.9 server of the seed lecture, a plain RFC 5321 host or a modern submission
server. Reply *codes* are decided by the protocol module; a persona supplies the text.
Templates use ``str.format`` with values the server computes (host names, addresses,
queue ids) -- never with text taken from a world file as the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from smtptui.core.commands import COMMANDS, RFC821_VERBS

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
    "smtputf8": "5.6.7", "unstored": "4.3.0", "helo_again": "5.5.1",
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
    "need_rcpt": "503 Bad sequence of commands: need RCPT before DATA",
    "nested_mail": "503 Bad sequence of commands: sender already given",
    "bad_param": "501 Syntax error in parameters or arguments",
    "unknown_param": "555 {what} parameter not recognized or not implemented",
    "not_active": "450 User not active now",
    "will_mail": "250 User not active now, so will do mail.",
    "turn_ok": "250 OK",
    "turn_busy": "503 Bad sequence of commands: finish the mail transaction first",
    "help_first": "214-This is the {host} teaching server (smtptui). Commands:",
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
    "banner": "ESMTP Sendmail 8.9.3/8.9.3; {date}",
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
    "need_rcpt": "503 Need RCPT (recipient)",
    "nested_mail": "503 Sender already specified",
    "need_helo": "503 Polite people say HELO first",
    "too_many": "452 Too many recipients",
    "relay_denied": "550 <{addr}>... Relaying denied: {domain} is not in this world",
    "help_first": "214-This is sendmail version 8.9.3 (smtptui teaching persona)",
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
    "need_rcpt": "503 Error: need RCPT command",
    "nested_mail": "503 Error: nested MAIL command",
    "not_implemented": "502 Error: command not implemented",
}


@dataclass(frozen=True, slots=True)
class Persona:
    """How one kind of server behaves on the wire."""

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

    def text(self, key: str) -> str:
        return self.texts[key]


_ALL = frozenset(RFC821_VERBS)
_ESMTP_821 = frozenset(RFC821_VERBS) - {"SEND", "SOML", "SAML", "TURN"}

PERSONAS: Mapping[str, Persona] = MappingProxyType({
    "rfc821": Persona("rfc821", _ALL, False, (), MappingProxyType(_RFC821_TEXTS), 552,
                      refuse_long_lines=True),
    "rfc821-minimal": Persona("rfc821-minimal", frozenset(MINIMUM_VERBS), False, (),
                              MappingProxyType(_RFC821_TEXTS), 552, refuse_long_lines=True),
    "sendmail-8.9": Persona(
        "sendmail-8.9", _ESMTP_821 | {"EHLO", "VERB", "ONEX", "XUSR", "ETRN"}, True,
        ("EXPN", "VERB", "8BITMIME", "SIZE", "DSN", "ONEX", "ETRN", "XUSR", "HELP"),
        MappingProxyType(_SENDMAIL_TEXTS), 452, duplicate_helo_refused=True),
    "rfc5321": Persona("rfc5321", _ESMTP_821 | {"EHLO"}, True,
                       ("8BITMIME", "SIZE", "EXPN", "HELP"), MappingProxyType(_RFC5321_TEXTS),
                       452),
    "modern": Persona(
        "modern", _ESMTP_821 | {"EHLO"}, True,
        ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN",
         "STARTTLS", "AUTH"),
        MappingProxyType(_MODERN_TEXTS), 452),
})


def get_persona(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise ValueError(f"unknown persona {name!r} (known: {', '.join(PERSONAS)})") from None

"""The extension table: one entry per EHLO keyword smtptui knows.

The EHLO capability parser takes its descriptions from here, the grammar checker the
MAIL/RCPT parameters each extension adds (and so which ones a server must advertise),
and the completion model the parameter keywords and their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from smtptui.core.frozen import frozen


@frozen
class Parameter:
    """An ESMTP parameter of MAIL FROM or RCPT TO (RFC 1869 §6, RFC 5321 §4.1.2)."""

    keyword: str                 # upper case, e.g. "SIZE"
    verbs: tuple[str, ...]       # ("MAIL",) or ("RCPT",)
    extension: str               # EHLO keyword that must be advertised, e.g. "SIZE"
    value: str                   # syntax of the value, "" when it takes none
    values: tuple[str, ...] = ()  # enumerated values for completion, if any
    summary: str = ""
    rfc: str = ""


@frozen
class Extension:
    keyword: str
    name: str
    rfc: str
    summary: str
    verbs: tuple[str, ...] = ()   # verbs this extension adds
    params: str = ""              # syntax of the EHLO parameters


_EXTENSIONS: tuple[Extension, ...] = (
    Extension("SIZE", "Message Size Declaration", "RFC 1870",
              "Largest message the server accepts, in octets (0 or none: no fixed limit); "
              "MAIL may declare SIZE=n.", params="[1*DIGIT]"),
    Extension("8BITMIME", "8bit-MIMEtransport", "RFC 6152 (RFC 1652)",
              "Accepts 8-bit message content declared with MAIL ... BODY=8BITMIME."),
    Extension("PIPELINING", "Command Pipelining", "RFC 2920",
              "The client may send several commands without waiting for each reply."),
    Extension("DSN", "Delivery Status Notification", "RFC 3461 (RFC 1891)",
              "Delivery reports on request: RET/ENVID on MAIL, NOTIFY/ORCPT on RCPT."),
    Extension("STARTTLS", "Secure SMTP over TLS", "RFC 3207",
              "The connection can be upgraded to TLS with STARTTLS; EHLO again after it.",
              verbs=("STARTTLS",)),
    Extension("ENHANCEDSTATUSCODES", "Enhanced-Status-Codes", "RFC 2034",
              "Reply texts start with an RFC 3463 status code such as 2.1.5."),
    Extension("AUTH", "Authentication", "RFC 4954",
              "SMTP AUTH with the listed SASL mechanisms; MAIL may carry AUTH=.",
              verbs=("AUTH",), params="1*(SP sasl-mech)"),
    Extension("SMTPUTF8", "Internationalized Email", "RFC 6531",
              "UTF-8 addresses and headers, declared with MAIL ... SMTPUTF8."),
    Extension("CHUNKING", "Chunking", "RFC 3030",
              "Message content may be sent in sized chunks with BDAT instead of DATA.",
              verbs=("BDAT",)),
    Extension("BINARYMIME", "Binary MIME", "RFC 3030",
              "Binary content declared with BODY=BINARYMIME (must be sent with BDAT)."),
    Extension("ETRN", "Remote Message Queue Starting", "RFC 1985",
              "ETRN asks the server to start delivering mail queued for a node.",
              verbs=("ETRN",)),
    Extension("VRFY", "Verify", "RFC 5321 §3.5",
              "VRFY is available to confirm mailbox names."),
    Extension("EXPN", "Expand", "RFC 821 §4.1.1",
              "EXPN expands mailing lists.", verbs=("EXPN",)),
    Extension("HELP", "Help", "RFC 821 §4.1.1", "HELP gives help text.", verbs=("HELP",)),
    Extension("SEND", "Send", "RFC 821 §4.1.1", "SEND delivers to a user's terminal.",
              verbs=("SEND",)),
    Extension("SOML", "Send or Mail", "RFC 821 §4.1.1",
              "SOML delivers to the terminal, or else the mailbox.", verbs=("SOML",)),
    Extension("SAML", "Send and Mail", "RFC 821 §4.1.1",
              "SAML delivers to the terminal and the mailbox.", verbs=("SAML",)),
    Extension("TURN", "Turn", "RFC 821 §4.1.1",
              "TURN swaps the client and server roles.", verbs=("TURN",)),
    Extension("VERB", "sendmail verbose mode", "sendmail 8.9",
              "Non-standard: VERB makes sendmail report delivery with 0xy replies.",
              verbs=("VERB",)),
    Extension("ONEX", "sendmail one transaction", "sendmail 8.9",
              "Non-standard: ONEX promises a single transaction (saves a fork).",
              verbs=("ONEX",)),
    Extension("XUSR", "sendmail user submission", "sendmail 8.9",
              "Non-standard: XUSR marks an initial user submission (like sendmail -U).",
              verbs=("XUSR",)),
    Extension("DELIVERBY", "Deliver By", "RFC 2852",
              "The client may ask for delivery within a time limit (BY= on MAIL)."),
    Extension("MT-PRIORITY", "Message Transfer Priorities", "RFC 6710",
              "MAIL may carry MT-PRIORITY= to ask for priority handling."),
    Extension("REQUIRETLS", "Require TLS", "RFC 8689",
              "MAIL may carry REQUIRETLS: every hop must use verified TLS."),
)

EXTENSIONS: Mapping[str, Extension] = MappingProxyType({e.keyword: e for e in _EXTENSIONS})

_PARAMETERS: tuple[Parameter, ...] = (
    Parameter("SIZE", ("MAIL",), "SIZE", "1*20DIGIT",
              summary="declared message size in octets", rfc="RFC 1870 §6"),
    Parameter("BODY", ("MAIL",), "8BITMIME", "7BIT / 8BITMIME / BINARYMIME",
              values=("7BIT", "8BITMIME", "BINARYMIME"),
              summary="body type of the message", rfc="RFC 6152 §2; RFC 3030 §3"),
    Parameter("RET", ("MAIL",), "DSN", "FULL / HDRS", values=("FULL", "HDRS"),
              summary="what a failure DSN returns", rfc="RFC 3461 §4.3"),
    Parameter("ENVID", ("MAIL",), "DSN", "xtext",
              summary="envelope identifier returned in DSNs", rfc="RFC 3461 §4.4"),
    Parameter("AUTH", ("MAIL",), "AUTH", "xtext (a mailbox or <>)", values=("<>",),
              summary="the authenticated submitter", rfc="RFC 4954 §5"),
    Parameter("SMTPUTF8", ("MAIL",), "SMTPUTF8", "",
              summary="the message needs UTF-8 addresses or headers", rfc="RFC 6531 §3.4"),
    Parameter("NOTIFY", ("RCPT",), "DSN", "NEVER / 1#(SUCCESS / FAILURE / DELAY)",
              values=("NEVER", "SUCCESS", "FAILURE", "DELAY", "SUCCESS,FAILURE",
                      "SUCCESS,FAILURE,DELAY", "FAILURE,DELAY"),
              summary="when to send a DSN", rfc="RFC 3461 §4.1"),
    Parameter("ORCPT", ("RCPT",), "DSN", "addr-type \";\" xtext", values=("rfc822;",),
              summary="the original recipient", rfc="RFC 3461 §4.2"),
    Parameter("BY", ("MAIL",), "DELIVERBY", "by-time \";\" by-mode [by-trace]",
              summary="deliver-by time and mode", rfc="RFC 2852 §4"),
    Parameter("MT-PRIORITY", ("MAIL",), "MT-PRIORITY", "[-]digit",
              summary="message transfer priority", rfc="RFC 6710 §3"),
    Parameter("REQUIRETLS", ("MAIL",), "REQUIRETLS", "",
              summary="require TLS on every hop", rfc="RFC 8689 §4"),
)

PARAMETERS: Mapping[str, Parameter] = MappingProxyType({p.keyword: p for p in _PARAMETERS})
"""Known MAIL/RCPT parameters by upper-case keyword."""


def parameters_for(verb: str) -> tuple[Parameter, ...]:
    """The known parameters of ``verb`` ("MAIL" or "RCPT"), in table order."""
    v = verb.upper()
    if v in ("SEND", "SOML", "SAML"):
        v = "MAIL"
    return tuple(p for p in _PARAMETERS if v in p.verbs)


def describe(keyword: str) -> str:
    """One line about an EHLO keyword, known or not."""
    ext = EXTENSIONS.get(keyword.upper())
    if ext is not None:
        return ext.summary
    if keyword[:1] in ("X", "x"):
        return "Local (X-) extension, private to this server (RFC 1869 §4.3)."
    return "Unknown extension keyword (not in smtptui's table)."

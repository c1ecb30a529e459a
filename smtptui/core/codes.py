"""The reply-code catalogue and ``explain()``.

Every reply code of RFC 821 §4.2.2 and RFC 5321 §4.2.2/§4.2.3, the codes the AUTH,
STARTTLS and ETRN extensions add, 521/556 (RFC 1846/7504), the meaning of each digit
position, and the RFC 3463 enhanced status codes. ``explain`` turns a code, a reply
line or a :class:`Reply` into an :class:`Explanation` that a front end can print or
colour; a code smtptui does not know is still explained by its first two digits, as
RFC 5321 §4.2.1 requires clients to do.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from types import MappingProxyType

from smtptui.core.commands import COMMANDS
from smtptui.core.diagnostics import Diagnostic, warning
from smtptui.core.frozen import frozen
from smtptui.core.replies import Reply, parse_enhanced
from smtptui.core.text import is_ascii_digits, printable

__all__ = [
    "CATEGORIES",
    "ENHANCED_CLASSES",
    "ENHANCED_CODES",
    "ENHANCED_SOURCES",
    "ENHANCED_SUBJECTS",
    "ENHANCED_USAGE",
    "GREETING_CODES",
    "REPLY_CODES",
    "CodeInfo",
    "EnhancedInfo",
    "Explanation",
    "ReplyClass",
    "commands_for",
    "explain",
    "explain_enhanced",
    "parse_enhanced",
]


class ReplyClass(enum.Enum):
    """The first digit of a reply code (RFC 821 Appendix E, RFC 5321 §4.2.1)."""

    POSITIVE_PRELIMINARY = 1
    POSITIVE_COMPLETION = 2
    POSITIVE_INTERMEDIATE = 3
    TRANSIENT_NEGATIVE = 4
    PERMANENT_NEGATIVE = 5

    @property
    def digit(self) -> int:
        return self.value

    @property
    def label(self) -> str:
        """"positive completion", "transient negative completion", ..."""
        return _CLASS_TEXT[self.value][0]

    @property
    def meaning(self) -> str:
        return _CLASS_TEXT[self.value][1]

    @property
    def style(self) -> str:
        """A colour role for front ends: "success", "info", "warning" or "error"."""
        return _CLASS_TEXT[self.value][2]


_CLASS_TEXT: dict[int, tuple[str, str, str]] = {
    1: ("positive preliminary",
        ("accepted, but wait for another reply before the next command; RFC 821 theory "
         "only: no SMTP command uses it and RFC 5321 dropped the class"), "info"),
    2: ("positive completion",
        "the action is done; a new command may follow", "success"),
    3: ("positive intermediate",
        "accepted so far; send the further information asked for (DATA's 354, AUTH's 334)",
        "info"),
    4: ("transient negative completion",
        ("not done, but the condition is temporary: the same command may work if tried "
         "again later"), "warning"),
    5: ("permanent negative completion",
        "not done, and repeating the same command unchanged will fail again", "error"),
}

CATEGORIES: Mapping[int, tuple[str, str]] = MappingProxyType({
    0: ("syntax", ("syntax errors, commands that fit no functional group, and "
                   "unimplemented or superfluous commands")),
    1: ("information", "replies to requests for information, such as status or help"),
    2: ("connections", "replies about the transmission channel"),
    3: ("unspecified", ("not assigned by RFC 821/5321 (RFC 4954 AUTH uses x3z for "
                        "authentication)")),
    4: ("unspecified", "not assigned by RFC 821/5321"),
    5: ("mail system", ("the status of the receiver's mail system for the requested "
                        "transfer or other action")),
})
"""Second digit -> (name, meaning), RFC 821 Appendix E / RFC 5321 §4.2.1."""


@frozen
class CodeInfo:
    """One reply code: the RFC's own text, what it means in plain words, and where
    it comes from."""

    code: int
    text: str          # the defining RFC's text, exact (the newest RFC that lists it)
    meaning: str       # one line in our own words
    rfc: str           # e.g. "RFC 821 §4.2.2; RFC 5321 §4.2.3"
    notes: str = ""    # RFC 821 vs 5321 differences, usage notes
    text_821: str = ""  # RFC 821 §4.2.2 text where it differs from ``text``

    @property
    def in_rfc821(self) -> bool:
        return "RFC 821" in self.rfc

    @property
    def in_rfc5321(self) -> bool:
        return "RFC 5321" in self.rfc


_BOTH = "RFC 821 §4.2.2; RFC 5321 §4.2.3"
_5321 = "RFC 5321 §4.2.3"

_CODES: tuple[CodeInfo, ...] = (
    CodeInfo(211, "System status, or system help reply",
             "Status information about the server, or a help reply.", _BOTH),
    CodeInfo(214, "Help message (Information on how to use the receiver or the meaning of "
                  "a particular non-standard command; this reply is useful only to the "
                  "human user)",
             "Help text meant for a person (the answer to HELP).", _BOTH,
             text_821="Help message [Information on how to use the receiver or the meaning "
                      "of a particular non-standard command; this reply is useful only to "
                      "the human user]"),
    CodeInfo(220, "<domain> Service ready",
             "The server is ready: the greeting, or STARTTLS's go-ahead for the TLS handshake.",
             _BOTH + "; RFC 3207 §4",
             notes="The first word after 220 is the server's host name. RFC 3207 reuses 220 "
                   "as \"Ready to start TLS\"."),
    CodeInfo(221, "<domain> Service closing transmission channel",
             "Goodbye: the server closes the connection (the answer to QUIT).", _BOTH),
    CodeInfo(235, "2.7.0 Authentication Succeeded",
             "AUTH succeeded: the client is now authenticated.", "RFC 4954 §6"),
    CodeInfo(250, "Requested mail action okay, completed",
             "Done: the command worked.", _BOTH,
             notes="Also the success reply to EHLO, whose lines list the extensions."),
    CodeInfo(251, "User not local; will forward to <forward-path> (See Section 3.4)",
             "The recipient is elsewhere, but the server will forward the message.", _BOTH,
             notes="RFC 5321 §3.4 discourages servers from revealing the forward-path.",
             text_821="User not local; will forward to <forward-path>"),
    CodeInfo(252, "Cannot VRFY user, but will accept message and attempt delivery "
                  "(See Section 3.5.3)",
             "VRFY cannot confirm the user, but mail for it will be accepted and tried.",
             "RFC 1123 §5.2.3; RFC 5321 §4.2.3",
             notes="Not in RFC 821: RFC 1123 introduced it and RFC 5321 lists it; common "
                   "when VRFY is disabled for privacy."),
    CodeInfo(253, "OK, <n> pending messages for node <x> started",
             "ETRN accepted: delivery of the messages queued for the node has started.",
             "RFC 1985 §5",
             notes="RFC 1985 ETRN also answers 250 (queuing started), 251 (no messages "
                   "waiting) and 252 (pending messages started)."),
    CodeInfo(334, "[base64 server challenge]",
             "AUTH continues: decode the base64 challenge and send a base64 response.",
             "RFC 4954 §4",
             notes="continue-req = \"334\" SP [base64] CRLF; an empty challenge is \"334 \". "
                   "Send \"*\" to cancel (the server then answers 501)."),
    CodeInfo(354, "Start mail input; end with <CRLF>.<CRLF>",
             "Send the message now; end it with a line holding only a dot.", _BOTH,
             notes="Lines of the message that start with \".\" must be dot-stuffed."),
    CodeInfo(421, "<domain> Service not available, closing transmission channel (This may "
                  "be a reply to any command if the service knows it must shut down)",
             "The server is shutting down or refusing service now and closes the connection; "
             "try again later.", _BOTH,
             text_821="<domain> Service not available, closing transmission channel [This "
                      "may be a reply to any command if the service knows it must shut down]"),
    CodeInfo(432, "4.7.12 A password transition is needed",
             "The user must change the password (e.g. through another service) before AUTH "
             "can work.", "RFC 4954 §6"),
    CodeInfo(450, "Requested mail action not taken: mailbox unavailable (e.g., mailbox busy "
                  "or temporarily blocked for policy reasons)",
             "The mailbox cannot be used right now (busy, or a temporary policy block such as "
             "greylisting); try later.", _BOTH,
             notes="RFC 5321 adds temporary policy blocks to RFC 821's \"mailbox busy\".",
             text_821="Requested mail action not taken: mailbox unavailable [E.g., mailbox "
                      "busy]"),
    CodeInfo(451, "Requested action aborted: local error in processing",
             "The server hit an error of its own; try again later.", _BOTH,
             notes="Both RFC 821 and RFC 5321 give the text as \"error in processing\" in "
                   "the by-function list (§4.2.1 / §4.2.2) and \"local error in processing\" "
                   "in the numeric list."),
    CodeInfo(452, "Requested action not taken: insufficient system storage",
             "The server is short of storage, or (RFC 5321) there are too many recipients "
             "for now; try later or send the rest in another transaction.", _BOTH,
             notes="RFC 5321 §4.5.3.1.10: \"too many recipients\" is 452 (temporary); RFC "
                   "821 used 552 for it. RFC 1870 SIZE also uses 452 for a message the "
                   "server cannot store now."),
    CodeInfo(454, "4.7.0 Temporary authentication failure",
             "TLS or AUTH is temporarily unavailable; try again later.",
             "RFC 3207 §4; RFC 4954 §6",
             notes="RFC 3207: \"454 TLS not available due to temporary reason\"."),
    CodeInfo(455, "Server unable to accommodate parameters",
             "The server cannot handle the MAIL/RCPT parameters right now; try later.",
             "RFC 1869 §6; RFC 5321 §4.2.3",
             notes="Not in RFC 821: added by the EHLO framework (RFC 1869)."),
    CodeInfo(458, "Unable to queue messages for node <x>",
             "ETRN failed: the server could not start the queue for the node now.",
             "RFC 1985 §5"),
    CodeInfo(459, "Node <x> not allowed: <reason>",
             "ETRN refused: this node may not ask for its queue to be run.", "RFC 1985 §5"),
    CodeInfo(500, "Syntax error, command unrecognized (This may include errors such as "
                  "command line too long)",
             "The server does not know the command, or the line was too long.", _BOTH,
             notes="RFC 5321 §4.2.4: an unrecognised command gets 500, a recognised but "
                   "unimplemented one 502. A server without ESMTP answers EHLO with 500: "
                   "fall back to HELO.",
             text_821="Syntax error, command unrecognized [This may include errors such as "
                      "command line too long]"),
    CodeInfo(501, "Syntax error in parameters or arguments",
             "The command is known but its arguments are wrong.", _BOTH,
             notes="RFC 5321: DATA, RSET and QUIT with arguments SHOULD get 501."),
    CodeInfo(502, "Command not implemented (see Section 4.2.4)",
             "The server recognises the command but does not implement it.", _BOTH,
             notes="RFC 5321 §4.2.4: EHLO must never advertise a command that gets 502.",
             text_821="Command not implemented"),
    CodeInfo(503, "Bad sequence of commands",
             "The command is out of order here (e.g. RCPT before MAIL, DATA before RCPT).",
             _BOTH,
             notes="RFC 5321 allows 503 for MAIL too; RFC 821 §4.3 did not list it."),
    CodeInfo(504, "Command parameter not implemented",
             "The command is implemented, but not with this parameter.", _BOTH),
    CodeInfo(521, "<domain> does not accept mail",
             "This host never accepts mail; do not retry.",
             "RFC 1846 §3 (Experimental); RFC 7504 §3",
             notes="Not in RFC 5321. RFC 1846's example is \"521 canon.inria.fr does not "
                   "accept mail\"; RFC 7504 adopts 521 as a connection-opening reply "
                   "(e.g. \"Server does not accept mail\")."),
    CodeInfo(530, "5.7.0 Authentication required",
             "The server wants AUTH (or, from RFC 3207, STARTTLS) before this command.",
             "RFC 4954 §6; RFC 3207 §4",
             notes="RFC 3207: \"530 Must issue a STARTTLS command first\". May answer any "
                   "command except AUTH, EHLO, HELO, NOOP, RSET and QUIT."),
    CodeInfo(534, "5.7.9 Authentication mechanism is too weak",
             "The chosen SASL mechanism is not strong enough for this server or user.",
             "RFC 4954 §6"),
    CodeInfo(535, "5.7.8 Authentication credentials invalid",
             "Wrong user name or password (or other credentials).", "RFC 4954 §6"),
    CodeInfo(538, "5.7.11 Encryption required for requested authentication mechanism",
             "This mechanism may only be used over an encrypted (TLS) connection.",
             "RFC 4954 §6", notes="RFC 4954 keeps 538 only for historical reasons."),
    CodeInfo(550, "Requested action not taken: mailbox unavailable (e.g., mailbox not found, "
                  "no access, or command rejected for policy reasons)",
             "Refused for good: no such mailbox, no access, or a policy rejection "
             "(e.g. relaying denied).", _BOTH,
             notes="RFC 5321 adds policy rejections to RFC 821's text.",
             text_821="Requested action not taken: mailbox unavailable [E.g., mailbox not "
                      "found, no access]"),
    CodeInfo(551, "User not local; please try <forward-path> (See Section 3.4)",
             "The recipient is not here; the server names where to try instead.", _BOTH,
             text_821="User not local; please try <forward-path>"),
    CodeInfo(552, "Requested mail action aborted: exceeded storage allocation",
             "Too big: the message exceeds the mailbox's or server's storage allocation "
             "(or the SIZE limit).", _BOTH,
             notes="RFC 821 also used 552 for \"too many recipients\"; RFC 5321 §4.5.3.1.10 "
                   "declares that wrong (it is 452) and says clients SHOULD treat a 552 to "
                   "RCPT as temporary. RFC 1870 uses 552 for a message over the SIZE limit."),
    CodeInfo(553, "Requested action not taken: mailbox name not allowed (e.g., mailbox "
                  "syntax incorrect)",
             "The address is not acceptable (bad syntax, or a name the server will not use).",
             _BOTH,
             notes="RFC 6531 servers use 553 with X.6.7 for non-ASCII addresses they cannot "
                   "accept.",
             text_821="Requested action not taken: mailbox name not allowed [E.g., mailbox "
                      "syntax incorrect]"),
    CodeInfo(554, "Transaction failed (Or, in the case of a connection-opening response, "
                  "\"No SMTP service here\")",
             "The transaction failed; as a greeting: no SMTP service here.", _BOTH,
             notes="RFC 5321 §3.1: after a 554 greeting the server still waits for QUIT "
                   "and answers other commands with 503. RFC 1869: 554 to EHLO means the "
                   "server cannot list its extensions.",
             text_821="Transaction failed"),
    CodeInfo(555, "MAIL FROM/RCPT TO parameters not recognized or not implemented",
             "A MAIL/RCPT parameter is unknown to the server or not implemented.",
             "RFC 1869 §6; RFC 5321 §4.2.3",
             notes="Not in RFC 821: added by the EHLO framework (RFC 1869)."),
    CodeInfo(556, "Domain does not accept mail",
             "The recipient's domain accepts no mail at all (e.g. it publishes a null MX).",
             "RFC 7504 §3; RFC 7505",
             notes="Not in RFC 5321. Used with the null MX of RFC 7505 (enhanced code "
                   "X.1.10). The exact text is as commonly quoted, not checked against the "
                   "RFC."),
)

REPLY_CODES: Mapping[int, CodeInfo] = MappingProxyType({c.code: c for c in _CODES})
"""Every reply code smtptui knows, by number."""


GREETING_CODES: frozenset[int] = frozenset({220, 421, 554, 521})
"""Codes a server may send as its connection greeting (RFC 821 §4.3: 220, 421;
RFC 5321 §3.1/§4.3.2: 220, 554; RFC 7504: 521)."""


@functools.cache
def commands_for(code: int) -> tuple[str, ...]:
    """Verbs whose RFC 821 §4.3 or RFC 5321 §4.3.2 sequence lists ``code`` (a fixed
    table: worked out once per code, not once per reply explained)."""
    return tuple(
        verb for verb, spec in COMMANDS.items()
        if code in spec.allowed_codes or code in spec.allowed_codes_5321
    )


# -- RFC 3463 enhanced status codes ---------------------------------------------------------

ENHANCED_CLASSES: Mapping[int, tuple[str, str]] = MappingProxyType({
    2: ("Success", "delivery succeeded; the detail may report transformations"),
    4: ("Persistent Transient Failure",
        "the message is valid, but a temporary condition persisted; a later retry may work"),
    5: ("Permanent Failure",
        "resending unchanged will not work; the message or the destination must change"),
})

ENHANCED_SUBJECTS: Mapping[int, str] = MappingProxyType({
    0: "Other or Undefined Status",
    1: "Addressing Status",
    2: "Mailbox Status",
    3: "Mail System Status",
    4: "Network and Routing Status",
    5: "Mail Delivery Protocol Status",
    6: "Message Content or Media Status",
    7: "Security or Policy Status",
})

_3463 = "RFC 3463 §3"
_ENHANCED: tuple[tuple[str, str, str], ...] = (
    ("X.0.0", "Other undefined Status", _3463 + ".1"),
    ("X.1.0", "Other address status", _3463 + ".2"),
    ("X.1.1", "Bad destination mailbox address", _3463 + ".2"),
    ("X.1.2", "Bad destination system address", _3463 + ".2"),
    ("X.1.3", "Bad destination mailbox address syntax", _3463 + ".2"),
    ("X.1.4", "Destination mailbox address ambiguous", _3463 + ".2"),
    ("X.1.5", "Destination address valid", _3463 + ".2"),
    ("X.1.6", "Destination mailbox has moved, No forwarding address", _3463 + ".2"),
    ("X.1.7", "Bad sender's mailbox address syntax", _3463 + ".2"),
    ("X.1.8", "Bad sender's system address", _3463 + ".2"),
    ("X.1.10", "Recipient address has null MX", "RFC 7505 §4.2"),
    ("X.2.0", "Other or undefined mailbox status", _3463 + ".3"),
    ("X.2.1", "Mailbox disabled, not accepting messages", _3463 + ".3"),
    ("X.2.2", "Mailbox full", _3463 + ".3"),
    ("X.2.3", "Message length exceeds administrative limit", _3463 + ".3"),
    ("X.2.4", "Mailing list expansion problem", _3463 + ".3"),
    ("X.3.0", "Other or undefined mail system status", _3463 + ".4"),
    ("X.3.1", "Mail system full", _3463 + ".4"),
    ("X.3.2", "System not accepting network messages", _3463 + ".4"),
    ("X.3.3", "System not capable of selected features", _3463 + ".4"),
    ("X.3.4", "Message too big for system", _3463 + ".4"),
    ("X.3.5", "System incorrectly configured", _3463 + ".4"),
    ("X.4.0", "Other or undefined network or routing status", _3463 + ".5"),
    ("X.4.1", "No answer from host", _3463 + ".5"),
    ("X.4.2", "Bad connection", _3463 + ".5"),
    ("X.4.3", "Directory server failure", _3463 + ".5"),
    ("X.4.4", "Unable to route", _3463 + ".5"),
    ("X.4.5", "Mail system congestion", _3463 + ".5"),
    ("X.4.6", "Routing loop detected", _3463 + ".5"),
    ("X.4.7", "Delivery time expired", _3463 + ".5"),
    ("X.5.0", "Other or undefined protocol status", _3463 + ".6"),
    ("X.5.1", "Invalid command", _3463 + ".6"),
    ("X.5.2", "Syntax error", _3463 + ".6"),
    ("X.5.3", "Too many recipients", _3463 + ".6"),
    ("X.5.4", "Invalid command arguments", _3463 + ".6"),
    ("X.5.5", "Wrong protocol version", _3463 + ".6"),
    ("X.5.6", "Authentication Exchange line is too long", "RFC 4954 §6"),
    ("X.6.0", "Other or undefined media error", _3463 + ".7"),
    ("X.6.1", "Media not supported", _3463 + ".7"),
    ("X.6.2", "Conversion required and prohibited", _3463 + ".7"),
    ("X.6.3", "Conversion required but not supported", _3463 + ".7"),
    ("X.6.4", "Conversion with loss performed", _3463 + ".7"),
    ("X.6.5", "Conversion Failed", _3463 + ".7"),
    ("X.6.7", "Non-ASCII addresses not permitted for that sender/recipient",
     "RFC 6531 §3.7.4 (RFC 5248 registry)"),
    ("X.7.0", "Other or undefined security status", _3463 + ".8"),
    ("X.7.1", "Delivery not authorized, message refused", _3463 + ".8"),
    ("X.7.2", "Mailing list expansion prohibited", _3463 + ".8"),
    ("X.7.3", "Security conversion required but not possible", _3463 + ".8"),
    ("X.7.4", "Security features not supported", _3463 + ".8"),
    ("X.7.5", "Cryptographic failure", _3463 + ".8"),
    ("X.7.6", "Cryptographic algorithm not supported", _3463 + ".8"),
    ("X.7.7", "Message integrity failure", _3463 + ".8"),
    ("X.7.8", "Authentication credentials invalid", "RFC 4954 §6"),
    ("X.7.9", "Authentication mechanism is too weak", "RFC 4954 §6"),
    ("X.7.11", "Encryption required for requested authentication mechanism", "RFC 4954 §6"),
    ("X.7.12", "A password transition is needed", "RFC 4954 §6"),
)

ENHANCED_CODES: Mapping[str, str] = MappingProxyType({k: name for k, name, _ in _ENHANCED})
"""Enumerated detail codes ("X.1.1") -> RFC 3463 §3 name (and later RFCs' additions)."""

ENHANCED_SOURCES: Mapping[str, str] = MappingProxyType({k: src for k, _, src in _ENHANCED})

_P, _T = frozenset({5}), frozenset({4})
ENHANCED_USAGE: Mapping[str, frozenset[int]] = MappingProxyType({
    "X.1.1": _P, "X.1.2": _P, "X.1.3": _P, "X.1.6": _P,
    "X.2.2": _T, "X.2.3": _P,
    "X.3.1": _T, "X.3.4": _P,
    "X.4.1": _T, "X.4.2": _T, "X.4.3": _T, "X.4.5": _T, "X.4.6": _T,
    "X.5.1": _P, "X.5.2": _P, "X.5.4": _P,
    "X.7.1": _P, "X.7.2": _P, "X.7.3": _P, "X.7.4": _P,
})
"""RFC 3463 §3 usage notes: the only classes a detail code is meant for (absent: any)."""


@frozen
class EnhancedInfo:
    """The reading of one enhanced status code ("5.1.1")."""

    code: str
    class_meaning: str    # "Permanent Failure: resending unchanged will not work ..."
    subject_meaning: str  # "Addressing Status"
    detail_meaning: str | None  # "Bad destination mailbox address", None if not enumerated
    meaning: str          # the detail name, or the subject for an unknown detail (RFC 3463 §2)
    rfc: str
    known: bool
    diagnostics: tuple[Diagnostic, ...] = ()


_ENH_SHAPE = re.compile(r"^([245])\.([0-9]{1,3})\.([0-9]{1,3})$")


def explain_enhanced(code: str) -> EnhancedInfo:
    """Read an RFC 3463 status code; raises ValueError when it has no valid shape."""
    m = _ENH_SHAPE.match(code.strip())
    if m is None:
        raise ValueError(f"'{code.strip()}' is not an enhanced status code "
                         f"(class.subject.detail, class 2, 4 or 5)")
    klass, subject, detail = int(m.group(1)), int(m.group(2)), int(m.group(3))
    diags: list[Diagnostic] = []
    if any(len(g) > 1 and g[0] == "0" for g in (m.group(2), m.group(3))):
        diags.append(warning(0, len(code), "sub-codes have no leading zeros", "RFC 3463 §2"))
    key = f"X.{subject}.{detail}"
    cname, cmeaning = ENHANCED_CLASSES[klass]
    subject_meaning = ENHANCED_SUBJECTS.get(subject, f"unknown subject {subject}")
    detail_meaning = ENHANCED_CODES.get(key)
    usage = ENHANCED_USAGE.get(key)
    if usage is not None and klass not in usage:
        kinds = " and ".join("persistent transient" if c == 4 else "permanent"
                             for c in sorted(usage))
        diags.append(warning(0, 1, f"{key} is meant for {kinds} failures only",
                             ENHANCED_SOURCES[key]))
    if detail_meaning is not None:
        rfc = ENHANCED_SOURCES[key]
    elif subject in ENHANCED_SUBJECTS:
        rfc = "RFC 3463 §2 (unknown detail: report the subject)"
    else:
        rfc = "RFC 3463 §2"
    return EnhancedInfo(
        code=code.strip(),
        class_meaning=f"{cname}: {cmeaning}",
        subject_meaning=subject_meaning,
        detail_meaning=detail_meaning,
        meaning=detail_meaning or subject_meaning,
        rfc=rfc,
        known=detail_meaning is not None,
        diagnostics=tuple(diags),
    )


# -- explain --------------------------------------------------------------------------------

@frozen
class Explanation:
    """Everything smtptui can say about one reply code (and its enhanced code)."""

    code: int
    reply_class: ReplyClass
    class_meaning: str          # "positive completion: the action is done; ..."
    category: str               # "mail system: the status of the receiver's mail system ..."
    meaning: str                # one line
    rfc: str                    # e.g. "RFC 821 §4.2.2; RFC 5321 §4.2.3"
    enhanced: str | None = None
    enhanced_meaning: str | None = None
    enhanced_class_meaning: str | None = None
    enhanced_subject_meaning: str | None = None
    known: bool = True
    diagnostics: tuple[Diagnostic, ...] = ()
    rfc_text: str = ""          # the RFC's own wording of the code
    notes: str = ""             # RFC 821 vs RFC 5321 differences and usage notes
    digits: tuple[str, str, str] = ("", "", "")  # reading of each digit position
    commands: tuple[str, ...] = ()  # verbs whose reply sequences list this code
    reply: Reply | None = None  # the reply explained, when one was given
    enhanced_detail: str | None = None  # the enumerated detail name, None if unknown
    greeting: bool = False      # may also be the server's connection greeting
    rfc_text_821: str = ""      # RFC 821 §4.2.2's wording, where it differs from rfc_text

    @property
    def style(self) -> str:
        return self.reply_class.style

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "class": self.reply_class.label,
            "style": self.style,
            "class_meaning": self.class_meaning,
            "category": self.category,
            "meaning": self.meaning,
            "rfc": self.rfc,
            "rfc_text": self.rfc_text,
            "notes": self.notes,
            "known": self.known,
            "digits": list(self.digits),
            "commands": list(self.commands),
            "greeting": self.greeting,
            "enhanced": self.enhanced,
            "enhanced_meaning": self.enhanced_meaning,
            "enhanced_class_meaning": self.enhanced_class_meaning,
            "enhanced_subject_meaning": self.enhanced_subject_meaning,
            "enhanced_detail": self.enhanced_detail,
            "lines": list(self.reply.lines) if self.reply is not None else None,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def _not_a_code(token: str) -> ValueError:
    return ValueError(f"'{printable(token, 20, backslash=False)}' is not a reply code "
                      "(three digits, first 2-5)")


_LINE_START = re.compile(r"^[0-9]{3}(?![0-9])")


def explain(reply: Reply | int | str) -> Explanation:
    """Explain a reply, a code, or reply text ("550 5.1.1 User unknown", "354",
    or several lines separated by "\\n").

    Raises ValueError (one clear line) when no reply code can be read.
    """
    given: Reply | None = None
    if isinstance(reply, Reply):
        given = reply
        if reply.code is None:
            head = reply.lines[0].split(" ", 1)[0] if reply.lines else ""
            raise _not_a_code(head)
        code = reply.code
    elif isinstance(reply, bool):
        raise _not_a_code(str(reply))
    elif isinstance(reply, int):
        code = reply
    else:
        text = reply.strip("\r\n")
        stripped = text.strip()
        if not _LINE_START.match(stripped):
            token = stripped.split(None, 1)[0] if stripped else ""
            raise _not_a_code(token[:20])
        if is_ascii_digits(stripped):
            code = int(stripped)
            if not 100 <= code <= 599:
                raise _not_a_code(stripped)
        else:
            try:
                given = Reply.from_text(stripped)
            except ValueError as exc:
                raise ValueError(f"cannot read the reply: {exc}") from None
            if given.code is None:
                raise _not_a_code(stripped[:3])
            code = given.code
    if not 100 <= code <= 599:
        raise _not_a_code(str(code))
    return _explain_code(code, given)


def _explain_code(code: int, given: Reply | None) -> Explanation:
    first, second, third = code // 100, code // 10 % 10, code % 10
    klass = ReplyClass(first)
    diags: list[Diagnostic] = list(given.diagnostics) if given is not None else []
    if first == 1 and given is None:
        diags.append(warning(0, 1, "1yz (positive preliminary) is RFC 821 theory only; "
                                   "RFC 5321 reply codes start with 2-5", "RFC 5321 §4.2.1"))
    if second > 5 and given is None:
        diags.append(warning(1, 2, f"second digit {second} is outside 0-5: no category",
                             "RFC 5321 §4.2"))
    cat_name, cat_meaning = CATEGORIES.get(second, ("no category",
                                                    "second digits above 5 are not defined"))
    info = REPLY_CODES.get(code)
    class_meaning = f"{klass.label}: {klass.meaning}"
    category = f"{cat_name}: {cat_meaning}"
    if info is not None:
        meaning, rfc, known = info.meaning, info.rfc, True
    else:
        meaning = (f"Unknown code; read by its first digit ({klass.label}) and its second "
                   f"({cat_name}).")
        rfc, known = "RFC 5321 §4.2.1 (unknown codes: interpret by the first digit)", False
    digits = (
        f"{first} = {klass.label}: {klass.meaning}",
        f"{second} = {cat_name}: {cat_meaning}",
        f"{third} = the particular reply within the category",
    )
    enh = enh_meaning = enh_class = enh_subject = enh_detail = None
    if given is not None and given.enhanced:
        e = explain_enhanced(given.enhanced)
        enh, enh_meaning, enh_class = given.enhanced, e.meaning, e.class_meaning
        enh_subject, enh_detail = e.subject_meaning, e.detail_meaning
        diags.extend(e.diagnostics)
    elif given is not None and first == 3 and given.lines:
        m = _ENHANCED_LOOK.match(given.lines[0])
        if m is not None:  # parse_enhanced only reads a code whose class matches
            diags.append(warning(4, 4 + m.end(), f"'{m.group()}' looks like an enhanced "
                                 "status code, but 3xx replies carry none", "RFC 2034 §4"))
    return Explanation(
        code=code, reply_class=klass, class_meaning=class_meaning, category=category,
        meaning=meaning, rfc=rfc, enhanced=enh, enhanced_meaning=enh_meaning,
        enhanced_class_meaning=enh_class, enhanced_subject_meaning=enh_subject,
        known=known, diagnostics=tuple(diags),
        rfc_text=info.text if info else "", notes=info.notes if info else "",
        digits=digits, commands=commands_for(code), reply=given, enhanced_detail=enh_detail,
        greeting=code in GREETING_CODES, rfc_text_821=info.text_821 if info else "",
    )


_ENHANCED_LOOK = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}(?=[ \t]|$)")

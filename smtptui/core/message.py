"""Building a proper Internet message (RFC 5322 + MIME) for ``smtptui send``.

The standard library's :mod:`email` package does the hard parts -- header folding,
RFC 2047 encoded words, RFC 2231 file names, choosing quoted-printable or base64 for a
text body -- so the message is right by construction. What the package cannot do is
stream: it holds every part, base64-encoded, in memory. A 20 MB attachment would cost
~50 MB, so attachment *bodies* are left out of the tree: :func:`compose` returns the
message as pieces -- bytes built by :mod:`email`, and :class:`AttachmentBody`
placeholders whose base64 the caller streams from the file with
:class:`Base64Lines` -- and the exact size of the whole (for ``SIZE=``, RFC 1870, and
for BDAT chunk sizes, RFC 3030) is known before a byte is sent.

Whether an 8-bit body goes as it is (``Content-Transfer-Encoding: 8bit`` with
``BODY=8BITMIME``, RFC 6152) or encoded (quoted-printable or base64, whichever is
shorter) depends on what the server advertised, so a message is composed after EHLO.
Sans-I/O: no file is opened here; every line ends with CRLF.

The plain case without the email package. Importing :mod:`email.policy` and building
the tree costs ``smtptui send`` about 10 ms of a ~70 ms run, and most test messages are
trivial: a text body of short ASCII lines (or, for a server that takes 8-bit bodies,
short UTF-8 lines), no attachment, and a few short ASCII headers of forms the package
writes back as given. For exactly those, :func:`compose` writes the bytes itself
(:func:`_plain_compose`); anything else -- a long or non-ASCII header, a long body line,
an encoded body, a header the package would parse and rewrite (a display name, a Date
not in its own format, an encoded word, a Content-* header), attachments -- goes to the
email package (:func:`_email_compose`, imported only then). The plain path is an
optimisation, not a second message builder: it must give the same bytes, size, flags
and headers as :func:`_email_compose` for every spec it accepts, which
tests/send/test_message_plain.py checks property-wise (and that it declines around its
boundary).
"""

from __future__ import annotations

import binascii

from smtptui.core.dates import DAY_NAMES, MONTH_NAMES, days_in_month, weekday
from smtptui.core.frozen import frozen

TYPE_CHECKING = False  # the email package is imported where a message needs it
if TYPE_CHECKING:
    import email.policy
    from email.message import EmailMessage, MIMEPart

__all__ = [
    "Attachment",
    "AttachmentBody",
    "Base64Lines",
    "Composed",
    "MessageError",
    "MessageSpec",
    "base64_size",
    "check_headers",
    "compose",
    "header_problem",
]

LINE_OCTETS = 57
"""Octets per base64 line: 57 octets are 76 characters (RFC 2045 §6.8 allows 76)."""
_CRLF = b"\r\n"


@frozen
class Attachment:
    """A file to attach: its name as the recipient sees it, its MIME type and size.
    ``source`` is the caller's handle for reading it (a path); never read here."""

    filename: str
    content_type: str
    size: int
    source: str


@frozen
class MessageSpec:
    """What the user asked for. ``date`` and ``message_id`` are given (not made here)
    so a composed message is reproducible: the same spec gives the same bytes."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    date: str
    message_id: str
    headers: tuple[tuple[str, str], ...] = ()
    """Extra ``Name: value`` headers; one with the name of a default header replaces it."""
    attachments: tuple[Attachment, ...] = ()
    boundary: str = "smtptui-boundary"


@frozen
class AttachmentBody:
    """Placeholder for one attachment's base64 body (``size`` octets, CRLF lines)."""

    attachment: Attachment
    size: int


Piece = bytes | AttachmentBody


@frozen
class Composed:
    """The message as pieces in order; ``size`` is the exact number of octets."""

    pieces: tuple[Piece, ...]
    size: int
    eight_bit: bool
    """True when the message holds 8-bit octets (it must then go with BODY=8BITMIME)."""
    utf8_headers: bool
    headers: tuple[tuple[str, str], ...] = ()
    """The top-level headers as (name, value) -- what the transcript summarises."""


def base64_size(octets: int) -> int:
    """Octets of the base64 body of ``octets`` octets: 76-character lines plus CRLF."""
    full, rest = divmod(octets, LINE_OCTETS)
    size = full * (76 + 2)
    if rest:
        size += (rest + 2) // 3 * 4 + 2
    return size


class Base64Lines:
    """Streaming base64 in 76-character CRLF lines: feed any chunks, then finish.
    The output of every feed is whole lines, so it can be sent as it comes."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        data = self._held + data if self._held else data
        cut = len(data) - len(data) % LINE_OCTETS
        self._held = data[cut:]
        if not cut:
            return b""
        b2a = binascii.b2a_base64
        view = memoryview(data)
        return b"".join([b2a(view[i:i + LINE_OCTETS], newline=False) + _CRLF
                         for i in range(0, cut, LINE_OCTETS)])

    def finish(self) -> bytes:
        held, self._held = self._held, b""
        return binascii.b2a_base64(held, newline=False) + _CRLF if held else b""


class MessageError(ValueError):
    """A message the email package cannot write from this spec (one line: which header,
    and why), e.g. a group (``undisclosed:;``) where ``From`` wants mailboxes."""


def header_problem(name: str, value: str) -> str | None:
    """Why ``Name: value`` cannot be a header (None when it can): RFC 5322 §2.2 field
    names are printable ASCII without colon; CR or LF would inject more headers."""
    if not name or any(not 33 <= ord(c) <= 126 or c == ":" for c in name):
        return f"{name!r} is not a header name (printable ASCII, no colon or space)"
    if "\r" in value or "\n" in value:
        return f"the value of {name} cannot contain CR or LF"
    return None


def _policy(eight_bit_ok: bool, utf8_headers: bool) -> email.policy.EmailPolicy:
    import email.policy

    # cte_type='7bit' makes the email package encode an 8-bit text body (the shorter
    # of quoted-printable and base64); '8bit' lets it go as it is.
    base = email.policy.SMTPUTF8 if utf8_headers else email.policy.SMTP
    return base.clone(cte_type="8bit" if eight_bit_ok else "7bit")


def _top_headers(spec: MessageSpec) -> list[tuple[str, str]]:
    """The top-level headers in order: the defaults not given, the given ones, then
    MIME-Version unless given (the body's Content-* headers follow)."""
    given = {name.lower() for name, _ in spec.headers}
    defaults = (("From", spec.sender), ("To", ", ".join(spec.recipients)),
                ("Subject", spec.subject), ("Date", spec.date),
                ("Message-ID", spec.message_id))
    headers = [(name, value) for name, value in defaults if name.lower() not in given]
    headers += spec.headers
    if "mime-version" not in given:
        headers.append(("MIME-Version", "1.0"))
    return headers


def _header_bytes(msg: MIMEPart, policy: email.policy.EmailPolicy) -> bytes:
    return b"".join(policy.fold_binary(name, value) for name, value in msg.raw_items())


def compose(spec: MessageSpec, *, eight_bit_ok: bool, utf8_headers: bool = False) -> Composed:
    """The message for a server that does (``eight_bit_ok``) or does not accept 8-bit
    bodies; ``utf8_headers`` (SMTPUTF8, RFC 6531) writes non-ASCII headers as UTF-8
    instead of RFC 2047 encoded words."""
    plain = _plain_compose(spec, eight_bit_ok=eight_bit_ok, utf8_headers=utf8_headers)
    if plain is not None:
        return plain
    return _email_compose(spec, eight_bit_ok=eight_bit_ok, utf8_headers=utf8_headers)


def check_headers(spec: MessageSpec) -> None:
    """Raise :class:`MessageError` when a header of ``spec`` cannot be written: what
    ``smtptui send`` asks before it connects, so a bad ``--header`` is a usage error,
    not a failure after EHLO. Headers the plain path writes as given need no check;
    the body is not looked at."""
    if not all(_header_as_written(name, value) for name, value in _top_headers(spec)):
        _email_headers(spec, _policy(False, False))


def _email_headers(spec: MessageSpec, policy: email.policy.EmailPolicy) -> EmailMessage:
    """The top-level headers by the email package, whose header parser raises assorted
    errors on values it cannot represent (AttributeError for a group in ``From``)."""
    from email.message import EmailMessage

    top = EmailMessage(policy=policy)
    for name, value in _top_headers(spec):
        try:
            top[name] = value
        except Exception as exc:  # noqa: BLE001 - any parser failure is one clear line
            reason = str(exc) or type(exc).__name__
            raise MessageError(f"the {name} header cannot be written from {value!r} "
                               f"({reason})") from None
    return top


def _email_compose(spec: MessageSpec, *, eight_bit_ok: bool,
                   utf8_headers: bool = False) -> Composed:
    """:func:`compose` by the email package, for every message."""
    from email.message import MIMEPart

    policy = _policy(eight_bit_ok, utf8_headers)
    top = _email_headers(spec, policy)
    charset = "us-ascii" if spec.body.isascii() else "utf-8"
    if not spec.attachments:
        top.set_content(spec.body, charset=charset)
        whole = _crlf(top.as_bytes(policy=policy))
        return Composed((whole,), len(whole), _has_8bit(whole), utf8_headers,
                        tuple(top.items()))
    boundary = spec.boundary
    top["Content-Type"] = "multipart/mixed"
    top.set_param("boundary", boundary)
    pieces: list[Piece] = [_header_bytes(top, policy) + _CRLF]
    delimiter = b"--" + boundary.encode("ascii") + _CRLF
    text = MIMEPart(policy=policy)
    text.set_content(spec.body, charset=charset)
    text_bytes = _crlf(text.as_bytes(policy=policy))
    if b"--" + boundary.encode("ascii") in text_bytes:
        raise ValueError(f"the body contains the MIME boundary {boundary!r}")
    pieces.append(delimiter + text_bytes + _CRLF)
    for att in spec.attachments:
        part = MIMEPart(policy=policy)
        part["Content-Type"] = att.content_type
        part.add_header("Content-Disposition", "attachment", filename=att.filename)
        part["Content-Transfer-Encoding"] = "base64"
        pieces.append(delimiter + _header_bytes(part, policy) + _CRLF)
        pieces.append(AttachmentBody(att, base64_size(att.size)))
    pieces.append(b"--" + boundary.encode("ascii") + b"--" + _CRLF)
    size = sum(len(p) if isinstance(p, bytes) else p.size for p in pieces)
    eight = any(_has_8bit(p) for p in pieces if isinstance(p, bytes))
    return Composed(tuple(pieces), size, eight, utf8_headers, tuple(top.items()))


# ------------------------------------------------------------ the plain case, by hand
#
# What the email package (checked on Python 3.11 to 3.13; policy SMTP or SMTPUTF8) does
# with a message of one text part, and so what _plain_compose must match:
#
# * Each header is parsed by its header class and written back from the parse: as
#   "Name: value" when that line fits in max_line_length (78) and is ASCII, folded or
#   encoded otherwise. The text comes back as given for an unstructured value (Subject,
#   X-*) without an encoded word ("=?"), for address lists and msg-ids made of bare
#   addr-specs (no display name, comment or quoting), and for a Date only when it is in
#   format_datetime's own form with the right weekday (the package re-formats the date
#   it parsed, and drops one it cannot parse). An empty value is written "Name:".
# * set_content() first deletes every Content-* header, then adds Content-Type (with a
#   quoted charset) and Content-Transfer-Encoding after the others.
# * A body whose lines (split at CR, LF or CRLF, counted in octets) are all at most 78
#   long goes as 7bit when it is ASCII, as 8bit when it is not and the policy allows
#   8bit (else quoted-printable or base64); either way every line then ends with CRLF,
#   the last one too, and an empty body is one empty line.
#
# Checked with string methods, not regular expressions: compiling three patterns would
# cost more start-up (~0.7 ms) than all of these checks.

_MAX_LINE = 78
"""email.policy.SMTP's max_line_length: a longer header line is folded, a longer body
line makes the body quoted-printable or base64."""

_STRUCTURED = frozenset((
    "bcc", "cc", "content-disposition", "content-transfer-encoding", "content-type",
    "date", "from", "message-id", "mime-version", "orig-date", "reply-to", "resent-bcc",
    "resent-cc", "resent-date", "resent-from", "resent-sender", "resent-to", "sender",
    "subject", "to"))
"""Names with their own header class in the email package (its headerregistry's
``_default_header_map``; the tests check the two agree); every other name is
unstructured."""

_ADDRESS_LISTS = frozenset(("from", "to", "cc", "bcc", "reply-to"))
_ATEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                   "!#$%&'*+-/=?^_`{|}~")
"""RFC 5322 atext."""


def _addr_spec(text: str) -> bool:
    """``dot-atom@dot-atom``: an address written without quotes, comments or brackets."""
    local, at, domain = text.partition("@")
    return bool(at) and all(atom and _ATEXT.issuperset(atom)
                            for atom in (*local.split("."), *domain.split(".")))


def _date_as_written(value: str) -> bool:
    """True when the email package writes this Date back unchanged: it parses it and
    writes format_datetime() of the result, ``Tue, 02 Jan 2024 03:04:05 +0900``, which
    is the same text only in that form, for a real date and time with the right weekday
    and a zone under 24 hours."""
    if (len(value) != 31 or value[3:5] != ", " or value[7] != " " or value[11] != " "
            or value[16] != " " or value[19] != ":" or value[22] != ":"
            or value[25:27] not in (" +", " -")):
        return False
    numbers = (value[5:7], value[12:16], value[17:19], value[20:22], value[23:25],
               value[27:29], value[29:31])
    if not all(n.isascii() and n.isdigit() for n in numbers):
        return False
    mday, year, hh, mi, ss, zh, zm = map(int, numbers)
    mon = value[8:11]
    if mon not in MONTH_NAMES:
        return False
    month = MONTH_NAMES.index(mon) + 1
    return (1000 <= year and 1 <= mday <= days_in_month(year, month) and hh < 24
            and mi < 60 and ss < 60 and zh < 24 and zm < 60
            and DAY_NAMES[weekday(year, month, mday)] == value[:3])


def _header_as_written(name: str, value: str) -> bool:
    """True when the email package writes ``Name: value`` as one line of these very
    characters (and reads back ``value``)."""
    if len(name) + 2 + len(value) > _MAX_LINE or not name.isascii() or not value.isascii():
        return False
    if not name.isprintable() or " " in name or ":" in name or not name:
        return False
    if not value.isprintable() or not value.strip() or "=?" in value:
        return False
    lower = name.lower()
    if lower not in _STRUCTURED or lower == "subject":
        return True
    if lower in _ADDRESS_LISTS:
        return all(_addr_spec(address) for address in value.split(", "))
    if lower == "date":
        return _date_as_written(value)
    if lower == "message-id":
        return value[:1] == "<" and value[-1:] == ">" and _addr_spec(value[1:-1])
    if lower == "mime-version":
        return value == "1.0"
    return False  # Content-*, Sender, Resent-*, Orig-Date: left to the email package


def _plain_body(body: str, eight_bit_ok: bool) -> tuple[bytes, str, str] | None:
    """(the body's octets, charset, transfer encoding) as the email package writes a
    7bit or 8bit body; None when it would encode it (or fail)."""
    if body.isascii():
        data, charset, cte = body.encode("ascii"), "us-ascii", "7bit"
    elif eight_bit_ok:
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: the email package's error
            return None
        charset, cte = "utf-8", "8bit"
    else:
        return None
    lines = data.splitlines()  # bytes: CR, LF and CRLF only, as the package splits
    if any(len(line) > _MAX_LINE for line in lines):
        return None
    return b"\r\n".join(lines) + _CRLF, charset, cte


def _plain_compose(spec: MessageSpec, *, eight_bit_ok: bool,
                   utf8_headers: bool = False) -> Composed | None:
    """:func:`compose` without the email package for a plain message (see the module
    docstring), the very same result; None for any other message."""
    if spec.attachments:
        return None
    headers = _top_headers(spec)
    names = [name.lower() for name, _ in spec.headers]
    if len(set(names)) != len(names) or any(n.startswith("content-") for n in names):
        return None  # a repeated header (maybe refused), or one set_content() deletes
    if not all(_header_as_written(name, value) for name, value in headers):
        return None
    body = _plain_body(spec.body, eight_bit_ok)
    if body is None:
        return None
    data, charset, cte = body
    headers += [("Content-Type", f'text/plain; charset="{charset}"'),
                ("Content-Transfer-Encoding", cte)]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    whole = head.encode("ascii") + _CRLF + data
    return Composed((whole,), len(whole), _has_8bit(whole), utf8_headers, tuple(headers))


def _crlf(data: bytes) -> bytes:
    """Every line end as CRLF (the email package writes the policy's, but a body given
    with bare LF keeps it in an 8bit part)."""
    if b"\n" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _has_8bit(data: bytes) -> bool:
    return not data.isascii()

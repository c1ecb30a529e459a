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
"""

from __future__ import annotations

import binascii
import email.policy
from email.message import EmailMessage, MIMEPart

from smtptui.core.frozen import frozen

__all__ = [
    "Attachment",
    "AttachmentBody",
    "Base64Lines",
    "Composed",
    "MessageSpec",
    "base64_size",
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


def header_problem(name: str, value: str) -> str | None:
    """Why ``Name: value`` cannot be a header (None when it can): RFC 5322 §2.2 field
    names are printable ASCII without colon; CR or LF would inject more headers."""
    if not name or any(not 33 <= ord(c) <= 126 or c == ":" for c in name):
        return f"{name!r} is not a header name (printable ASCII, no colon or space)"
    if "\r" in value or "\n" in value:
        return f"the value of {name} cannot contain CR or LF"
    return None


def _policy(eight_bit_ok: bool, utf8_headers: bool) -> email.policy.EmailPolicy:
    # cte_type='7bit' makes the email package encode an 8-bit text body (the shorter
    # of quoted-printable and base64); '8bit' lets it go as it is.
    base = email.policy.SMTPUTF8 if utf8_headers else email.policy.SMTP
    return base.clone(cte_type="8bit" if eight_bit_ok else "7bit")


_DEFAULTS = ("From", "To", "Subject", "Date", "Message-ID")


def _headers(spec: MessageSpec, msg: EmailMessage) -> None:
    given = {name.lower() for name, _ in spec.headers}
    defaults = {"From": spec.sender, "To": ", ".join(spec.recipients),
                "Subject": spec.subject, "Date": spec.date, "Message-ID": spec.message_id}
    for name in _DEFAULTS:
        if name.lower() not in given:
            msg[name] = defaults[name]
    for name, value in spec.headers:
        msg[name] = value
    if "mime-version" not in given:
        msg["MIME-Version"] = "1.0"


def _header_bytes(msg: MIMEPart, policy: email.policy.EmailPolicy) -> bytes:
    return b"".join(policy.fold_binary(name, value) for name, value in msg.raw_items())


def compose(spec: MessageSpec, *, eight_bit_ok: bool, utf8_headers: bool = False) -> Composed:
    """The message for a server that does (``eight_bit_ok``) or does not accept 8-bit
    bodies; ``utf8_headers`` (SMTPUTF8, RFC 6531) writes non-ASCII headers as UTF-8
    instead of RFC 2047 encoded words."""
    policy = _policy(eight_bit_ok, utf8_headers)
    top = EmailMessage(policy=policy)
    _headers(spec, top)
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


def _crlf(data: bytes) -> bytes:
    """Every line end as CRLF (the email package writes the policy's, but a body given
    with bare LF keeps it in an 8bit part)."""
    if b"\n" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _has_8bit(data: bytes) -> bool:
    return not data.isascii()

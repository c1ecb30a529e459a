"""The message composer's text helpers: a header template from the envelope, what to
warn about before sending (8-bit octets without 8BITMIME, lines dot-stuffing will
change), and a 7-bit encoding of a message (RFC 2045 base64, RFC 2047 headers).

Pure functions over strings (no Textual), so they are tested on their own.
"""

from __future__ import annotations

import base64
import email.utils
from dataclasses import dataclass
from email.header import Header
from typing import Any

__all__ = ["MessageCheck", "check_message", "encode_7bit", "template", "to_wire_text"]


def template(mail_from: str, recipients: list[str], domain: str, *,
             now: float | None = None) -> str:
    """Headers prefilled from MAIL and RCPT (RFC 5322 §3.6): From, To, Subject, Date,
    Message-ID; then the empty line that starts the body. ``now`` fixes the clock (the
    Date and a Message-ID derived from it: reproducible screenshots)."""
    to = ", ".join(f"<{r}>" for r in recipients) or "<>"
    sender = f"<{mail_from}>" if mail_from else "<>"
    domain = (domain or "localhost").strip("[]") or "localhost"
    if now is None:
        date = email.utils.formatdate(localtime=True)
        msgid = email.utils.make_msgid(domain=domain)
    else:
        date = email.utils.formatdate(now)
        msgid = f"<{int(now)}.smtptui@{domain}>"
    return f"From: {sender}\nTo: {to}\nSubject: \nDate: {date}\nMessage-ID: {msgid}\n\n"


def to_wire_text(text: str) -> str:
    """The editor's text with CRLF line ends (what SMTP carries, RFC 5321 §2.3.8)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


@dataclass(frozen=True, slots=True)
class MessageCheck:
    """What the composer tells the user about a message before it goes."""

    eight_bit: bool
    stuffed_lines: int       # lines starting with "." (sent as "..")
    warning: str             # "" when there is nothing to warn about


def check_message(text: str, capabilities: Any, mail_line: str) -> MessageCheck:
    """8-bit octets need 8BITMIME advertised and BODY=8BITMIME on MAIL (RFC 6152 §3),
    or SMTPUTF8 (RFC 6531); otherwise offer a 7-bit encoding."""
    eight_bit = not text.isascii()
    stuffed = sum(1 for line in text.split("\n") if line.startswith("."))
    warning = ""
    if eight_bit:
        upper = mail_line.upper()
        declared = "BODY=8BITMIME" in upper or "SMTPUTF8" in upper
        advertised = capabilities is not None and getattr(capabilities, "eight_bit_mime",
                                                          False)
        if not advertised:
            warning = ("8-bit text, but the server did not advertise 8BITMIME: it may "
                       "reject or mangle it. F8 encodes the message as 7-bit (base64, "
                       "RFC 2045).")
        elif not declared:
            warning = ("8-bit text, but MAIL did not say BODY=8BITMIME (RFC 6152 §3). "
                       "F8 encodes it as 7-bit; or send it as it is (most servers accept "
                       "it) and add BODY=8BITMIME to MAIL next time.")
    return MessageCheck(eight_bit, stuffed, warning)


def encode_7bit(text: str) -> str:
    """The message with its body in base64 (charset UTF-8) and non-ASCII header values
    as RFC 2047 encoded words: 7-bit clean, the same message for the reader."""
    normalized = text.replace("\r\n", "\n")
    head, sep, body = normalized.partition("\n\n")
    if not sep:
        head, body = normalized, ""
    headers: list[str] = []
    for line in head.split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        lower = name.strip().lower()
        if lower in ("mime-version", "content-type", "content-transfer-encoding"):
            continue
        if colon and not value.isascii():
            value = " " + Header(value.strip(), "utf-8").encode()
        headers.append(f"{name}{colon}{value}" if colon else line)
    headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: base64"]
    encoded = base64.encodebytes(body.encode("utf-8")).decode("ascii")
    return "\n".join(headers) + "\n\n" + encoded

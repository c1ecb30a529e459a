"""SASL responses for SMTP AUTH (RFC 4954), computed for the user.

Typing base64 by hand is error-prone and teaches nothing; computing it here lets a
front end show *what* goes on the wire (and mask it). Pure functions, standard library
only. Every response line returned here is a secret: front ends send it with
``secret=True`` so transcripts never hold it.
"""

from __future__ import annotations

import binascii

__all__ = [
    "MECHANISMS",
    "SASLError",
    "choose_mechanism",
    "cram_md5_response",
    "decode_challenge",
    "login_response",
    "plain_initial_response",
    "xoauth2_initial_response",
]

MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")
"""The mechanisms smtptui computes responses for (the secret never leaves the client
in the clear with CRAM-MD5; PLAIN and LOGIN need TLS to be safe; XOAUTH2 sends an
OAuth 2.0 bearer token, not a password)."""

PREFERENCE = ("CRAM-MD5", "PLAIN", "LOGIN")
"""Chosen in this order among those advertised when the user names none: CRAM-MD5
keeps the password off the wire; PLAIN is one round trip; LOGIN is the legacy one.
XOAUTH2 only when asked for: its secret is a token, not the password."""


class SASLError(ValueError):
    """A challenge that cannot be decoded, or credentials that cannot be encoded."""


def _b64(data: bytes) -> str:
    import base64  # here: the transcript asks is_secret_line of every line, base64 is rarer

    return base64.b64encode(data).decode("ascii")


def _utf8(text: str, what: str) -> bytes:
    if "\0" in text:
        raise SASLError(f"the {what} cannot contain a NUL character")
    return text.encode("utf-8")


def plain_initial_response(user: str, password: str, authzid: str = "") -> str:
    """``base64(authzid NUL user NUL password)`` (RFC 4616 §2)."""
    return _b64(_utf8(authzid, "authorization identity") + b"\0" + _utf8(user, "user name")
                + b"\0" + _utf8(password, "password"))


def xoauth2_initial_response(user: str, token: str) -> str:
    """``base64("user=" user ^A "auth=Bearer " token ^A ^A)`` (Google's XOAUTH2, the
    OAuth 2.0 SASL profile later standardised as OAUTHBEARER, RFC 7628)."""
    for what, value in (("user name", user), ("token", token)):
        if "\x01" in value:
            raise SASLError(f"the {what} cannot contain a ^A (0x01) character")
    return _b64(b"user=" + _utf8(user, "user name") + b"\x01auth=Bearer "
                + _utf8(token, "token") + b"\x01\x01")


def choose_mechanism(advertised: tuple[str, ...], requested: str | None) -> str:
    """The mechanism to use: ``requested`` (any the server advertised, or one we
    compute even when not advertised: the user asked), else the first of PREFERENCE
    the server advertised. SASLError, one line, when there is none."""
    offered = [m.upper() for m in advertised]
    if requested:
        mech = requested.upper()
        if mech not in MECHANISMS:
            raise SASLError(f"AUTH {mech}: smtptui computes {', '.join(MECHANISMS)} only")
        return mech
    for mech in PREFERENCE:
        if mech in offered:
            return mech
    if not offered:
        raise SASLError("the server does not advertise AUTH (after STARTTLS, many servers "
                        "only offer it over TLS)")
    raise SASLError(f"no mechanism in common: the server offers {' '.join(offered)}; "
                    f"smtptui computes {', '.join(MECHANISMS)}")


def decode_challenge(text: str) -> bytes:
    """The bytes of a 334 challenge (its text is base64, RFC 4954 §4)."""
    import base64

    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SASLError(f"the server's challenge is not base64: {text[:40]!r}") from None


def login_response(challenge: str, user: str, password: str) -> tuple[str, str]:
    """(what the challenge asks for, the base64 answer) for the LOGIN mechanism, whose
    334 challenges are base64 ``Username:`` and ``Password:`` (not standardised:
    draft-murchison-sasl-login). An unrecognised prompt is answered in order by the
    caller; here it counts as the password prompt only when it says "pass"."""
    try:
        shown = decode_challenge(challenge).decode("utf-8", "replace")
    except SASLError:
        shown = challenge
    asks = "password" if "pass" in shown.lower() else "user"
    value = password if asks == "password" else user
    return asks, _b64(_utf8(value, asks))


def cram_md5_response(challenge: str, user: str, password: str) -> str:
    """``base64(user SP hex(HMAC-MD5(password, challenge)))`` (RFC 2195 §2)."""
    import hashlib  # here: every client asks is_secret_line, few ever compute CRAM-MD5
    import hmac

    raw = decode_challenge(challenge)
    digest = hmac.new(_utf8(password, "password"), raw, hashlib.md5).hexdigest()
    return _b64(_utf8(user, "user name") + b" " + digest.encode("ascii"))


def is_secret_line(line: str, in_auth: bool) -> bool:
    """Whether a client line carries a secret and must be masked everywhere: an AUTH
    command with an initial response, or any line inside an AUTH exchange (after a 334)
    except ``*``, which cancels it (RFC 4954 §4). The one place that decides."""
    words = line.split()
    if words and words[0].upper() == "AUTH" and not in_auth:
        return len(words) > 2
    if line.strip() == "*":
        return False
    return in_auth

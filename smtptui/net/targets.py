"""Where to connect: the TARGET argument shared by every command that talks to a server.

Forms (RFC 3986 bracket notation for IPv6 literals; a mail domain means "its MX hosts")::

    mail.example.org          port 25 (465 with tls=True)
    mail.example.org:587      127.0.0.1:2525    [2001:db8::1]:25    [::1]    ::1
    smtp://host[:port]        plain SMTP, port 25 by default
    smtps://host[:port]       implicit TLS (RFC 8314), port 465 by default
    @example.org  user@example.org  @example.org:2525
                              the mail exchangers of example.org (the caller resolves MX)
    @[192.0.2.1]              an address literal: that host, no MX lookup

Parsing is pure (no DNS); errors are ValueError with a message that names the problem.
"""

from __future__ import annotations

import re

from smtptui.core.frozen import frozen
from smtptui.core.text import dotted_quad

__all__ = ["SMTPS_PORT", "SMTP_PORT", "Target", "check_cafile", "parse_target"]

SMTP_PORT = 25
SMTPS_PORT = 465

# A host name label: letters, digits, hyphen; underscore tolerated (seen in the wild).
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\Z")


@frozen
class Target:
    """A parsed TARGET. Exactly one of ``host`` and ``mail_domain`` is set."""

    host: str | None
    """Host name or IP address (IPv6 without brackets) to connect to."""
    port: int
    implicit_tls: bool
    mail_domain: str | None
    """Set for ``@domain`` / ``user@domain``: connect to that domain's MX hosts."""
    original: str

    @property
    def display(self) -> str:
        """The host (or @domain) and port as a user would write them."""
        if self.mail_domain is not None:
            return f"@{self.mail_domain}:{self.port}"
        return format_host_port(self.host or "", self.port)


def format_host_port(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_target(text: str, *, tls: bool = False) -> Target:
    """Parse a TARGET; ``tls=True`` (the ``--tls`` option) asks for implicit TLS.

    Raises ValueError with a one-line message naming the problem.
    """
    original = text
    text = text.strip()
    if not text:
        raise ValueError("empty target: give a host, host:port, smtp[s]://host or @domain")
    if any(ch.isspace() for ch in text):
        raise ValueError(f"target {original!r} contains white space")

    implicit_tls = tls
    scheme = None
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme == "smtps":
            implicit_tls = True
        elif scheme == "smtp":
            if tls:
                raise ValueError(
                    f"target {original!r}: smtp:// means plain SMTP but implicit TLS was "
                    f"requested; write smtps://... instead"
                )
        else:
            raise ValueError(
                f"target {original!r}: unknown scheme {scheme + '://'!r} "
                f"(use smtp:// or smtps://)"
            )
        text = text.rstrip("/")
        if "/" in text:
            raise ValueError(f"target {original!r}: a path after the host is not allowed")
        if not text:
            raise ValueError(f"target {original!r}: no host after {scheme}://")
    default_port = SMTPS_PORT if implicit_tls else SMTP_PORT

    if "@" in text:
        return _parse_mail_domain(text, original, implicit_tls, default_port)

    host, port = _split_host_port(text, original, default_port)
    return Target(host, port, implicit_tls, None, original)


def _parse_mail_domain(text: str, original: str, implicit_tls: bool, default_port: int) -> Target:
    """``@domain``, ``user@domain``, ``@domain:PORT``, ``@[address]``."""
    local, _, rest = text.rpartition("@")
    if "@" in local and not local.startswith('"'):
        raise ValueError(f"target {original!r}: more than one '@'")
    if not rest:
        raise ValueError(f"target {original!r}: no domain after '@'")
    if rest.startswith("["):
        # Address literal (RFC 5321 §4.1.3): connect to it directly, no MX lookup.
        inner = rest[1:].partition("]")[0]
        if inner.lower().startswith("ipv6:"):
            rest = "[" + inner[5:] + rest[len(inner) + 1 :]
        host, port = _split_host_port(rest, original, default_port)
        return Target(host, port, implicit_tls, None, original)
    host, port = _split_host_port(rest, original, default_port)
    import ipaddress  # in the functions that need it: not for a plain a.b.c.d target

    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(
            f"target {original!r}: an address after '@' must be written in brackets, "
            f"e.g. @[{host}]"
        )
    return Target(None, port, implicit_tls, host.rstrip(".").lower(), original)


def _split_host_port(text: str, original: str, default_port: int) -> tuple[str, int]:
    if text.startswith("[") or text.count(":") > 1:
        return _address_and_port(text, original, default_port)
    if "]" in text:
        raise ValueError(f"target {original!r}: ']' without a matching '['")
    host, sep, port_text = text.partition(":")
    port = _parse_port(port_text, original) if sep else default_port
    if not host:
        raise ValueError(f"target {original!r}: empty host name")
    _check_host_name(host, original)
    return host, port


def _address_and_port(text: str, original: str, default_port: int) -> tuple[str, int]:
    """``[address]``, ``[address]:port`` or a bare IPv6 address (``text`` starts with
    ``[`` or has more than one colon)."""
    import ipaddress

    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"target {original!r}: '[' without a matching ']'")
        inner, after = text[1:close], text[close + 1 :]
        if "[" in inner or "]" in after or "[" in after:
            raise ValueError(f"target {original!r}: unbalanced brackets")
        if not inner:
            raise ValueError(f"target {original!r}: empty address between brackets")
        try:
            addr = ipaddress.ip_address(inner)
        except ValueError:
            raise ValueError(
                f"target {original!r}: {inner!r} between brackets is not an IP address"
            ) from None
        if after == "":
            return str(addr) if addr.version == 4 else inner, default_port
        if not after.startswith(":"):
            raise ValueError(f"target {original!r}: expected ':PORT' after ']'")
        return inner, _parse_port(after[1:], original)
    if "]" in text:
        raise ValueError(f"target {original!r}: ']' without a matching '['")
    # A bare IPv6 address: no port possible (use [addr]:port).
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(
            f"target {original!r} is not a valid IPv6 address "
            f"(to give a port with an IPv6 address write [address]:port)"
        ) from None
    return text, default_port


def _parse_port(text: str, original: str) -> int:
    if not text:
        raise ValueError(f"target {original!r}: empty port after ':'")
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"target {original!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"target {original!r}: port {port} is out of range (1-65535)")
    return port


def _check_host_name(host: str, original: str) -> None:
    if host.replace(".", "").isdigit():
        if dotted_quad(host):
            return
        import ipaddress

        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"target {original!r}: {host!r} is not a valid IPv4 address") from None
        return
    name = host.removesuffix(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise ValueError(f"target {original!r}: {host!r} is not a valid host name") from None
    if len(ascii_name) > 253:
        raise ValueError(f"target {original!r}: host name longer than 253 characters")
    for label in ascii_name.split("."):
        if not label:
            raise ValueError(f"target {original!r}: host name {host!r} has an empty label")
        if not _LABEL_RE.match(label):
            raise ValueError(
                f"target {original!r}: {label!r} is not a valid host name label "
                f"(letters, digits and '-', at most 63 characters, no '-' at either end)"
            )


def check_cafile(cafile: str | None) -> None:
    """ValueError (a usage error, one line) when ``--cafile`` names a file that cannot
    be opened: said before connecting, not at the TLS step. Whether it holds a
    certificate is the TLS context's to say (:func:`smtptui.net.tls.make_tls_context`)."""
    if cafile is None:
        return
    try:
        with open(cafile, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"--cafile {cafile}: {exc.strerror or exc}") from None

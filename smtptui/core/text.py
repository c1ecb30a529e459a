"""Text that came from a peer, made safe; numbers and IP literals read one way.

One implementation of each, because every copy was where the next bug hid: a fifth
escaping function forgot bidi overrides, a fourth IP test forgot the zone id, and
``str.isdigit()`` accepts ``²`` (so ``int()`` raised on a client's ``SIZE=²``).
Standard library only: the core is sans-I/O.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress

__all__ = ["ascii_int", "dotted_quad", "ip_literal", "is_ascii_digits", "is_ip_literal",
           "printable"]

_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def printable(data: bytes | str, limit: int | None = 80, *, backslash: bool = True,
              keep: str = "") -> str:
    """Peer text made safe for a terminal: nothing in it can move the cursor, change
    colours, reorder text (bidi overrides) or ring the bell.

    Control and format characters become ``\\r \\n \\t \\xNN \\uNNNN \\UNNNNNNNN``; an
    octet that was not UTF-8 (a lone surrogate from ``surrogateescape``) is shown as
    the octet, ``\\xNN``. ``bytes`` are read as UTF-8 (errors replaced). ``backslash``
    doubles backslashes so an escaped ESC and a typed ``\\x1b`` differ; pass False for
    text that was escaped already. ``keep`` lists characters left as they are (a tab
    in an aligned table). ``limit`` caps the result, in characters, ending ``...``.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if (text.isprintable() and (not backslash or "\\" not in text)
            and (limit is None or len(text) <= limit)):
        return text  # the common case, at C speed
    out: list[str] = []
    size = 0
    for ch in text:
        if ch in keep:
            piece = ch
        elif ch == "\\":
            piece = "\\\\" if backslash else ch
        elif ch.isprintable():
            piece = ch
        else:
            piece = _NAMED.get(ch) or _escape(ord(ch))
        if limit is not None and size + len(piece) > limit:
            out.append("...")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def _escape(code: int) -> str:
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the octet that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def is_ascii_digits(text: str) -> bool:
    """True for one or more of 0-9 and nothing else (``str.isdigit`` also takes ``²``
    and ``٣``, which ``int()`` then refuses or reads as a number no RFC means)."""
    return bool(text) and text.isascii() and text.isdigit()


def ascii_int(text: str) -> int | None:
    """``text`` as a number when it is ASCII digits only (no sign, space or ``_``)."""
    return int(text) if is_ascii_digits(text) else None


def dotted_quad(text: str) -> bool:
    """Whether ``text`` is an IPv4 address as ``ipaddress.IPv4Address`` takes a string:
    four decimal octets of at most three ASCII digits, none above 255, no leading zero
    (``010`` could be octal). The common literal, checked without importing
    ``ipaddress`` (a millisecond of start-up); anything else goes to ``ipaddress``."""
    parts = text.split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()):
            return False
        if (part[0] == "0" and part != "0") or int(part) > 255:
            return False
    return True


def is_ip_literal(text: str) -> bool:
    """Whether ``text`` is an IP literal in any form :func:`ip_literal` takes (the one
    test: where to connect, whether to resolve, whether a PTR is wanted); the common
    ``a.b.c.d`` without importing ``ipaddress``."""
    return dotted_quad(text) or ip_literal(text) is not None


def ip_literal(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``text``, or None when it is not an IP literal.

    Accepts what SMTP and the command line write: ``192.0.2.1``, ``2001:db8::1``,
    brackets (``[192.0.2.1]``), RFC 5321's tag (``[IPv6:2001:db8::1]``) and a zone id
    (``fe80::1%eth0``, dropped). An IPv4-mapped IPv6 address is the IPv4 address.
    """
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
        if t[:5].lower() == "ipv6:":
            t = t[5:]
            if "." in t and ":" not in t:
                return None  # [IPv6:1.2.3.4] is not IPv6
    t = t.split("%", 1)[0]
    if not t.isascii():
        return None
    import ipaddress  # here, not at the top: `smtptui check` never needs it

    try:
        ip = ipaddress.ip_address(t)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip

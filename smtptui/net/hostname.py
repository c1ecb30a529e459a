"""This host's name, as a client introduces itself with EHLO or HELO by default."""

from __future__ import annotations

import functools
import socket

__all__ = ["local_fqdn"]


@functools.cache
def local_fqdn() -> str:
    """This host's fully qualified name as ``socket.getfqdn()`` finds it: the first of
    the resolver's name and aliases for it that has a dot, else that name (RFC 5321
    §4.1.1.1: a client sends its FQDN). Looked up once per process.

    ``getfqdn`` hands the name to ``gethostbyaddr`` as text, which loads the idna
    codec even for an ASCII name (a millisecond of every ``send`` and ``probe``);
    an ASCII name goes as bytes here, with the same answer."""
    name = socket.gethostname()
    try:
        hostname, aliases, _ = socket.gethostbyaddr(name.encode("ascii") if name.isascii()
                                                    else name)
    except (OSError, UnicodeError):
        return name
    return next((alias for alias in (hostname, *aliases) if "." in alias), hostname)

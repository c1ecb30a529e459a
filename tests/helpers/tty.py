"""Reading what a child process wrote to a pseudo-terminal (colour-on-a-tty tests)."""

from __future__ import annotations

import os
import select


def read_until_closed(fd: int, timeout: float = 30.0) -> bytes:
    """Everything readable from the pty master ``fd`` until the child closes its side
    (EIO or EOF), or ``timeout`` seconds pass with nothing written: never hangs."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            break
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)

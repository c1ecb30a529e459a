"""Where delivered mail lands: standard Maildirs, terminal logs and the DATA spool.

Layout under the maildir root (any mail reader opens the Maildirs)::

    ROOT/<host>/<mailbox>/{tmp,new,cur}   one Maildir per mailbox of each world host
    ROOT/<host>/terminals/<user>.log      what SEND/SOML/SAML "wrote on the terminal"
    ROOT/_undeliverable/{tmp,new,cur}     mail the world could not place (never sent out)
    ROOT/.spool/                          message bodies while DATA is being received

A message is written once per destination host and hard-linked into each recipient's
Maildir (RFC 821 §4.5.1: one copy per host), so 100 recipients cost one file.
"""

from __future__ import annotations

import itertools
import mailbox
import os
import re
import socket
import time
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9._+=-]")
_counter = itertools.count()


def safe_name(name: str) -> str:
    """A file-system name for a host or mailbox (no separators, no dot-files)."""
    cleaned = _SAFE.sub("_", name) or "_"
    return "_" + cleaned if cleaned.startswith(".") else cleaned


def unique_name() -> str:
    """Maildir unique name: time.pid_counter.host (cr.yp.to/proto/maildir.html)."""
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_counter)}.{host}"


class Store:
    """The maildir root. Cheap to construct; directories are made on first use."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.spool_dir = self.root / ".spool"

    def maildir(self, host: str, box: str) -> Path:
        path = self.root / safe_name(host.lower()) / safe_name(box)
        if not (path / "new").is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(path, create=True)
        return path

    def undeliverable(self) -> Path:
        path = self.root / "_undeliverable"
        if not (path / "new").is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(path, create=True)
        return path

    def terminal_log(self, host: str, user: str) -> Path:
        d = self.root / safe_name(host.lower()) / "terminals"
        d.mkdir(parents=True, exist_ok=True)
        return d / f"{safe_name(user)}.log"

    def new_spool_file(self, qid: str) -> Path:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        return self.spool_dir / f"{qid}.{unique_name()}"

    def link_into(self, spool_file: Path, maildir: Path) -> Path:
        """Deliver ``spool_file`` into ``maildir``/new (atomic: link, never a partial file)."""
        target = maildir / "new" / unique_name()
        try:
            os.link(spool_file, target)
        except OSError:  # file systems without hard links: copy via tmp, then rename
            tmp = maildir / "tmp" / target.name
            copy_range(spool_file, tmp, 0)
            os.replace(tmp, target)
        return target


def copy_range(src: Path, dst: Path, offset: int, prefix: bytes = b"") -> None:
    """Write ``prefix`` then ``src`` from ``offset`` to the end into ``dst``, in the kernel
    where possible (copy_file_range), never reading the whole file into memory."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(prefix)
        fout.flush()
        size = os.fstat(fin.fileno()).st_size
        remaining = size - offset
        pos = offset
        try:
            while remaining > 0:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), remaining, pos)
                if n == 0:
                    break
                pos += n
                remaining -= n
        except (AttributeError, OSError):
            fin.seek(pos)
            while chunk := fin.read(1 << 20):
                fout.write(chunk)

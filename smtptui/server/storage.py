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


class StorageError(Exception):
    """Mail could not be stored (a --maildir that is a file, a full disk, no permission).
    Not an OSError on purpose: the protocol must never take it for the client's
    connection failing. ``str()`` is one line naming the path and the cause."""


def _failed(what: str, path: Path, exc: OSError) -> StorageError:
    return StorageError(f"cannot {what} {path}: {exc.strerror or exc}")


def private_dir(path: Path) -> Path:
    """Make ``path`` and any missing parents 0700 (mail and transcripts are private
    whatever the umask). A directory that already exists is left as it is: never
    chmod what smtptui did not make (``--maildir /tmp`` must not change /tmp)."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
    if not path.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))
    return path


def create_private(path: Path, *, append: bool = False) -> int:
    """Open ``path`` for writing as a 0600 file (new unless ``append``): an fd."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_EXCL)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o600)


class Store:
    """The maildir root. Cheap to construct; directories are made on first use, 0700,
    and every file 0600. Failures are :class:`StorageError`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.spool_dir = self.root / ".spool"

    def _dir(self, path: Path) -> Path:
        try:
            return private_dir(path)
        except OSError as exc:
            raise _failed("make the directory", path, exc) from exc

    def _maildir(self, path: Path) -> Path:
        if not (path / "new").is_dir():
            self._dir(path.parent)
            try:
                mailbox.Maildir(path, create=True)  # its own directories are 0700
            except OSError as exc:
                raise _failed("make the Maildir", path, exc) from exc
        return path

    def maildir(self, host: str, box: str) -> Path:
        return self._maildir(self.root / safe_name(host.lower()) / safe_name(box))

    def undeliverable(self) -> Path:
        return self._maildir(self.root / "_undeliverable")

    def terminal_log(self, host: str, user: str) -> Path:
        d = self._dir(self.root / safe_name(host.lower()) / "terminals")
        return d / f"{safe_name(user)}.log"

    def new_spool_file(self, qid: str) -> Path:
        """A new, empty, 0600 spool file (made now, so a broken store is found before
        the 354 and answered 451, not after the client sent the whole message)."""
        path = self._dir(self.spool_dir) / f"{qid}.{unique_name()}"
        try:
            os.close(create_private(path))
        except OSError as exc:
            raise _failed("create the spool file", path, exc) from exc
        return path

    def link_into(self, spool_file: Path, maildir: Path) -> Path:
        """Deliver ``spool_file`` into ``maildir``/new (atomic: link, never a partial file)."""
        target = maildir / "new" / unique_name()
        try:
            try:
                os.link(spool_file, target)
            except OSError:  # file systems without hard links: copy via tmp, then rename
                tmp = maildir / "tmp" / target.name
                copy_range(spool_file, tmp, 0)
                os.replace(tmp, target)
        except OSError as exc:
            raise _failed("deliver into", maildir, exc) from exc
        return target


def copy_range(src: Path, dst: Path, offset: int, prefix: bytes = b"") -> None:
    """Write ``prefix`` then ``src`` from ``offset`` to the end into ``dst`` (a new 0600
    file), in the kernel where possible (copy_file_range), never reading the whole file
    into memory."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    with open(src, "rb") as fin, open(fd, "wb") as fout:
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

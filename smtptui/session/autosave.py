"""Files a session keeps for the user: the autosaved transcript, command history, and
the log of unexpected errors -- all in the user data directory (platformdirs), files
0600 and directories 0700, because they hold mail addresses and message text.

The transcript is appended as it happens, one entry at a time, flushed each time, in
the ``C:``/``S:`` notation ``smtptui run`` replays (local notes become ``#`` comments),
so a crash, a kill or a power cut loses at most the entry being written. Secrets
(AUTH responses) are masked before they reach the disk (:func:`entry_lines`).
"""

from __future__ import annotations

import os
import re
import stat
import time
import traceback
from collections import deque
from pathlib import Path

from smtptui.core.transcript import Entry, script_lines, secret_tokens

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Autosave", "History", "data_dir", "log_exception", "private_file"]

HISTORY_KEEP = 1000
"""Lines of command history loaded at start (the file keeps growing; only these load)."""
HISTORY_FILE_LIMIT = 1024 * 1024
"""History file size beyond which it is rewritten with only its last HISTORY_KEEP lines."""


def data_dir() -> Path:
    """The user data directory (``$XDG_DATA_HOME/smtptui`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("smtptui", appauthor=False))


def _private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) as directories only the user can enter.

    An existing directory is tightened to 0700 only inside smtptui's own data
    directory: a directory the user named (or /tmp) is theirs, never ours to change."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.resolve().is_relative_to(data_dir().resolve()):
            path.chmod(0o700)
    except OSError:
        pass
    return path


def private_file(path: Path, mode: str = "a") -> int:
    """Open ``path`` for appending (or writing) as a file only the user can read; an
    existing regular file's mode is tightened to 0600 (a device such as /dev/null or a
    FIFO is left alone). Returns the descriptor."""
    _private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
    except OSError:
        pass
    return fd


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Autosave:
    """Appends every entry of one transcript to ``transcripts/<time>-<label>.smtp``."""

    def __init__(self, label: str, directory: Path | None = None) -> None:
        directory = directory if directory is not None else data_dir() / "transcripts"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = _UNSAFE_NAME.sub("_", label).strip("_")[:60] or "session"
        path = directory / f"{stamp}-{name}.smtp"
        n = 1
        while path.exists():
            n += 1
            path = directory / f"{stamp}-{name}-{n}.smtp"
        self.path = path
        self._fd: int | None = private_file(path)
        self.error: str | None = None
        self._tokens: list[str] = []
        started = time.strftime("%Y-%m-%d %H:%M:%S %z")
        self._write([f"# smtptui session with {_one_line(label)}, started {started}",
                     "# replay: smtptui run THIS_FILE TARGET"])

    def add(self, entry: Entry) -> None:
        """Append one entry (a note becomes a ``#`` comment); a secret sent earlier is
        hidden if a later reply repeats it."""
        self._tokens.extend(t for t in secret_tokens(entry) if t not in self._tokens)
        self._write(script_lines(entry, self._tokens))

    def comment(self, text: str) -> None:
        self._write(["# " + _one_line(text)])

    def _write(self, lines: Iterable[str]) -> None:
        if self._fd is None:
            return
        data = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
        try:
            os.write(self._fd, data)  # unbuffered: on disk as soon as the entry happens
        except OSError as exc:
            # A full disk must not end the session; stop saving and say why once.
            self.error = f"autosave to {self.path} stopped: {exc.strerror or exc}"
            self.close()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class History:
    """Command lines typed by the user, oldest first, persisted across sessions
    (``history`` in the data directory). Secrets and message text never go in."""

    def __init__(self, path: Path | None = None, keep: int = HISTORY_KEEP, *,
                 persist: bool = True) -> None:
        self.path: Path | None = None
        if persist:
            self.path = path if path is not None else data_dir() / "history"
        self.keep = keep
        self._lines: deque[str] = deque(maxlen=keep)
        if self.path is None:
            return  # in memory only
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - 256 * keep))
                tail = f.read()
            if size > 256 * keep:
                tail = tail.split(b"\n", 1)[-1]  # drop the partial first line
            for raw in tail.split(b"\n"):
                if raw:
                    self._lines.append(raw.decode("utf-8", "replace"))
            if size > HISTORY_FILE_LIMIT:
                self._rewrite()
        except OSError:
            pass

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)

    def add(self, line: str) -> None:
        if not line.strip() or "\n" in line or "\r" in line:
            return
        if self._lines and self._lines[-1] == line:
            return
        self._lines.append(line)
        if self.path is None:
            return
        try:
            fd = private_file(self.path)
            try:
                os.write(fd, line.encode("utf-8", "surrogateescape") + b"\n")
            finally:
                os.close(fd)
        except OSError:
            pass  # history is a convenience: never fail a session over it

    def _rewrite(self) -> None:
        assert self.path is not None
        fd = private_file(self.path, "w")
        try:
            os.write(fd, "".join(f"{line}\n" for line in self._lines).encode(
                "utf-8", "surrogateescape"))
        finally:
            os.close(fd)


def log_exception(exc: BaseException, where: str, directory: Path | None = None) -> Path | None:
    """Append ``exc`` with its traceback to ``errors.log`` in the data directory, for a
    bug report; the user sees one line naming the file. None if even that failed."""
    path = (directory if directory is not None else data_dir()) / "errors.log"
    try:
        fd = private_file(path)
        try:
            text = (f"--- {time.strftime('%Y-%m-%d %H:%M:%S %z')} {where}\n"
                    + "".join(traceback.format_exception(exc)))
            os.write(fd, text.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
    except OSError:
        return None
    return path

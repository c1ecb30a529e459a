"""Pipe mode: ``printf 'EHLO me\\nQUIT\\n' | smtptui shell HOST`` -- a session from a script.

No prompt, no completion, no prompt_toolkit (not even indirectly: an import-linter
contract and a test check ``sys.modules``). Each input line is sent in order and its
reply awaited; with ``--pipeline`` and an advertised PIPELINING, commands are sent in
the groups RFC 2920 allows -- up to a command that ends a group (EHLO, DATA, QUIT...:
the command table's ``ends_pipeline``; an unknown verb ends one too) -- and the group's
replies awaited together. After a 354 the lines are message text (dot-stuffed on the
wire) until a line with a single ``.``.

stdout is the transcript as a replayable ``.smtp`` script (``C:``/``S:`` lines, local
notes as ``#`` comments, AUTH secrets masked); ``--json`` writes one JSON object per
entry instead. stderr gets the grammar diagnostics of each line (the line is sent
anyway, unless ``--strict``) and one line per failure.

The end of input is not the end of the session: if the script did not say QUIT, the
shell says it, politely, and the session ends normally. Input that cannot be sent --
a line over 64 KiB, a line that fails the grammar under ``--strict``, the input
ending inside a message (sending ``.`` would deliver a truncated message) -- is a
usage error: one line, the connection dropped (no QUIT inside a message), exit 2.

Exit status: 0 when the session ended normally (a reply to QUIT); 1 on a connection
failure, a timeout or a close nobody asked for (a 421 included); 3 when a 5xx reply
arrived and ``--fail-on-5xx`` is set; 2 for a usage error. A failure outranks a 5xx.

One driver, two sessions: to a single host it drives a
:class:`~smtptui.session.OneShotSession` (no event loop: asyncio and its ssl import
cost more than swaks' whole exchange) and is run with
:func:`~smtptui.session.run_blocking`; to the embedded server or an ``@domain`` a
:class:`~smtptui.session.Session` under ``asyncio.run``. The coroutines below never
suspend on the first, so the same code serves both; nothing here imports asyncio
unless the session needs an event loop.
"""

from __future__ import annotations

import os
import stat

from smtptui.core.commands import lookup
from smtptui.core.frozen import frozen
from smtptui.core.state import State
from smtptui.core.transcript import entry_record
from smtptui.session import SessionError, printable, script_lines
from smtptui.session.events import Failed, LineSent, Note, RemoteLine, ReplyReceived
from smtptui.shell.render import diagnostic_line

TYPE_CHECKING = False  # typing is for type checkers only: pipe mode starts fast
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable
    from typing import TextIO

    from smtptui.core.replies import Reply
    from smtptui.session import OneShotSession, Session
    from smtptui.session.events import Event

    AnySession = Session | OneShotSession

__all__ = ["EXIT_5XX", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "InputError", "PipeOptions",
           "StdinLines", "run_pipe"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_5XX = 0, 1, 2, 3
MAX_INPUT_LINE = 64 * 1024
"""The longest input line accepted (octets, without its line end)."""
READ_SIZE = 64 * 1024


class InputError(Exception):
    """Input that cannot be sent (one line for the user; exit 2)."""


@frozen
class PipeOptions:
    pipeline: bool = False
    strict: bool = False
    fail_on_5xx: bool = False
    json: bool = False
    starttls: str = "no"
    """``auto``/``yes``: after the script's first accepted EHLO, upgrade with STARTTLS
    and repeat the EHLO (as ``smtptui run`` does); ``no`` sends only what the script says."""


class StdinLines:
    """Lines of a file descriptor, each at most ``limit`` octets, read without blocking the
    event loop (the session's reader must run while a slow producer thinks) and without
    threads: a pipe, socket or terminal is watched with ``add_reader``; a regular file or
    a device the loop cannot watch never blocks for long, so it is read directly. Memory
    stays bounded by ``limit`` plus one read, whatever the input.

    ``wait`` (no event loop: :meth:`OneShotSession.wait_for_input
    <smtptui.session.OneShotSession.wait_for_input>`) is called before every line with
    None, and with the descriptor before a read that may block: the session takes what
    the server said meanwhile, and watches it while the input is awaited."""

    def __init__(self, fd: int, limit: int = MAX_INPUT_LINE, *,
                 wait: Callable[[int | None], None] | None = None) -> None:
        self.fd = fd
        self.limit = limit
        self.number = 0
        self._buffer = bytearray()
        self._eof = False
        self._wait = wait
        try:
            self._watch = not stat.S_ISREG(os.fstat(fd).st_mode)
        except OSError:
            self._watch = False

    async def readline(self) -> str | None:
        """The next line without its line end (None at the end of input); InputError for
        a line over the limit."""
        if self._wait is not None:
            self._wait(None)
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0 or self._eof or len(self._buffer) > self.limit:
                if end < 0 and not self._buffer:
                    return None
                cut = end if end >= 0 else len(self._buffer)
                if cut > self.limit or (end < 0 and not self._eof):
                    raise InputError(f"line {self.number + 1}: longer than {self.limit} "
                                     "octets: not sent")
                raw = bytes(self._buffer[:cut])
                del self._buffer[:cut + 1]
                self.number += 1
                return raw.removesuffix(b"\r").decode("utf-8", "surrogateescape")
            chunk = await self._read()
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True

    async def _read(self) -> bytes:
        while True:
            if self._watch and self._wait is not None:
                self._wait(self.fd)
            elif self._watch:
                import asyncio

                loop = asyncio.get_running_loop()
                ready: asyncio.Future[None] = loop.create_future()
                try:
                    loop.add_reader(self.fd, _set_once, ready)
                except (OSError, ValueError, NotImplementedError):
                    self._watch = False  # e.g. /dev/null: epoll refuses it; reads never block
                else:
                    try:
                        await ready
                    finally:
                        loop.remove_reader(self.fd)
            try:
                return os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise InputError(f"cannot read the input: {exc.strerror or exc}") from None


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Output:
    """Writes the transcript to stdout and failures to stderr as events arrive, and keeps
    what the exit status depends on."""

    def __init__(self, session: AnySession, out: TextIO, err: TextIO, as_json: bool) -> None:
        self.session = session
        self.out = out
        self.err = err
        self.as_json = as_json
        self.start: float | None = None
        self.failed = False
        self.saw_5xx = False
        self.quit_answered = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, (LineSent, Note, ReplyReceived, RemoteLine)):
            self.entry(event)
            if isinstance(event, ReplyReceived):
                code = event.reply.code
                self.saw_5xx |= code is not None and code // 100 == 5
                self.quit_answered |= event.transition.verb == "QUIT"
            if not isinstance(event, LineSent):
                self.out.flush()
        elif isinstance(event, Failed) and event.step != "autosave":
            self.failed = True
            self.error(f"{self.session.label}: {event}")

    def entry(self, event: LineSent | Note | ReplyReceived | RemoteLine) -> None:
        entry = event.entry
        if self.as_json:
            if self.start is None:
                self.start = entry.timestamp
            import json  # only for --json

            secrets = self.session.transcript.secrets  # hidden wherever they reappear
            self.out.write(json.dumps(entry_record(entry, self.start, secrets),
                                      ensure_ascii=True) + "\n")
        else:
            self.out.write("\n".join(script_lines(entry, self.session.transcript.secrets))
                           + "\n")

    def error(self, text: str) -> None:
        self.out.flush()
        self.err.write(f"smtptui shell: {printable(text, 2000, backslash=False)}\n")
        self.err.flush()


def _ends_group(line: str) -> bool:
    spec = lookup(line.split(" ", 1)[0])
    return spec is None or spec.ends_pipeline


async def run_pipe(session: AnySession, lines: StdinLines, options: PipeOptions,
                   out: TextIO, err: TextIO) -> int:
    """Drive ``session`` from ``lines`` until the input or the session ends; the exit status."""
    output = _Output(session, out, err, options.json)
    unsubscribe = session.subscribe(output)
    try:
        usage = await _drive(session, lines, options, output)
    finally:
        try:  # (not contextlib.suppress: contextlib is a millisecond of every start)
            await session.aclose()
        except Exception:  # noqa: BLE001, S110 - closing after the exit status is known
            pass
        unsubscribe()
        out.flush()
    if usage is not None:
        output.error(usage)
        return EXIT_USAGE
    if output.failed or not output.quit_answered:
        return EXIT_FAILED
    if options.fail_on_5xx and output.saw_5xx:
        return EXIT_5XX
    return EXIT_OK


async def _all(pending: list[Awaitable[Reply | None]]) -> list[Reply | None]:
    """The replies of a group, in order (what ``asyncio.gather`` gives for futures, and
    the reads themselves for a one-shot session's pending replies)."""
    return [await reply for reply in pending]


async def _drive(session: AnySession, lines: StdinLines, options: PipeOptions,
                 output: _Output) -> str | None:
    """Send every line; None, or the usage error that stopped the session."""
    if not await session.connect() or await session.greeting() is None:
        return None
    pending: list[Awaitable[Reply | None]] = []
    upgrade = options.starttls != "no"
    try:
        while True:
            line = await lines.readline()
            if line is None:
                break
            if not session.connected:
                if output.failed:
                    return None  # said already, in one line
                if output.quit_answered:
                    output.error(f"line {lines.number}: not sent: the session ended with "
                                 "QUIT before it")
                else:
                    output.error(f"line {lines.number}: not sent: the connection is closed")
                return None
            if session.state is State.TLS:
                await session.settled()  # check the line against the state after the handshake
                if not session.connected:
                    return None
            in_data = session.snapshot().sending_data
            if not in_data and session.state is not State.TURNED:
                found = session.check(line)
                for d in found:
                    output.error(diagnostic_line(d, where=f"line {lines.number}"))
                if options.strict and any(d.is_error for d in found):
                    raise InputError(f"line {lines.number}: not sent (--strict)")
            caps = session.capabilities
            group = options.pipeline and caps is not None and caps.pipelining
            future = await session.send(line, pipeline=group)
            if future is None:
                continue  # message text (its reply comes after '.'), or the session ended
            pending.append(future)
            if not group or in_data or _ends_group(line):
                replies = await _all(pending)
                pending.clear()
                if upgrade and not in_data and _is_ehlo(line) and _accepted(replies[-1]):
                    upgrade = False
                    if not await _starttls(session, line, options.starttls, output):
                        return None
        await _all(pending)
    except InputError as exc:
        await _drop(session)
        return str(exc)
    except SessionError as exc:
        if not session.connected and output.failed:
            return None  # the connection failed under the line: said already, in one line
        await _drop(session)
        return f"line {lines.number}: {exc}"
    if session.connected:
        if session.snapshot().sending_data:
            await _drop(session)
            return ("the input ended inside a message (no line with a single '.'): the "
                    "message was not sent")
        await session.quit()
    return None


def _is_ehlo(line: str) -> bool:
    return line.split(" ", 1)[0].upper() == "EHLO"


def _accepted(reply: Reply | None) -> bool:
    return reply is not None and reply.code == 250


async def _starttls(session: AnySession, ehlo: str, mode: str, output: _Output) -> bool:
    """``--starttls auto|yes`` after the first EHLO: upgrade, then repeat the EHLO (RFC
    3207 §4.2: what was learnt before TLS is forgotten). False when the session ended."""
    caps = session.capabilities
    if caps is None or "STARTTLS" not in caps.keywords:
        if mode == "yes":
            output.failed = True
            output.error(f"{session.label}: STARTTLS: not advertised (--starttls yes)")
            await session.quit()
            return False
        return True
    reply = await session.starttls()
    if reply is None or reply.code != 220 or session.snapshot().tls is None:
        if mode == "yes" or not session.connected:
            output.failed = True
            if session.connected:
                output.error(f"{session.label}: STARTTLS: refused (--starttls yes)")
                await session.quit()
            return False
        return True
    return await session.command(ehlo) is not None


async def _drop(session: AnySession) -> None:
    """Leave after bad input: QUIT when a command may be sent, else just hang up."""
    if not session.connected:
        return
    if session.snapshot().sending_data or session.state is State.TURNED:
        await session.disconnect("the input cannot be sent")
    else:
        await session.quit()

"""The blocking SMTP client, for one-shot commands: ``socket`` + ``ssl``, no event loop.

Importing asyncio (with the ssl module it pulls in) costs more than swaks' whole EHLO
probe, so the one-shot paths -- ``probe`` of one host, ``send``, the shell's pipe mode
-- use this driver instead. It runs the very same steps as the asyncio
:class:`~smtptui.net.client.SMTPClient` (:class:`~smtptui.net.steps.ClientSteps`: replies,
commands, STARTTLS and its insecure fallback, DATA with salvage) over the same
protocol bookkeeping (:class:`~smtptui.net.connection.ClientConnection`), so deadlines,
TLS verification, address order, secrets and the transcript cannot differ; only the
I/O primitives are its own. ``ssl`` is imported only when TLS is used.

The steps are coroutines that never suspend here: :func:`run_blocking` runs one to its
end without an event loop (and refuses a coroutine that awaits anything asynchronous).
Every deadline is for a whole step, as in the asyncio client: each ``recv`` gets what
is left of the step's deadline as its socket timeout.
"""

from __future__ import annotations

import select
import socket
import time
from collections import deque
from collections.abc import Coroutine, Sequence

from smtptui.core.state import State
from smtptui.core.text import dotted_quad
from smtptui.core.transcript import Direction, Entry
from smtptui.net.connection import (
    READ_SIZE,
    ClientConnection,
    ConnectAttempts,
    DataStats,
    Timeouts,
    candidate_addresses,
    family_of,
    format_seconds,
    os_reason,
    resolve_failure,
    resolved_addresses,
)
from smtptui.net.errors import ConnectError, ServerClosed, StepTimeout, TLSFailure
from smtptui.net.steps import ClientSteps, VerifyFailed
from smtptui.net.targets import format_host_port

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    import ssl
    from typing import Any, TypeVar

    from smtptui.core.transcript import Transcript
    from smtptui.net.tls import TLSInfo

    T = TypeVar("T")

__all__ = ["BlockingSMTPClient", "run_blocking"]


def _getaddrinfo(host: str, port: int, family: int, timeout: float
                 ) -> list[tuple[object, ...]]:
    """``socket.getaddrinfo`` within ``timeout`` seconds (TimeoutError after it). The
    system resolver keeps its own timeouts and retries (resolv.conf), which a blocking
    call cannot be given, so it runs in a daemon thread; one still going at the
    deadline is abandoned and ends with the process. Only names get here: an address
    literal is never resolved, and costs no thread."""
    import threading

    outcome: list[object] = []

    def resolve() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, family=family,
                                              type=socket.SOCK_STREAM,
                                              proto=socket.IPPROTO_TCP))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=resolve, name="smtptui-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise TimeoutError(f"resolving {host} took longer than {timeout} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]  # type: ignore[return-value]


def _ssl_hostname(hostname: str) -> str | bytes:
    """``server_hostname`` for ``wrap_socket``: ssl encodes a str with the idna codec,
    which it imports (a millisecond of a TLS probe), though an address literal has
    nothing to encode; as ASCII bytes ssl takes it unchanged (and, an address, sends no
    SNI and checks the certificate's IP names, as for the str)."""
    if dotted_quad(hostname) or (":" in hostname and hostname.isascii()):
        return hostname.encode("ascii")
    return hostname


DEFAULT_TIMEOUTS = Timeouts()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that drives blocking clients only (it never suspends) to its end,
    without an event loop. RuntimeError if it awaits anything asynchronous after all."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a blocking step awaited something asynchronous")


def _connect_socket(address: str, port: int, timeout: float) -> socket.socket:
    sock = socket.socket(family_of(address), socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does
    except BaseException:
        sock.close()
        raise
    return sock


class BlockingSMTPClient(ClientSteps):
    """One SMTP connection over a blocking socket. Make it with :meth:`connect` (a
    coroutine, like every step: run it with :func:`run_blocking`); always :meth:`close`
    it. The same attributes and steps as :class:`~smtptui.net.client.SMTPClient`,
    the TURN line mode included (the shell's pipe mode may be told to TURN)."""

    def __init__(self, sock: socket.socket, *, host: str, port: int, peer: tuple[str, int],
                 server_hostname: str, ssl_context: ssl.SSLContext | None,
                 timeouts: Timeouts, transcript: Transcript) -> None:
        self.host = host
        self.port = port
        self.peer = peer
        self.server_hostname = server_hostname
        self.ssl_context = ssl_context
        self.timeouts = timeouts
        self.tls: TLSInfo | None = None
        self.last_data: DataStats | None = None
        self._conn = ClientConnection(transcript)
        self._sock: socket.socket | None = sock
        self._out = bytearray()  # written by _write_raw, sent by _drain
        self._rescued = b""      # octets taken after a failed write (see _unread)
        self._line_queue: deque[bytes] = deque()  # after TURN: see _hand_over_to_lines
        self._line_head = b""    # after TURN: received octets not yet a whole line
        self._line_capped = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        server_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        family: int = 0,
        addresses: Sequence[str] | None = None,
        transcript: Transcript | None = None,
    ) -> BlockingSMTPClient:
        """As :meth:`SMTPClient.connect <smtptui.net.client.SMTPClient.connect>`: each
        address in turn, each with the connect deadline; the greeting is left for
        :meth:`read_greeting`. A host name is resolved by the system resolver within
        the connect deadline (:func:`_getaddrinfo`)."""
        if transcript is None:
            from smtptui.core.transcript import Transcript

            transcript = Transcript()
        hostname = server_hostname or host.split("%", 1)[0]
        candidates = candidate_addresses(host, family, addresses)
        if candidates is None:
            try:
                infos = _getaddrinfo(host, port, family, timeouts.connect)
            except (OSError, UnicodeError) as exc:
                raise resolve_failure(host, exc, timeouts.connect) from None
            candidates = resolved_addresses(host, infos)
        attempts = ConnectAttempts(transcript, timeouts.connect)
        for address in candidates:
            where = format_host_port(address, port)
            try:
                sock = _connect_socket(address, port, timeouts.connect)
            except TimeoutError:
                attempts.timed_out(where)
            except OSError as exc:
                attempts.failed(where, os_reason(exc))
            else:
                peer = sock.getpeername()
                client = cls(sock, host=host, port=port, peer=(str(peer[0]), int(peer[1])),
                             server_hostname=hostname, ssl_context=ssl_context,
                             timeouts=timeouts, transcript=transcript)
                await client._opened(where, implicit_tls, hostname)
                return client
        raise attempts.error()

    @property
    def closed(self) -> bool:
        return self._sock is None

    # -- reading ----------------------------------------------------------------------

    async def _fill(self, step: str, timeout: float) -> None:
        conn = self._conn
        deadline = time.monotonic() + timeout
        while not conn.replies:
            sock = self._sock
            if conn.eof or sock is None:
                raise ServerClosed(step, "the connection is closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise conn.reply_timeout(step, timeout)
            sock.settimeout(left)
            try:
                data = sock.recv(READ_SIZE)
            except TimeoutError:
                raise conn.reply_timeout(step, timeout) from None
            except OSError as exc:  # ssl.SSLError included
                raise conn.read_failed(step, exc) from None
            if data:
                conn.received(data)
            else:
                conn.peer_closed(step)

    def fileno(self) -> int:
        """The socket's descriptor (-1 once closed): for a caller that waits on it together
        with its own input (the shell's pipe mode watches stdin and the server at once)."""
        sock = self._sock
        return sock.fileno() if sock is not None else -1

    async def take_available(self, step: str) -> bool:
        """Take what the peer has sent, without waiting: True when the next
        :meth:`read_reply` (after TURN: :meth:`read_line`) will not wait -- a reply (a
        line) is complete, or the peer hung up. The server speaking unprompted (a 421
        before it closes) is found this way between two commands."""
        conn = self._conn
        turned = conn.tracker.state is State.TURNED
        if conn.replies or (turned and (self._line_queue or b"\n" in self._line_head)):
            return True
        if conn.eof or self._sock is None:
            return True
        taken, eof = self._take_unread()
        if turned:
            self._line_head += taken
            return eof or b"\n" in self._line_head
        if taken:
            conn.received(taken)
        return eof or bool(conn.replies)

    async def read_line(self, step: str, timeout: float | None = None, *,
                        max_length: int = READ_SIZE, record: bool = True) -> str:
        """As :meth:`SMTPClient.read_line <smtptui.net.client.SMTPClient.read_line>`: the
        remote's next line after TURN, read raw within ``timeout`` for the whole line."""
        conn = self._conn
        if conn.replies or conn.parser.has_partial:
            self._hand_over_to_lines()
        max_length = min(max_length, READ_SIZE)
        if self._line_queue:
            raw = self._line_queue.popleft()  # already in the transcript (as a reply)
            if len(raw) > max_length:
                self._line_too_long(step, max_length)
            return raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if self._line_capped:
            self._line_too_long(step, max_length)
        if timeout is None:
            timeout = self.timeouts.reply
        deadline = time.monotonic() + timeout
        while (end := self._line_head.find(b"\n")) < 0:
            if len(self._line_head) > max_length:
                self._line_too_long(step, max_length)
            sock = self._sock
            if conn.eof or sock is None:
                raise ServerClosed(step, "the connection is closed")
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                data = sock.recv(READ_SIZE)
            except TimeoutError:
                reason = f"timed out after {format_seconds(timeout)} s waiting for the remote"
                self._note(f"{step}: {reason}")
                raise StepTimeout(step, reason) from None
            except OSError as exc:  # ssl.SSLError included
                conn.eof = True
                if type(exc).__name__.startswith("SSL"):
                    raise ServerClosed(step, f"TLS error: {getattr(exc, 'reason', None) or exc}"
                                       ) from None
                raise ServerClosed(step, os_reason(exc)) from None
            if not data:
                conn.eof = True
                reason = "the remote closed the connection" + (
                    " mid-line" if self._line_head else "")
                self._note(f"{step}: {reason}")
                raise ServerClosed(step, reason)
            self._line_head += data
        raw, self._line_head = self._line_head[:end + 1], self._line_head[end + 1:]
        if len(raw) > max_length:
            self._line_too_long(step, max_length)
        text = raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if record:
            conn.transcript.append(Entry(Direction.SERVER, time.monotonic(), raw, text))
        return text

    async def wait_for_hangup(self, timeout: float) -> bool:
        """Discard what the peer still sends until it closes, for at most ``timeout``
        seconds; True when it closed (after a 221)."""
        sock = self._sock
        if self._conn.eof or sock is None:
            return True
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                sock.settimeout(left)
                if not sock.recv(READ_SIZE):
                    break
        except OSError:  # TimeoutError, ssl.SSLError included
            return False
        self._conn.eof = True
        return True

    def _buffered(self) -> bool:
        """Octets the peer sent that nobody read (in the TLS layer or the kernel); the
        peer's end of stream is not an octet."""
        sock = self._sock
        if sock is None:
            return False
        pending = getattr(sock, "pending", None)
        if pending is not None:
            return bool(pending())
        sock.settimeout(0)
        try:
            return bool(sock.recv(1, socket.MSG_PEEK))
        except OSError:  # nothing there (BlockingIOError), or the connection is broken
            return False

    def _unread(self) -> bytes:
        data = self._rescued + self._take_unread()[0]
        self._rescued = b""
        return data

    def _take_unread(self) -> tuple[bytes, bool]:
        """What can be read now without waiting (bounded), and whether the peer's end
        of stream was seen: after a write failed, or to see if the peer answered
        mid-message. (Readable is not enough: over TLS it may be a session ticket.)"""
        sock = self._sock
        taken = b""
        while sock is not None and len(taken) < READ_SIZE and (
                getattr(sock, "pending", int)() or _readable(sock)):
            sock.settimeout(0)
            try:
                data = sock.recv(READ_SIZE - len(taken))
            except OSError:  # nothing more (or only TLS records), ECONNRESET, ...
                break
            if not data:
                return taken, True
            taken += data
        return taken, False

    # -- writing ----------------------------------------------------------------------

    def _write_raw(self, data: bytes, step: str) -> None:
        if self._sock is None:
            raise ServerClosed(step, "the connection is closed")
        self._out += data

    async def _drain(self, step: str, timeout: float) -> None:
        sock = self._sock
        if sock is None:
            raise ServerClosed(step, "the connection is closed")
        if not self._out:
            return
        data, self._out = bytes(self._out), bytearray()
        sock.settimeout(timeout)  # sendall: a deadline for all of it (Python >= 3.5)
        try:
            sock.sendall(data)
        except TimeoutError:
            raise self._conn.write_timeout(step, timeout) from None
        except OSError as exc:  # ssl.SSLError included
            self._rescued += self._take_unread()[0]  # the server may have said why
            raise self._conn.write_failed(step, exc) from None

    async def _answered_early(self) -> bool:
        taken, eof = self._take_unread()
        self._rescued += taken
        return bool(taken) or eof

    # -- TLS --------------------------------------------------------------------------

    def _ssl_object(self) -> Any:
        sock = self._sock
        return sock if sock is not None and hasattr(sock, "cipher") else None

    async def _handshake(self, step: str, ctx: ssl.SSLContext, hostname: str) -> None:
        import ssl

        from smtptui.net.tls import handshake_failure, verify_reason

        sock = self._sock
        if sock is None:
            raise ServerClosed(step, "the connection is closed")
        timeout = self.timeouts.connect
        sock.settimeout(timeout)
        try:
            wrapped = ctx.wrap_socket(sock, server_hostname=_ssl_hostname(hostname),
                                      do_handshake_on_connect=False)
            self._sock = wrapped
            wrapped.do_handshake()
        except ssl.SSLCertVerificationError as exc:
            self._abort("connection closed")
            raise VerifyFailed(verify_reason(exc)) from None
        except TimeoutError:
            reason = f"TLS handshake timed out after {format_seconds(timeout)} s"
            self._note(f"{step}: {reason}")
            self._abort("connection closed")
            raise StepTimeout(step, reason) from None
        except (OSError, EOFError) as exc:  # ssl.SSLError included
            note, reason = handshake_failure(step, exc)
            self._note(f"{step}: {note}")
            self._abort("connection closed")
            raise TLSFailure(step, reason) from None

    async def _reopen(self, step: str) -> None:
        address, port = self.peer
        where = format_host_port(address, port)
        try:
            sock = _connect_socket(address, port, self.timeouts.connect)
        except TimeoutError:
            raise StepTimeout(step, f"reconnect timed out after "
                                    f"{format_seconds(self.timeouts.connect)} s ({where})"
                              ) from None
        except OSError as exc:
            raise ConnectError(step, f"reconnect failed: {os_reason(exc)} ({where})") from None
        self._sock = sock
        self._out = bytearray()
        self._note(f"connected to {where}")

    # -- closing ----------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection (idempotent, never raises)."""
        sock = self._detach()
        if sock is None:
            return
        if self._out:  # what a step queued but did not send (nothing, normally)
            try:
                sock.settimeout(1.0)
                sock.sendall(bytes(self._out))
            except OSError:
                pass
            self._out = bytearray()
        sock.close()
        self._note("connection closed")

    def _abort(self, why: str) -> None:
        sock = self._detach()
        if sock is None:
            return
        self._out = bytearray()
        sock.close()
        self._note(why)

    def _detach(self) -> socket.socket | None:
        sock = self._sock
        if sock is not None:
            self._sock = None
            self._conn.eof = True
        return sock


def _readable(sock: socket.socket) -> bool:
    """The kernel holds octets (or the peer's end of stream) for ``sock``: no waiting."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    except (OSError, ValueError):
        return False

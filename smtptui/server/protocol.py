"""The teaching server's SMTP protocol: aiosmtpd's SMTP class, extended to RFC 821.

aiosmtpd gives the connection handling, the command loop, STARTTLS and AUTH
(PLAIN/LOGIN with an authenticator). This subclass adds what a 1982 server did and
aiosmtpd does not (SEND, SOML, SAML, TURN, EXPN, source routes, 251/551 forwarding),
words every reply as the persona would, answers from the world, and streams DATA to
a spool file instead of buffering the message in memory.

This class is the aiosmtpd glue and the dispatch; the decisions live beside their
RFC sections: ``delivery.rcpt_decision`` (RCPT), ``lookups`` (VRFY, EXPN, HELP),
``reception`` (what DATA stores), ``turn`` (TURN's sender role), and the persona's
data and policy methods (``personas``).
"""

from __future__ import annotations

import asyncio
import collections
import errno
import ipaddress
import secrets
from functools import partial
from pathlib import Path as FsPath
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, TLSSetupException

from smtptui.core.data import DotUnstuffer
from smtptui.core.extensions import PARAMETERS
from smtptui.core.grammar import check
from smtptui.core.text import ascii_int
from smtptui.server import delivery, lookups, reception
from smtptui.server.delivery import Kind
from smtptui.server.paths import Path, parse_path, split_path_and_params
from smtptui.server.personas import (
    ENHANCED,
    RFC821_VERBS,
    clear_8th_bit,
    stand_in_pid,
    syntax_reason,
)
from smtptui.server.shared import CHUNK, ServerApp, describe
from smtptui.server.storage import StorageError
from smtptui.server.turn import TurnSender

COMMAND_LIMIT = 510  # octets before the CRLF: 512 with it (RFC 821 §4.5.3, RFC 5321 §4.5.3.1.4)
PARAMS_EXTRA = 512   # room for ESMTP parameters on MAIL/RCPT (RFC 1869 §4.1.2)
# A message over the size limit is read to its end and discarded (RFC 5321 §4.5.3.1.10
# wants the 552 after the data), but only for so long: a client still sending this much
# past the limit gets its 552 now and the connection is closed.
DISCARD_ALLOWANCE = 16 << 20  # octets past the limit (or the limit itself, if larger)
MAX_BAD_COMMANDS = 50  # a learner mistypes; a flood of garbage is cut off
# Wrong AUTH passwords: the first few are answered at once, then each answer waits
# longer (per client address, so reconnecting does not reset it); the tenth failure in
# a session ends it with 421 (Postfix's smtpd_hard_error_limit and anvil do the same).
AUTH_FREE_FAILURES = 3
AUTH_DELAY = 1.0      # seconds, times the failures past the free ones
AUTH_MAX_DELAY = 5.0
AUTH_MAX_FAILURES = 10
# Replies aiosmtpd's own command loop gives to lines that are no command: what each was.
_LOOP_REFUSALS = {
    "500 Error: bad syntax": "an empty line or a verb that is not ASCII",
    "500 Error: strict ASCII mode": "non-ASCII text without SMTPUTF8",
    "500 Command line too long": "a command line over the limit",
}
_NO_ENHANCED = {"greeting", "helo", "ehlo_first", "too_busy", "data_start", "closing",
                "no_service"}
NO_SERVICE_LINE = 1024
"""A host that offers no service reads each line only this far (it only looks for QUIT)."""
NO_SERVICE_LINES = 50
"""... and answers at most this many lines before it closes with 421."""
_VERB_KEYWORDS = {"VERB": "verb", "ONEX": "onex", "XUSR": "xusr"}


class Transaction(Envelope):
    """aiosmtpd's Envelope plus what RFC 821 needs: the kind (MAIL/SEND/SOML/SAML) and
    the parsed paths, source routes included."""

    def __init__(self) -> None:
        super().__init__()
        self.kind: Kind = "MAIL"
        self.sender: Path | None = None
        self.recipients: list[Path] = []


class _Verbs(dict):
    """aiosmtpd looks verbs up with ``.get``; unknown verbs come to us, not to its
    fixed message and five-strikes limit."""

    def __init__(self, methods: dict[str, Any], unknown: Any) -> None:
        super().__init__(methods)
        self._unknown = unknown

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        method = super().get(key)
        return method if method is not None else partial(self._unknown, key)


class TeachingSMTP(SMTP):
    """One connection of the teaching server."""

    line_length_limit = CHUNK  # reader buffer; command length is still checked (512)
    command_size_limit = COMMAND_LIMIT  # aiosmtpd's 512 does not count the CRLF

    def __init__(self, app: ServerApp) -> None:
        self.app = app
        self.world = app.world
        self.host = app.world.host
        self.persona = app.persona
        self.exts = app.extensions
        self.counted = False
        self.last_reply = ""
        self.bad_commands = 0
        self.auth_failures = 0  # in this session; the app counts them per address too
        self._auth_failed = False
        self.sid = app.next_session_id()
        self.pid = self.host.process_id or stand_in_pid()
        self.messages = 0  # stored in this session (sendmail's queue ids count them)
        tls = app.tls_context if "STARTTLS" in self.exts else None
        super().__init__(
            _Hooks(),
            data_size_limit=self.host.message_limit,
            enable_SMTPUTF8="SMTPUTF8" in self.exts,
            hostname=self.host.hostname,
            ident="",
            tls_context=tls,
            timeout=app.timeout,
            auth_require_tls=not self.host.allow_plaintext_auth,
            authenticator=self._check_credentials,
            loop=app.loop,
        )
        self._smtp_methods = _Verbs(self._smtp_methods, self._unknown_verb)
        # Per session (aiosmtpd's is one dict shared by every session of the process).
        self.command_size_limits = collections.defaultdict(
            lambda: COMMAND_LIMIT, {"MAIL": COMMAND_LIMIT + PARAMS_EXTRA,
                                    "RCPT": COMMAND_LIMIT + PARAMS_EXTRA})

    # ------------------------------------------------------------------ plumbing

    def _create_envelope(self) -> Transaction:
        return Transaction()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None and self.transport is None
        if first:
            self.counted = True
            self.app.sessions += 1
            self.app.open.add(self)
            self.__ident__ = self._banner()
        super().connection_made(transport)
        if first:
            self.event(f"connect from {self.peer_ip}")
        else:
            self.event("TLS established "
                       f"({transport.get_extra_info('ssl_object').version()})")

    async def _no_service(self) -> None:
        """RFC 5321 §3.1: a host may answer the connection with 554 instead of 220; it
        then answers every command but QUIT with 503 and closes after QUIT's 221."""
        await self.push(self.fmt("no_service"))
        self.event("refused: no SMTP service here (554)")
        try:
            for _ in range(NO_SERVICE_LINES):
                async with asyncio.timeout(self.app.timeout):
                    line = await self._reader.readline()
                if not line:
                    break
                if len(line) > NO_SERVICE_LINE:
                    await self.push(self.fmt("line_too_long"))
                    break
                if line.strip().upper() == b"QUIT":
                    await self.reply("quit")
                    break
                await self.reply("no_service_bad")
            else:
                await self.push(self.fmt("closing"))
        except (TimeoutError, ConnectionError, OSError, ValueError,
                asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a silent, vanished or flooding client: just close
        self.close_quietly()

    def connection_lost(self, error: Exception | None) -> None:
        if self.counted:
            self.counted = False
            self.app.sessions -= 1
            self.app.open.discard(self)
            self.event("disconnected")
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self.app.sessions > self.world.max_sessions:
            await self.push(self.fmt("too_busy"))
            self.event("refused: too many sessions")
            self.close_quietly()
            return
        if self.host.service == "closing":  # a world's host shutting down (RFC 5321 §3.8)
            await self.push(self.fmt("closing"))
            self.event("refused: the host is closing (421)")
            self.close_quietly()
            return
        if self.host.service == "refused":
            await self._no_service()
            return
        try:
            await super()._handle_client()
        except asyncio.CancelledError:
            raise  # aiosmtpd cancels us when the peer hangs up: nothing left to do
        except (ConnectionError, OSError) as exc:
            # The client vanished while we were writing: a normal end for a session.
            self.event(f"connection lost ({type(exc).__name__})")
            self.close_quietly()
        except Exception as exc:  # noqa: BLE001 - never leave an unretrieved task exception
            self.event(f"session ended by an internal error: {describe(exc)}")
            self.close_quietly()

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd calls this for an exception in a command handler; its default
        answers ``500 Error: (Name) text`` and logs a traceback. A peer must never be able
        to cause either: log one event and answer 451 (RFC 821 §4.2)."""
        if isinstance(error, StorageError):  # the server's disk, never the client's fault
            self.event(f"storage failed (451): {error}")
            return "451 Requested action aborted: local error in processing"
        if _connection_lost(error):
            self.event("connection closed by the client" if isinstance(
                error, asyncio.IncompleteReadError) else f"connection lost ({type(error).__name__})")
            self.close_quietly()
            return f"421 {self.host.hostname} Service not available, closing transmission channel"
        if isinstance(error, TLSSetupException):  # the client's handshake failed
            cause = error.__cause__ or error
            self.event(f"TLS handshake failed: {describe(cause)}")
            return "454 TLS not available due to temporary reason"
        self.event(f"internal error: {describe(error)}")
        return "451 Requested action aborted: local error in processing"

    def close_quietly(self) -> None:
        """End the session: close the connection if it is still open (the peer may
        already be gone) and stop aiosmtpd's command loop, as its own QUIT does, so it
        never reads from a closed stream."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.close()
        task = self._handler_coroutine
        if task is not None and not task.done():
            task.cancel()

    def shutdown(self) -> None:
        """The server is stopping: say 421 and close (used by app.stop_server)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(f"421 {self.host.hostname} Service not available, "
                                 "closing transmission channel\r\n".encode())
            self.event("server stopping: 421 sent")
            self.transport.close()

    @property
    def peer_ip(self) -> str:
        peer = self.session.peer if self.session else None
        return str(peer[0]) if isinstance(peer, tuple) else "?"

    @property
    def txn(self) -> Transaction:
        return self.envelope  # type: ignore[return-value]  # always a Transaction

    def event(self, text: str) -> None:
        self.app.emit(self.sid, self.peer_ip if self.session else "?", text)

    def _banner(self) -> str:
        if self.host.banner is not None:
            return self.host.banner
        return self.persona.text("banner").format(date=self.app.date(),
                                                  version=self.app.version)

    @property
    def client_ip(self) -> str:
        """The client's address as the server reports it (a world may pin it)."""
        return self.host.peer_address or self.peer_ip

    def fmt(self, key: str, **kw: Any) -> str:
        """The persona's reply for ``key``, with an enhanced code when advertised."""
        values = {"host": self.host.hostname, "client": self._client_name(),
                  "ip": self.client_ip, "version": self.app.version} | kw
        text = self.persona.text(key).format(**values)
        if ("ENHANCEDSTATUSCODES" in self.exts and key not in _NO_ENHANCED
                and key in ENHANCED and text[:1] in "245"):
            enh = ENHANCED[key]
            enh = text[0] + enh[1:]
            text = f"{text[:3]} {enh} {text[4:]}" if len(text) > 4 else f"{text[:3]} {enh}"
        return text

    def _client_name(self) -> str:
        return (self.session.host_name if self.session and self.session.host_name else "")

    async def reply(self, key: str, **kw: Any) -> None:
        await self.push(self.fmt(key, **kw))

    async def push_lines(self, code: int, lines: list[str]) -> None:
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            await self.push(f"{code}{sep}{line}")

    def implemented(self, verb: str) -> bool:
        return verb in self.persona.verbs

    async def not_implemented(self, verb: str) -> None:
        if verb in RFC821_VERBS:
            await self.reply("not_implemented")
        else:
            await self._unknown_verb(verb, None)

    async def _unknown_verb(self, verb: str, arg: str | None) -> None:
        if await self._bad_command(f"unrecognized command {verb[:20]!r}"):
            return
        await self.push("500 Syntax error, command unrecognized")

    async def _bad_command(self, what: str) -> bool:
        """Count a line that was no command; past :data:`MAX_BAD_COMMANDS` answer 421
        and end the session (True: the caller sends nothing more)."""
        self.bad_commands += 1
        if self.bad_commands > MAX_BAD_COMMANDS:
            if self.transport is not None and not self.transport.is_closing():
                self.event(f"{what}: more than {MAX_BAD_COMMANDS} bad commands, 421 and close")
                await self.push(f"421 {self.host.hostname} Too many unrecognized commands, "
                                "goodbye")
            self.close_quietly()
            return True
        self.event(what)
        return False

    async def need_helo(self, verb: str) -> bool:
        """503 before HELO, where the persona's RFC has it. RFC 821 §4.3 lists no 503 for
        MAIL and never requires HELO; only TURN needs the client's name there."""
        if self.session and self.session.host_name:
            return False
        if not self.persona.needs_helo(verb):
            return False
        await self.reply("need_helo")
        return True

    async def syntax_ok(self, verb: str, arg: str | None) -> bool:
        """Judge the command line with the core's grammar (``smtptui check``) in the
        persona's dialect and leniency; on an error answer 501 (500 where RFC 821 §4.3
        lists no 501 for the verb) naming the rule, and return False.

        aiosmtpd hands over the argument stripped, so spaces at the ends of the line
        are not seen (they are the leniency every persona has)."""
        line = f"{verb} {arg}" if arg else verb
        for d in check(line, self.persona.dialect_for(verb), strict=self.persona.strict):
            if d.is_error:
                text = self.fmt("bad_syntax", why=syntax_reason(self.persona, d))
                code = self.persona.syntax_code(verb)
                self.event(f"{line} -> {code} ({d.message} [{d.rule}])")
                await self.push(f"{code}{text[3:]}")
                return False
        return True

    # ------------------------------------------------------------------ HELO / EHLO

    async def _hello(self, verb: str, arg: str | None, *, extended: bool) -> bool:
        """What HELO and EHLO share: check, reset the transaction, note the client's
        name. False when the command was refused (the reply is sent)."""
        if not await self.syntax_ok(verb, arg):
            return False
        assert arg is not None  # the grammar wants a domain
        if self.persona.duplicate_helo_refused and self.session.host_name:
            await self.reply("helo_again")
            return False
        self._set_rset_state()
        self.session.extended_smtp = extended
        self.session.host_name = arg
        self.event(f"{verb} {self.session.host_name}")
        return True

    async def smtp_HELO(self, arg: str | None) -> None:
        if await self._hello("HELO", arg, extended=False):
            await self.reply("helo")

    async def smtp_EHLO(self, arg: str | None) -> None:
        if not self.persona.esmtp and self.host.extensions is None:
            await self._unknown_verb("EHLO", arg)
            return
        if not await self._hello("EHLO", arg, extended=True):
            return
        lines = [self.fmt("ehlo_first")[4:]]
        for kw in self.exts:
            word = kw.split(" ", 1)[0]
            if kw == "SIZE" and self.host.extensions is None and self.host.size_limit:
                lines.append(f"SIZE {self.host.size_limit}")  # a world's own "SIZE" is bare
            elif word == "STARTTLS":
                if self.tls_context is not None and not self._tls_protocol:
                    lines.append("STARTTLS")
            elif word == "AUTH":
                if self.host.users and (self._tls_protocol or self.host.allow_plaintext_auth):
                    lines.append("AUTH PLAIN LOGIN")
            else:
                lines.append(kw)
        await self.push_lines(250, lines)

    # ------------------------------------------------------------------ simple verbs

    async def smtp_NOOP(self, arg: str | None) -> None:
        if await self.syntax_ok("NOOP", arg):
            await self.reply("noop")

    async def smtp_RSET(self, arg: str | None) -> None:
        await self._logged("RSET", arg, self._rset)

    async def _rset(self, arg: str | None) -> None:
        if not await self.syntax_ok("RSET", arg):
            return
        self._set_rset_state()
        await self.reply("rset")

    async def smtp_QUIT(self, arg: str | None) -> None:
        if not await self.syntax_ok("QUIT", arg):
            return
        await self.reply("quit")
        self.event("QUIT")
        self.close_quietly()

    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if "STARTTLS" not in self.exts or self.tls_context is None:
            await self._unknown_verb("STARTTLS", arg)
            return
        if self._tls_protocol is not None:
            await self.push("503 5.5.1 TLS already active")
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        if "AUTH" not in self.exts or not self.host.users:
            await self._unknown_verb("AUTH", arg)
            return
        if self.txn.sender is not None:
            await self.push("503 5.5.1 AUTH not allowed during a mail transaction")
            return
        ip = self.peer_ip
        failures = self.app.auth_failures.get(ip, 0)
        if failures >= AUTH_FREE_FAILURES:  # answered slower, as Postfix does
            await asyncio.sleep(min(AUTH_DELAY * (failures - AUTH_FREE_FAILURES + 1),
                                    AUTH_MAX_DELAY))
        self._auth_failed = False
        await super().smtp_AUTH(arg)
        if self.session.authenticated:
            self.app.auth_failures.pop(ip, None)
            self.event(f"AUTH as {self.session.auth_data}")
            return
        if not self._auth_failed:
            return
        self.app.note_auth_failure(ip)
        self.auth_failures += 1
        if self.auth_failures >= AUTH_MAX_FAILURES:
            self.event(f"{self.auth_failures} failed AUTH attempts: 421 and close")
            await self.push(f"421 4.7.0 {self.host.hostname} Too many authentication "
                            "failures, closing transmission channel")
            self.close_quietly()

    def _check_credentials(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = self.host.users.get(user)
        if ok is not None and secrets.compare_digest(ok.encode(), password.encode()):
            return AuthResult(success=True, auth_data=user)
        self.event(f"AUTH {mechanism} failed for {user!r}")
        self._auth_failed = True
        return AuthResult(success=False, handled=False)  # smtp_AUTH answers 535

    async def smtp_HELP(self, arg: str | None) -> None:
        if not self.implemented("HELP"):
            await self.not_implemented("HELP")
            return
        if not await self.syntax_ok("HELP", arg):
            return
        if arg:
            lines = lookups.help_topic(self.persona, arg)
            if lines is None:
                await self.reply("help_unknown", topic=arg.strip()[:10])
                return
            await self.push_lines(214, [*lines, self.fmt("help_topic_last")[4:]])
            return
        lines = [self.fmt("help_first")[4:], *lookups.help_verbs(self.persona),
                 self.persona.text("help_more"), self.fmt("help_last")[4:]]
        await self.push_lines(214, lines)

    async def _sendmail_noise(self, verb: str, arg: str | None) -> None:
        if verb not in self.exts:
            await self._unknown_verb(verb, arg)
            return
        await self.reply(_VERB_KEYWORDS[verb])

    async def smtp_VERB(self, arg: str | None) -> None:
        await self._sendmail_noise("VERB", arg)

    async def smtp_ONEX(self, arg: str | None) -> None:
        await self._sendmail_noise("ONEX", arg)

    async def smtp_XUSR(self, arg: str | None) -> None:
        await self._sendmail_noise("XUSR", arg)

    async def smtp_ETRN(self, arg: str | None) -> None:
        if "ETRN" not in self.exts:
            await self._unknown_verb("ETRN", arg)
            return
        if not arg:
            await self.push("500 Parameter required")
            return
        # The world has no outbound side: "starting the queue" delivers nothing out.
        await self.reply("etrn", node=arg.strip().lstrip("@#"))

    # ------------------------------------------------------------------ VRFY / EXPN

    async def push(self, status: str | bytes) -> None:
        """aiosmtpd's push, remembering the reply's first line for the session log.

        aiosmtpd's command loop refuses some lines itself, before any ``smtp_`` method
        (an empty line, a verb that is not ASCII, a line over the limit): those count
        towards the bad-command cutoff like an unknown verb (100,000 empty lines had
        got 99,998 replies)."""
        if (isinstance(status, str) and status in _LOOP_REFUSALS
                and await self._bad_command(_LOOP_REFUSALS[status])):
            return
        if isinstance(status, str):
            self.last_reply = status
            # Replies may quote the client (surrogate-escaped bytes) or the world (a full
            # name like "José"): never an encoding error, 7-bit unless SMTPUTF8 is on.
            status = (status.encode("utf-8", "surrogateescape") if self.enable_SMTPUTF8
                      else status.encode("ascii", "backslashreplace"))
        else:
            self.last_reply = status.decode("ascii", "replace")
        await super().push(status)

    async def _logged(self, verb: str, arg: str | None, method: Any) -> None:
        """Run a query command and log what it asked and the reply code, so a student
        watching ``smtptui serve`` sees VRFY/EXPN/RSET/HELP too."""
        self.last_reply = ""
        await method(arg)
        shown = f"{verb} {arg.strip()}" if arg else verb
        self.event(f"{shown} -> {self.last_reply[:3] or '?'}")

    async def smtp_VRFY(self, arg: str | None) -> None:
        await self._logged("VRFY", arg, self._vrfy)

    async def smtp_EXPN(self, arg: str | None) -> None:
        await self._logged("EXPN", arg, self._expn)

    async def _vrfy(self, arg: str | None) -> None:
        if not self.implemented("VRFY"):
            await self.not_implemented("VRFY")
            return
        if not await self.syntax_ok("VRFY", arg):
            return
        assert arg is not None
        key, values = lookups.vrfy(self.host, arg)
        await self.reply(key, **values)

    async def _expn(self, arg: str | None) -> None:
        if not self.implemented("EXPN"):
            await self.not_implemented("EXPN")
            return
        if not await self.syntax_ok("EXPN", arg):
            return
        assert arg is not None
        lines = lookups.expn(self.world, self.host, arg)
        if isinstance(lines, tuple):
            key, values = lines
            await self.reply(key, **values)
            return
        if not lines:
            await self.push("250 (empty list)")
            return
        enh = "2.1.5 " if "ENHANCEDSTATUSCODES" in self.exts else ""
        await self.push_lines(250, [enh + line for line in lines])

    # ------------------------------------------------------------------ transaction

    async def smtp_MAIL(self, arg: str | None) -> None:
        await self._mail("MAIL", arg)

    async def smtp_SEND(self, arg: str | None) -> None:
        await self._mail("SEND", arg)

    async def smtp_SOML(self, arg: str | None) -> None:
        await self._mail("SOML", arg)

    async def smtp_SAML(self, arg: str | None) -> None:
        await self._mail("SAML", arg)

    def _unknown_param(self, verb: str, params: list[str]) -> str | None:
        """The first parameter whose extension this server did not advertise (the
        grammar has checked the values; core.extensions says which keyword needs what)."""
        for p in params:
            name, _, value = p.partition("=")
            param = PARAMETERS.get(name.upper())
            ext = None if param is None or verb not in param.verbs else param.extension
            if ext == "8BITMIME" and value.upper() == "BINARYMIME":
                ext = "BINARYMIME"
            if ext is None or ext not in self.exts:
                return name.upper()
        return None

    async def _refuse_params(self, verb: str, params: list[str]) -> bool:
        """Answer ESMTP parameters MAIL/RCPT may not have; True when refused."""
        if not self.session.extended_smtp:
            await self.reply("params_need_ehlo")
            return True
        unknown = self._unknown_param(verb, params)
        if unknown is not None:
            await self.reply("unknown_param", what=f"{verb} {unknown}")
            return True
        return False

    async def _path_arg(self, verb: str, arg: str | None, keyword: str,
                        utf8: bool) -> tuple[Path, list[str]] | None:
        """Judge ``FROM:<path> params`` / ``TO:<path> params``; the path and parameters,
        or None when refused (the reply is sent)."""
        if not await self.syntax_ok(verb, arg):
            return None
        assert arg is not None
        colon = arg.index(":")  # the grammar found "FROM" / "TO", spaces, ":"
        pathtext, params = split_path_and_params(arg[colon + 1:])
        path = parse_path(pathtext, allow_null=keyword == "FROM")
        assert path is not None, pathtext  # the grammar accepted it
        if not utf8 and not str(path).isascii():
            self.event(f"{verb} refused: non-ASCII path without SMTPUTF8")
            await self.reply("smtputf8")
            return None
        return path, params

    async def _mail(self, verb: Kind, arg: str | None) -> None:
        if not self.implemented(verb):
            await self.not_implemented(verb)
            return
        if await self.need_helo(verb):
            return
        if self.txn.sender is not None:
            if not self.persona.mail_restarts_transaction():
                await self.reply("nested_mail")
                return
            # RFC 821 §4.1.1: MAIL "clears the reverse-path buffer, the forward-path
            # buffer, and the mail data buffer" -- a new transaction, no 503.
            self.event(f"{verb}: the open transaction is abandoned (RFC 821 §4.1.1)")
            self._set_rset_state()
        utf8 = "SMTPUTF8" in (arg or "").upper().split()
        parsed = await self._path_arg(verb, arg, "FROM", utf8)
        if parsed is None:
            return
        path, params = parsed
        if params and await self._refuse_params("MAIL", params):
            return
        for p in params:
            name, _, value = p.partition("=")
            size = ascii_int(value) if name.upper() == "SIZE" else None
            if size is not None and size > self.host.message_limit:
                await self.reply("size_declared")
                return
        self.txn.kind = verb
        self.txn.sender = path
        self.txn.mail_from = str(path)
        self.txn.mail_options = params
        self.event(f"{verb} FROM:<{path}>")
        await self.reply("mail_ok", addr=path.mailbox)

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self.need_helo("RCPT"):
            return
        if self.txn.sender is None:
            await self.reply("need_mail")
            return
        utf8 = "SMTPUTF8" in (o.upper() for o in self.txn.mail_options)
        parsed = await self._path_arg("RCPT", arg, "TO", utf8)
        if parsed is None:
            return
        path, params = parsed
        if params and await self._refuse_params("RCPT", params):
            return
        if len(self.txn.recipients) >= self.host.max_recipients:
            text = self.fmt("too_many")
            text = str(self.persona.too_many_code) + text[3:]
            self.event(f"RCPT TO:<{path}> refused: recipient limit {self.host.max_recipients}")
            await self.push(text)
            return
        decision = delivery.rcpt_decision(self.world, self.host, path, self.txn.kind)
        if decision.accepted:
            self.txn.recipients.append(path)
            self.txn.rcpt_tos.append(str(path))
        text = self.fmt(decision.key, **decision.values)
        self.event(f"RCPT TO:<{path}> -> {text[:3]}")
        await self.push(text)

    # ------------------------------------------------------------------ DATA

    async def smtp_DATA(self, arg: str | None) -> None:
        if await self.need_helo("DATA"):
            return
        if self.txn.sender is None:
            await self.reply("data_need_mail")
            return
        if not self.txn.recipients:
            await self.reply("need_rcpt")
            return
        if not await self.syntax_ok("DATA", arg):
            return
        now = self.app.now()
        qid = self.app.new_qid(self.pid, self.messages, now)
        sender = self.txn.sender
        assert sender is not None
        arrival = reception.Arrival(
            helo=self._client_name() or f"[{self.client_ip}]", ip=self.client_ip,
            peer_host=self._peer_host(), by=self.host.hostname, version=self.app.version,
            proto=self._proto(), qid=qid, date=self.app.date(now),
            short=self.persona.short_received)
        plan = reception.plan(self.world, self.host, sender, self.txn.recipients,
                              self.txn.kind, arrival)
        files: list[FsPath] = []
        try:  # before the 354: a broken store is a 451 now, not after the whole message
            for _ in plan:
                files.append(self.app.store.new_spool_file(qid))
        except StorageError as exc:
            for f in files:
                f.unlink(missing_ok=True)
            self.event(f"storage failed, DATA refused with 451: {exc}")
            await self.reply("unstored")
            return
        await self.reply("data_start")
        unstuffer = DotUnstuffer()  # the core's streaming decoder
        meter = reception.LineMeter()
        limit = self.host.message_limit
        size = 0
        too_big = False
        failed: OSError | None = None  # a write failed: read to the end, then 451
        seven_bit = self.host.clear_8th_bit
        cleared = 0
        try:
            # Local disk writes of 64 KiB chunks: cheaper than a thread hop per chunk.
            with open(files[0], "wb") as out:  # noqa: ASYNC230
                failed = _write(out, plan[0][1])
                while not unstuffer.done:
                    chunk = await self._reader.read(CHUNK)
                    self._reset_timeout()
                    if not chunk:  # EOF without the end marker: nothing is stored
                        self.event("connection closed during DATA; message discarded")
                        self.close_quietly()
                        return
                    data = unstuffer.feed(chunk)
                    if seven_bit:
                        data, changed = clear_8th_bit(data)
                        cleared += changed
                    meter.feed(data)
                    size += len(data)
                    if size > limit:
                        too_big = True
                        if size > limit + max(limit, DISCARD_ALLOWANCE):
                            self.event(f"message refused: more than {limit} octets and still "
                                       "sending; connection closed")
                            await self.reply("size_exceeded")
                            self.close_quietly()
                            return
                    if not too_big and failed is None:
                        failed = _write(out, data)
            if unstuffer.trailing:  # pipelined commands after the end of data
                self._reader._buffer[0:0] = unstuffer.trailing  # type: ignore[attr-defined]
            if too_big:
                self.event(f"message refused: more than {limit} octets")
                self._set_post_data_state()
                await self.reply("size_exceeded")
                return
            if meter.long:
                note = (f"{meter.long} text line(s) over {reception.TEXT_LINE_LIMIT} octets, "
                        f"the first is line {meter.first} (RFC 821 §4.5.3 / RFC 5321 "
                        "§4.5.3.1.6)")
                if self.persona.refuse_long_lines:
                    self.event(f"message refused: {note}")
                    self._set_post_data_state()
                    await self.reply("line_too_long")
                    return
                self.event(f"accepted anyway: {note}")
            if failed is not None:
                raise StorageError(f"cannot write the spool file {files[0]}: "
                                   f"{failed.strerror or failed}")
            where = reception.store_copies(self.app.store, plan, files, qid, sender)
        except ConnectionError:
            raise
        except (OSError, StorageError) as exc:
            # The message was read to its end: the client is in step, told 451.
            self.event(f"storage failed, message {qid} not stored (451): {exc}")
            self._set_post_data_state()
            await self.reply("unstored")
            return
        finally:
            for f in files:
                f.unlink(missing_ok=True)
        if cleared:
            self.event(f"8th bit cleared in {cleared} octet(s): this host stores 7-bit text "
                       "(RFC 821 §2); 8-bit mail needs 8BITMIME (RFC 1652)")
        self.event(f"stored {qid}: {size} octets -> {', '.join(where)}")
        self.messages += 1
        self._set_post_data_state()
        await self.reply("data_ok", qid=qid)

    def _proto(self) -> str:
        proto = "ESMTP" if self.session.extended_smtp else "SMTP"
        if self._tls_protocol is not None:
            proto += "S"
        if self.session.authenticated:
            proto += "A"
        return proto

    def _peer_host(self) -> str | None:
        """The client's host name as a reverse lookup would give it: "localhost" on
        loopback; the HELO name for an address the world pins (the world has no DNS)."""
        if self.host.peer_address:
            return self._client_name() or None
        try:
            return "localhost" if ipaddress.ip_address(self.peer_ip).is_loopback else None
        except ValueError:
            return None

    # ------------------------------------------------------------------ TURN

    async def smtp_TURN(self, arg: str | None) -> None:
        if not self.implemented("TURN"):
            await self.not_implemented("TURN")
            return
        if await self.need_helo("TURN"):
            return
        if not await self.syntax_ok("TURN", arg):
            return
        if self.txn.sender is not None:
            await self.reply("turn_busy")
            return
        client = self._client_name()
        await self.reply("turn_ok")
        self.event(f"TURN: roles swapped, now sending to {client}")
        sender = TurnSender(self._reader, self._writer, hostname=self.host.hostname,
                            queue=self.host.queue, delivered=self.app.turn_delivered,
                            event=self.event)
        await sender.run(client, self.app.timeout)
        # RFC 821 §4.1.1: after its 221 the new receiver closes; we may be second.
        self.close_quietly()


def _write(out: Any, data: bytes) -> OSError | None:
    """Write to the spool; a failure (disk full) is returned, not raised, so DATA
    still reads the message to its end and the next command is read as a command."""
    try:
        out.write(data)
    except OSError as exc:
        return exc
    return None


_SOCKET_ERRNOS = frozenset({errno.ENOTCONN, errno.ETIMEDOUT, errno.EHOSTUNREACH,
                            errno.ENETUNREACH, errno.ENETDOWN, errno.EBADF})


def _connection_lost(error: BaseException) -> bool:
    """The peer's connection failed (not a file the server could not write: that was
    taken for the client hanging up, and the client got no reply)."""
    return isinstance(error, ConnectionError | asyncio.IncompleteReadError) or (
        type(error) is OSError and error.errno in _SOCKET_ERRNOS)


class _Hooks:
    """aiosmtpd wants a handler; every decision is made in TeachingSMTP itself."""


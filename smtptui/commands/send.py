"""``smtptui send``: the admin's one-line test message, every reply explained.

``smtptui send --to alice@lab.test --server 127.0.0.1:2525`` builds a proper message
(Date, Message-ID, MIME-Version; multipart when files are attached; an 8-bit body
declared with BODY=8BITMIME when the server advertises it, encoded otherwise), sends
it over the same client every smtptui command uses, and prints the session annotated:
each reply followed by a dimmed line saying what it means, each 334 challenge shown
decoded, every secret masked. ``--json`` prints the session as JSON lines, ``--save
FILE.smtp`` a script ``smtptui run`` replays.

Failures are one line on stderr, ``step: reason``, and the exit status names the step
(see EXIT_CODES; ``--help`` lists them), as swaks does, so a monitoring script can
tell a refused recipient from a certificate problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from smtptui.commands._style import Style
from smtptui.commands.probe import TARGET_FORMS, add_connection_arguments
from smtptui.core.dates import DAY_NAMES, MONTH_NAMES
from smtptui.core.frozen import fields, frozen, replace

TYPE_CHECKING = False  # typing is for type checkers: nothing of it is needed at run time
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, TextIO

    from smtptui.core.message import Composed, MessageSpec
    from smtptui.core.replies import Reply
    from smtptui.core.transcript import Entry
    from smtptui.net.client import SMTPClient
    from smtptui.session.connect import Connector

EXIT_CODES: dict[str, int] = {
    "connect": 3, "greeting": 4, "ehlo": 5, "starttls": 6, "auth": 7,
    "mail": 8, "rcpt": 9, "data": 10,
}
"""Exit status per failing step; 0 delivered (or stopped by --quit-after), 2 usage."""

QUIT_AFTER = {
    "connect": "greeting", "banner": "greeting", "greeting": "greeting",
    "ehlo": "ehlo", "helo": "ehlo", "first-helo": "ehlo",
    "tls": "starttls", "starttls": "starttls", "auth": "auth", "mail": "mail", "rcpt": "rcpt",
}
"""--quit-after values (swaks' names accepted) -> the step after which to QUIT."""

STEPS = ("greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data")
BDAT_CHUNK = 1024 * 1024
"""Octets per BDAT chunk: big enough that the round trips don't matter, small enough
that memory stays flat."""
FILE_CHUNK = 256 * 1024
PREVIEW_LINES = 12
"""Message lines shown in the transcript (the headers, mostly); the rest is counted."""
PASSWORD_ENV = "SMTPTUI_PASSWORD"

EPILOG = f"""\
exit status:
  0   the message was accepted (or the session stopped at --quit-after)
  2   usage error (bad option, unreadable file, no password)
  {EXIT_CODES['connect']}   connect: DNS, TCP connection or implicit TLS failed
  {EXIT_CODES['greeting']}   greeting: the server refused the session (554) or said nothing
  {EXIT_CODES['ehlo']}   EHLO/HELO refused
  {EXIT_CODES['starttls']}   STARTTLS refused, not offered with --starttls yes, or the TLS
      handshake / certificate check failed (--cafile FILE, or --insecure)
  {EXIT_CODES['auth']}   AUTH refused, or no usable mechanism
  {EXIT_CODES['mail']}   MAIL FROM refused
  {EXIT_CODES['rcpt']}   RCPT TO refused for a recipient (the message still goes to the
      accepted ones; none accepted: not sent)
  {EXIT_CODES['data']}  DATA/BDAT or the message refused

password: from --password-file FILE, else ${PASSWORD_ENV}, else asked without echo
on the terminal; never from the command line. XOAUTH2 takes the OAuth token the same way.

examples:
  smtptui send --to alice@lab.test --server 127.0.0.1:2525
  smtptui send mail.example.org:587 --to bob@example.org --auth --user bob \\
      --password-file ~/.smtp-pass --attach report.pdf
  smtptui send --embedded --to alice@lab.test --auth --user alice    # demo password
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("target", metavar="TARGET", nargs="?",
                        help=f"{TARGET_FORMS}"
                             ", @domain; default: the MX hosts of the "
                             "first recipient's domain")
    parser.add_argument("--server", "-s", metavar="HOST[:PORT]",
                        help="the server, as swaks writes it (same as TARGET)")
    parser.add_argument("--embedded", action="store_true",
                        help="send to the embedded teaching server (started in-process)")
    m = parser.add_argument_group("message")
    m.add_argument("--to", "-t", action="append", required=True, metavar="ADDR",
                   help="recipient (repeat for more)")
    m.add_argument("--from", "-f", dest="sender", metavar="ADDR",
                   help="sender (default: USER@this host)")
    m.add_argument("--subject", metavar="TEXT", help="Subject (default: 'test' and the date)")
    m.add_argument("--header", "-H", action="append", default=[], metavar="'NAME: VALUE'",
                   help="add a header, or replace a default one (repeatable)")
    m.add_argument("--body", metavar="TEXT|@FILE|-",
                   help="the body: text, @FILE (UTF-8), or - for standard input")
    m.add_argument("--attach", action="append", default=[], metavar="FILE",
                   help="attach a file (repeatable; streamed, never read whole)")
    a = parser.add_argument_group("authentication")
    a.add_argument("--auth", nargs="?", const="", metavar="MECH",
                   help="authenticate: PLAIN, LOGIN, CRAM-MD5 or XOAUTH2 (default: the best "
                        "the server offers)")
    a.add_argument("--user", "-u", metavar="NAME", help="the user name for AUTH")
    a.add_argument("--password-file", metavar="FILE",
                   help=f"read the password (or XOAUTH2 token) from FILE (first line); "
                        f"else ${PASSWORD_ENV}, else a no-echo prompt")
    s = parser.add_argument_group("protocol")
    s.add_argument("--ehlo", metavar="NAME", help="the name for EHLO (same as --helo)")
    s.add_argument("--quit-after", metavar="STEP", choices=sorted(QUIT_AFTER),
                   help="QUIT after this step: greeting, ehlo, tls, auth, mail, rcpt")
    s.add_argument("--pipeline", action="store_true",
                   help="send MAIL, RCPT and DATA in one batch (RFC 2920) when advertised")
    s.add_argument("--bdat", action=argparse.BooleanOptionalAction, default=None,
                   help="send the message with BDAT (RFC 3030 CHUNKING); default: when the "
                        "server advertises CHUNKING")
    s.add_argument("--8bitmime", dest="eightbit", action="store_true",
                   help="send the body as 8-bit with BODY=8BITMIME even if the server does "
                        "not advertise it (default: only when advertised, else encoded)")
    s.add_argument("--smtputf8", action="store_true",
                   help="declare SMTPUTF8 (RFC 6531): UTF-8 addresses and headers (default: "
                        "when an address is not ASCII)")
    s.add_argument("--dsn-notify", metavar="WHEN",
                   help="DSN NOTIFY= for each recipient: NEVER or any of "
                        "SUCCESS,FAILURE,DELAY (RFC 3461)")
    s.add_argument("--dsn-ret", choices=("FULL", "HDRS"), type=str.upper,
                   help="DSN RET= on MAIL FROM: return the full message or the headers")
    s.add_argument("--size", action="store_true",
                   help="declare the message size with SIZE= on MAIL FROM (RFC 1870)")
    o = parser.add_argument_group("output")
    o.add_argument("--json", action="store_true",
                   help="the session as JSON lines, then one result object")
    o.add_argument("--save", metavar="FILE.smtp",
                   help="write a script that `smtptui run FILE TARGET` replays (the message "
                        "goes to FILE.eml beside it; credentials are never saved)")
    add_connection_arguments(parser)


class UsageError(ValueError):
    """A problem with the options or the input files: exit 2 before connecting."""


# ----------------------------------------------------------------------------- the plan


@frozen
class Plan:
    """Everything decided before connecting."""

    sender: str
    recipients: tuple[str, ...]
    spec: MessageSpec
    helo: str
    starttls: str = "auto"
    auth: str | None = None      # None: no AUTH; "": the best offered; else a mechanism
    user: str = ""
    secret: str = ""
    quit_after: str | None = None
    pipeline: bool = False
    bdat: bool | None = None
    eight_bit: bool = False
    smtputf8: bool = False
    dsn_notify: str | None = None
    dsn_ret: str | None = None
    size: bool = False

    def __repr__(self) -> str:
        """As a dataclass's, without the secret: a repr may end up in a log or traceback."""
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in fields(self) if n != "secret")
        return f"Plan({shown})"


def _read_body(value: str | None) -> str:
    if value is None:
        return "This is a test message sent with smtptui send.\n"
    if value == "-":
        data = sys.stdin.buffer.read()
        where = "standard input"
    elif value.startswith("@"):
        try:
            with open(os.path.expanduser(value[1:]), "rb") as f:
                data = f.read()
        except OSError as exc:
            raise UsageError(f"--body {value}: {exc.strerror or exc}") from None
        where = value[1:]
    else:
        return value.replace("\\n", "\n") + ("" if value.endswith("\n") else "\n")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--body: {where} is not UTF-8 text (attach it with --attach)"
                         ) from None


def _attachment(path: str) -> Any:
    import mimetypes

    from smtptui.core.message import Attachment

    full = os.path.expanduser(path)
    try:
        with open(full, "rb") as f:
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise UsageError(f"--attach {path}: {exc.strerror or exc}") from None
    kind, encoding = mimetypes.guess_type(full)
    if kind is None or encoding is not None:
        kind = "application/octet-stream"
    return Attachment(os.path.basename(full), kind, size, full)


def read_secret(password_file: str | None, prompt: str) -> str:
    """The password: a file, the environment, or a no-echo prompt -- never argv."""
    if password_file is not None:
        try:
            with open(os.path.expanduser(password_file), encoding="utf-8") as f:
                return f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--password-file {password_file}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        import getpass

        try:
            return getpass.getpass(prompt)
        except EOFError:
            pass
    raise UsageError(f"AUTH needs a password: --password-file FILE, ${PASSWORD_ENV}, or "
                     f"run on a terminal to be asked")


def _address_ok(addr: str) -> bool:
    return bool(addr) and not any(c in addr for c in "<>\r\n\t ") and addr.count("@") <= 1


def format_date(when: int) -> str:
    """``email.utils.formatdate(when, localtime=True)``: an RFC 5322 date in local time,
    English names whatever the locale, ``Tue, 02 Jan 2024 03:04:05 +0900``.

    Written here because email.utils imports datetime, random, urllib.parse and
    email.charset with its encoders (~7 ms of ``smtptui send``); it is used only when the
    local zone is not a whole number of minutes from UTC (historical zones), which
    formatdate writes with seconds."""
    t = time.localtime(when)
    offset = t.tm_gmtoff
    if offset % 60:
        import email.utils

        return email.utils.formatdate(when, localtime=True)
    hours, minutes = divmod(abs(offset) // 60, 60)
    return (f"{DAY_NAMES[t.tm_wday]}, {t.tm_mday:02d} {MONTH_NAMES[t.tm_mon - 1]} "
            f"{t.tm_year:04d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} "
            f"{'-' if offset < 0 else '+'}{hours:02d}{minutes:02d}")


def make_message_id(domain: str) -> str:
    """A Message-ID shaped as ``email.utils.make_msgid("smtptui", domain=domain)`` makes
    it, ``<time in 1/100 s.pid.64 random bits.smtptui@domain>``, without importing
    email.utils (or random: the bits come from os.urandom)."""
    bits = int.from_bytes(os.urandom(8), "big")
    return f"<{int(time.time() * 100)}.{os.getpid()}.{bits}.smtptui@{domain}>"


def make_plan(args: argparse.Namespace) -> Plan:
    """The plan from the options; UsageError (one line) for anything wrong."""
    import socket

    from smtptui.core.message import MessageError, MessageSpec, check_headers, header_problem
    from smtptui.net.hostname import local_fqdn

    recipients = tuple(args.to)
    for addr in recipients:
        if not _address_ok(addr):
            raise UsageError(f"--to {addr!r}: not a mailbox (write it without <>)")
    host = socket.gethostname() or "localhost"
    sender = args.sender if args.sender is not None else f"{_user()}@{host}"
    if args.sender is not None and sender and not _address_ok(sender):
        raise UsageError(f"--from {sender!r}: not a mailbox (write it without <>)")
    headers: list[tuple[str, str]] = []
    for text in args.header:
        name, sep, value = text.partition(":")
        if not sep:
            raise UsageError(f"--header {text!r}: expected 'Name: value'")
        problem = header_problem(name.strip(), value.strip())
        if problem:
            raise UsageError(f"--header: {problem}")
        headers.append((name.strip(), value.strip()))
    date = format_date(int(time.time()))
    domain = sender.rpartition("@")[2] or host
    spec = MessageSpec(
        sender=sender, recipients=recipients,
        subject=args.subject if args.subject is not None else f"test {date}",
        body=_read_body(args.body),
        date=date,
        message_id=make_message_id(domain),
        headers=tuple(headers),
        attachments=tuple(_attachment(p) for p in args.attach),
        boundary=f"=_smtptui_{os.urandom(12).hex()}",
    )
    try:
        check_headers(spec)  # before connecting: a header that cannot be written is a usage error
    except MessageError as exc:
        raise UsageError(f"--header: {exc}") from None
    notify = None
    if args.dsn_notify:
        notify = args.dsn_notify.upper().replace(" ", "")
        words = notify.split(",")
        if not (words == ["NEVER"] or set(words) <= {"SUCCESS", "FAILURE", "DELAY"}):
            raise UsageError("--dsn-notify: NEVER, or any of SUCCESS,FAILURE,DELAY")
    plan = Plan(
        sender=sender, recipients=recipients, spec=spec,
        helo=args.ehlo or args.helo or local_fqdn() or host,
        starttls=args.starttls, auth=args.auth, user=args.user or "",
        quit_after=QUIT_AFTER[args.quit_after] if args.quit_after else None,
        pipeline=args.pipeline, bdat=args.bdat, eight_bit=args.eightbit,
        smtputf8=args.smtputf8 or not all(a.isascii() for a in (sender, *recipients)),
        dsn_notify=notify, dsn_ret=args.dsn_ret, size=args.size,
    )
    if plan.auth is None and args.user:
        plan = replace(plan, auth="")
    if plan.auth is not None:
        from smtptui.core.sasl import MECHANISMS

        if plan.auth and plan.auth.upper() not in MECHANISMS:
            raise UsageError(f"--auth {plan.auth}: smtptui computes "
                             f"{', '.join(MECHANISMS)}")
        if not plan.user:
            raise UsageError("--auth needs --user NAME")
        what = "token" if (plan.auth or "").upper() == "XOAUTH2" else "password"
        plan = replace(plan, secret=read_secret(args.password_file, f"{what} for {plan.user}: "))
    return plan


def _user() -> str:
    """The login name as getpass.getuser() finds it (getpass itself imports termios)."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if user := os.environ.get(name):
            return user
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):
        return "smtptui"


# ------------------------------------------------------------------------------- result


class Outcome:
    """How the session ended: ``step`` is None when it went as planned.

    Filled in step by step as the session goes (a plain class: ``dataclasses`` costs
    ~8 ms of this command's start-up)."""

    def __init__(self) -> None:
        self.step: str | None = None
        self.reason = ""
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.size: int | None = None
        self.body = ""                # how the body went: 7bit, 8BITMIME, encoded
        self.method = ""              # DATA or BDAT
        self.reply = ""               # the final reply to the message
        self.warnings: list[str] = []

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.step] if self.step else 0


class StepFailed(Exception):
    """Internal: a step failed; ``step: reason`` for the user."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


# ------------------------------------------------------------------------------ sending


def message_chunks(composed: Composed, chunk: int = FILE_CHUNK) -> Iterator[bytes]:
    """The message octets in order, attachments read and base64-encoded as they go
    (memory stays flat). OSError when a file cannot be read or changed size."""
    from smtptui.core.message import AttachmentBody, Base64Lines

    for piece in composed.pieces:
        if not isinstance(piece, AttachmentBody):
            yield piece
            continue
        encoder = Base64Lines()
        read = 0
        with open(piece.attachment.source, "rb") as f:
            while data := f.read(chunk):
                read += len(data)
                if read > piece.attachment.size:
                    break
                out = encoder.feed(data)
                if out:
                    yield out
        if read != piece.attachment.size:
            raise OSError(f"{piece.attachment.filename} changed size while it was being sent")
        yield encoder.finish()


def _bdat_chunks(composed: Composed, size: int = BDAT_CHUNK) -> Iterator[tuple[bytes, bool]]:
    """The message cut into BDAT chunks of ``size`` octets, the last one flagged."""
    buffer = bytearray()
    sent = 0
    for data in message_chunks(composed):
        buffer += data
        while len(buffer) >= size and sent + size < composed.size:
            yield bytes(buffer[:size]), False
            del buffer[:size]
            sent += size
    yield bytes(buffer), True


class Sender:
    """One delivery over a connected client, step by step (see :meth:`run`)."""

    def __init__(self, plan: Plan, printer: Any) -> None:
        self.plan = plan
        self.printer = printer
        self.outcome = Outcome()
        self.client: SMTPClient | None = None
        self.composed: Composed | None = None
        self._step = "connect"

    def _fail_on(self, step: str, reply: Reply, what: str) -> None:
        raise StepFailed(step, f"{what} refused: {_reply_text(reply)}")

    async def run(self, connector: Connector) -> Outcome:
        from smtptui.core.transcript import Transcript
        from smtptui.net.errors import SMTPClientError

        transcript = Transcript()
        transcript.subscribe(self.printer.entry)
        try:
            try:
                self.client = await connector(None, transcript=transcript)
            except SMTPClientError as exc:
                raise StepFailed("connect", _reason(exc, "connect")) from None
            await self._session()
        except StepFailed as exc:
            self.outcome.step, self.outcome.reason = exc.step, exc.reason
        except SMTPClientError as exc:
            self.outcome.step = self._step
            self.outcome.reason = _reason(exc, self._step)
        except OSError as exc:  # an attachment that could not be read mid-message
            self.outcome.step, self.outcome.reason = "data", f"reading the message: {exc}"
        finally:
            if self.client is not None:
                await self._quit()
        self.printer.transcript = transcript
        return self.outcome

    async def _quit(self) -> None:
        from smtptui.net.errors import SMTPClientError

        client = self.client
        assert client is not None
        try:
            if not client.closed:
                await client.quit()
        except SMTPClientError:
            pass
        finally:
            await client.close()

    async def _session(self) -> None:
        plan = self.plan
        client = self.client
        assert client is not None
        self._step = "greeting"
        greeting = await client.read_greeting()
        if greeting.code != 220:
            self._fail_on("greeting", greeting, "the session was")
        if plan.quit_after == "greeting":
            return
        await self._hello()
        if plan.quit_after == "ehlo":
            return
        await self._starttls()
        if plan.quit_after == "starttls":
            return
        if plan.auth is not None:
            await self._auth()
        if plan.quit_after == "auth":
            return
        await self._transaction()

    async def _hello(self) -> None:
        client = self.client
        assert client is not None
        self._step = "ehlo"
        reply = await client.ehlo(self.plan.helo)
        if reply.code == 250:
            return
        if reply.code in (500, 502):  # EHLO unknown: a pre-ESMTP server (RFC 5321 §3.2)
            reply = await client.helo(self.plan.helo)
            if reply.code == 250:
                return
        self._fail_on("ehlo", reply, "EHLO")

    async def _starttls(self) -> None:
        plan = self.plan
        client = self.client
        assert client is not None
        if client.tls is not None or plan.starttls == "no":
            return
        caps = client.capabilities
        offered = caps is not None and "STARTTLS" in caps
        if not offered:
            if plan.starttls == "yes":
                raise StepFailed("starttls", "the server does not offer STARTTLS "
                                             "(--starttls yes)")
            self.outcome.warnings.append("the server does not offer STARTTLS: the message "
                                         "goes in clear text")
            return
        self._step = "starttls"
        reply = await client.starttls()
        if reply.code != 220:
            self._fail_on("starttls", reply, "STARTTLS")
        self._step = "ehlo"
        again = await client.ehlo(plan.helo)
        if again.code != 250:
            self._fail_on("ehlo", again, "EHLO after STARTTLS")

    async def _auth(self) -> None:
        from smtptui.core import sasl

        plan = self.plan
        client = self.client
        assert client is not None
        self._step = "auth"
        caps = client.capabilities
        advertised = caps.params("AUTH") if caps is not None else ()
        try:
            mech = sasl.choose_mechanism(advertised, plan.auth or None)
        except sasl.SASLError as exc:
            raise StepFailed("auth", str(exc)) from None
        if advertised and mech not in {m.upper() for m in advertised}:
            self.outcome.warnings.append(f"AUTH {mech} is not advertised "
                                         f"(the server offers {' '.join(advertised)})")
        try:
            reply = await self._auth_exchange(mech)
        except sasl.SASLError as exc:
            raise StepFailed("auth", str(exc)) from None
        if reply.code != 235:
            self._fail_on("auth", reply, f"AUTH {mech}")

    async def _auth_exchange(self, mech: str) -> Reply:
        """The SASL exchange, every response sent as a secret (masked everywhere)."""
        from smtptui.core import sasl

        plan = self.plan
        client = self.client
        assert client is not None
        if mech == "PLAIN":
            return await client.command(
                f"AUTH PLAIN {sasl.plain_initial_response(plan.user, plan.secret)}",
                secret=True, step="AUTH")
        if mech == "XOAUTH2":
            reply = await client.command(
                f"AUTH XOAUTH2 {sasl.xoauth2_initial_response(plan.user, plan.secret)}",
                secret=True, step="AUTH")
            if reply.code == 334:  # the error, base64 JSON; an empty line ends it
                reply = await client.command("", secret=True, step="AUTH")
            return reply
        reply = await client.command(f"AUTH {mech}", step="AUTH")
        asked = 0
        while reply.code == 334 and asked < 3:
            challenge = reply.lines[-1].strip() if reply.lines else ""
            asked += 1
            if mech == "CRAM-MD5":
                answer = sasl.cram_md5_response(challenge, plan.user, plan.secret)
            else:
                kind, answer = sasl.login_response(challenge, plan.user, plan.secret)
                if kind == "user" and asked > 1:  # an unrecognised second prompt
                    answer = sasl.login_response("UGFzc3dvcmQ6", plan.user, plan.secret)[1]
            reply = await client.command(answer, secret=True, step="AUTH")
        return reply

    def _mail_line(self, composed: Composed) -> str:
        plan = self.plan
        params = []
        if plan.size:
            params.append(f"SIZE={composed.size}")
        if composed.eight_bit:
            params.append("BODY=8BITMIME")
        if plan.smtputf8:
            params.append("SMTPUTF8")
        if plan.dsn_ret:
            params.append(f"RET={plan.dsn_ret}")
        return " ".join([f"MAIL FROM:<{plan.sender}>", *params])

    def _rcpt_line(self, addr: str) -> str:
        notify = f" NOTIFY={self.plan.dsn_notify}" if self.plan.dsn_notify else ""
        return f"RCPT TO:<{addr}>{notify}"

    def _compose(self) -> Composed:
        from smtptui.core.message import compose

        plan = self.plan
        client = self.client
        assert client is not None
        caps = client.capabilities
        keywords = caps.keywords if caps is not None else frozenset()
        for keyword, wanted in (("SMTPUTF8", plan.smtputf8), ("SIZE", plan.size),
                                ("DSN", bool(plan.dsn_notify or plan.dsn_ret))):
            if wanted and keyword not in keywords:
                self.outcome.warnings.append(f"{keyword} is not advertised; sent as asked")
        eight_ok = plan.eight_bit or "8BITMIME" in keywords
        composed = compose(plan.spec, eight_bit_ok=eight_ok,
                           utf8_headers=plan.smtputf8 and "SMTPUTF8" in keywords)
        if plan.eight_bit and not composed.eight_bit:
            composed = replace(composed, eight_bit=True)  # --8bitmime: declare anyway
        self.outcome.size = composed.size
        if composed.eight_bit:
            self.outcome.body = "8BITMIME"
            if "8BITMIME" not in keywords:
                self.outcome.warnings.append("8BITMIME is not advertised; BODY=8BITMIME "
                                             "sent as asked (--8bitmime)")
        elif plan.spec.body.isascii():
            self.outcome.body = "7bit"
        else:
            self.outcome.body = "encoded (no 8BITMIME)"
        self.composed = composed
        return composed

    def _use_bdat(self) -> bool:
        client = self.client
        assert client is not None
        caps = client.capabilities
        chunking = caps is not None and "CHUNKING" in caps
        if self.plan.bdat is None:
            return chunking
        if self.plan.bdat and not chunking:
            self.outcome.warnings.append("CHUNKING is not advertised; BDAT sent as asked")
        return self.plan.bdat

    async def _transaction(self) -> None:
        plan = self.plan
        client = self.client
        assert client is not None
        composed = self._compose()
        bdat = self._use_bdat()
        self.outcome.method = "BDAT" if bdat else "DATA"
        caps = client.capabilities
        pipelined = plan.pipeline and caps is not None and "PIPELINING" in caps
        if plan.pipeline and not pipelined:
            self.outcome.warnings.append("PIPELINING is not advertised: commands sent one "
                                         "at a time")
        mail = self._mail_line(composed)
        rcpts = [self._rcpt_line(a) for a in plan.recipients]
        data_reply: Reply | None = None
        if pipelined:
            self._step = "mail"
            for line in (mail, *rcpts, *(() if bdat or plan.quit_after else ("DATA",))):
                await client.send_line(line)
            mail_reply = await client.read_reply("MAIL")
            self._step = "rcpt"
            rcpt_replies = [await client.read_reply("RCPT") for _ in rcpts]
            if not bdat and not plan.quit_after:
                self._step = "data"
                data_reply = await client.read_reply("DATA")
        else:
            self._step = "mail"
            mail_reply = await client.command(mail)
            rcpt_replies = []
            if mail_reply.code == 250 and plan.quit_after != "mail":
                self._step = "rcpt"
                for line in rcpts:
                    rcpt_replies.append(await client.command(line))
        if mail_reply.code != 250:
            await self._end_data_if_open(data_reply)
            self._fail_on("mail", mail_reply, "MAIL FROM")
        if plan.quit_after == "mail":
            return
        for addr, reply in zip(plan.recipients, rcpt_replies, strict=True):
            (self.outcome.accepted if reply.code in (250, 251) else
             self.outcome.refused).append(addr)
        if not self.outcome.accepted:
            await self._end_data_if_open(data_reply)
            raise StepFailed("rcpt", f"no recipient accepted: "
                                     f"{_reply_text(rcpt_replies[-1])}")
        if plan.quit_after == "rcpt":
            return
        self._step = "data"
        if bdat:
            final = await self._send_bdat(composed)
        else:
            if data_reply is None:
                data_reply = await client.command("DATA")
            if data_reply.code != 354:
                self._fail_on("data", data_reply, "DATA")
            self.printer.begin_data()
            try:
                final = await client.send_data(message_chunks(composed))
            finally:
                self.printer.end_data(composed.size)
        if final is None or final.code != 250:
            if final is None:
                raise StepFailed("data", "no reply to the message")
            self._fail_on("data", final, "the message was")
        self.outcome.reply = _reply_text(final)
        if self.outcome.refused:
            refused = ", ".join(self.outcome.refused)
            raise StepFailed("rcpt", f"refused: {refused} (sent to the others)")

    async def _end_data_if_open(self, data_reply: Reply | None) -> None:
        """A pipelined DATA answered 354 although nothing can be sent: end it empty
        (RFC 2920 §3.1) so the server discards it."""
        client = self.client
        if data_reply is not None and data_reply.code == 354 and client is not None:
            await client.command(".")

    async def _send_bdat(self, composed: Composed) -> Reply | None:
        client = self.client
        assert client is not None
        reply: Reply | None = None
        self.printer.begin_data()
        try:
            for chunk, last in _bdat_chunks(composed):
                reply = await client.send_chunk(chunk, last=last)
                if reply is None or reply.code != 250 or last:
                    break
        finally:
            self.printer.end_data(composed.size)
        return reply


def _reply_text(reply: Reply) -> str:
    from smtptui.net.errors import printable

    text = " ".join(line for line in reply.lines if line)
    return printable(f"{reply.code} {text}".rstrip(), 300)


def _reason(exc: Any, step: str) -> str:
    """The client's ``step: reason`` said under our step name, the fix named next to a
    certificate failure."""
    from smtptui.commands.probe import tls_hint

    text = exc.reason if exc.step.lower() == step else f"{exc.step}: {exc.reason}"
    return text + tls_hint(text)


# ------------------------------------------------------------------------------- output


def _meaning(reply: Reply) -> str:
    """One line on what a reply means (``smtptui explain`` in short)."""
    from smtptui.core.codes import explain

    if reply.code is None:
        return "not an SMTP reply"
    try:
        e = explain(reply)
    except ValueError:
        return ""
    text = e.meaning
    if e.enhanced and e.enhanced_meaning:
        text += f" [{e.enhanced}: {e.enhanced_meaning}]"
    if reply.code == 334 and reply.lines:
        from smtptui.core.sasl import SASLError, decode_challenge

        challenge = reply.lines[-1].strip()
        try:
            shown = decode_challenge(challenge).decode("utf-8", "replace")
        except SASLError:
            shown = ""
        if shown:
            from smtptui.net.errors import printable

            text += f" -- challenge, base64-decoded: {printable(shown, 200)}"
    return text


class Printer:
    """The annotated transcript as it happens: C:/S: lines, a dimmed meaning after each
    reply, message data summarised, secrets masked."""

    def __init__(self, out: TextIO, style: Style) -> None:
        self.out = out
        self.style = style
        self.in_data = False
        self.data_lines = 0
        self.transcript: Any = None

    def _line(self, text: str) -> None:
        self.out.write(text.rstrip() + "\n")

    def entry(self, e: Entry) -> None:
        from smtptui.core.transcript import Direction, mask
        from smtptui.net.errors import printable

        s = self.style
        if e.direction is Direction.NOTE:
            self._line(s.dim(f"*  {printable(e.text, 300, backslash=False)}"))
            return
        if e.direction is Direction.CLIENT:
            if e.secret:
                self._line(f"C: {s.warn(mask(e))}")
                return
            lines = e.text.split("\n")
            if self.in_data and not e.text.startswith("BDAT ") and e.text != ".":
                for line in lines:
                    self.data_lines += 1
                    if self.data_lines <= PREVIEW_LINES:
                        self._line(s.dim(f"C: {printable(line, 200)}"))
                return
            for line in lines:
                self._line(f"C: {printable(line, 400)}")
            return
        raw = e.raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        for line in raw.split("\n"):
            self._line(f"S: {printable(line.removesuffix(chr(13)), 400)}")
        if e.reply is not None:
            meaning = _meaning(e.reply)
            if meaning:
                self._line(s.dim(f"   {meaning}"))

    def begin_data(self) -> None:
        self.in_data = True
        self.data_lines = 0

    def end_data(self, size: int) -> None:
        if self.data_lines > PREVIEW_LINES:
            self._line(self.style.dim(f"C: ... message of {size} octets "
                                      f"(first {PREVIEW_LINES} lines shown)"))
        self.in_data = False

    def result(self, plan: Plan, outcome: Outcome, where: str) -> None:
        s = self.style
        for w in outcome.warnings:
            self._line(s.warn(f"warning: {w}"))
        if outcome.step is None and plan.quit_after:
            self._line(s.ok(f"stopped after {plan.quit_after} (--quit-after)"))
        elif outcome.step is None:
            parts = [f"sent to {', '.join(outcome.accepted)} via {where}",
                     f"{outcome.size} octets", outcome.method, outcome.body]
            self._line(s.ok("OK   " + "; ".join(p for p in parts if p)))
        self.out.flush()


class JsonPrinter(Printer):
    """``--json``: one object per transcript entry (secrets masked), then the result."""

    def entry(self, e: Entry) -> None:
        import json

        from smtptui.core.transcript import Transcript

        record = Transcript([e]).to_records()[0]
        del record["t"]
        if e.reply is not None:
            record["meaning"] = _meaning(e.reply)
        self.out.write(json.dumps(record, ensure_ascii=True) + "\n")

    def begin_data(self) -> None:
        pass

    def end_data(self, size: int) -> None:
        pass

    def result(self, plan: Plan, outcome: Outcome, where: str) -> None:
        import json

        self.out.write(json.dumps({
            "result": {
                "ok": outcome.step is None, "exit": outcome.exit_code,
                "step": outcome.step, "error": outcome.reason or None, "server": where,
                "message_id": plan.spec.message_id, "accepted": outcome.accepted,
                "refused": outcome.refused, "size": outcome.size,
                "method": outcome.method or None, "body": outcome.body or None,
                "reply": outcome.reply or None, "warnings": outcome.warnings,
            }}, ensure_ascii=True) + "\n")
        self.out.flush()


# ----------------------------------------------------------------------------- --save


def save_script(path: str, sender: Sender, where: str) -> None:
    """A script that replays the session (``smtptui run PATH TARGET``): the commands
    and replies as they happened, the message in PATH's ``.eml`` sibling (included,
    streamed), AUTH as a comment: credentials are never written."""
    from smtptui.core.transcript import Direction

    transcript = sender.printer.transcript
    composed = sender.composed
    eml = os.path.splitext(path)[0] + ".eml"
    out: list[str] = [(f"# smtptui send to {where}; replay: smtptui run {os.path.basename(path)}"
                      f" TARGET")]
    in_auth = in_data = bdat_started = skip_reply = False
    for e in transcript or ():
        if e.direction is Direction.NOTE:
            continue
        if e.direction is Direction.CLIENT:
            first = e.text.split("\n", 1)[0]
            verb = first.split(" ", 1)[0].upper()
            if e.secret or verb == "AUTH" or in_auth:
                if not in_auth:
                    out.append(f"# {verb} {first.split(' ')[1] if ' ' in first else ''}"
                               "exchange here: credentials are not saved".replace("  ", " "))
                in_auth = True
                continue
            if in_data:
                if e.text == ".":
                    in_data = False
                else:
                    continue
            if bdat_started and not verb.isalpha():
                continue  # chunk data
            if verb == "BDAT":  # replayed with DATA: run scripts send data that way
                bdat_last = first.upper().endswith(" LAST")
                if not bdat_started:
                    out += ["# sent with BDAT (RFC 3030); replayed with DATA", "C: DATA",
                            f"#!include {os.path.basename(eml)}", "C: ."]
                    bdat_started = True
                skip_reply = not bdat_last
                continue
            out.append(f"C: {first}")
            if verb == "DATA" and composed is not None:
                in_data = True
            continue
        if in_auth:
            if e.code is not None and e.code != 334:
                in_auth = False
            continue
        if skip_reply:
            skip_reply = False
            continue
        lines = e.raw.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n").split("\n")
        out.extend(f"S: {line}" for line in lines)
        if e.code == 354 and in_data:
            out.append(f"#!include {os.path.basename(eml)}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    if composed is not None:
        with open(eml, "wb") as f:
            f.writelines(message_chunks(composed))


# ---------------------------------------------------------------------------------- run


def _usage(message: str) -> int:
    print(f"smtptui send: error: {message}", file=sys.stderr)
    return 2


def connector_for(args: argparse.Namespace, plan: Plan) -> tuple[Connector, str]:
    """The connector and a label for it; ValueError (usage) for a bad target."""
    from smtptui.commands.probe import options_from_args
    from smtptui.session.connect import make_connector

    if args.target and args.server:
        raise UsageError("give the server once: TARGET or --server")
    target = args.target or args.server
    if args.embedded:
        if target:
            raise UsageError("--embedded sends to the embedded server: no TARGET")
        connector = make_connector(None, options_from_args(args))
        return connector, "the embedded teaching server"
    if not target:
        domain = plan.recipients[0].rpartition("@")[2]
        if not domain:
            raise UsageError("no TARGET and no domain in the first --to address")
        target = f"@{domain}"
    # One message to one host: the blocking client, no event loop (see net.blocking).
    return make_connector(target, options_from_args(args), tls=args.tls, blocking=True), target


def run(args: argparse.Namespace) -> int:
    try:
        plan = make_plan(args)
        connector, where = connector_for(args, plan)
    except ValueError as exc:  # UsageError, and make_connector's own
        return _usage(str(exc))
    out = sys.stdout
    style = Style.for_stream(out)
    printer = JsonPrinter(out, style) if args.json else Printer(out, style)
    err = Style.for_stream(sys.stderr)
    if args.insecure:
        print(err.warn("smtptui send: warning: --insecure: TLS certificates are not "
                       "verified"), file=sys.stderr)
    sender = Sender(plan, printer)
    if getattr(connector, "blocking", False):
        from smtptui.net.blocking import run_blocking

        outcome = run_blocking(_deliver(sender, connector))
    else:
        import asyncio

        outcome = asyncio.run(_deliver(sender, connector))
    printer.result(plan, outcome, where)
    if args.save:
        try:
            save_script(args.save, sender, where)
        except OSError as exc:
            print(f"smtptui send: --save {args.save}: {exc.strerror or exc}", file=sys.stderr)
    if outcome.step is not None:
        from smtptui.net.errors import printable

        print(err.fail(f"{outcome.step}: {printable(outcome.reason, 400, backslash=False)}"),
              file=sys.stderr)
    return outcome.exit_code


async def _deliver(sender: Sender, connector: Connector) -> Outcome:
    try:
        return await sender.run(connector)
    finally:
        await connector.aclose()

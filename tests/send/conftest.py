"""Fixtures for ``smtptui send``: real servers on loopback only.

- ``smtpd`` / ``smtpd_7bit``: in-process aiosmtpd recording the envelope (with its MAIL
  and RCPT parameters) and the exact bytes of each message; ``smtpd_7bit`` does not
  advertise 8BITMIME. ``auth_smtpd`` accepts alice / s3cret with PLAIN and LOGIN.
- ``scripted``: a raw server (tests/helpers/rawserver.py) answering from a table, for
  what aiosmtpd will not do: refusals at each step, CHUNKING, CRAM-MD5, XOAUTH2.
- ``postfix`` and ``tls_files``: the CI Postfix of tests/probe/conftest.py.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers.rawserver import RawServer, raw_servers
from tests.probe.conftest import postfix, tls_files  # noqa: F401  (fixtures)

JAPANESE = "あんじょうよろしゅうにぃ。\n"
"""The message body of the seed lecture's SMTP example (slide "SMTPの通信例")."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    rcpt_options: list[list[str]]
    content: bytes


@dataclass
class Recorder:
    """Keeps every message with its envelope; refuses recipients named nobody."""

    messages: list[Received] = field(default_factory=list)
    rcpt_options: list[list[str]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@", 1)[0].lower() == "nobody":
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        self.rcpt_options.append(list(rcpt_options))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.mail_options),
                                      list(envelope.rcpt_tos), list(self.rcpt_options),
                                      bytes(envelope.original_content)))
        self.rcpt_options.clear()
        return "250 2.0.0 OK queued"


@dataclass
class Smtpd:
    port: int
    recorder: Recorder

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"alice"
          and auth_data.password == b"s3cret")
    return AuthResult(success=ok, handled=False)


def _serve(**kwargs: object) -> Iterator[Smtpd]:
    recorder = Recorder()
    c = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                   server_hostname="mx.send.test", **kwargs)
    c.start()
    yield Smtpd(c.port, recorder)
    c.stop()


@pytest.fixture
def smtpd() -> Iterator[Smtpd]:
    yield from _serve(data_size_limit=64 * 1024 * 1024)


@pytest.fixture
def smtpd_7bit() -> Iterator[Smtpd]:
    """No 8BITMIME in its EHLO (aiosmtpd advertises it only without decode_data)."""
    yield from _serve(decode_data=True)


@pytest.fixture
def auth_smtpd() -> Iterator[Smtpd]:
    yield from _serve(authenticator=_auth, auth_require_tls=False)


# ------------------------------------------------------------------------- raw server


@dataclass
class Script:
    """What a scripted server answers; ``log`` gets every octet it received."""

    replies: dict[str, str] = field(default_factory=dict)
    greeting: str = "220 raw.test ESMTP"
    ehlo: tuple[str, ...] = ("raw.test", "PIPELINING", "8BITMIME", "CHUNKING", "DSN",
                             "SIZE 10000000", "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2")
    challenge: bytes = b"<1896.697170952@postoffice.reston.mci.net>"
    expect_auth: str = ""
    """The base64 SASL response that earns 235 (anything else gets 535)."""
    log: bytearray = field(default_factory=bytearray)
    chunks: list[bytes] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)


async def _answer(script: Script, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    def say(text: str) -> None:
        writer.write(text.encode() + b"\r\n")

    say(script.greeting)
    await writer.drain()
    while line := await reader.readline():
        script.log += line
        words = line.decode("utf-8", "replace").split()
        verb = words[0].upper() if words else ""
        canned = script.replies.get(verb)
        if verb == "EHLO" and canned is None:
            *head, last = script.ehlo
            say("\r\n".join([*(f"250-{h}" for h in head), f"250 {last}"]))
        elif verb == "AUTH" and canned is None:
            if len(words) == 2:  # no initial response: one challenge
                say("334 " + base64.b64encode(script.challenge).decode())
                await writer.drain()
                response = (await reader.readline()).decode().strip()
                script.log += response.encode() + b"\r\n"
            else:
                response = words[2]
            if response == script.expect_auth:
                say("235 2.7.0 Authentication successful")
            elif words[1].upper() == "XOAUTH2":
                err = base64.b64encode(b'{"status":"401","schemes":"bearer"}').decode()
                say(f"334 {err}")
                await writer.drain()
                script.log += await reader.readline()
                say("535 5.7.8 Username and Password not accepted")
            else:
                say("535 5.7.8 Authentication credentials invalid")
        elif verb == "BDAT" and canned is None:
            chunk = await reader.readexactly(int(words[1]))
            script.log += chunk
            script.chunks.append(chunk)
            say(f"250 2.0.0 {len(chunk)} octets received")
        elif verb == "DATA" and canned is None:
            say("354 go ahead")
            await writer.drain()
            body = bytearray()
            while (data := await reader.readline()) not in (b".\r\n", b""):
                body += data
            script.log += body + b".\r\n"
            script.data.append(bytes(body))
            say(script.replies.get(".", "250 2.0.0 queued"))
        elif verb == "QUIT":
            say("221 2.0.0 bye")
            await writer.drain()
            return
        else:
            say(canned or "250 2.0.0 OK")
        await writer.drain()


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], RawServer]]:
    """Start a raw server answering from a :class:`Script`."""
    servers = raw_servers()
    make = next(servers)
    yield lambda script: make(lambda r, w: _answer(script, r, w))
    next(servers, None)  # stops every server started

"""The session layer against real servers: the embedded teaching server (on the test's
loop), aiosmtpd, hostile raw servers and the CI Postfix.

Each test reads like a session typed by hand: what was sent, which events the front end
got, what the transcript and the files on disk hold afterwards.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from smtptui.core.state import END_OF_DATA, GREETING, State
from smtptui.net.probe import ProbeOptions
from smtptui.server.world import DEMO_PASSWORD, DEMO_USER, load_world
from smtptui.session import Session, SessionError, make_connector
from smtptui.session.autosave import History
from smtptui.session.common import closing_reason
from smtptui.session.events import (
    Closed,
    Connected,
    Connecting,
    DataProgress,
    Failed,
    LineSent,
    Note,
    RemoteLine,
    ReplyReceived,
    ServerLog,
    StateChanged,
    TLSUp,
)
from tests.run.conftest import RecordingHandler, free_port

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


class Recorder:
    def __init__(self, session: Session) -> None:
        self.events: list[object] = []
        session.subscribe(self.events.append)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def replies(self) -> list[ReplyReceived]:
        return self.of(ReplyReceived)


def session_for(target: str | None = None, *, timeout: float | None = None,
                cafile: str | None = None, world=None, **kw) -> tuple[Session, Recorder]:
    options = ProbeOptions(helo="client.test", timeout=timeout, cafile=cafile)
    session = Session(make_connector(target, options, world=world), helo_name="client.test",
                      **kw)
    return session, Recorder(session)


@pytest.fixture
def smtpd():
    handler = RecordingHandler()
    c = Controller(handler, hostname="127.0.0.1", port=free_port())
    c.start()
    yield c, handler
    c.stop()


# ----------------------------------------------------------------------------- happy paths


async def test_embedded_session_from_greeting_to_quit(data_home: Path) -> None:
    session, rec = session_for()
    assert await session.connect()
    greeting = await session.greeting()
    assert greeting is not None and greeting.code == 220
    first = rec.replies[0]
    assert first.transition.verb == GREETING and first.transition.after is State.GREETED
    assert first.explanation is not None and first.explanation.code == 220

    ehlo = await session.command("EHLO client.test")
    assert ehlo is not None and ehlo.code == 250
    assert session.capabilities is not None and "STARTTLS" in session.capabilities
    state = rec.of(StateChanged)[-1]
    assert state.state is State.READY and state.usual[0] == "STARTTLS"

    assert (await session.command("MAIL FROM:<me@client.test>")).code == 250
    assert (await session.command(f"RCPT TO:<{DEMO_USER}@smtptui.test>")).code == 250
    assert rec.of(StateChanged)[-1].recipients == 1
    assert (await session.command("DATA")).code == 354
    assert session.snapshot().sending_data
    final = await session.send_message("Subject: hello\n\n.a line that starts with a dot\n")
    assert final is not None and final.code == 250
    assert rec.replies[-1].transition.verb == END_OF_DATA
    bye = await session.quit()
    assert bye is not None and bye.code == 221
    await session.aclose()

    kinds = [type(e) for e in rec.events]
    assert kinds[0] is Connecting and kinds.index(Connected) < kinds.index(ReplyReceived)
    assert isinstance(rec.events[-1], Closed)
    assert rec.of(ServerLog), "the embedded server's own log reaches the front end"
    text = session.transcript.to_text()
    assert "C: ..a line that starts with a dot" in text  # dot-stuffed on the wire
    # Every line sent is a LineSent event, in order, matching the transcript.
    sent = [e.entry.text for e in rec.of(LineSent)]
    assert sent[:3] == ["EHLO client.test", "MAIL FROM:<me@client.test>",
                        f"RCPT TO:<{DEMO_USER}@smtptui.test>"]


async def test_starttls_verified_then_auth_is_masked_everywhere(data_home: Path) -> None:
    session, rec = session_for()
    await session.connect()
    await session.greeting()
    await session.command("EHLO client.test")
    before = session.capabilities
    reply = await session.starttls()
    assert reply is not None and reply.code == 220
    tls = rec.of(TLSUp)
    assert len(tls) == 1 and tls[0].info.verified, "the embedded server's own CA is trusted"
    snap = session.snapshot()
    assert snap.state is State.GREETED and snap.usual == ("EHLO",)  # RFC 3207 §4.2
    assert snap.capabilities is None and snap.capabilities_before_tls == before
    await session.command("EHLO client.test")
    assert "AUTH" in session.capabilities
    done = await session.auth("PLAIN", DEMO_USER, DEMO_PASSWORD)
    assert done is not None and done.code == 235
    assert session.snapshot().authenticated
    await session.quit()
    await session.aclose()

    text = session.transcript.to_text()
    assert DEMO_PASSWORD not in text and "AUTH PLAIN <secret" in text
    sent = " ".join(e.entry.text for e in rec.of(LineSent) if not e.entry.secret)
    assert DEMO_PASSWORD not in sent
    saved = list((data_home / "transcripts").iterdir())
    assert len(saved) == 1
    content = saved[0].read_text()
    assert "AUTH PLAIN <secret: initial response hidden>" in content
    import base64
    secret = base64.b64encode(f"\0{DEMO_USER}\0{DEMO_PASSWORD}".encode()).decode()
    assert secret not in content and DEMO_PASSWORD not in content
    assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((data_home / "transcripts").stat().st_mode) == 0o700
    history = (data_home / "history").read_text().splitlines()
    assert "EHLO client.test" in history and not any("AUTH PLAIN" in h for h in history)


async def test_auth_login_computes_both_answers(data_home: Path) -> None:
    session, rec = session_for()
    await session.connect()
    await session.greeting()
    await session.command("EHLO client.test")
    await session.starttls()
    await session.command("EHLO client.test")
    done = await session.auth("LOGIN", DEMO_USER, DEMO_PASSWORD)
    assert done is not None and done.code == 235
    secrets = [e.entry for e in rec.of(LineSent) if e.entry.secret]
    assert len(secrets) == 2  # user name and password, each masked
    assert "<secret: AUTH response hidden>" in session.transcript.to_text()
    await session.aclose()


async def test_wrong_password_and_unknown_mechanism(data_home: Path) -> None:
    session, _ = session_for()
    await session.connect()
    await session.greeting()
    await session.command("EHLO client.test")
    await session.starttls()
    await session.command("EHLO client.test")
    refused = await session.auth("PLAIN", DEMO_USER, "not-the-password")
    assert refused is not None and refused.code == 535
    with pytest.raises(SessionError, match="PLAIN, LOGIN and CRAM-MD5"):
        await session.auth("SCRAM-SHA-1", DEMO_USER, DEMO_PASSWORD)
    await session.aclose()


async def test_message_file_is_streamed_with_progress(tmp_path: Path, smtpd) -> None:
    controller, handler = smtpd
    body = tmp_path / "big.eml"
    line = b"x" * 76 + b"\n"
    body.write_bytes(b"Subject: big\n\n" + line * 20000 + b".\n")  # ~1.5 MB, a lone dot
    session, rec = session_for(f"127.0.0.1:{controller.port}")
    await session.connect()
    await session.greeting()
    for cmd in ("EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA"):
        await session.command(cmd)
    final = await session.send_message(path=body)
    assert final is not None and final.code == 250
    progress = rec.of(DataProgress)
    assert progress and progress[-1].sent == body.stat().st_size
    assert progress[-1].total == body.stat().st_size
    await session.quit()
    await session.aclose()
    got = handler.messages[0].content.replace(b"\r\n", b"\n")
    assert got == body.read_bytes(), "the lone dot was stuffed and un-stuffed"
    notes = [e.entry.text for e in rec.of(Note)]
    assert any("more octets of message data sent" in n for n in notes), \
        "a big message is summarised in the transcript, not kept whole"


async def test_pipelined_commands_are_matched_in_order(data_home: Path) -> None:
    session, rec = session_for()
    await session.connect()
    await session.greeting()
    await session.command("EHLO client.test")
    assert session.capabilities.pipelining
    futures = [await session.send(line) for line in (
        "MAIL FROM:<a@client.test>", "RCPT TO:<alice@smtptui.test>",
        "RCPT TO:<nobody@smtptui.test>", "RCPT TO:<bob@smtptui.test>")]
    codes = [(await f).code for f in futures]
    assert codes == [250, 250, 550, 250]
    verbs = [r.transition.verb for r in rec.replies[-4:]]
    assert verbs == ["MAIL", "RCPT", "RCPT", "RCPT"]
    assert session.snapshot().recipients == 2
    await session.aclose()


async def test_check_and_complete_use_the_session(data_home: Path) -> None:
    session, _ = session_for()
    # Before connecting: grammar only.
    diags = session.check("MAIL FROM:<a@b")
    assert diags and diags[0].is_error
    await session.connect()
    await session.greeting()
    warnings = session.check("MAIL FROM:<a@client.test>")
    assert any("HELO" in d.message or "EHLO" in d.message for d in warnings)
    verbs = [c.text.strip() for c in session.complete("")]
    assert verbs[0] == "EHLO"
    await session.command("EHLO client.test")
    await session.command("MAIL FROM:<someone@client.test>")
    await session.command("RSET")
    addresses = [c.text for c in session.complete("MAIL FROM:<so")]
    assert any("someone@client.test" in a for a in addresses), "history feeds completion"
    await session.aclose()


async def test_history_persists_across_sessions(data_home: Path) -> None:
    session, _ = session_for()
    await session.connect()
    await session.greeting()
    await session.command("EHLO persisted.test")
    await session.command("NOOP")
    await session.aclose()
    again = History()
    assert again.lines[-2:] == ("EHLO persisted.test", "NOOP")
    assert stat.S_IMODE((data_home / "history").stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------ TURN


async def test_turn_swaps_roles_and_we_answer_as_receiver(data_home: Path) -> None:
    world = load_world(SCENARIOS / "turn.toml")
    session, rec = session_for(world=world)
    await session.connect()
    await session.greeting()
    await session.command("HELO LBL-UNIX.ARPA")
    turned = await session.command("TURN")
    assert turned is not None and turned.code == 250
    assert session.state is State.TURNED and session.snapshot().role == "server"
    assert session.check("hello")[0].is_error  # we must answer with a reply now
    assert [c.display for c in session.complete("")] == ["220", "421"]

    async def next_remote() -> RemoteLine:
        for _ in range(500):
            lines = rec.of(RemoteLine)
            if len(lines) > seen:
                return lines[seen]
            await asyncio.sleep(0.01)
        raise AssertionError("the remote sent nothing")

    seen = 0
    await session.send("220 LBL-UNIX.ARPA Simple Mail Transfer Service Ready")
    answers = {"HELO": "250 LBL-UNIX.ARPA", "MAIL": "250 OK", "RCPT": "250 OK",
               "DATA": "354 Start mail input; end with <CRLF>.<CRLF>",
               END_OF_DATA: "250 OK", "QUIT": "221 LBL-UNIX.ARPA closing"}
    received: list[str] = []
    while session.connected:
        line = await next_remote()
        seen += 1
        if line.in_data:
            received.append(line.entry.text)
            continue
        assert line.verb in answers, line
        assert int(answers[line.verb][:3]) in line.expected
        await session.send(answers[line.verb])
    assert received[-1] == "This message waited at USC-ISIF until LBL-UNIX sent TURN."
    assert isinstance(rec.events[-1], Closed)
    await session.aclose()


# -------------------------------------------------------------------------------- failures


async def test_refused_connection_is_one_failure(data_home: Path) -> None:
    session, rec = session_for(f"127.0.0.1:{free_port()}", timeout=2)
    assert not await session.connect()
    failed = rec.of(Failed)
    assert len(failed) == 1 and failed[0].step == "connect"
    assert "refused" in failed[0].reason
    with pytest.raises(SessionError, match="not connected"):
        await session.send("NOOP")
    await session.aclose()


async def test_unsolicited_reply_is_flagged_not_shifted(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 raw.test ready\r\n250 surprise\r\n")
        while line := await reader.readline():
            verb = line.split()[0].upper()
            writer.write(b"250-raw.test\r\n250 PIPELINING\r\n" if verb == b"EHLO"
                         else b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")
            await writer.drain()
            if verb == b"QUIT":
                return

    server = raw_server(handler)
    session, rec = session_for(server.target, timeout=5)
    await session.connect()
    await session.greeting()
    ehlo = await session.command("EHLO client.test")
    assert ehlo is not None and ehlo.lines == ("raw.test", "PIPELINING")
    unsolicited = [r for r in rec.replies if r.unsolicited]
    assert [r.reply.text for r in unsolicited] == ["surprise"]
    assert any("unsolicited reply" in n.entry.text for n in rec.of(Note))
    await session.quit()
    await session.aclose()


async def test_a_burst_of_replies_is_every_reply_in_order(raw_server) -> None:
    """Replies that arrive together (here 300 unsolicited ones in one write) are each a
    ReplyReceived, in order, explained on demand (the reader does not explain them)."""
    burst = b"".join(b"250 %d ok\r\n" % i for i in range(300))

    async def handler(reader, writer):
        writer.write(b"220 raw.test ready\r\n")
        while line := await reader.readline():
            verb = line.split()[0].upper()
            writer.write(burst if verb == b"NOOP" else b"221 bye\r\n")
            await writer.drain()
            if verb == b"QUIT":
                return

    server = raw_server(handler)
    session, rec = session_for(server.target, timeout=5)
    await session.connect()
    await session.greeting()
    assert (await session.command("NOOP")).text == "0 ok"
    for _ in range(200):
        if len(rec.replies) == 301:
            break
        await asyncio.sleep(0.01)
    texts = [r.reply.text for r in rec.replies[1:]]
    assert texts == [f"{i} ok" for i in range(300)]
    assert [r.unsolicited for r in rec.replies[1:3]] == [False, True]
    last = rec.replies[-1]
    assert last.explanation is not None
    assert last.explanation.code == 250 and last.explanation.reply is last.reply
    assert rec.events[-1] == session.snapshot(), "the last event is the state after all"
    await session.quit()
    await session.aclose()


async def test_server_hangs_up_mid_session_keeps_transcript_and_reconnects(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 raw.test ready\r\n")
        await reader.readline()
        writer.write(b"250 raw.test\r\n")
        await writer.drain()
        await reader.readline()  # the next command: hang up instead of answering

    server = raw_server(handler)
    session, rec = session_for(server.target, timeout=5)
    await session.connect()
    await session.greeting()
    await session.command("HELO client.test")
    assert await session.command("MAIL FROM:<a@client.test>") is None
    failed = rec.of(Failed)
    assert len(failed) == 1 and failed[0].step == "MAIL"
    assert "closed" in failed[0].reason
    assert isinstance(rec.events[-1], Closed) and not session.connected
    before = len(session.transcript)
    assert "C: MAIL FROM:<a@client.test>" in session.transcript.to_text()
    assert await session.reconnect()
    assert (await session.greeting()).code == 220
    assert len(session.transcript) > before, "one transcript across reconnects"
    await session.aclose()


async def test_reply_timeout_names_the_step(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 raw.test ready\r\n")
        await reader.readline()
        await asyncio.sleep(10)

    server = raw_server(handler)
    session, rec = session_for(server.target, timeout=0.5)
    await session.connect()
    await session.greeting()
    assert await session.command("NOOP") is None
    failed = rec.of(Failed)
    assert [(f.step, "timed out after 0.5 s" in f.reason) for f in failed] == [("NOOP", True)]
    await session.aclose()


async def test_idle_session_waits_without_deadline_then_sees_421(raw_server) -> None:
    async def handler(reader, writer):
        writer.write(b"220 raw.test ready\r\n")
        await asyncio.sleep(3)  # longer than the reply deadline: nothing was awaited
        writer.write(b"421 raw.test idle too long, closing\r\n")
        await writer.drain()

    server = raw_server(handler)
    session, rec = session_for(server.target, timeout=1.5)
    await session.connect()
    await session.greeting()
    for _ in range(2000):  # until the session has said it is closed (not merely closing)
        if rec.of(Closed):
            break
        await asyncio.sleep(0.01)
    assert not rec.of(Failed), "no deadline runs while nothing is awaited"
    last = rec.replies[-1]
    assert last.reply.code == 421 and last.unsolicited
    assert isinstance(rec.events[-1], Closed) and "421" in rec.events[-1].reason
    await session.aclose()


async def test_local_misuse_is_a_session_error(data_home: Path) -> None:
    session, _ = session_for()
    await session.connect()
    await session.greeting()
    with pytest.raises(SessionError, match="CR or LF"):
        await session.send("NOOP\r\nQUIT")
    with pytest.raises(SessionError, match="354"):
        await session.send_message("hello")
    with pytest.raises(SessionError, match="already connected"):
        await session.connect()
    await session.aclose()


async def test_a_broken_subscriber_does_not_end_the_session(data_home: Path) -> None:
    session, _ = session_for()

    def broken(event: object) -> None:
        raise RuntimeError("front-end bug")

    session.subscribe(broken)
    await session.connect()
    await session.greeting()
    assert (await session.command("NOOP")).code == 250
    log = data_home / "errors.log"
    assert "front-end bug" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    await session.aclose()


# ---------------------------------------------------------------------- the CI Postfix


async def test_postfix_starttls_verified_and_a_message(postfix, tls_files) -> None:
    session, rec = session_for(f"127.0.0.1:{postfix.smtp_port}", timeout=20,
                               cafile=str(tls_files.cafile))
    await session.connect()
    greeting = await session.greeting()
    assert greeting is not None and greeting.code == 220
    await session.command("EHLO client.test")
    assert "STARTTLS" in session.capabilities
    await session.starttls()
    assert rec.of(TLSUp) and rec.of(TLSUp)[0].info.verified
    await session.command("EHLO client.test")
    mail = await session.command("MAIL FROM:<sender@client.test>")
    assert mail is not None and mail.code == 250
    rcpt = await session.command("RCPT TO:<alice@lab.test>")
    assert rcpt is not None and rcpt.code in (250, 550, 554)
    await session.quit()
    await session.aclose()
    assert isinstance(rec.events[-1], Closed)


# ------------------------------------------- closing while the reader ends the connection


async def test_closing_right_after_quit_keeps_the_servers_close_and_its_note(
        smtpd, monkeypatch: pytest.MonkeyPatch) -> None:
    # After QUIT's 221 the reader waits for the hang-up and closes the connection; a
    # front end that closes the session as soon as the 221 is in (pipe mode at the end
    # of its input) must not cut that short: the note and the Closed event still come.
    controller, _handler = smtpd
    slow = asyncio.Event()
    wait_closed = asyncio.StreamWriter.wait_closed

    async def slow_wait_closed(self: asyncio.StreamWriter) -> None:
        slow.set()
        await asyncio.sleep(0.3)  # the peer slow to take the last bytes
        await wait_closed(self)

    monkeypatch.setattr(asyncio.StreamWriter, "wait_closed", slow_wait_closed)
    session, rec = session_for(f"127.0.0.1:{controller.port}")
    await session.connect()
    await session.greeting()
    reply = await session.command("QUIT")
    assert reply is not None and reply.code == 221
    await asyncio.wait_for(slow.wait(), 5)  # the reader is inside its close now
    await session.aclose()
    notes = [e.entry.text for e in rec.of(Note)]
    assert notes[-1] == "connection closed"
    assert [e.reason for e in rec.of(Closed)] == [closing_reason(221)]


async def test_a_cancelled_close_still_says_the_connection_closed(
        smtpd, monkeypatch: pytest.MonkeyPatch) -> None:
    from smtptui.net.client import SMTPClient

    controller, _handler = smtpd
    never = asyncio.Event()

    async def stuck_wait_closed(self: asyncio.StreamWriter) -> None:
        await never.wait()

    client = await SMTPClient.connect("127.0.0.1", controller.port)
    await client.read_greeting()
    monkeypatch.setattr(asyncio.StreamWriter, "wait_closed", stuck_wait_closed)
    closing = asyncio.create_task(client.close())
    await asyncio.sleep(0.05)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert client.closed and client.transcript[-1].text == "connection closed"


async def test_quit_after_the_221_sends_nothing_while_the_server_hangs_up(raw_server) -> None:
    # The 221 is in and the reader waits for the hang-up (this server takes 0.5 s): a
    # front end that says goodbye at the end of its input (pipe mode) must not send a
    # second QUIT after the first was answered.
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 slow.test ESMTP\r\n")
        while line := await reader.readline():
            received.append(line)
            if line.upper().startswith(b"QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                await asyncio.sleep(0.5)
                return
            writer.write(b"250 ok\r\n")

    session, rec = session_for(raw_server(handler).target)
    await session.connect()
    await session.greeting()
    reply = await session.command("QUIT")
    assert reply is not None and reply.code == 221
    assert session.connected  # still: the reader waits for the hang-up
    assert await session.quit() is None
    await session.aclose()
    assert received == [b"QUIT\r\n"]
    assert [e.entry.text for e in rec.of(LineSent)] == ["QUIT"]
    assert [e.reason for e in rec.of(Closed)] == [closing_reason(221)]

"""The interactive shell, typed at through prompt_toolkit's pipe input (no terminal):
completion with meanings, the validator's cursor and the second Enter, the ``/``
commands, message entry after 354, and AUTH secrets that appear nowhere.

The embedded teaching server runs on the test's loop; the shell's own loop is that loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.validation import ValidationError

from smtptui.core.state import State
from smtptui.core.transcript import Direction
from smtptui.server.world import DEMO_PASSWORD, DEMO_USER
from smtptui.session import History, Session, make_connector, options
from smtptui.shell.completer import SessionCompleter
from smtptui.shell.repl import Repl
from smtptui.shell.validator import SessionValidator


def _session(data_home: Path, target: str | None = None) -> Session:
    return Session(make_connector(target, options(helo="client.test")),
                   helo_name="client.test", autosave=data_home / "transcripts",
                   history=History(path=data_home / "history"))


async def _until(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    """Wait (bounded) for something the shell does in the background."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


class Typist:
    """A shell on pipe input: ``type(line)`` presses the keys and Enter."""

    def __init__(self, repl: Repl, pipe) -> None:  # type: ignore[no-untyped-def]
        self.repl = repl
        self.pipe = pipe
        self.printed: list[str] = []

    @property
    def session(self) -> Session:
        assert self.repl.session is not None
        return self.repl.session

    def sent(self) -> list[str]:
        return [e.text for e in self.session.transcript if e.direction is Direction.CLIENT]

    def codes(self) -> list[int | None]:
        if self.repl.session is None:  # still being made behind the prompt
            return []
        return [e.code for e in self.session.transcript if e.direction is Direction.SERVER]

    def explained(self) -> int:
        """Replies printed so far: each has its meaning line under it, or with /raw on is
        one line of octets."""
        return sum(1 for line in self.printed if (line[:5] == "   = " and line[5:8].isdigit())
                   or (line.startswith("S: ") and line.endswith("\\r\\n")))

    async def type(self, text: str, *, replies: int | None = None) -> None:
        """Type ``text`` + Enter; with ``replies``, wait until that many replies arrived."""
        self.pipe.send_text(text + "\r")
        if replies is not None:
            await _until(lambda: len(self.codes()) >= replies
                         and self.explained() >= replies, f"reply {replies} to {text!r}")
        else:
            await asyncio.sleep(0.05)


@pytest.fixture
def pipe() -> Iterator[object]:
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        yield inp


@pytest.fixture(params=["made first", "made behind the prompt"])
async def shell(pipe, data_home: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Every test runs twice: with the session made before the prompt, and with the
    prompt drawn first and the session made behind it (what ``smtptui shell`` does)."""
    printed: list[str] = []

    def factory(target: str | None) -> Session:
        return _session(data_home, target)

    session = _session(data_home) if request.param == "made first" else None
    repl = Repl(session, factory, colour=False, input=pipe, output=DummyOutput(),
                write=printed.append)
    typist = Typist(repl, pipe)
    typist.printed = printed
    task = asyncio.ensure_future(repl.run())
    typist.task = task  # type: ignore[attr-defined]
    await _until(lambda: typist.codes() == [220], "the greeting")
    yield typist
    if not task.done():
        pipe.send_text("\x04")  # Ctrl-D: QUIT and leave
        await asyncio.wait_for(task, 15)


async def test_a_session_typed_by_hand_with_replies_explained(shell: Typist) -> None:
    await shell.type("EHLO client.test", replies=2)
    await shell.type("MAIL FROM:<alice@client.test>", replies=3)
    assert shell.codes() == [220, 250, 250]
    assert shell.sent() == ["EHLO client.test", "MAIL FROM:<alice@client.test>"]
    text = "\n".join(shell.printed)
    assert "S: 250 2.1.0" in text
    assert "   = 250 positive completion: " in text  # the meaning under the reply
    assert "\x1b[" not in text  # colour off: words only
    assert shell.repl._message() == "smtp[smtptui.test mail]> "


async def test_a_line_with_an_error_needs_a_second_enter(shell: Typist) -> None:
    await shell.type("EHLO client.test", replies=2)
    await shell.type("MAIL FROM:<alice@client.test")
    assert shell.sent() == ["EHLO client.test"]  # refused: still in the prompt
    await shell.type("")  # Enter again on the unchanged line: sent anyway
    await _until(lambda: len(shell.codes()) == 3, "the 501")
    assert shell.sent()[-1] == "MAIL FROM:<alice@client.test"
    assert shell.codes()[-1] == 501


async def test_message_entry_after_354_is_dot_stuffed_until_a_single_dot(
        shell: Typist) -> None:
    await shell.type("EHLO client.test", replies=2)
    await shell.type("MAIL FROM:<alice@client.test>", replies=3)
    await shell.type("RCPT TO:<postmaster>", replies=4)
    await shell.type("DATA", replies=5)
    assert shell.session.snapshot().sending_data and shell.repl._message() == "data> "
    # Message text is not checked: a line that is no command is not refused.
    for line in ("Subject: dots", "", ".a line that starts with a dot", "MAIL FROM:<x"):
        await shell.type(line)
    await shell.type(".", replies=6)
    assert shell.codes()[-1] == 250
    raw = [e.raw for e in shell.session.transcript if e.direction is Direction.CLIENT]
    assert b"..a line that starts with a dot\r\n" in raw
    assert shell.repl._message().startswith("smtp[smtptui.test ready")
    assert "C: ..a line that starts with a dot" in shell.printed  # the stuffed line shown


async def test_client_commands_are_never_sent(shell: Typist, tmp_path: Path) -> None:
    await shell.type("/help RCPT")
    await shell.type("/explain 354")
    await shell.type("/bogus")
    await shell.type("/raw on")
    await shell.type("EHLO client.test", replies=2)
    await shell.type("/save " + str(tmp_path / "s.smtp"))
    await shell.type("/save " + str(tmp_path / "s.json"))
    await shell.type("/raw off")
    assert shell.sent() == ["EHLO client.test"]
    text = "\n".join(shell.printed)
    assert "RCPT: Add one recipient" in text and "Syntax: RCPT <SP> TO:" in text
    assert "354: " in text
    assert "unknown shell command /bogus" in text
    assert "S: 250-smtptui.test" in text and "\\r\\n" in text  # raw: the octets
    script = (tmp_path / "s.smtp").read_text()
    assert "C: EHLO client.test" in script and "S: 220 " in script
    assert (tmp_path / "s.smtp").stat().st_mode & 0o777 == 0o600
    records = json.loads((tmp_path / "s.json").read_text())
    assert [r["direction"] for r in records if r["direction"] != "*"][:3] == ["S", "C", "S"]


async def test_quit_ends_the_session_politely(shell: Typist) -> None:
    await shell.type("EHLO client.test", replies=2)
    await shell.type("/quit")
    assert await asyncio.wait_for(shell.task, 15) == 0  # type: ignore[attr-defined]
    assert shell.sent()[-1] == "QUIT" and shell.codes()[-1] == 221


async def test_auth_secrets_appear_nowhere(shell: Typist, data_home: Path) -> None:
    await shell.type("EHLO client.test", replies=2)
    await shell.type("/starttls", replies=3)
    await _until(lambda: shell.session.snapshot().tls is not None, "TLS")
    await shell.type("EHLO client.test", replies=4)
    # By hand: inside the exchange the prompt does not echo, and nothing is kept.
    await shell.type("AUTH LOGIN", replies=5)
    assert shell.session.state is State.AUTH and shell.repl._message() == "auth> "
    await shell.type(base64.b64encode(DEMO_USER.encode()).decode(), replies=6)
    await shell.type("*", replies=7)  # cancel (RFC 4954 §4)
    # /auth computes the response; the password is asked without echo.
    shell.pipe.send_text("/auth PLAIN\r")
    await asyncio.sleep(0.1)
    shell.pipe.send_text(DEMO_USER + "\r")
    await asyncio.sleep(0.1)
    shell.pipe.send_text(DEMO_PASSWORD + "\r")
    await _until(lambda: len(shell.codes()) >= 8, "the AUTH reply")
    assert shell.codes()[-1] == 235
    await shell.type("/quit")
    await asyncio.wait_for(shell.task, 15)  # type: ignore[attr-defined]
    encoded = base64.b64encode(f"\0{DEMO_USER}\0{DEMO_PASSWORD}".encode()).decode()
    where = {"printed": "\n".join(shell.printed),
             "transcript": shell.session.transcript.to_text(),
             "json": shell.session.transcript.to_json(),
             "history": "\n".join(shell.session.history.lines),
             "prompt history": "\n".join(shell.repl.prompt.history.get_strings())}
    for path in data_home.rglob("*"):
        if path.is_file() and path.suffix not in (".pem", ".key"):
            where[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert any("AUTH PLAIN" in text for text in where.values())
    for name, text in where.items():
        assert DEMO_PASSWORD not in text, name
        assert encoded not in text, name
        assert base64.b64encode(DEMO_USER.encode()).decode() not in text, name


async def test_completion_shows_each_candidates_meaning(shell: Typist) -> None:
    completer = SessionCompleter(lambda: shell.session)
    event = CompleteEvent(completion_requested=True)
    found = list(completer.get_completions(Document("EH"), event))
    assert [c.text for c in found][:1] == ["EHLO "]
    assert "identify" in found[0].display_meta_text.lower()
    await shell.type("EHLO client.test", replies=2)
    line = "MAIL FROM:<a@client.test> "
    params = {c.text: c.display_meta_text
              for c in completer.get_completions(Document(line), event)}
    assert any(t.startswith("SIZE=") for t in params)  # advertised by the server
    assert all(params.values())
    commands = [c.text for c in completer.get_completions(Document("/s"), event)]
    assert commands == ["/starttls", "/save "]
    mechs = [c.text for c in completer.get_completions(Document("/auth "), event)]
    assert mechs == ["PLAIN", "LOGIN", "CRAM-MD5"]


def test_validator_puts_the_cursor_on_the_error_and_lets_the_second_try_through() -> None:
    from smtptui.core import grammar

    validator = SessionValidator(lambda line: grammar.check(line, "rfc5321"), lambda: True)
    line = "RCPT TO:<bob@exa mple.org>"
    with pytest.raises(ValidationError) as refused:
        validator.validate(Document(line))
    assert refused.value.cursor_position == line.index(" mple")
    assert "Enter again" in refused.value.message
    validator.validate(Document(line))  # the same line again: accepted
    validator.validate(Document("/help"))  # shell commands are not SMTP
    with pytest.raises(ValidationError):
        validator.validate(Document("MAIL FROM:<x"))
    inactive = SessionValidator(lambda line: grammar.check(line, "rfc5321"), lambda: False)
    inactive.validate(Document("not a command, message text"))


async def test_a_bad_first_target_is_one_line_and_the_shell_stays(pipe, data_home: Path
                                                                   ) -> None:  # type: ignore[no-untyped-def]
    printed: list[str] = []

    def factory(target: str | None) -> Session:
        return _session(data_home, target)

    repl = Repl(None, factory, colour=False, input=pipe, output=DummyOutput(),
                write=printed.append, target="host:notaport")
    task = asyncio.ensure_future(repl.run())
    await _until(lambda: any(line.startswith("! ") for line in printed), "the error")
    assert repl.session is None and not task.done()
    assert repl._message() == "smtp[not connected]> "
    pipe.send_text("/quit\r")
    assert await asyncio.wait_for(task, 15) == 0

"""Secrets in scripts: AUTH initial responses and SASL responses (the lines after a 334)
are sent as they are but never shown -- not on the terminal, not in --json, not in the
transcript. Against aiosmtpd with a real authenticator on loopback."""

from __future__ import annotations

import base64
import json
import textwrap

import pytest
from aiosmtpd.smtp import AuthResult

from smtptui.cli import main
from smtptui.core.script import parse
from smtptui.net.client import SMTPClient, Timeouts
from smtptui.net.runner import TargetConnector, run_script

from .conftest import RecordingHandler, _start

USER, PASSWORD = b"alice", b"s3cret-Passw0rd"
PLAIN = base64.b64encode(b"\0" + USER + b"\0" + PASSWORD).decode()
LOGIN_USER = base64.b64encode(USER).decode()
LOGIN_PASSWORD = base64.b64encode(PASSWORD).decode()
SECRETS = (PLAIN, LOGIN_USER, LOGIN_PASSWORD, PASSWORD.decode())

SCRIPT = textwrap.dedent(f"""\
    S: 220
    C: EHLO client.test
    S: 250
    C: AUTH PLAIN {PLAIN}
    S: 235
    C: QUIT
    S: 221
    #!session
    S: 220
    C: EHLO client.test
    S: 250
    C: AUTH LOGIN
    S: 334 VXNlcm5hbWU6
    C: {LOGIN_USER}
    S: 334 UGFzc3dvcmQ6
    C: {LOGIN_PASSWORD}
    S: 235
    C: QUIT
    S: 221
    """)


def _authenticate(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password) == (USER, PASSWORD))


@pytest.fixture
def auth_smtpd():
    c, server = _start(RecordingHandler(), authenticator=_authenticate,
                       auth_require_tls=False)
    yield server
    c.stop()


def test_run_masks_auth_on_the_terminal_and_in_json(auth_smtpd, tmp_path, capsys):
    path = tmp_path / "auth.smtp"
    path.write_text(SCRIPT)
    assert main(["run", str(path), auth_smtpd.target]) == 0
    out, err = capsys.readouterr()
    assert "C: AUTH PLAIN <secret: initial response hidden>" in out
    assert out.count("C: <secret: AUTH response hidden>") == 2
    assert "C: AUTH LOGIN\n" in out  # no secret in it: shown as it is
    assert main(["run", str(path), auth_smtpd.target, "--json"]) == 0
    out2, err2 = capsys.readouterr()
    doc = json.loads(out2)
    assert doc["ok"] is True
    sent = [s["sent"] for s in doc["steps"]]
    assert "AUTH PLAIN <secret: initial response hidden>" in sent
    assert sent.count("<secret: AUTH response hidden>") == 2
    for secret in SECRETS:
        assert secret not in out + err + out2 + err2


class RecordingConnector(TargetConnector):
    clients: list[SMTPClient]

    async def __call__(self, session):
        client = await TargetConnector.__call__(self, session)
        self.clients.append(client)
        return client


async def test_transcript_marks_and_masks_the_secret_lines(auth_smtpd):
    connector = RecordingConnector([("127.0.0.1", auth_smtpd.port, None, None)],
                                   timeouts=Timeouts(connect=5, greeting=5, reply=5, data=5))
    object.__setattr__(connector, "clients", [])
    result = await run_script(parse(SCRIPT, "auth.smtp"), connector)
    assert result.ok, result.to_dict()
    first, second = connector.clients
    secret = [e.raw for c in (first, second) for e in c.transcript if e.secret]
    assert secret == [f"AUTH PLAIN {PLAIN}\r\n".encode(), f"{LOGIN_USER}\r\n".encode(),
                      f"{LOGIN_PASSWORD}\r\n".encode()]
    exported = first.transcript.to_text() + second.transcript.to_text()
    exported += first.transcript.to_json() + second.transcript.to_json()
    for s in SECRETS:
        assert s not in exported


async def test_lines_the_script_wrote_as_sasl_stay_secret_when_the_server_refuses(
        auth_smtpd):
    """The server refuses AUTH LOGIN (it was already authenticated) and reads the SASL
    lines as commands: they are still the script's secrets and stay masked."""
    text = SCRIPT.replace("C: QUIT\nS: 221\n#!session\nS: 220\nC: EHLO client.test\nS: 250\n",
                          "")
    assert text.count("EHLO") == 1
    result = await run_script(parse(text, "auth.smtp"), TargetConnector(
        [("127.0.0.1", auth_smtpd.port, None, None)],
        timeouts=Timeouts(connect=5, greeting=5, reply=5, data=5)))
    assert not result.ok
    dumped = json.dumps(result.to_dict())
    assert '"got": "503' in dumped
    assert dumped.count("<secret: AUTH response hidden>") == 2
    # aiosmtpd echoes an unknown command (upper-cased) in its 500 reply: hidden too.
    shown = "\n".join(f"{x.sent} {x.got} {x.note}" for x in result.steps)
    assert '500 Error: command "<secret>" not recognized' in shown
    for s in (LOGIN_USER, LOGIN_PASSWORD):
        assert s.upper() not in shown.upper()


def test_a_secret_echoed_in_a_later_reply_is_hidden_everywhere(raw_server, tmp_path, capsys):
    """A server that repeats the AUTH payload in its 221 (say) must not make `run` print
    the credentials: not in the text output, not in --json, not in the transcript."""

    async def echo(reader, writer):
        writer.write(b"220 echo.test\r\n")
        last = b""
        while line := await reader.readline():
            verb = line.split()[0].upper() if line.split() else b""
            if verb == b"AUTH":
                last = line.split()[-1]
                writer.write(b"235 ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye, you said " + last + b"\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 " + last.lower() + b" ok\r\n")
            await writer.drain()

    server = raw_server(echo)
    script = tmp_path / "echo.smtp"
    script.write_text(f"S: 220\nC: EHLO client.test\nS: 250\nC: AUTH PLAIN {PLAIN}\nS: 235\n"
                      "C: NOOP\nS: 250\nC: QUIT\nS: 221\n")
    for extra in ([], ["--json"]):
        code = main(["run", str(script), server.target, "--timeout", "5", *extra])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert PLAIN not in out and PLAIN.lower() not in out and PLAIN not in err
        assert "<secret>" in out


async def test_transcript_hides_a_secret_repeated_later() -> None:
    from smtptui.core.replies import Reply
    from smtptui.core.transcript import Direction, Entry, Transcript

    t = Transcript()
    t.append(Entry(Direction.CLIENT, 0.0, f"AUTH PLAIN {PLAIN}\r\n".encode(),
                   f"AUTH PLAIN {PLAIN}", secret=True))
    echoed = f"535 bad credentials {PLAIN}\r\n".encode()
    t.append(Entry(Direction.SERVER, 1.0, echoed, echoed.decode().strip(),
                   reply=Reply.from_text(f"535 bad credentials {PLAIN}")))
    assert PLAIN not in t.to_text() and "535 bad credentials <secret>" in t.to_text()
    assert PLAIN not in t.to_json()

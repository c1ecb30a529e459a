"""`smtptui run` and the runner against real servers on loopback."""

from __future__ import annotations

import hashlib
import json
import textwrap

import pytest

from smtptui.cli import main
from smtptui.core.script import load, parse
from smtptui.net.client import Timeouts, make_tls_context
from smtptui.net.runner import TargetConnector, message_chunks, run_script

from .conftest import SCRIPTS, free_port


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def connector(port: int, **kw) -> TargetConnector:
    return TargetConnector([("127.0.0.1", port, None, None)],
                           timeouts=Timeouts(connect=5, greeting=5, reply=5, data=30), **kw)


# ---------------------------------------------------------------- RFC 821 Scenario 1


def test_rfc821_scenario1_codes_match_against_aiosmtpd(smtpd, capsys):
    code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), smtpd.target)
    assert code == 0, out + err
    assert err == ""
    assert "MISS" not in out
    assert "ok   R: 550 No such user here" in out
    assert out.rstrip().endswith("rfc821-scenario1.smtp: 9 of 9 expectations met")
    # The exchange is shown in the script's own RFC 821 notation (S: sender, R:
    # receiver) with the server's actual text.
    assert "     S: RCPT TO:<Green@BBN-UNIX.ARPA>" in out
    assert "     S: Blah blah blah..." in out
    assert "C: " not in out
    (msg,) = smtpd.handler.messages
    assert msg.mail_from == "Smith@USC-ISIF.ARPA"
    assert msg.rcpt_tos == ["Jones@BBN-UNIX.ARPA", "Brown@BBN-UNIX.ARPA"]
    assert msg.content == b"Blah blah blah...\r\n...etc. etc. etc.\r\n"


def test_json_output(smtpd, capsys):
    code, out, _ = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), smtpd.target,
                           "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["file"].endswith("rfc821-scenario1.smtp") and doc["ok"] is True
    assert doc["errors"] == [] and doc["not_run"] == 0
    steps = doc["steps"]
    assert len(steps) == 9
    assert all({"sent", "expected", "got", "ok"} <= set(s) for s in steps)
    assert steps[0]["sent"] is None and steps[0]["got"].startswith("220 ")
    assert steps[0]["expected"] == "220 BBN-UNIX.ARPA Simple Mail Transfer Service Ready"
    green = steps[4]
    assert green == {**green, "sent": "RCPT TO:<Green@BBN-UNIX.ARPA>",
                     "expected": "550 No such user here", "got": "550 No such user here",
                     "ok": True}
    data = steps[7]
    assert data["sent"] == "." and data["kind"] == "data" and data["got"] == "250 OK"
    assert data["data_octets"] == len(b"Blah blah blah...\r\n...etc. etc. etc.\r\n")


# ---------------------------------------------------------------- misses and exit codes


def test_missed_expectations_are_reported_and_the_script_goes_on(smtpd, capsys):
    code, out, err = run_cli(capsys, str(SCRIPTS / "met-and-missed.smtp"), smtpd.target)
    assert code == 1
    assert err == ""  # a miss is not a connection failure
    assert "MISS S: 550 No such user here" in out
    assert "     expected (line 14): 250 OK" in out
    assert "MISS S: 250 OK" in out and "     expected (line 17): 5xx rejected" in out
    # It went on after the misses: the message was sent and QUIT answered.
    assert "ok   S: 221 Bye" in out
    assert out.rstrip().endswith("7 of 9 expectations met; 2 missed (lines 14, 17)")
    (msg,) = smtpd.handler.messages
    assert msg.content == b"Subject: regression\r\n\r\n.a line starting with a dot\r\n"


def test_missed_json(smtpd, capsys):
    code, out, _ = run_cli(capsys, str(SCRIPTS / "met-and-missed.smtp"), smtpd.target,
                           "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    missed = [s for s in doc["steps"] if not s["ok"]]
    assert [(s["line"], s["expected"], s["got"]) for s in missed] == [
        (14, "250 OK", "550 No such user here"), (17, "5xx rejected", "250 OK")]
    ehlo = doc["steps"][1]
    assert ehlo["expected"] == "250-the server greets us\n250 and lists what it can do"
    assert ehlo["got"].startswith("250-") and ehlo["ok"]


def test_bad_script_exit_2_with_file_line(tmp_path, capsys):
    bad = tmp_path / "bad.smtp"
    bad.write_text("S: 220 x\nC: DATA\nS: 354 go\nC: oops\n")
    code, out, err = run_cli(capsys, str(bad), "127.0.0.1:25")
    assert code == 2 and out == ""
    assert err == (f"smtptui run: {bad}:4: the message data started on line 4 never ends: "
                   "write 'C: .' after its last line\n")


def test_missing_include_is_a_script_error(tmp_path, capsys):
    s = tmp_path / "s.smtp"
    s.write_text("S: 220 x\nC: DATA\nS: 354 go\n#!include nothere.eml\nC: .\nS: 250 ok\n")
    code, _, err = run_cli(capsys, str(s), "127.0.0.1:25")
    assert code == 2
    assert err == f"smtptui run: {s}:4: no such file: 'nothere.eml'\n"


def test_missing_script_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, str(tmp_path / "none.smtp"), "127.0.0.1:25")
    assert code == 2 and "none.smtp: cannot read the script:" in err


def test_no_target_with_a_missing_world_is_a_usage_error(capsys):
    # Without TARGET the embedded teaching server plays the world (tests/server covers it).
    code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), "--world", "w.toml")
    assert code == 2 and out == ""
    assert "w.toml: cannot read world file" in err


def test_world_with_target_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), "127.0.0.1:25",
                           "--world", "w.toml")
    assert code == 2 and "--world" in err


def test_bad_target_is_a_usage_error(capsys):
    code, _, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), "host:99999")
    assert code == 2 and err.startswith("smtptui run: error:")


def test_connection_refused_exit_1_one_line(capsys):
    port = free_port()  # nothing listens there any more
    code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"),
                             f"127.0.0.1:{port}", "--timeout", "5")
    assert code == 1
    assert err.splitlines() == [(f"127.0.0.1:{port}: connect: connection refused "
                                f"(127.0.0.1:{port})")]
    assert out.rstrip().endswith("0 of 9 expectations met; 9 not run")


def test_script_from_stdin(smtpd, capsys, monkeypatch):
    import io

    text = (SCRIPTS / "rfc821-scenario1.smtp").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, _ = run_cli(capsys, "-", smtpd.target)
    assert code == 0 and "<stdin>: 9 of 9 expectations met" in out


# ---------------------------------------------------------------- hostile / broken servers


def test_server_that_disconnects_mid_script(raw_server, capsys):
    async def hang_up_at_mail(reader, writer):
        writer.write(b"220 flaky ready\r\n")
        await reader.readline()
        writer.write(b"250 flaky\r\n")
        await writer.drain()
        await reader.readline()  # MAIL: no answer, hang up

    server = raw_server(hang_up_at_mail)
    code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), server.target,
                             "--timeout", "5")
    assert code == 1
    assert err.splitlines() == [f"{server.target}: MAIL: server closed the connection"]
    assert "MISS R: (no reply)" in out  # the script is in RFC 821 notation
    assert out.rstrip().endswith("2 of 9 expectations met; 1 missed (line 11); 6 not run")


def test_server_text_is_escaped_on_the_terminal(raw_server, capsys, tmp_path):
    async def evil(reader, writer):
        writer.write(b"220 evil \x1b[2J\x1b]0;owned\x07 ready\r\n")
        await reader.readline()
        writer.write(b"221 bye\r\n")
        await writer.drain()

    server = raw_server(evil)
    script = tmp_path / "evil.smtp"
    script.write_text("S: 220 x\nC: QUIT\nS: 221 bye\n")
    code, out, _ = run_cli(capsys, str(script), server.target, "--timeout", "5")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "220 evil \\x1b[2J\\x1b]0;owned\\x07 ready" in out


def test_data_refused_at_run_time_is_a_miss_and_the_script_goes_on(smtpd, capsys, tmp_path):
    s = tmp_path / "s.smtp"
    # DATA without a recipient: aiosmtpd says 503; the script expected 354.
    s.write_text("S: 220 x\nC: HELO me\nS: 250 ok\nC: MAIL FROM:<a@b>\nS: 250 ok\n"
                 "C: DATA\nS: 354 go\nC: hello\nC: .\nS: 250 ok\nC: QUIT\nS: 221 bye\n")
    code, out, _ = run_cli(capsys, str(s), smtpd.target, "--json")
    assert code == 1
    doc = json.loads(out)
    data = next(x for x in doc["steps"] if x["kind"] == "data")
    assert data["ok"] is False and data["got"] is None
    assert data["note"] == "message data not sent: the server did not accept DATA"
    assert doc["steps"][-1]["sent"] == "QUIT" and doc["steps"][-1]["ok"] is True
    assert smtpd.handler.messages == []


# ---------------------------------------------------------------- include, streamed


def test_include_multi_megabyte_file_arrives_intact(smtpd, tmp_path, capsys):
    body = tmp_path / "big.eml"
    h = hashlib.sha256()
    with open(body, "wb") as f:
        for i in range(120_000):  # ~6 MB, LF line ends, dots and a final line without LF
            line = (b"." if i % 7 == 0 else b"") + f"line {i:06d} ".encode() + b"x" * 40 + b"\n"
            f.write(line)
            h.update(line.replace(b"\n", b"\r\n"))
        f.write(b"no final newline")
        h.update(b"no final newline\r\n")
    assert body.stat().st_size > 5_000_000
    script = tmp_path / "big.smtp"
    script.write_text(textwrap.dedent("""\
        S: 220 x
        C: HELO me
        S: 250 ok
        C: MAIL FROM:<a@b.example>
        S: 250 ok
        C: RCPT TO:<c@d.example>
        S: 250 ok
        C: DATA
        S: 354 go
        #!include big.eml
        C: .
        S: 250 OK
        C: QUIT
        S: 221 bye
    """))
    code, out, _ = run_cli(capsys, str(script), smtpd.target, "--json")
    assert code == 0, out
    (msg,) = smtpd.handler.messages
    assert hashlib.sha256(msg.content).hexdigest() == h.hexdigest()
    data = next(x for x in json.loads(out)["steps"] if x["kind"] == "data")
    assert data["data_octets"] == len(msg.content)


def test_include_example_script(smtpd, capsys):
    code, out, _ = run_cli(capsys, str(SCRIPTS / "include.smtp"), smtpd.target)
    assert code == 0, out
    assert "     C: #!include include-body.txt" in out
    (msg,) = smtpd.handler.messages
    assert msg.content == (b"Subject: included body\r\n\r\nHello from a file.\r\n"
                           b".A line with a leading dot (stuffed on the wire).\r\n"
                           b"# not a comment here\r\n-- the end\r\n")


def test_message_chunks_streams_in_bounded_pieces(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"a" * 1000 + b"\n" + b"b" * 5000)
    s = parse(f"S: 220 x\nC: DATA\nS: 354 go\nC: head\n#!include {f}\nC: tail\nC: .\n"
              "S: 250 ok\n")
    chunks = list(message_chunks(s.steps[4], chunk_size=512))
    assert max(len(c) for c in chunks) <= 512
    assert b"".join(chunks) == b"head\r\n" + b"a" * 1000 + b"\n" + b"b" * 5000 + b"\r\ntail\r\n"


# ---------------------------------------------------------------- pipelining, STARTTLS, TURN


async def test_pipelined_group(smtpd):
    s = parse("S: 220 x\nC: EHLO me\nS: 250 ok\nC: MAIL FROM:<a@b>\nC: RCPT TO:<c@d>\n"
              "C: RCPT TO:<green@d>\nC: DATA\nS: 250 a\nS: 250 b\nS: 550 c\nS: 354 go\n"
              "C: hi\nC: .\nS: 250 ok\nC: QUIT\nS: 221 bye\n")
    result = await run_script(s, connector(smtpd.port))
    assert result.ok, result.to_dict()
    assert [x.sent for x in result.steps][3:6] == ["RCPT TO:<c@d>", "RCPT TO:<green@d>", "DATA"]
    assert smtpd.handler.messages[0].rcpt_tos == ["c@d"]


async def test_starttls_in_script_upgrades_the_connection(tls_smtpd):
    server, cafile = tls_smtpd
    s = parse("S: 220 x\nC: EHLO me\nS: 250 ok\nC: STARTTLS\nS: 220 go\nC: EHLO me\n"
              "S: 250 ok\nC: QUIT\nS: 221 bye\n")
    seen = []
    result = await run_script(s, connector(server.port,
                                           ssl_context=make_tls_context(cafile=str(cafile))),
                              on_step=seen.append)
    assert result.ok, result.to_dict()
    assert seen[2].note is not None and seen[2].note.startswith("TLS established: TLS")
    assert "(verified)" in seen[2].note


@pytest.mark.parametrize("mode", ["auto", "yes"])
async def test_starttls_option_upgrades_after_the_scripts_ehlo(tls_smtpd, mode):
    server, cafile = tls_smtpd
    s = parse("S: 220 x\nC: EHLO me\nS: 250 ok\nC: NOOP\nS: 250 ok\n")
    result = await run_script(
        s, connector(server.port, ssl_context=make_tls_context(cafile=str(cafile))),
        starttls=mode)
    assert result.ok, result.to_dict()
    kinds = [x.kind for x in result.steps]
    assert kinds == ["greeting", "command", "starttls", "starttls", "command"]
    assert result.steps[3].sent == "EHLO me"


async def test_starttls_yes_fails_when_not_offered(smtpd):
    s = parse("S: 220 x\nC: EHLO me\nS: 250 ok\nC: NOOP\nS: 250 ok\n")
    result = await run_script(s, connector(smtpd.port), starttls="yes")
    assert not result.ok
    assert result.errors == ((f"127.0.0.1:{smtpd.port}: starttls: STARTTLS is not "
                             "advertised (--starttls yes)"),)
    assert result.not_run == 1
    # The EHLO expectation was met: it is reported once, as met (not also as missed).
    assert [(x.line, x.ok) for x in result.steps] == [(1, True), (3, True)]


async def test_starttls_option_verification_failure_ends_the_session_cleanly(tls_smtpd):
    server, _cafile = tls_smtpd  # no --cafile: the test CA is not trusted
    s = parse("S: 220 x\nC: EHLO me\nS: 250 ok\nC: NOOP\nS: 250 ok\n")
    result = await run_script(s, connector(server.port), starttls="yes")
    assert not result.ok and result.not_run == 1
    assert [(x.kind, x.ok) for x in result.steps] == [("greeting", True), ("command", True)]
    (error,) = result.errors
    assert error == (f"127.0.0.1:{server.port}: starttls: certificate verify failed: "
                     "unable to get local issuer certificate")


def _turn_peer(log: list[str]):
    """A remote that accepts TURN and then, as the new sender, delivers one message."""

    async def line(reader) -> str:
        text = (await reader.readline()).decode().rstrip("\r\n")
        log.append(text)
        return text

    async def handler(reader, writer):
        writer.write(b"220 BBN-UNIX.ARPA ready\r\n")
        await line(reader)  # HELO
        writer.write(b"250 BBN-UNIX.ARPA\r\n")
        assert await line(reader) == "TURN"
        writer.write(b"250 OK\r\n")
        await writer.drain()
        await line(reader)  # our 220 greeting
        for command in (b"HELO BBN-UNIX.ARPA", b"MAIL FROM:<Jones@BBN-UNIX.ARPA>",
                        b"RCPT TO:<Smith@USC-ISIF.ARPA>", b"DATA"):
            writer.write(command + b"\r\n")
            await writer.drain()
            await line(reader)
        writer.write(b"Queued for you.\r\n.\r\n")
        await writer.drain()
        await line(reader)
        writer.write(b"QUIT\r\n")
        await writer.drain()
        await line(reader)

    return handler


async def test_turn_role_swap(raw_server):
    log: list[str] = []
    server = raw_server(_turn_peer(log))
    script = load(str(SCRIPTS / "turn.smtp"))
    result = await run_script(script, connector(server.port))
    assert result.ok, result.to_dict()
    assert log == [
        "HELO USC-ISIF.ARPA", "TURN",
        "220 USC-ISIF.ARPA Simple Mail Transfer Service Ready",
        "250 USC-ISIF.ARPA", "250 OK", "250 OK",
        "354 Start mail input; end with <CRLF>.<CRLF>", "250 OK",
        "221 USC-ISIF.ARPA Service closing transmission channel",
    ]
    kinds = [x.kind for x in result.steps]
    assert kinds[3:] == ["reply-sent", "remote-command", "reply-sent", "remote-command",
                         "reply-sent", "remote-command", "reply-sent", "remote-command",
                         "reply-sent", "remote-data", "reply-sent", "remote-command",
                         "reply-sent"]
    data = next(x for x in result.steps if x.kind == "remote-data")
    assert data.got == "Queued for you." and data.ok


async def test_turn_in_rfc821_notation_and_a_remote_that_sends_the_wrong_command(raw_server):
    log: list[str] = []
    server = raw_server(_turn_peer(log))
    text = (SCRIPTS / "turn.smtp").read_text()
    # The same exchange, expecting SEND instead of MAIL from the remote: one miss.
    text = text.replace("S: MAIL FROM:<Jones@BBN-UNIX.ARPA>", "S: SEND FROM:<Jones@BBN-UNIX.ARPA>")
    result = await run_script(parse(text, "t.smtp"), connector(server.port))
    assert not result.ok and not result.errors
    (miss,) = result.missed
    assert (miss.expected, miss.got) == ("SEND FROM:<Jones@BBN-UNIX.ARPA>",
                                         "MAIL FROM:<Jones@BBN-UNIX.ARPA>")


async def test_turn_refused_by_server_skips_the_turned_part(smtpd):
    s = load(str(SCRIPTS / "turn.smtp"))
    result = await run_script(s, connector(smtpd.port))
    assert not result.ok
    assert result.errors == ((f"127.0.0.1:{smtpd.port}: TURN: the server answered 500, the "
                             "script expects 250: the roles cannot follow the script; rest "
                             "of the session skipped"),)
    assert result.not_run == 6


async def test_multi_session_script_reconnects(smtpd):
    s = parse(textwrap.dedent("""\
        R: 220 MIT-AI.ARPA Simple Mail Transfer Service Ready
        S: HELO SU-SCORE.ARPA
        R: 250 MIT-AI.ARPA
        S: QUIT
        R: 221 MIT-AI.ARPA Service closing transmission channel
        R: 220 MIT-MC.ARPA Simple Mail Transfer Service Ready
        S: HELO SU-SCORE.ARPA
        R: 250 MIT-MC.ARPA
        S: QUIT
        R: 221 MIT-MC.ARPA Service closing transmission channel
    """))
    hints = []

    class Recording(TargetConnector):
        async def __call__(self, session):
            hints.append(session.host_hint)
            return await TargetConnector.__call__(self, session)

    base = connector(smtpd.port)
    result = await run_script(s, Recording(base.candidates, timeouts=base.timeouts))
    assert result.ok and result.met == 6
    assert hints == ["MIT-AI.ARPA", "MIT-MC.ARPA"]


def test_no_color_and_colour(monkeypatch):
    from smtptui.commands._style import Style
    from smtptui.commands.run import _Printer
    from smtptui.net.runner import StepResult

    class Out(list):
        def write(self, text):
            self.append(text)

    out = Out()
    _Printer(out, Style(True)).step(StepResult("command", 3, "NOOP", "250 OK", "500 no", False))
    text = "".join(out)
    assert "\x1b[" in text and "MISS" in text
    out.clear()
    _Printer(out, Style(False)).step(StepResult("command", 3, "NOOP", "250 OK", "500 no", False))
    assert "\x1b" not in "".join(out)

    class TTY(Out):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert Style.for_stream(TTY()).colour is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert Style.for_stream(TTY()).colour is False


# ---------------------------------------------------------------- deadlines, @domain targets


def test_silent_server_times_out_never_hangs(raw_server, capsys):
    async def silent(reader, writer):
        await reader.read(1)  # never greets

    server = raw_server(silent)
    code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"), server.target,
                             "--timeout", "0.5")
    assert code == 1
    assert err.splitlines() == [(f"{server.target}: greeting: timed out after 0.5 s waiting "
                                "for the server")]
    assert "8 not run" in out


def _dnsmasq():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "dns" / "dnsmasq.py"
    if not path.exists():
        pytest.skip("tests/dns/dnsmasq.py (the DNS test launcher) is not there")
    name = "_smtptui_tests_dnsmasq"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    module = sys.modules[name]
    reason = module.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return module


def test_domain_target_runs_against_its_mx(smtpd, capsys):
    dnsmasq = _dnsmasq()
    with dnsmasq.DnsmasqServer(zone=dnsmasq.ZONE) as dns:
        code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"),
                                 f"@mx.test:{smtpd.port}", "--resolver", dns.resolver_arg,
                                 "--timeout", "5")
        assert code == 0, out + err
        assert out.rstrip().endswith("9 of 9 expectations met")
        code, out, err = run_cli(capsys, str(SCRIPTS / "rfc821-scenario1.smtp"),
                                 f"@nullmx.test:{smtpd.port}", "--resolver", dns.resolver_arg,
                                 "--timeout", "5")
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("@nullmx.test: dns: ") and "null MX" in err


def test_run_imports_no_ui_toolkit_and_no_dnspython_for_an_address(smtpd):
    import subprocess
    import sys

    code = (
        "import io, json, sys, contextlib\n"
        "from smtptui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['run', {str(SCRIPTS / 'rfc821-scenario1.smtp')!r}, {smtpd.target!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'prompt_toolkit', 'rich', 'dns'))\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"rc": 0, "heavy": []}


def test_a_multi_line_reply_met_by_its_code_notes_the_lines_that_differ(smtpd, tmp_path,
                                                                        capsys):
    script = tmp_path / "ehlo.smtp"
    script.write_text("S: 220 x\nC: EHLO client.test\nS: 250-x\nS: 250-VRFY-NOT-HERE\n"
                      "S: 250 HELP\nC: QUIT\nS: 221 bye\n")
    code, out, err = run_cli(capsys, str(script), smtpd.target)
    assert code == 0, out + err
    assert "the reply's lines differ from the script's (only the code is compared)" in out
    assert "not received: VRFY-NOT-HERE" in out

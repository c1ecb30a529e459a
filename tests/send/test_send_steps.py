"""``smtptui send`` against scripted raw servers: one exit status per failing step,
BDAT (RFC 3030), CRAM-MD5 and XOAUTH2 exchanges, pipelining, DSN parameters."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from smtptui.cli import main
from smtptui.commands.send import EXIT_CODES
from tests.helpers.rawserver import RawServer

from .conftest import JAPANESE, Script, free_port

Start = Callable[[Script], RawServer]


def send(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["send", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("script", "step"), [
    (Script(greeting="554 5.3.2 no service for you"), "greeting"),
    (Script(replies={"EHLO": "500 what?", "HELO": "550 go away"}), "ehlo"),
    (Script(replies={"MAIL": "550 5.7.1 sender rejected"}), "mail"),
    (Script(replies={"RCPT": "550 5.1.1 unknown user"}), "rcpt"),
    (Script(replies={"DATA": "554 5.3.0 no data today"}), "data"),
    (Script(replies={".": "554 5.6.0 message refused"}), "data"),
    (Script(ehlo=("raw.test", "STARTTLS"), replies={"STARTTLS": "454 4.7.0 TLS not available"}),
     "starttls"),
])
def test_exit_status_names_the_failing_step(capsys, scripted: Start, script: Script,
                                            step: str) -> None:
    server = scripted(script)
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test", "--no-bdat")
    assert code == EXIT_CODES[step], out + err
    assert err.startswith(f"{step}: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err


def test_connect_refused_exit_3(capsys) -> None:
    code, _out, err = send(capsys, f"127.0.0.1:{free_port()}", "--to", "a@b.test")
    assert code == EXIT_CODES["connect"] and err.startswith("connect: ")
    assert "refused" in err


def test_ehlo_refused_falls_back_to_helo(capsys, scripted: Start) -> None:
    server = scripted(Script(replies={"EHLO": "502 not implemented"}))
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test")
    assert code == 0, out + err
    assert "C: HELO " in out


def test_starttls_yes_when_not_offered_exit_6(capsys, scripted: Start) -> None:
    server = scripted(Script(ehlo=("raw.test", "8BITMIME")))
    code, _out, err = send(capsys, server.target, "--to", "a@b.test", "--starttls", "yes")
    assert code == EXIT_CODES["starttls"]
    assert err == "starttls: the server does not offer STARTTLS (--starttls yes)\n"


def test_bdat_when_chunking_is_advertised(capsys, scripted: Start, tmp_path: Path) -> None:
    script = Script()
    server = scripted(script)
    att = tmp_path / "big.bin"
    payload = b"\x00\x01.\r\n" * 400_000  # 1.6 MB: several chunks after base64
    att.write_bytes(payload)
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test", "--body", JAPANESE,
                          "--attach", str(att))
    assert code == 0, out + err
    assert len(script.chunks) >= 2 and not script.data
    log = bytes(script.log)
    assert b"BDAT 1048576\r\n" in log and b" LAST\r\n" in log
    msg = email.message_from_bytes(b"".join(script.chunks), policy=email.policy.default)
    body, attachment = list(msg.iter_parts())
    assert body.get_content().replace("\r\n", "\n") == JAPANESE
    assert attachment.get_content() == payload
    assert b"BODY=8BITMIME" in log
    assert "BDAT" in out.splitlines()[-1]


def test_no_bdat_uses_data(capsys, scripted: Start) -> None:
    script = Script()
    server = scripted(script)
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test", "--no-bdat",
                          "--body", ".starts with a dot")
    assert code == 0, out + err
    assert not script.chunks and len(script.data) == 1
    assert b"\r\n..starts with a dot\r\n" in script.data[0]  # dot-stuffed on the wire


def test_bdat_refused_exit_10(capsys, scripted: Start) -> None:
    server = scripted(Script(replies={"BDAT": "554 5.6.1 chunk refused"}))
    code, _out, err = send(capsys, server.target, "--to", "alice@lab.test", "--bdat")
    assert code == EXIT_CODES["data"] and "554 5.6.1 chunk refused" in err


def test_cram_md5_exchange(capsys, scripted: Start, tmp_path: Path) -> None:
    # The RFC 2195 example: the server's challenge, tim / tanstaaftanstaaf.
    script = Script(expect_auth="dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
    server = scripted(script)
    pw = tmp_path / "pw"
    pw.write_text("tanstaaftanstaaf")
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test", "--auth",
                          "--user", "tim", "--password-file", str(pw))
    assert code == 0, out + err
    assert "C: AUTH CRAM-MD5" in out  # chosen: the password never leaves the client
    assert "challenge, base64-decoded: <1896.697170952@postoffice.reston.mci.net>" in out
    assert "tanstaaf" not in out and script.expect_auth not in out


def test_xoauth2_success_and_failure(capsys, scripted: Start, monkeypatch) -> None:
    token = "ya29.token"
    good = base64.b64encode(f"user=me@x.test\x01auth=Bearer {token}\x01\x01".encode()).decode()
    monkeypatch.setenv("SMTPTUI_PASSWORD", token)
    server = scripted(Script(expect_auth=good))
    code, out, err = send(capsys, server.target, "--to", "a@b.test", "--auth", "XOAUTH2",
                          "--user", "me@x.test")
    assert code == 0, out + err
    assert "C: AUTH XOAUTH2 <secret: initial response hidden>" in out
    monkeypatch.setenv("SMTPTUI_PASSWORD", "expired")
    server = scripted(Script(expect_auth=good))
    code, out, err = send(capsys, server.target, "--to", "a@b.test", "--auth", "XOAUTH2",
                          "--user", "me@x.test")
    assert code == EXIT_CODES["auth"] and "535" in err
    assert '{"status":"401","schemes":"bearer"}' in out  # the error, decoded
    assert "expired" not in out + err


def test_pipeline_and_dsn_parameters(capsys, scripted: Start) -> None:
    script = Script()
    server = scripted(script)
    code, out, err = send(capsys, server.target, "--to", "a@b.test", "--to", "c@b.test",
                          "--pipeline", "--no-bdat", "--dsn-notify", "success,failure",
                          "--dsn-ret", "hdrs", "--size", "--from", "me@x.test")
    assert code == 0, out + err
    log = bytes(script.log).decode()
    assert "MAIL FROM:<me@x.test> SIZE=" in log and " RET=HDRS" in log
    assert "RCPT TO:<a@b.test> NOTIFY=SUCCESS,FAILURE\r\n" in log
    assert "RCPT TO:<c@b.test> NOTIFY=SUCCESS,FAILURE\r\n" in log


def test_smtputf8_address(capsys, scripted: Start) -> None:
    script = Script(ehlo=("raw.test", "8BITMIME", "SMTPUTF8"))
    server = scripted(script)
    code, out, err = send(capsys, server.target, "--to", "用户@例子.test", "--from", "me@x.test",
                          "--subject", "件名")
    assert code == 0, out + err
    log = bytes(script.log)
    assert b"MAIL FROM:<me@x.test> BODY=8BITMIME SMTPUTF8\r\n" in log  # UTF-8 headers
    assert "Subject: 件名\r\n".encode() in script.data[0]


def test_json_failure_result(capsys, scripted: Start) -> None:
    server = scripted(Script(replies={"MAIL": "451 4.3.0 try later"}))
    code, out, _err = send(capsys, server.target, "--to", "a@b.test", "--json")
    assert code == EXIT_CODES["mail"]
    result = json.loads(out.splitlines()[-1])["result"]
    assert result["step"] == "mail" and result["exit"] == code
    assert result["error"] == "MAIL FROM refused: 451 4.3.0 try later"


def test_hostile_reply_text_is_escaped(capsys, scripted: Start) -> None:
    server = scripted(Script(replies={"MAIL": "550 evil\x1b[31m text"}))
    code, out, err = send(capsys, server.target, "--to", "a@b.test")
    assert code == EXIT_CODES["mail"]
    assert "\x1b" not in out + err and "\\x1b" in out


def test_save_after_bdat_replays_with_data(capsys, scripted: Start, tmp_path: Path,
                                           smtpd) -> None:  # type: ignore[no-untyped-def]
    server = scripted(Script())
    saved = tmp_path / "bdat.smtp"
    code, out, err = send(capsys, server.target, "--to", "alice@lab.test", "--bdat",
                          "--save", str(saved))
    assert code == 0, out + err
    text = saved.read_text()
    assert "BDAT" not in text.replace("# sent with BDAT", "") and "C: DATA" in text
    assert main(["run", str(saved), smtpd.target, "--starttls", "no"]) == 0
    assert b"This is a test message" in smtpd.recorder.messages[0].content

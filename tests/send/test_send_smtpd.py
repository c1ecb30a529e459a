"""``smtptui send`` against aiosmtpd: the exact bytes received, envelope parameters,
AUTH with the password never on the command line nor in any output, --json, --save."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from smtptui.cli import main

from .conftest import JAPANESE, Smtpd


def send(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["send", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def body_file(tmp_path: Path) -> Path:
    f = tmp_path / "body.txt"
    f.write_text(JAPANESE, encoding="utf-8")
    return f


def test_one_line_test_message(capsys, smtpd: Smtpd) -> None:
    code, out, err = send(capsys, "--to", "alice@lab.test", "--from", "bob@client.test",
                          "--server", smtpd.target)
    assert code == 0, out + err
    (m,) = smtpd.recorder.messages
    assert m.mail_from == "bob@client.test" and m.rcpt_tos == ["alice@lab.test"]
    msg = email.message_from_bytes(m.content, policy=email.policy.default)
    for header in ("Date", "Message-ID", "MIME-Version", "Subject", "From", "To"):
        assert msg[header], header
    assert msg["Subject"].startswith("test ")
    assert msg["Message-ID"] in out or "Message-ID: " + msg["Message-ID"] in out
    # The annotated transcript: each reply explained on the next line.
    lines = out.splitlines()
    i = lines.index("S: 354 End data with <CR><LF>.<CR><LF>")
    assert "end it with a line holding only a dot" in lines[i + 1]
    assert "OK   sent to alice@lab.test" in out


def test_japanese_body_declared_8bitmime_when_advertised(capsys, tmp_path: Path,
                                                          smtpd: Smtpd) -> None:
    code, out, err = send(capsys, smtpd.target, "--to", "alice@lab.test",
                          "--body", f"@{body_file(tmp_path)}")
    assert code == 0, out + err
    (m,) = smtpd.recorder.messages
    assert "BODY=8BITMIME" in m.mail_options
    assert b"Content-Transfer-Encoding: 8bit\r\n" in m.content
    assert JAPANESE.replace("\n", "\r\n").encode() in m.content


def test_japanese_body_encoded_when_8bitmime_is_not_advertised(
        capsys, tmp_path: Path, smtpd_7bit: Smtpd) -> None:
    code, out, err = send(capsys, smtpd_7bit.target, "--to", "alice@lab.test",
                          "--body", f"@{body_file(tmp_path)}")
    assert code == 0, out + err
    (m,) = smtpd_7bit.recorder.messages
    assert not any("BODY" in o for o in m.mail_options)
    assert m.content.isascii()
    msg = email.message_from_bytes(m.content, policy=email.policy.default)
    assert msg["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    assert msg.get_content().replace("\r\n", "\n") == JAPANESE


def test_attachments_and_extra_headers(capsys, tmp_path: Path, smtpd: Smtpd) -> None:
    pdf = tmp_path / "report.pdf"
    payload = bytes(range(256)) * 4096 + b"end"
    pdf.write_bytes(payload)
    notes = tmp_path / "notes.txt"
    notes.write_text("a\n.b\n.\n")
    code, out, err = send(capsys, smtpd.target, "--to", "alice@lab.test", "--to",
                          "bob@lab.test", "--subject", "report", "--header", "X-Ticket: 42",
                          "--attach", str(pdf), "--attach", str(notes), "--size")
    assert code == 0, out + err
    (m,) = smtpd.recorder.messages
    assert m.rcpt_tos == ["alice@lab.test", "bob@lab.test"]
    assert any(o.startswith("SIZE=") for o in m.mail_options)
    msg = email.message_from_bytes(m.content, policy=email.policy.default)
    assert msg["X-Ticket"] == "42" and msg["Subject"] == "report"
    parts = list(msg.iter_attachments())
    assert [p.get_filename() for p in parts] == ["report.pdf", "notes.txt"]
    assert parts[0].get_content_type() == "application/pdf"
    assert parts[0].get_content() == payload
    assert parts[1].get_content() == b"a\n.b\n.\n" or \
        parts[1].get_content().replace("\r\n", "\n") == "a\n.b\n.\n"
    declared = int(next(o for o in m.mail_options if o.startswith("SIZE="))[5:])
    # aiosmtpd stores the message un-stuffed with CRLF: the same octets RFC 1870 counts.
    assert declared == len(m.content)
    assert "(first 12 lines shown)" in out


def test_refused_recipient_exit_9_but_the_others_get_it(capsys, smtpd: Smtpd) -> None:
    code, _out, err = send(capsys, smtpd.target, "--to", "nobody@lab.test",
                          "--to", "alice@lab.test")
    assert code == 9
    assert err.strip() == "rcpt: refused: nobody@lab.test (sent to the others)"
    assert smtpd.recorder.messages[0].rcpt_tos == ["alice@lab.test"]


def test_every_recipient_refused_sends_nothing(capsys, smtpd: Smtpd) -> None:
    code, out, err = send(capsys, smtpd.target, "--to", "nobody@lab.test")
    assert code == 9 and "no recipient accepted: 550 5.1.1" in err
    assert smtpd.recorder.messages == []
    assert "C: DATA" not in out and "C: QUIT" in out


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_auth_password_from_file_masked_everywhere(capsys, tmp_path: Path,
                                                   auth_smtpd: Smtpd, mech: str) -> None:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    script = tmp_path / "session.smtp"
    code, out, err = send(capsys, auth_smtpd.target, "--to", "alice@lab.test",
                          "--auth", mech, "--user", "alice", "--password-file", str(pw),
                          "--save", str(script))
    assert code == 0, out + err
    assert "235" in out
    if mech == "LOGIN":  # the challenges, shown decoded
        assert "challenge, base64-decoded: User Name" in out  # aiosmtpd's prompt
        assert "challenge, base64-decoded: Password" in out
    saved = script.read_text()
    import base64

    for text in (out, err, saved):
        assert "s3cret" not in text
        assert base64.b64encode(b"s3cret").decode() not in text
        assert base64.b64encode(b"\0alice\0s3cret").decode() not in text
    assert "<secret" in out


def test_auth_password_from_environment_json(capsys, monkeypatch, auth_smtpd: Smtpd) -> None:
    monkeypatch.setenv("SMTPTUI_PASSWORD", "s3cret")
    code, out, err = send(capsys, auth_smtpd.target, "--to", "alice@lab.test",
                          "--user", "alice", "--json")
    assert code == 0, out + err
    records = [json.loads(line) for line in out.splitlines()]
    assert "s3cret" not in out
    assert any(r.get("secret") for r in records)
    result = records[-1]["result"]
    assert result["ok"] and result["exit"] == 0 and result["accepted"] == ["alice@lab.test"]
    replies = [r for r in records if r.get("code")]
    assert all(r["meaning"] for r in replies)


def test_wrong_password_exit_7(capsys, monkeypatch, auth_smtpd: Smtpd) -> None:
    monkeypatch.setenv("SMTPTUI_PASSWORD", "wrong")
    code, out, err = send(capsys, auth_smtpd.target, "--to", "alice@lab.test",
                          "--auth", "--user", "alice")
    assert code == 7
    assert err.startswith("auth: AUTH ") and "535" in err
    assert "wrong" not in out + err


def test_no_password_source_is_a_usage_error(capsys, monkeypatch, auth_smtpd: Smtpd) -> None:
    monkeypatch.delenv("SMTPTUI_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    code, out, err = send(capsys, auth_smtpd.target, "--to", "a@b.test", "--auth",
                          "--user", "alice")
    assert code == 2 and "--password-file" in err and out == ""


def test_save_replays_with_run(capsys, tmp_path: Path, smtpd: Smtpd) -> None:
    script = tmp_path / "test.smtp"
    code, out, err = send(capsys, smtpd.target, "--to", "alice@lab.test", "--body",
                          "line one\n.dot line", "--save", str(script))
    assert code == 0, out + err
    assert (tmp_path / "test.eml").exists()
    assert main(["run", str(script), smtpd.target]) == 0
    replay_out, replay_err = capsys.readouterr()
    assert "MISS" not in replay_out, replay_out + replay_err
    first, second = smtpd.recorder.messages
    assert first.content == second.content


def test_quit_after_rcpt_sends_no_message(capsys, smtpd: Smtpd) -> None:
    code, out, _err = send(capsys, smtpd.target, "--to", "alice@lab.test",
                          "--quit-after", "rcpt")
    assert code == 0 and "C: DATA" not in out and "stopped after rcpt" in out
    assert smtpd.recorder.messages == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--to", "a b@c"], "not a mailbox"),
    (["--to", "a@b.test", "--header", "Bad Name: x"], "not a header name"),
    (["--to", "a@b.test", "--attach", "/nonexistent/file"], "--attach /nonexistent/file"),
    (["--to", "a@b.test", "--body", "@/nonexistent"], "--body @/nonexistent"),
    (["--to", "a@b.test", "--auth", "GSSAPI", "--user", "u"], "computes"),
    (["--to", "a@b.test", "--auth"], "--auth needs --user"),
    (["--to", "a@b.test", "--dsn-notify", "NEVER,SUCCESS"], "--dsn-notify"),
    (["127.0.0.1:1", "--server", "127.0.0.1:2", "--to", "a@b.test"], "once"),
    # A group where From wants mailboxes: the email package's parser cannot write it.
    (["--to", "a@b.test", "--header", "From: x:;0"], "the From header cannot be written"),
])
def test_usage_errors_exit_2_before_connecting(capsys, argv: list[str], message: str) -> None:
    code, out, err = send(capsys, *argv)
    assert code == 2 and message in err and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err

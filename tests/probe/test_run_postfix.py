"""``smtptui run`` as a regression test of a real MTA: scripts played against the private
Postfix instance (tests/probe/postfix.py) on a loopback port."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from smtptui.cli import main

from .conftest import TLSFiles
from .postfix import DOMAIN, HOSTNAME, PostfixInstance

SCRIPT = textwrap.dedent(f"""\
    # A regression test for the lab's mail server: mail to alice is accepted.
    S: 220 {HOSTNAME} ESMTP Postfix
    C: EHLO client.test
    S: 250-{HOSTNAME}
    S: 250 CHUNKING
    C: MAIL FROM:<bob@client.test>
    S: 250 2.1.0 Ok
    C: RCPT TO:<alice@{DOMAIN}>
    S: 250 2.1.5 Ok
    C: DATA
    S: 354 End data with <CR><LF>.<CR><LF>
    C: Subject: regression {{marker}}
    C:
    C: .a line that starts with a dot
    #!include body.txt
    C: .
    S: 250 2.0.0 Ok: queued
    C: QUIT
    S: 221 2.0.0 Bye
    """)


def write_script(tmp_path: Path, text: str) -> Path:
    (tmp_path / "body.txt").write_bytes(b"included line 1\n.\nincluded line 3")
    path = tmp_path / "postfix.smtp"
    path.write_text(text)
    return path




def test_script_met_against_postfix_and_the_message_is_delivered(
        capsys, tmp_path: Path, postfix: PostfixInstance, tls_files: TLSFiles) -> None:
    marker = f"m{time.time_ns()}"
    path = write_script(tmp_path, SCRIPT.replace("{marker}", marker))
    code = main(["run", str(path), f"127.0.0.1:{postfix.smtp_port}",
                 "--cafile", str(tls_files.cafile)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "7 of 7 expectations met" in out
    assert "TLS established" in out  # --starttls auto, the default: not in clear text
    assert "MISS" not in out and err == ""
    data = postfix.delivered(marker)
    assert data is not None, postfix.log_tail()
    # Un-stuffed by Postfix: the lines arrive as the script wrote them.
    assert b"\n.a line that starts with a dot\n" in data.replace(b"\r\n", b"\n")
    assert b"\nincluded line 1\n.\nincluded line 3\n" in data.replace(b"\r\n", b"\n")


def test_rejected_recipient_is_a_miss_with_postfixs_reply(
        capsys, tmp_path: Path, postfix: PostfixInstance) -> None:
    text = SCRIPT.replace(f"C: RCPT TO:<alice@{DOMAIN}>",
                          f"C: RCPT TO:<nobody@{DOMAIN}>")
    path = write_script(tmp_path, text)
    code = main(["run", str(path), f"127.0.0.1:{postfix.smtp_port}", "--json",
                 "--starttls", "no"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    doc = json.loads(out)
    assert doc["file"] == str(path) and doc["ok"] is False
    missed = [s for s in doc["steps"] if not s["ok"]]
    rcpt = missed[0]
    assert rcpt["sent"] == f"RCPT TO:<nobody@{DOMAIN}>"
    assert rcpt["expected"] == "250 2.1.5 Ok"
    assert rcpt["got"].startswith("550 5.1.1 ") and "User unknown" in rcpt["got"]
    # With no recipient accepted Postfix refuses DATA (554): the data is not sent.
    assert [s["sent"] for s in missed] == [f"RCPT TO:<nobody@{DOMAIN}>", "DATA", "."]
    assert doc["steps"][-1] == {**doc["steps"][-1], "sent": "QUIT", "ok": True}


def test_script_with_starttls_against_postfix(capsys, tmp_path: Path, postfix: PostfixInstance,
                                              tls_files: TLSFiles) -> None:
    text = textwrap.dedent(f"""\
        S: 220 {HOSTNAME} ESMTP Postfix
        C: EHLO client.test
        S: 250
        C: STARTTLS
        S: 220 2.0.0 Ready to start TLS
        C: EHLO client.test
        S: 250
        C: QUIT
        S: 221
        """)
    path = tmp_path / "tls.smtp"
    path.write_text(text)
    code = main(["run", str(path), f"127.0.0.1:{postfix.smtp_port}",
                 "--cafile", str(tls_files.cafile)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "TLS established: TLSv1." in out and "(verified)" in out
    # After TLS the capabilities are new: STARTTLS is no longer offered.
    after = out.split("TLS established", 1)[1]
    assert "250-STARTTLS" not in after and "250-PIPELINING" in after


def test_bdat_script_against_postfix_is_delivered(capsys, tmp_path: Path,
                                                  postfix: PostfixInstance) -> None:
    """RFC 3030 CHUNKING in a script: two chunks, the second LAST, written inline."""
    marker = f"b{time.time_ns()}"
    first = f"Subject: {marker}\r\n\r\n".encode()
    second = b"chunked body\r\n"
    script = tmp_path / "bdat.smtp"
    script.write_text(
        "S: 220\nC: EHLO client.test\nS: 250\n"
        f"C: MAIL FROM:<sender@client.test>\nS: 250\nC: RCPT TO:<alice@{DOMAIN}>\nS: 250\n"
        f"C: BDAT {len(first)}\nC: Subject: {marker}\nC:\nS: 250\n"
        f"C: BDAT {len(second)} LAST\nC: chunked body\nS: 250\n"
        "C: QUIT\nS: 221\n")
    code = main(["run", str(script), f"127.0.0.1:{postfix.smtp_port}", "--starttls", "no",
                 "--timeout", "20"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"C: BDAT {len(second)} LAST" in out
    delivered = postfix.delivered(marker)
    assert delivered is not None and b"chunked body" in delivered

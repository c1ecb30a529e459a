"""``smtptui send`` against the embedded teaching server (STARTTLS, then AUTH as the
demo user), a STARTTLS server with a private CA, and the CI Postfix (the delivered
Maildir file checked: headers, attachment, 8-bit body)."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import time
from pathlib import Path

import pytest

from smtptui.cli import main
from smtptui.commands._style import Style
from smtptui.commands.send import EXIT_CODES, Printer, Sender, make_plan
from smtptui.commands.send import add_arguments as send_arguments
from smtptui.net.probe import ProbeOptions
from smtptui.server.world import DEMO_PASSWORD, DEMO_USER
from smtptui.session.connect import make_connector

from .conftest import JAPANESE


def plan_for(*argv: str):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    send_arguments(parser)
    return make_plan(parser.parse_args(list(argv)))


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_embedded_server_starttls_then_auth_as_the_demo_user(
        tmp_path: Path, monkeypatch, capsys, mech: str) -> None:
    monkeypatch.setenv("SMTPTUI_PASSWORD", DEMO_PASSWORD)
    plan = plan_for("--to", "bob@smtptui.test", "--from", "alice@smtptui.test",
                    "--auth", mech, "--user", DEMO_USER, "--body", JAPANESE)
    connector = make_connector(None, ProbeOptions(helo="client.test"),
                               maildir=str(tmp_path / "mail"), tls_dir=str(tmp_path / "tls"))
    import sys

    printer = Printer(sys.stdout, Style(False))

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await Sender(plan, printer).run(connector)
        finally:
            await connector.aclose()

    outcome = asyncio.run(go())
    out = capsys.readouterr().out
    assert outcome.step is None, outcome.reason + out
    assert "C: STARTTLS" in out and "TLS established" in out
    assert out.index("C: STARTTLS") < out.index(f"C: AUTH {mech}")
    assert "S: 235" in out and DEMO_PASSWORD not in out
    assert outcome.body == "8BITMIME"  # the modern persona advertises 8BITMIME
    (delivered,) = (tmp_path / "mail").glob("**/bob/new/*")
    msg = email.message_from_bytes(delivered.read_bytes(), policy=email.policy.default)
    assert msg.get_content().replace("\r\n", "\n") == JAPANESE
    assert msg["Message-ID"] == plan.spec.message_id


def test_embedded_flag_from_the_command_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    code = main(["send", "--embedded", "--to", "bob@smtptui.test", "--from",
                 "alice@smtptui.test"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "via the embedded teaching server" in out


def test_certificate_failure_names_the_fix(capsys, tls_server) -> None:  # type: ignore[no-untyped-def]
    server, _cafile = tls_server
    code = main(["send", server, "--to", "a@b.test"])
    _out, err = capsys.readouterr()
    assert code == EXIT_CODES["starttls"]
    assert err.startswith("starttls: certificate verify failed")
    assert "--cafile FILE" in err and "--insecure" in err


def test_private_ca_with_cafile(capsys, tls_server) -> None:  # type: ignore[no-untyped-def]
    server, cafile = tls_server
    code = main(["send", server, "--to", "a@b.test", "--cafile", str(cafile)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "TLS established" in out and "(verified)" in out


@pytest.fixture
def tls_server(tls_files):  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from .conftest import free_port

    c = Controller(Sink(), hostname="127.0.0.1", port=free_port(),
                   tls_context=tls_files.server_context())
    c.start()
    yield f"127.0.0.1:{c.port}", tls_files.cafile
    c.stop()


# ------------------------------------------------------------------------------ postfix




@pytest.mark.parametrize("method", ["--bdat", "--no-bdat"])
def test_postfix_delivers_headers_attachment_and_8bit_body(
        capsys, tmp_path: Path, postfix, tls_files, method: str) -> None:  # type: ignore[no-untyped-def]
    from tests.probe.postfix import DOMAIN

    marker = f"m{time.time_ns()}"
    attachment = tmp_path / "data.bin"
    payload = bytes(range(256)) * 2000
    attachment.write_bytes(payload)
    code = main(["send", f"127.0.0.1:{postfix.smtp_port}", "--to", f"alice@{DOMAIN}",
                 "--from", "bob@client.test", "--subject", marker, "--body", JAPANESE,
                 "--attach", str(attachment), "--cafile", str(tls_files.cafile),
                 "--starttls", "yes", method])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert ("C: BDAT " in out) == (method == "--bdat")
    assert "(verified)" in out
    data = postfix.delivered(marker)
    assert data is not None, postfix.log_tail()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == marker and msg["MIME-Version"] == "1.0"
    assert msg["Message-ID"] and msg["Date"]
    body, part = list(msg.iter_parts())
    assert body["Content-Transfer-Encoding"] == "8bit"  # Postfix advertises 8BITMIME
    assert body.get_content().replace("\r\n", "\n") == JAPANESE
    assert part.get_filename() == "data.bin" and part.get_content() == payload


def test_postfix_refuses_an_unknown_recipient(capsys, postfix) -> None:  # type: ignore[no-untyped-def]
    from tests.probe.postfix import DOMAIN

    code = main(["send", f"127.0.0.1:{postfix.smtp_port}", "--to", f"nobody@{DOMAIN}",
                 "--starttls", "no"])
    out, err = capsys.readouterr()
    assert code == EXIT_CODES["rcpt"], out + err
    assert err.startswith("rcpt: no recipient accepted: 550 5.1.1")

"""Defaults a first-time user meets (issue 11): ``run`` upgrades with STARTTLS when it
is offered, a missed expectation says what the reply that came means, ``serve`` with
no ``--listen`` picks a free port and says which."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from smtptui.cli import main

SCRIPT = """\
S: 220
C: EHLO client.test
S: 250
C: MAIL FROM:<a@client.test>
S: 250
C: RCPT TO:<green@lab.test>
S: 250
C: QUIT
S: 221
"""


def test_run_upgrades_with_starttls_by_default(capsys, tmp_path: Path, tls_smtpd) -> None:  # type: ignore[no-untyped-def]
    server, cafile = tls_smtpd
    path = tmp_path / "s.smtp"
    path.write_text(SCRIPT.replace("green", "alice"))
    code = main(["run", str(path), server.target, "--cafile", str(cafile)])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "TLS established" in out and out.index("STARTTLS") < out.index("MAIL FROM")


def test_run_help_says_auto_is_the_default(capsys) -> None:
    try:
        main(["run", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "auto: upgrade when advertised (default)" in " ".join(out.split())


def test_a_missed_expectation_explains_the_reply_that_came(capsys, tmp_path: Path,
                                                             smtpd) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.smtp"
    path.write_text(SCRIPT)
    code = main(["run", str(path), smtpd.target])
    out, _err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("MISS S: 550"))
    assert lines[i + 1].strip().startswith("expected (line 7)")
    assert lines[i + 2].strip().startswith("550: ")  # what 550 means, on its own line
    assert "mailbox" in lines[i + 2].lower()


def test_serve_without_listen_picks_a_free_port(tmp_path: Path) -> None:
    env = os.environ | {"XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "smtptui", "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert first.startswith("listening on 127.0.0.1:"), first
        port = int(first.strip().rsplit(":", 1)[1])
        assert port not in (0, 2525)
        import socket

        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            assert s.recv(100).startswith(b"220 ")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)

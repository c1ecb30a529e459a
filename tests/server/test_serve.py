"""``smtptui serve``: the first line, the event log, clean stops, one-line errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from smtptui.commands.serve import parse_listen


def serve(tmp_path, *args: str) -> subprocess.Popen:
    env = os.environ | {"XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.Popen([sys.executable, "-m", "smtptui", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def port_of(proc: subprocess.Popen) -> int:
    first = proc.stdout.readline()
    assert first.startswith("listening on 127.0.0.1:"), first + proc.stderr.read()
    return int(first.strip().rsplit(":", 1)[1])


def chat(port: int, *lines: str) -> list[str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        replies = [f.readline().decode().rstrip()]
        for line in lines:
            f.write(line.encode() + b"\r\n")
            f.flush()
            while True:
                got = f.readline().decode().rstrip()
                replies.append(got)
                if got[3:4] != "-":
                    break
        return replies


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_first_line_events_and_a_clean_stop(tmp_path, sig):
    proc = serve(tmp_path, "--listen", "127.0.0.1:0", "--maildir", str(tmp_path / "m"),
                 "--persona", "rfc821")
    port = port_of(proc)
    replies = chat(port, "HELO mine.test", "MAIL FROM:<a@mine.test>",
                   "RCPT TO:<alice@smtptui.test>", "QUIT")
    assert replies[0] == "220 smtptui.test Simple Mail Transfer Service Ready"
    assert [r[:3] for r in replies[1:]] == ["250", "250", "250", "221"]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err and err == ""
    assert "connect from 127.0.0.1" in out and "HELO mine.test" in out
    assert "RCPT TO:<alice@smtptui.test> -> 250" in out and "disconnected" in out


def test_stopping_tells_open_sessions_421(tmp_path):
    proc = serve(tmp_path, "--listen", "127.0.0.1:0", "--maildir", str(tmp_path / "m"))
    port = port_of(proc)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        f = s.makefile("rwb")
        assert f.readline().startswith(b"220 ")
        f.write(b"HELO me.test\r\nMAIL FROM:<a@me.test>\r\nRCPT TO:<alice@smtptui.test>\r\n"
                b"DATA\r\nhalf a message\r\n")
        f.flush()
        assert [f.readline()[:3] for _ in range(4)] == [b"250", b"250", b"250", b"354"]
        proc.send_signal(signal.SIGTERM)
        assert f.readline() == (b"421 smtptui.test Service not available, closing "
                                b"transmission channel\r\n")
        assert f.readline() == b""
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == ""
    assert "stopped (1 open session(s) told 421 and closed)" in out
    assert not list((tmp_path / "m" / ".spool").iterdir())  # the partial message is gone


def test_clients_that_vanish_leave_no_trace_and_no_traceback(tmp_path):
    proc = serve(tmp_path, "--listen", "127.0.0.1:0", "--maildir", str(tmp_path / "m"))
    port = port_of(proc)
    for cut in (b"DATA\r\nhalf", b"", b"MAIL FROM:<a@me.test>\r\nRCPT"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rwb")
            f.readline()
            f.write(b"HELO me.test\r\nMAIL FROM:<a@me.test>\r\nRCPT TO:<alice@smtptui.test>\r\n"
                    + cut)
            f.flush()
            s.shutdown(socket.SHUT_WR)
            while f.readline():
                pass
    assert chat(port, "NOOP")[1].startswith("250")  # still serving
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == ""
    assert out.count("disconnected") == 4
    assert not list((tmp_path / "m").rglob("new/*"))


def test_a_bad_world_file_is_one_line_naming_file_line_and_key(tmp_path):
    world = tmp_path / "bad.toml"
    world.write_text('hostname = "a.test"\n\n[mailboxes]\nbob = 42\n')
    proc = serve(tmp_path, "--world", str(world), "--listen", "127.0.0.1:0")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and out == ""
    assert err == f"smtptui serve: {world}:4: mailboxes.bob: expected a string, got an integer\n"


@pytest.mark.parametrize("listen", ["nowhere", "127.0.0.1:99999", "127.0.0.1:x", "[::1]"])
def test_a_bad_listen_address_is_a_usage_error(tmp_path, listen):
    proc = serve(tmp_path, "--listen", listen)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and "--listen" in err and "Traceback" not in err


def test_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = serve(tmp_path, "--listen", f"127.0.0.1:{port}")
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 1 and err.startswith(f"smtptui serve: cannot listen on 127.0.0.1:{port}")
    assert err.count("\n") == 1


def test_host_option_plays_another_host_of_the_world(tmp_path):
    proc = serve(tmp_path, "--listen", "127.0.0.1:0", "--host", "other.test",
                 "--maildir", str(tmp_path / "m"))
    try:
        assert chat(port_of(proc), "QUIT")[0].startswith("220 other.test ")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_an_unknown_host_is_a_usage_error(tmp_path):
    proc = serve(tmp_path, "--host", "nowhere.test")
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and "no host 'nowhere.test' in this world" in err


def test_parse_listen():
    assert parse_listen("127.0.0.1:2525") == ("127.0.0.1", 2525)
    assert parse_listen(":0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:25") == ("::1", 25)
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listen("localhost")


def test_a_closed_log_pipe_neither_ends_sessions_nor_prints_a_traceback(tmp_path):
    # smtptui serve | head -1: the reader goes away, the server keeps serving.
    proc = serve(tmp_path, "--listen", "127.0.0.1:0", "--maildir", str(tmp_path / "m"))
    port = port_of(proc)
    proc.stdout.close()
    for _ in range(2):
        replies = chat(port, "HELO me.test", "VRFY alice", "QUIT")
        assert [r[:3] for r in replies] == ["220", "250", "250", "221"]
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.wait(10) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err

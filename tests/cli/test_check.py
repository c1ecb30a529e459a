"""``smtptui check`` end to end: run as a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from smtptui.commands.check import capabilities_from_option, echo_line, render
from smtptui.core.grammar import check
from tests.helpers.tty import read_until_closed


def smtptui(*args: str, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "smtptui", "check", *args],
        input=stdin, capture_output=True, env=full_env, timeout=60, check=False,
    ) if stdin is not None else subprocess.run(
        [sys.executable, "-m", "smtptui", "check", *args],
        capture_output=True, text=True, env=full_env, timeout=60, check=False,
    )


def test_valid_line_prints_ok_and_exits_0() -> None:
    result = smtptui("MAIL FROM:<alice@example.org> SIZE=1000")
    assert result.returncode == 0
    assert result.stdout == "ok\n"
    assert result.stderr == ""


def test_error_prints_line_caret_and_message_and_exits_1() -> None:
    result = smtptui("MAIL FROM:<alice@example.org")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "MAIL FROM:<alice@example.org",
        " " * 28 + "^",                      # the missing '>' is at the end of the line
        "error: missing '>' at the end of the path [RFC 5321 §4.1.2 Path]",
    ]


def test_caret_line_covers_the_whole_span() -> None:
    result = smtptui("FOO bar")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:2] == ["FOO bar", "^~~"]
    assert lines[2].startswith("error: unknown command 'FOO'")


def test_warnings_alone_exit_0() -> None:
    result = smtptui("MAIL FROM: <alice@example.org>")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "MAIL FROM: <alice@example.org>",
        "          ^",
        ("warning: space after 'FROM:': RFC 5321 allows none on either side of the colon, "
         "though many servers accept it [RFC 5321 §3.3]"),
    ]


def test_several_words_are_joined_with_one_space() -> None:
    result = smtptui("RCPT", "TO:<bob@example.net>")
    assert (result.returncode, result.stdout) == (0, "ok\n")


@pytest.mark.parametrize(("rfc", "line", "status"), [
    ("821", "HELO USC-ISIF.ARPA", 0),
    ("821", "EHLO USC-ISIF.ARPA", 1),
    ("821", "MAIL FROM:<>", 0),   # valid with a note (RFC 821 §3.6, RFC 1123 §5.2.9)
    ("821", "NOOP hello", 1),
    ("5321", "NOOP hello", 0),
    ("5321", "EHLO [IPv6:2001:db8::1]", 0),
])
def test_rfc_option_selects_the_grammar(rfc: str, line: str, status: int) -> None:
    assert smtptui("--rfc", rfc, line).returncode == status


def test_json_output() -> None:
    result = smtptui("--json", "RCPT TO:<>")
    assert result.returncode == 1
    record = json.loads(result.stdout)
    assert record == {
        "line": "RCPT TO:<>",
        "valid": False,
        "diagnostics": [{
            "severity": "error", "column": 8, "end": 10,
            "message": "RCPT needs a recipient; the null path <> is only a reverse-path",
            "rule": "RFC 5321 §4.1.2 Forward-path",
        }],
    }


def test_stdin_checks_every_line() -> None:
    data = (b"EHLO client.example.org\r\n"
            b"MAIL FROM:<alice@example.org>\r\n"
            b"RCPT TO:<bob@example.net\r\n"
            b"DATA\r\n")
    result = smtptui("-", stdin=data)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert out.splitlines() == [
        "1: ok  EHLO client.example.org",
        "2: ok  MAIL FROM:<alice@example.org>",
        "3: RCPT TO:<bob@example.net",
        "   " + " " * 24 + "^",
        "   error: missing '>' at the end of the path [RFC 5321 §4.1.2 Path]",
        "4: ok  DATA",
    ]


def test_stdin_json_one_object_per_line() -> None:
    data = "HELO a.example\nMAIL FROM:<j\u00fcrgen@example.org>\nQUIT x\n".encode()
    result = smtptui("--json", "-", stdin=data)
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["line"] for r in records] == [
        "HELO a.example", "MAIL FROM:<j\u00fcrgen@example.org>", "QUIT x"]
    assert [r["valid"] for r in records] == [True, True, False]
    assert [[d["severity"] for d in r["diagnostics"]] for r in records] == [
        [], ["warning"], ["error"]]


def test_stdin_all_valid_exits_0() -> None:
    result = smtptui("--rfc", "821", "-", stdin=b"HELO ABC.ARPA\nQUIT\n")
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == ["1: ok  HELO ABC.ARPA", "2: ok  QUIT"]


def test_stdin_bytes_that_are_not_utf8_are_an_error_at_that_octet() -> None:
    result = smtptui("-", stdin=b"VRFY j\xfcrgen\nQUIT\n")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "1: VRFY j\\xfcrgen"     # the octet is echoed as it was sent
    assert lines[1] == "         ^~~~"
    assert lines[2].startswith("   error: octet 0xFC is not valid UTF-8")
    assert lines[3] == "2: ok  QUIT"           # the next line is still checked


def test_argv_bytes_that_are_not_utf8_are_an_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "smtptui", "check", "--json",
                           b"RCPT TO:<\xe9@example.org>"], capture_output=True, check=False,
                          env={**os.environ, "NO_COLOR": "1"}, timeout=60)
    assert proc.returncode == 1, proc.stderr
    (record,) = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert record["valid"] is False
    (diag,) = record["diagnostics"]
    assert (diag["column"], diag["end"], diag["severity"]) == (9, 10, "error")
    assert diag["message"].startswith("octet 0xE9 is not valid UTF-8")


def test_hostile_stdin_never_gives_a_traceback() -> None:
    junk = (b"\x00\x00\n" + b"MAIL FROM:<a@b.c> " + b"x" * 1_000_000 + b"\n"
            + bytes(b for b in range(256) if b != 10) + b"\n" + b"\xff\xfe\xfd\r\n" + b"NOOP " + b"\x00" * 5000)
    result = smtptui("-", stdin=junk)
    assert result.returncode == 1
    assert result.stderr == b""
    result = smtptui("--json", "-", stdin=junk)
    assert result.returncode == 1 and result.stderr == b""
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(records) == 5 and records[1]["line"].startswith("MAIL FROM:<a@b.c> xxx")


def test_non_printable_characters_are_echoed_escaped() -> None:
    result = smtptui("DATA\x01x")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "DATA\\x01x"
    assert lines[1] == "    ^~~~"                # the caret covers the 4-column escape
    assert "U+0001" in lines[2]


def test_capabilities_option() -> None:
    result = smtptui("--ehlo-capabilities", "SIZE 1000,PIPELINING",
                     "MAIL FROM:<a@example.org> SIZE=5000 RET=HDRS")
    assert result.returncode == 0
    out = result.stdout
    assert "warning: SIZE=5000 is more than the server's limit of 1000 octets" in out
    assert "warning: the server did not advertise DSN, which RET needs" in out
    assert smtptui("--ehlo-capabilities", "DSN", "MAIL FROM:<a@b.example> RET=HDRS"
                   ).stdout == "ok\n"


@pytest.mark.parametrize("args", [["--rfc", "2821", "DATA"], [], ["--bogus", "DATA"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = smtptui(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def _run_on_tty(args: list[str], env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env["TERM"] = "xterm"
    full_env.update(env)
    with subprocess.Popen([sys.executable, "-m", "smtptui", "check", *args],
                          stdout=slave, stderr=slave, env=full_env) as proc:
        os.close(slave)
        out = read_until_closed(master)
        proc.wait(timeout=60)
    os.close(master)
    return out.decode()


def test_colour_on_a_terminal_unless_no_color() -> None:
    coloured = _run_on_tty(["DATA x"], {})
    assert "\x1b[1;31m" in coloured and "error" in coloured
    plain = _run_on_tty(["DATA x"], {"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "error: DATA takes no argument" in plain
    dumb = _run_on_tty(["DATA x"], {"TERM": "dumb"})
    assert "\x1b[" not in dumb


def test_headless_check_imports_no_ui_toolkit() -> None:
    code = ("import sys; from smtptui.cli import main; main(['check', 'DATA']); "
            "bad = [m for m in ('textual', 'prompt_toolkit', 'rich', 'dns') if m in sys.modules]; "
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.stdout.splitlines()[-1] == "[]"


# Rendering details, without a subprocess -------------------------------------------


def test_echo_line_maps_columns_through_escapes_and_wide_characters() -> None:
    shown, cols = echo_line("a\tb\u4e2dc")
    assert shown == "a\\tb\u4e2dc"
    assert cols == [0, 1, 3, 4, 6, 7]           # "\t" takes 2 columns, a CJK ideograph 2


def test_render_with_colour() -> None:
    text = render("DATA x", check("DATA x"), colour=True)
    assert "\x1b[1;31m^\x1b[0m" in text
    assert text.startswith("DATA x\n")


def test_capabilities_option_is_parsed_like_an_ehlo_reply() -> None:
    caps = capabilities_from_option("size 10240000, 8BITMIME ,AUTH PLAIN LOGIN,AUTH=XOAUTH2")
    assert "SIZE" in caps and "8bitmime" in caps and "DSN" not in caps
    assert caps.size_limit == 10240000
    assert caps.auth_mechanisms == ("PLAIN", "LOGIN", "XOAUTH2")   # old AUTH= form too
    assert "AUTH" in capabilities_from_option("AUTH=LOGIN")
    assert capabilities_from_option("").keywords == frozenset()


def test_strict_makes_leniencies_errors() -> None:
    assert smtptui("MAIL FROM: <alice@example.org>").returncode == 0
    result = smtptui("--strict", "MAIL FROM: <alice@example.org>")
    assert result.returncode == 1
    assert "error: space after 'FROM:'" in result.stdout


def test_the_rfc821_null_path_is_a_note() -> None:
    result = smtptui("--rfc", "821", "MAIL FROM:<>")
    assert result.returncode == 0
    assert "note: the null reverse-path <>" in result.stdout
    assert "[RFC 821 §3.6; RFC 1123 §5.2.9]" in result.stdout

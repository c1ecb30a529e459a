"""``smtptui explain`` as a user runs it: a subprocess, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.tty import read_until_closed


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "smtptui", "explain", *args],
        check=False, input=stdin, capture_output=True, text=True, timeout=60, env=full_env,
    )


def test_reply_line_with_enhanced_code() -> None:
    p = run("550 5.1.1 User unknown")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.splitlines()[0] == "550 5.1.1 User unknown"
    assert "5yz permanent negative completion" in out
    assert "RFC 5321 §4.2.3" in out
    assert "5 = mail system" in out                      # digit-by-digit reading
    assert "5.1.1 Bad destination mailbox address" in out
    assert "subject 1 = Addressing Status" in out
    assert "class   5 = Permanent Failure" in out
    assert "\x1b[" not in out                            # not a TTY: no colour


def test_code_alone() -> None:
    p = run("354")
    assert p.returncode == 0
    assert p.stdout.startswith("354 Start mail input; end with <CRLF>.<CRLF>")
    assert "3yz positive intermediate" in p.stdout and "DATA" in p.stdout


def test_unquoted_words_are_joined() -> None:
    p = run("421", "4.7.0", "Try", "again", "later")
    assert p.returncode == 0 and p.stdout.startswith("421 4.7.0 Try again later")
    assert "Persistent Transient Failure" in p.stdout


@pytest.mark.parametrize("text", ["250-mail.example.org\\n250 SIZE 1000",
                                  "250-mail.example.org\n250 SIZE 1000"])
def test_multiline_reply(text: str) -> None:
    p = run(text)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:2] == ["250-mail.example.org", "250 SIZE 1000"]


def test_unknown_code_is_read_by_first_digit_but_exits_1() -> None:
    p = run("433")
    assert p.returncode == 1
    assert "4yz transient negative completion" in p.stdout and "Unknown code" in p.stdout
    assert p.stderr == ("explain: 433 is not a reply code RFC 821, RFC 5321 or the SMTP "
                        "extensions define; read by its first digit it is transient negative "
                        "completion (RFC 5321 §4.2.1)\n")


@pytest.mark.parametrize(("code", "words"), [
    ("555", "MAIL/RCPT parameter"), ("521", "never accepts mail"),
    ("556", "accepts no mail"), ("252", "VRFY"), ("455", ""), ("354", "")])
def test_codes_of_later_rfcs_are_known(code: str, words: str) -> None:
    p = run(code)
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.startswith(code) and words in p.stdout


def test_enhanced_code_with_an_undefined_subject_exits_1() -> None:
    p = run("5.9.1")
    assert p.returncode == 1
    assert p.stderr == "explain: 5.9.1: subject 9 is not defined by RFC 3463 (subjects 0-7)\n"


def test_stdin_explains_every_reply_and_names_the_bad_one() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "smtptui", "explain", "-"], check=False, capture_output=True,
        input=b"220 mx ESMTP\r\n\xff\xfe\r\n550 5.1.1 no\r\n250 caf\xe9\r\n", timeout=60,
        env={**os.environ, "NO_COLOR": "1"})
    assert p.returncode == 1
    heads = [line for line in p.stdout.decode().splitlines() if line[:1].isdigit()]
    assert heads == ["220 mx ESMTP", "550 5.1.1 no", "250 caf\ufffd"]
    assert "warning: line 1: the text is not valid UTF-8" in p.stdout.decode()
    assert p.stderr.decode().startswith("explain: reply 2: ")
    assert "is not a reply code" in p.stderr.decode()


def test_enhanced_code_alone() -> None:
    p = run("5.7.1")
    assert p.returncode == 0
    assert p.stdout.startswith("5.7.1 Delivery not authorized, message refused")
    p = run("4.2.99")
    assert p.returncode == 0 and p.stdout.startswith("4.2.99 Mailbox Status")


@pytest.mark.parametrize(("arg", "token"), [("99x", "99x"), ("600", "600"), ("hello", "hello"),
                                            ("050 VERB output", "050"), ("5501", "5501")])
def test_not_a_reply_code(arg: str, token: str) -> None:
    p = run(arg)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == f"explain: '{token}' is not a reply code (three digits, first 2-5)\n"


def test_empty_input() -> None:
    p = run("-", stdin="")
    assert p.returncode == 1 and p.stderr.strip() == "explain: no reply code or reply line given"


def test_broken_reply_explained_with_diagnostic() -> None:
    p = run("250OK")
    assert p.returncode == 0
    assert "error: line 1: no space or hyphen after the code 250" in p.stdout


def test_json_from_stdin_several_replies() -> None:
    p = run("-", "--json", stdin="220 mx.example ESMTP\r\n250-a\r\n250 b\r\n550 5.7.1 no\r\n")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["code"] for r in rows] == [220, 250, 550]
    assert rows[1]["lines"] == ["a", "b"] and rows[2]["enhanced"] == "5.7.1"
    assert rows[2]["style"] == "error" and rows[0]["style"] == "success"
    assert rows[2]["enhanced_meaning"] == "Delivery not authorized, message refused"


def test_colour_only_on_a_tty() -> None:
    # A pseudo-terminal: colour on; NO_COLOR set: off.
    pty = pytest.importorskip("pty")
    code = ("import sys; from smtptui.cli import main; sys.exit(main(['explain', '550']))")

    def via_pty(env: dict[str, str]) -> bytes:
        pid, fd = pty.fork()
        if pid == 0:  # child
            os.environ.pop("NO_COLOR", None)
            os.environ.update(env)
            os.execv(sys.executable, [sys.executable, "-c", code])
        out = read_until_closed(fd)
        os.waitpid(pid, 0)
        return out

    assert b"\x1b[1;31m550\x1b[0m" in via_pty({"TERM": "xterm"})
    assert b"\x1b[" not in via_pty({"TERM": "xterm", "NO_COLOR": "1"})


def test_headless_imports() -> None:
    code = ("import sys; from smtptui.cli import main; main(['explain', '250']); "
            "bad = [m for m in ('textual', 'prompt_toolkit', 'rich', 'dns') if m in sys.modules]; "
            "sys.stderr.write(repr(bad))")
    p = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                       text=True, timeout=60)
    assert p.stderr == "[]"


def test_greeting_code_says_so() -> None:
    p = run("554 No SMTP service here")
    assert p.returncode == 0 and "replies to the connection greeting, EHLO DATA" in p.stdout


def test_garbage_on_stdin_is_quoted_safely_and_errors_are_capped() -> None:
    junk = b"".join(b"\x00\x1b[31m\xff junk %d\r\n" % i for i in range(40))
    p = subprocess.run(
        [sys.executable, "-m", "smtptui", "explain", "-"], check=False, capture_output=True,
        input=junk, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert p.returncode == 1 and p.stdout == b""
    errors = p.stderr.decode().splitlines()
    assert len(errors) == 11
    assert errors[0] == ("explain: reply 1: '\\x00\\x1b[31m\ufffd' is not a reply code "
                         "(three digits, first 2-5)")
    assert "\x1b" not in p.stderr.decode() and "\x00" not in p.stderr.decode()
    assert errors[-1] == "explain: ... and 30 more lines that are not replies (40 of 40 in all)"


def test_terminal_escapes_in_a_reply_are_shown_not_obeyed() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "smtptui", "explain", "-"], check=False, capture_output=True,
        input=b"250-a\x1b]0;owned\x07\r\n250 ok\r\n", timeout=60,
        env={**os.environ, "NO_COLOR": "1"})
    assert p.returncode == 0
    out = p.stdout.decode()
    assert out.splitlines()[0] == "250-a\\x1b]0;owned\\x07"
    assert "\x1b" not in out and "\x07" not in out


def test_fidelity_of_the_rfc_texts_and_citations() -> None:
    from smtptui.core.codes import explain

    assert explain("252").rfc.startswith("RFC 1123 §5.2.3")
    for code in (251, 551, 502):
        e = explain(str(code))
        assert e.rfc.startswith("RFC 821") and "Section" not in e.rfc_text_821
    [w] = [d for d in explain("354 2.0.0 go").diagnostics if "3xx" in d.message]
    assert w.rule == "RFC 2034 §4" and (w.start, w.end) == (4, 9)
    assert not [d for d in explain("354 go ahead").diagnostics if "3xx" in d.message]


def test_explain_251_shows_rfc_821_words_first_and_labels_rfc_5321s() -> None:
    out = subprocess.run([sys.executable, "-m", "smtptui", "explain", "251"],
                         capture_output=True, text=True, check=False).stdout
    first, *rest = out.splitlines()
    assert first == "251 User not local; will forward to <forward-path>"
    assert any(line.split()[:2] == ["RFC", "5321"] and "(See Section 3.4)" in line
               for line in rest)

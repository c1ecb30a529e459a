"""Hostile servers against smtptui's client commands (``probe``, ``run``), one
behaviour per case. For each: the command ends before its timeout, its peak memory
is bounded (measured in the subprocess), a failure is one clear message naming the
step, what the server said before misbehaving is kept, nothing escapes to the
terminal and no traceback is printed. tests/hostile/README.md has the table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.helpers.rawserver import raw_servers
from tests.hostile import servers as hs
from tests.hostile.harness import MEMORY_LIMIT_MB, SCRIPT, Outcome, run_command, terminal_unsafe

TIMEOUT = 2.0      # --timeout: each whole step
BOUND = 25.0       # the whole command must be over by then


@dataclass(frozen=True)
class Case:
    """One hostile behaviour and what smtptui must make of it."""

    handler: Callable[[], hs.Handler]
    step: str | None        # the step a failure must name (None: the command may pass)
    kept: str | None = "hostile.test"  # what the server said first, still shown
    xfail: dict[str, str] | None = None    # command -> reason, for fixes still on main


CASES: dict[str, Case] = {
    "no-greeting": Case(lambda: hs.no_greeting, "greeting", kept=None),
    "close-after-greeting": Case(lambda: hs.close_after_greeting, "ehlo"),
    "garbage-greeting": Case(lambda: hs.greet_then({}, b"hello there\r\n"), "greeting",
                             kept="hello there"),
    "no-crlf-10MB": Case(lambda: hs.no_crlf, "greeting", kept=None),
    "continuation-1M-lines": Case(lambda: hs.continuation_flood(1_000_000), None),
    "drip-1-byte": Case(lambda: hs.drip, "greeting", kept=None),
    "drip-reply": Case(lambda: hs.drip_reply, "ehlo"),
    "code-out-of-range": Case(lambda: hs.greet_then({b"EHLO": b"700 what\r\n",
                                                     b"HELO": b"700 what\r\n"}), "ehlo"),
    # RFC 5321 §4.2.1: every line of a reply has the same code; 250-/550 is no reply.
    "mixed-codes": Case(lambda: hs.greet_then({b"EHLO": b"250-a\r\n550 b\r\n"}), "ehlo"),
    "bare-lf-cr": Case(lambda: hs.greet_then({b"EHLO": b"250-a\n250-b\rc\r\n250 c\n"},
                                             b"220 hostile.test bare\n"), None),
    "nul-invalid-utf8": Case(lambda: hs.greet_then(
        {}, b"220 hostile.test \x00\xff\xfe\xc3(\r\n"), None),
    "terminal-escapes": Case(lambda: hs.greet_then(
        {b"EHLO": b"250-\x1b]0;pwned\x07\r\n250 \x1b[2J\x1b[31mred\x9b1m\r\n"},
        b"220 hostile.test \x1b[1;31mALERT\x1b[0m \xe2\x80\xae\r\n"), None),
    "354-to-ehlo": Case(lambda: hs.greet_then({b"EHLO": b"354 go ahead\r\n",
                                               b"HELO": b"354 go ahead\r\n"}), "ehlo"),
    "unsolicited-replies": Case(lambda: hs.pipelined_then(b"250 nobody asked\r\n" * 3), None),
    "starttls-220-then-plain": Case(hs.starttls_then_plain, "starttls"),
    "10000-ehlo-keywords": Case(hs.ten_thousand_keywords, None),
    "421-then-close": Case(lambda: hs.last_words(b"421 hostile.test going away now\r\n"),
                           "ehlo", kept="going away now"),
}
RUN_ONLY = {
    "close-during-data": Case(hs.close_during_data, "data"),
}
TLS_CASES = ("expired", "wrong-host", "self-signed")


@pytest.fixture
def raw_server():
    yield from raw_servers()


def _check(case: Case, outcome: Outcome, command: str) -> None:
    assert outcome.returncode is not None, (
        f"{command} still running after {BOUND} s:\n{outcome.output[-2000:]}")
    assert "Traceback" not in outcome.output, outcome.output[-3000:]
    assert outcome.returncode in (0, 1), (outcome.returncode, outcome.output[-2000:])
    assert outcome.peak_mb < MEMORY_LIMIT_MB, f"peak {outcome.peak_mb:.0f} MB"
    assert terminal_unsafe(outcome.output) == [], terminal_unsafe(outcome.output)
    if case.step is not None:
        assert outcome.returncode == 1, outcome.output[-2000:]
        assert case.step in outcome.output.lower(), outcome.output[-2000:]
    if case.kept is not None:
        assert case.kept in _received(outcome, command), (
            "transcript lost: " + outcome.output[-2000:])


def _received(outcome: Outcome, command: str) -> str:
    """What the output shows the server sent (not the script's expectations)."""
    if command == "probe":
        report = json.loads(outcome.stdout.splitlines()[0])
        return json.dumps(report["banner"]) + (report["error"] or "")
    return "\n".join(line for line in outcome.output.splitlines()
                     if " S: " in line or "not met:" in line or ": greeting:" in line)


def _probe(target: str, *extra: str) -> Outcome:
    return run_command(["probe", target, "--json", "--timeout", str(TIMEOUT), *extra], BOUND)


def _run(target: str, tmp_path, *extra: str) -> Outcome:
    script = tmp_path / "hostile.smtp"
    script.write_text(SCRIPT)
    return run_command(["run", str(script), target, "--timeout", str(TIMEOUT), *extra], BOUND)


def _params(table: dict[str, Case], command: str) -> list:
    out = []
    for name, case in table.items():
        marks = []
        if case.xfail and command in case.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=case.xfail[command]))
        out.append(pytest.param(name, case, id=name, marks=marks))
    return out


@pytest.mark.parametrize(("name", "case"), _params(CASES, "probe"))
def test_probe_against_a_hostile_server(raw_server, name, case):
    server = raw_server(case.handler())
    outcome = _probe(server.target)
    _check(case, outcome, "probe")
    [report] = [json.loads(line) for line in outcome.stdout.splitlines() if line.strip()]
    assert report["ok"] is (outcome.returncode == 0)
    if not report["ok"]:
        assert report["error"] and "\n" not in report["error"]  # one clear line


@pytest.mark.parametrize(("name", "case"), _params(CASES | RUN_ONLY, "run"))
def test_run_against_a_hostile_server(raw_server, tmp_path, name, case):
    server = raw_server(case.handler())
    outcome = _run(server.target, tmp_path)
    _check(case, outcome, "run")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    pytest.importorskip("trustme")
    return hs.Certificates(tmp_path_factory.mktemp("hostile-tls"))


@pytest.mark.parametrize("kind", TLS_CASES)
@pytest.mark.parametrize("command", ["probe", "run"])
def test_a_certificate_that_does_not_verify_fails_the_starttls_step(
        raw_server, tmp_path, certificates, kind, command):
    server = raw_server(hs.starttls_with(certificates.contexts[kind]))
    extra = ("--starttls", "yes", "--cafile", str(certificates.ca_file))
    outcome = (_probe(server.target, *extra) if command == "probe"
               else _run(server.target, tmp_path, *extra))
    _check(Case(lambda: None, "starttls"), outcome, command)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("command", ["probe", "run"])
def test_the_trusted_certificate_passes(raw_server, tmp_path, certificates, command):
    """The control case: the same server with a good certificate is fine, so the
    failures above are the certificates', not the harness's."""
    server = raw_server(hs.starttls_with(certificates.contexts["good"]))
    extra = ("--starttls", "yes", "--cafile", str(certificates.ca_file))
    outcome = (_probe(server.target, *extra) if command == "probe"
               else _run(server.target, tmp_path, *extra))
    _check(Case(lambda: None, None), outcome, command)  # type: ignore[arg-type,return-value]
    assert outcome.returncode == 0, outcome.output[-2000:]


TURN_SCRIPT = """\
S: 220 hostile.test ESMTP hostile
C: HELO client.test
S: 250 ok
C: TURN
S: 250 OK
C: 220 client.test ready
S: HELO hostile.test
C: 250 client.test
S: QUIT
C: 221 bye
"""


def test_run_after_turn_has_a_whole_step_deadline(raw_server, tmp_path):
    """After TURN smtptui is the receiver: a sender dripping its HELO a byte at a time
    must still hit the step deadline."""
    server = raw_server(hs.turn_then_drip())
    script = tmp_path / "turn.smtp"
    script.write_text(TURN_SCRIPT)
    outcome = run_command(["run", str(script), server.target, "--timeout", str(TIMEOUT)], BOUND)
    _check(Case(lambda: None, "helo"), outcome, "run")  # type: ignore[arg-type,return-value]
    assert "timed out" in outcome.output


@pytest.mark.parametrize("args", [
    pytest.param(["run", "/dev/zero"], id="run-script-dev-zero"),
    pytest.param(["run", "-", "--world", "/dev/zero"], id="run-world-dev-zero"),
    pytest.param(["serve", "--listen", "127.0.0.1:0", "--world", "/dev/zero"],
                 id="serve-world-dev-zero"),
    pytest.param(["lessons", "--check", "/dev/zero"], id="lessons-check-dev-zero"),
])
def test_reading_an_endless_file_is_bounded(args):
    """An endless input file is an error (too big), not all of memory."""
    outcome = run_command(args, BOUND)
    assert outcome.returncode is not None, outcome.output[-2000:]
    assert "Traceback" not in outcome.output, outcome.output[-3000:]
    assert outcome.returncode in (1, 2), outcome.output[-2000:]
    assert outcome.peak_mb < MEMORY_LIMIT_MB, f"peak {outcome.peak_mb:.0f} MB"


@pytest.mark.parametrize("args", [
    pytest.param(["probe", ""], id="probe"),
    pytest.param(["run", "{script}", ""], id="run"),
])
def test_an_empty_target_is_a_usage_error(tmp_path, args):
    script = tmp_path / "s.smtp"
    script.write_text(SCRIPT)
    outcome = run_command([a.format(script=script) for a in args], BOUND)
    assert outcome.returncode == 2, outcome.output[-2000:]
    assert "Traceback" not in outcome.output
    assert "target" in outcome.output.lower()

"""The architecture is checked, not just described.

- import-linter contracts in pyproject.toml: the layers point inward and the core is
  sans-I/O (no sockets, asyncio, DNS, server or UI toolkit).
- Headless commands never import a UI toolkit: they must start fast.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "prompt_toolkit", "rich")


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports")
    assert exe is not None, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout


_PROBE = """
import io, json, sys, contextlib
from smtptui.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main({argv!r})
    except SystemExit as e:
        code = e.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print(json.dumps({{"code": code, "heavy": heavy, "dns": "dns" in sys.modules}}))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["check", "MAIL FROM:<smith@example.org>"],
        ["check", "--rfc", "821", "RCPT TO:<@HOSTA.ARPA,@HOSTB.ARPA:JONES@HOSTC.ARPA>"],
        ["check", "--json", "MAIL FROM:<broken"],
        ["explain", "550 5.1.1 User unknown"],
        ["explain", "354"],
        ["check", "--json", "-"],
        ["explain", "-"],
        ["lessons"],
        ["lessons", "--json", "--check"],
    ],
    ids=lambda a: " ".join(a),
)
def test_headless_commands_import_no_ui_toolkit(argv: list[str]) -> None:
    code = _PROBE.format(argv=argv, heavy=set(HEAVY))
    stdin = "EHLO a.example\nMAIL FROM:<a@b.example>\n" if argv[0] == "check" else (
        "220 mx ESMTP\r\n250-mx\r\n250 SIZE 10\r\n")
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=False, input=stdin,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"{argv} imported {result['heavy']}"
    assert result["dns"] is False, f"{argv} imported dnspython"
    assert result["code"] in (0, 1)


def test_core_imports_only_the_standard_library() -> None:
    """``smtptui.core`` is sans-I/O and standard library only (import-linter checks the
    I/O and UI modules by name; this catches any third-party import at all)."""
    import ast

    offenders = []
    for path in sorted((ROOT / "smtptui" / "core").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "smtptui":
                    if not name.startswith("smtptui.core"):
                        offenders.append(f"{path.name}: {name}")
                elif top not in sys.stdlib_module_names and top != "__future__":
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


_ONE_SHOT = """
import sys
before = set(sys.modules)  # what the interpreter (and a site .pth) loaded: not ours
import io, contextlib
from smtptui.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    code = main({argv!r})
new = set(sys.modules) - before
slow = sorted(m for m in {slow!r} if m in new)
import json  # only now: it is one of the modules looked for
print(json.dumps({{"code": code, "asyncio": "asyncio" in new, "ssl": "ssl" in new,
                  "out": out.getvalue(), "slow": slow,
                  "preloaded": sorted(m for m in {slow!r} if m in before)}}))
"""

# Standard-library modules that cost milliseconds of a one-shot command's start-up and
# that a command imports only when it needs them: dataclasses (with inspect, ast, dis:
# ~8 ms; value types use core.frozen), typing (~2 ms), json (--json only), ipaddress (an
# IP literal to parse).
SLOW = ("dataclasses", "inspect", "typing", "json", "ipaddress")


@pytest.fixture(scope="module")
def loopback_smtpd() -> Iterator[int]:
    import socket

    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, server_hostname="arch.test")
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("argv", "needs_ssl", "slow"),
    [
        (["probe", "--helo", "arch.test", "--starttls", "no", "{target}"], False, []),
        (["probe", "--json", "--helo", "arch.test", "{target}"], False, ["json"]),
        (["send", "--to", "sink@arch.test", "--from", "me@arch.test", "--starttls", "no",
          "--ehlo", "arch.test", "--server", "{target}"], False, []),
        (["check", "NOOP"], False, []),
        (["check", "MAIL FROM:<a@[192.0.2.1]> SIZE=10"], False, []),
        (["check", "--json", "RCPT TO:<a@b.example>"], False, ["json"]),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) and a and a[0] in ("probe", "send", "check")
    else str(a),
)
def test_one_shot_commands_run_without_an_event_loop(argv: list[str], needs_ssl: bool,
                                                     slow: list[str],
                                                     loopback_smtpd: int) -> None:
    """``probe`` of one host, ``send`` of one message and ``check`` use the blocking
    client (or no network at all): asyncio, which costs more to import than swaks' whole
    probe, is never imported; nor is ssl when no TLS is used. Of the slow standard
    modules (``SLOW``), each imports only those it needs: ``check`` none of them (the
    grammar does not even parse an IP literal with ipaddress), no command dataclasses."""
    target = f"127.0.0.1:{loopback_smtpd}"
    argv = [a.replace("{target}", target) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", _ONE_SHOT.format(argv=argv, slow=SLOW)], cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, result["out"]
    assert result["asyncio"] is False, f"{argv} imported asyncio"
    assert result["ssl"] is needs_ssl, f"{argv}: ssl imported: {result['ssl']}"
    expected = [m for m in slow if m not in result["preloaded"]]  # a site .pth's are not ours
    assert result["slow"] == expected, f"{argv} imported {result['slow']}, expected {expected}"

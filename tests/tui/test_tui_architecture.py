"""The app's place in the architecture, and how ``smtptui`` launches it."""

from __future__ import annotations

import grimp
import pytest

from smtptui import cli
from smtptui.commands import app as app_command


def test_the_front_ends_never_import_each_other() -> None:
    """The import-linter independence contract says so too; this checks it directly (and
    skips in a checkout without the shell, where that contract cannot be written)."""
    graph = grimp.build_graph("smtptui")
    if "smtptui.shell" not in graph.modules:
        pytest.skip("smtptui.shell is not in this checkout yet")
    assert not graph.chain_exists("smtptui.tui", "smtptui.shell", as_packages=True)
    assert not graph.chain_exists("smtptui.shell", "smtptui.tui", as_packages=True)


def test_the_app_reaches_net_and_server_only_through_the_session() -> None:
    graph = grimp.build_graph("smtptui")
    for module in graph.find_descendants("smtptui.tui") | {"smtptui.tui"}:
        for imported in graph.find_modules_directly_imported_by(module):
            assert not imported.startswith(("smtptui.net", "smtptui.server",
                                            "smtptui.shell")), (module, imported)


@pytest.mark.parametrize("argv, opens", [
    ([], True),
    (["mail.example.org:587"], True),
    (["--persona", "rfc821"], True),
    (["smtp://check"], True),
    (["check", "EHLO x"], False),
    (["--help"], False),
    (["--version"], False),
])
def test_no_command_opens_the_app(argv: list[str], opens: bool) -> None:
    assert cli._opens_app(argv) is opens


def test_launch_options_become_a_connect_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_run_app(spec):  # the real one takes the terminal
        seen["spec"] = spec
        return 0

    import smtptui.tui.app as tui_app

    monkeypatch.setattr(tui_app, "run_app", fake_run_app)
    monkeypatch.setattr(app_command, "has_terminal", lambda: True)
    assert cli.main(["smtp://check", "--timeout", "5", "--starttls", "yes",
                     "--helo", "me.example"]) == 0
    spec = seen["spec"]
    assert (spec.target, spec.timeout, spec.starttls, spec.helo) == (
        "smtp://check", 5.0, "yes", "me.example")
    assert cli.main([]) == 0 and seen["spec"].target is None
    assert seen["spec"].starttls == "manual"  # in the app you type STARTTLS yourself


@pytest.mark.parametrize("argv, message", [
    (["--persona", "nosuch"], "unknown persona"),
    (["mail.example.org", "--world", "w.toml"], "--world configures the embedded"),
    (["mail.example.org", "--cafile", "/nonexistent/ca.pem"], "--cafile"),
])
def test_usage_errors_are_one_line_before_the_screen_is_taken(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_command, "has_terminal", lambda: True)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_without_a_terminal_the_app_says_so_in_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_command, "has_terminal", lambda: False)
    assert cli.main([]) == 2
    out, err = capsys.readouterr()
    assert "check" in out  # what works without a terminal
    assert err.strip() == ("smtptui: error: the app needs a terminal (stdin and stdout are "
                           "not one); the commands above work without")


def test_help_lists_every_command_and_the_app() -> None:
    text = cli.build_parser().format_help()
    for name in cli.SUBCOMMANDS:
        assert name in text
    assert app_command.USAGE in text and "--persona" in text

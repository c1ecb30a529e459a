"""RFC 821 Appendix F, scenarios 1-10, every session: replayed with ``smtptui run``
against the embedded server (no TARGET) and against a ``smtptui serve`` process.

The scripts check reply texts too (``#!match text``), so they prove the rfc821 persona
answers with the RFC's words, not only its codes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smtptui.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SCRIPTS = sorted(SCENARIOS.glob("scenario-*.smtp"))
REPLAYED = [*SCRIPTS, SCENARIOS / "turn.smtp"]  # TURN: the roles swap mid-session


def test_every_session_of_scenarios_1_to_10_is_here():
    names = {p.stem for p in SCRIPTS}
    numbers = {int(n.split("-")[1]) for n in names}
    assert numbers == set(range(1, 11))
    assert {"scenario-03-step1", "scenario-03-step2", "scenario-07-step1",
            "scenario-07-step2", "scenario-07-step3", "scenario-09-step1",
            "scenario-09-step2"} <= names
    for script in SCRIPTS:
        assert script.with_suffix(".toml").is_file()


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.mark.parametrize("script", REPLAYED, ids=lambda p: p.stem)
def test_scenario_with_the_embedded_server(script, data_home, capsys):
    code = main(["run", str(script), "--world", str(script.with_suffix(".toml")), "--json"])
    out = capsys.readouterr().out
    result = json.loads(out)
    assert code == 0 and result["ok"], out
    assert result["steps"]


@pytest.fixture
def serve(tmp_path):
    procs: list[subprocess.Popen] = []

    def start(world: Path) -> int:
        env = os.environ | {"XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "smtptui", "serve", "--listen", "127.0.0.1:0",
             "--world", str(world), "--maildir", str(tmp_path / "maildir")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        first = proc.stdout.readline()
        assert first.startswith("listening on 127.0.0.1:"), proc.stderr.read()
        return int(first.rsplit(":", 1)[1])

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("script", REPLAYED, ids=lambda p: p.stem)
def test_scenario_against_smtptui_serve(script, serve, capsys):
    port = serve(script.with_suffix(".toml"))
    code = main(["run", str(script), f"127.0.0.1:{port}", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out)["ok"], out


def test_multi_host_world_plays_the_host_each_session_names(tmp_path, data_home, capsys):
    # One world, two hosts, one script with two sessions (RFC 821 Scenario 9).
    world = tmp_path / "w.toml"
    world.write_text((SCENARIOS / "scenario-09-step1.toml").read_text())
    both = "\n".join(
        (SCENARIOS / f"scenario-09-step{i}.smtp").read_text() for i in (1, 2))
    script = tmp_path / "both.smtp"
    script.write_text(both)
    code = main(["run", str(script), "--world", str(world), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["ok"]
    jones = data_home / "smtptui" / "maildir" / "usc-isi.arpa" / "Jones" / "new"
    assert len(list(jones.iterdir())) == 1


def test_a_session_naming_a_host_outside_the_world_fails_clearly(tmp_path, data_home, capsys):
    script = tmp_path / "s.smtp"
    script.write_text("#!session NOWHERE.ARPA\nS: 220 x\nC: QUIT\nS: 221 bye\n")
    world = SCENARIOS / "scenario-01.toml"
    code = main(["run", str(script), "--world", str(world)])
    err = capsys.readouterr().err
    assert code == 1
    assert "#!session NOWHERE.ARPA: no such host in the world" in err
    assert "Traceback" not in err

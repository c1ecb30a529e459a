"""The runner against the embedded teaching server (issue 4) on loopback: RFC 821
Scenario 1 with the reply codes of the RFC, and TURN with the roles really swapped.

These pin the contract between the two sides: the script format (including TURN) and
the runner must replay what the teaching server does."""

from __future__ import annotations

import gc

import pytest

from smtptui.core.script import load
from smtptui.net.client import Timeouts
from smtptui.net.runner import TargetConnector, run_script

from .conftest import SCRIPTS

app = pytest.importorskip("smtptui.server.app")
world_mod = pytest.importorskip("smtptui.server.world")


def _world(data: dict):
    return world_mod.world_from_mapping(data, "<test world>")


async def _play(world, script_name: str, tmp_path):
    server, port = await app.start_server(world, "127.0.0.1", 0, maildir=tmp_path / "mail",
                                          tls_dir=tmp_path / "tls", timeout=10)
    try:
        connector = TargetConnector([("127.0.0.1", port, None, None)],
                                    timeouts=Timeouts(connect=5, greeting=5, reply=5, data=10))
        return await run_script(load(str(SCRIPTS / script_name)), connector)
    finally:
        await app.stop_server(server)
        # Collect the server's finished session tasks here, inside the test, not at some
        # later allocation (a task destructor running in the middle of an unrelated
        # ast.parse trips CPython 3.11's "AST constructor recursion depth mismatch").
        gc.collect()


async def test_rfc821_scenario1_every_code_matches(tmp_path):
    world = _world({
        "hostname": "BBN-UNIX.ARPA", "persona": "rfc821",
        "mailboxes": {"Jones": "Jones", "Brown": "Brown"},
    })
    result = await _play(world, "rfc821-scenario1.smtp", tmp_path)
    assert result.ok, result.to_dict()
    assert [s.got.split(" ", 1)[0] for s in result.steps] == [
        "220", "250", "250", "250", "550", "250", "354", "250", "221"]


async def test_turn_swaps_roles_with_the_teaching_server(tmp_path):
    world = _world({
        "hostname": "BBN-UNIX.ARPA", "persona": "rfc821",
        "mailboxes": {"Jones": "Jones"},
        "queue": [{"host": "USC-ISIF.ARPA", "from": "Jones@BBN-UNIX.ARPA",
                   "to": ["Smith@USC-ISIF.ARPA"], "data": "Queued for you.\r\n"}],
    })
    result = await _play(world, "turn.smtp", tmp_path)
    assert result.ok, result.to_dict()
    got = {s.kind: s.got for s in result.steps if s.kind == "remote-data"}
    assert "Queued for you." in got["remote-data"]

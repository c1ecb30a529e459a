"""The seed lecture's exchanges (lessons/seed/) replay green on the embedded server.

These are the README's Quick start: they must keep working exactly as documented.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "lessons" / "seed").glob("*.smtp"))


def test_there_are_seed_lessons() -> None:
    assert {p.name for p in SCRIPTS} >= {"hostA-hostB.smtp", "sendmail-8.9.smtp"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_seed_lesson_replays_on_the_embedded_server(script: Path, tmp_path: Path) -> None:
    world = script.with_suffix(".toml")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.run(
        [sys.executable, "-m", "smtptui", "run", str(script.relative_to(ROOT)),
         "--world", str(world.relative_to(ROOT)), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] is True
    expected = [s for s in result["steps"] if s.get("expected")]
    assert len(expected) == 7 and all(s["ok"] for s in expected)
    # The message really arrived in the recipient's Maildir.
    delivered = list((tmp_path / "data").rglob("new/*"))
    assert len(delivered) == 1, delivered
    body = delivered[0].read_bytes()
    assert body.startswith(b"Return-Path:") and b"Received:" in body

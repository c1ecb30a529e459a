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


def _replay(name: str, tmp_path: Path) -> list[Path]:
    script = ROOT / "lessons" / "seed" / name
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.run(
        [sys.executable, "-m", "smtptui", "run", str(script),
         "--world", str(script.with_suffix(".toml")), "--json"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return list((tmp_path / "data").rglob("new/*"))


def test_the_sendmail_session_is_compared_as_text_banner_and_queue_id_included(
        tmp_path: Path) -> None:
    script = (ROOT / "lessons" / "seed" / "sendmail-8.9.smtp").read_text(encoding="utf-8")
    assert "#!match text" in script and "#!match code" not in script
    assert "S: 250 AAA09919 Message accepted for delivery" in script
    [stored] = _replay("sendmail-8.9.smtp", tmp_path)
    head = stored.read_bytes().split(b"\r\n")
    # The lecture's Received: form (its slide shows ace receiving from square)
    assert head[1] == (b"Received: from ace.csce.kyushu-u.ac.jp "
                       b"(ace.csce.kyushu-u.ac.jp [133.5.22.15])")
    assert head[2] == b"\tby square.csce.kyushu-u.ac.jp (8.9.1a/3.7W) with ESMTP id AAA09919"
    assert head[3].startswith(b"\tfor <hatano@csce.kyushu-u.ac.jp>; Mon, 1 Nov 1999 00:")
    assert head[3].endswith(b" +0900 (JST)")


def test_the_first_lesson_stores_the_japanese_body_with_the_8th_bit_cleared(
        tmp_path: Path) -> None:
    [stored] = _replay("hostA-hostB.smtp", tmp_path)
    body = stored.read_bytes().split(b"\r\n\r\n", 1)[-1]
    sent = "あんじょうよろしゅうにぃ。".encode()
    assert bytes(b & 0x7F for b in sent) in stored.read_bytes()
    assert sent not in body and all(b < 0x80 for b in stored.read_bytes())

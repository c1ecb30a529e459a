"""Lessons ship in the wheel: build it, install it (not editable) into a fresh virtual
environment and list the catalogue from another directory."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from smtptui.teaching.catalogue import lesson_files, slug_of

ROOT = Path(__file__).resolve().parents[2]


def test_installed_wheel_lists_every_lesson(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
         str(ROOT)], capture_output=True, text=True, timeout=120, check=False)
    if built.returncode != 0:
        pytest.skip(f"cannot build the wheel here (no hatchling?): {built.stderr[-300:]}")
    wheel = next((tmp_path / "dist").glob("smtptui-*.whl"))
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The test environment's pip installs into the fresh one; --no-deps: listing and
    # checking lessons needs only the standard library.
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True, timeout=120, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([str(env_dir / "bin" / "smtptui"), "lessons", "--json"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=60,
                          check=False, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == [slug_of(p) for p in lesson_files()]
    for r in rows:
        assert Path(r["file"]).is_relative_to(env_dir), r["file"]
    check = subprocess.run([str(env_dir / "bin" / "smtptui"), "lessons", "--check"],
                           cwd=elsewhere, capture_output=True, text=True, timeout=60,
                           check=False)
    assert check.returncode == 0, check.stderr

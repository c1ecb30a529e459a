"""The files a session keeps: private to the user, and nothing else is ever touched."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from smtptui.core.transcript import Direction, Entry
from smtptui.net.probe import ProbeOptions
from smtptui.session import Session, make_connector
from smtptui.session.autosave import Autosave, History, log_exception, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_directory_of_the_user_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    save = Autosave("host:25", shared)
    save.add(Entry(Direction.CLIENT, 0.0, b"NOOP\r\n", "NOOP"))
    save.close()
    assert mode(shared) == 0o755, "a directory the user named is theirs"
    assert mode(save.path) == 0o600
    assert save.path.read_text().splitlines()[-1] == "C: NOOP"


def test_a_device_is_never_chmodded(tmp_path: Path) -> None:
    before = mode(Path(os.devnull))
    fd = private_file(Path(os.devnull))
    os.close(fd)
    assert mode(Path(os.devnull)) == before
    assert mode(Path(os.devnull).parent) == mode(Path("/dev"))


def test_data_directory_is_made_private(data_home: Path) -> None:
    path = log_exception(ValueError("boom"), "a test")
    assert path is not None and path.parent == data_home
    assert mode(data_home) == 0o700 and mode(path) == 0o600
    assert "ValueError: boom" in path.read_text()


def test_in_memory_history_writes_nothing(tmp_path: Path, data_home: Path) -> None:
    history = History(persist=False)
    history.add("EHLO me")
    history.add("EHLO me")  # repeated lines are kept once
    history.add("NOOP")
    assert history.lines == ("EHLO me", "NOOP") and history.path is None
    assert not data_home.exists()


def test_history_ignores_blank_and_multiline(data_home: Path) -> None:
    history = History()
    for line in ("", "   ", "A\nB", "EHLO ok"):
        history.add(line)
    assert History().lines == ("EHLO ok",)


async def test_session_without_autosave_leaves_no_file(data_home: Path) -> None:
    session = Session(make_connector(None, ProbeOptions(helo="x")), autosave=False)
    await session.connect()
    await session.greeting()
    await session.command("NOOP")
    await session.aclose()
    assert not (data_home / "transcripts").exists()
    assert not (data_home / "history").exists()

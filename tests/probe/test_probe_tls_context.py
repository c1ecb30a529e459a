"""The TLS context of a probe run: built once, only when a TLS step happens, and with
``--cafile`` from that file alone (the system trust store costs tens of milliseconds
to load and is not what --cafile asks for)."""

from __future__ import annotations

import json
import ssl

import pytest

import smtptui.net.tls
from smtptui.cli import main

from .conftest import Server, TLSFiles


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts contexts made by smtptui and loads of the system trust store."""
    calls = {"contexts": 0, "system_store": 0}
    make = smtptui.net.tls.make_tls_context
    load = ssl.SSLContext.load_default_certs

    def counting_make(**kw):
        calls["contexts"] += 1
        return make(**kw)

    def counting_load(self, *a, **kw):
        calls["system_store"] += 1
        return load(self, *a, **kw)

    for module in ("smtptui.net.tls", "smtptui.net.client", "smtptui.net.probe"):
        monkeypatch.setattr(f"{module}.make_tls_context", counting_make)
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counting_load)
    return calls


def probe_json(capsys, *argv: str) -> tuple[int, list[dict]]:
    code = main(["probe", "--json", "--helo", "client.test", *argv])
    out, _ = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()]


def test_no_tls_step_builds_no_context(capsys, spy, plain_server: Server) -> None:
    # No STARTTLS offered: with the default --starttls auto, and even with --insecure,
    # nothing TLS is prepared.
    for extra in ((), ("--insecure",)):
        code, (r,) = probe_json(capsys, *extra, plain_server.target)
        assert code == 0 and r["tls"] is None
    assert spy == {"contexts": 0, "system_store": 0}


def test_cafile_means_that_file_only_and_one_context_per_run(
        capsys, spy, starttls_server: Server, tls_files: TLSFiles) -> None:
    code, results = probe_json(capsys, "--cafile", str(tls_files.cafile),
                               *[starttls_server.target] * 3)
    assert code == 0 and [r["tls"]["verified"] for r in results] == [True] * 3
    assert spy == {"contexts": 1, "system_store": 0}


def test_without_cafile_the_system_store_is_loaded_once_on_first_use(
        capsys, spy, starttls_server: Server) -> None:
    code, results = probe_json(capsys, *[starttls_server.target] * 3)
    # The test CA is in no system store: every probe fails verification, the reason given.
    assert code == 1
    assert all(r["error"].startswith("starttls: certificate verify failed") for r in results)
    assert spy == {"contexts": 1, "system_store": 1}

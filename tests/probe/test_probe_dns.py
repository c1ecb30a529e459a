"""``@domain`` targets: MX hosts resolved through a real dnsmasq (``--resolver``), then
probed on loopback; PTR/banner matching; null MX and NXDOMAIN as one clear line each."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smtptui.cli import main

from .conftest import ROOT, Server, TLSFiles
from .postfix import EHLO_KEYWORDS_TLS, PostfixInstance


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["probe", "--helo", "client.test", "--timeout", "5", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code, out, _ = run(capsys, "--json", *argv)
    return code, [json.loads(line) for line in out.splitlines()]


def test_domain_target_probes_every_mx(capsys, dnsmasq, lab_server: Server,
                                       tls_files: TLSFiles) -> None:
    code, results = run_json(capsys, "--resolver", dnsmasq.resolver_arg,
                             "--cafile", str(tls_files.cafile), f"@lab.test:{lab_server.port}")
    assert code == 0, [r["error"] for r in results]
    by_pref = {r["mx_preference"]: r for r in results}
    assert sorted(by_pref) == [10, 20]
    assert by_pref[10]["host"] == "mx1.lab.test" and by_pref[20]["host"] == "mx2.lab.test"
    for r in results:
        assert r["target"] == f"@lab.test:{lab_server.port}"
        assert r["address"] == "127.0.0.1" and r["port"] == lab_server.port
        assert r["ok"] is True
        # The certificate is checked against the MX host name (SNI), not the address.
        assert r["tls"]["verified"] is True
        assert r["ptr"] == {"names": ["mx1.lab.test"], "matches_banner": True}


def test_domain_target_human_report(capsys, dnsmasq, lab_server: Server,
                                    tls_files: TLSFiles) -> None:
    code, out, _ = run(capsys, "--resolver", dnsmasq.resolver_arg, "--cafile",
                       str(tls_files.cafile), f"user@lab.test:{lab_server.port}")
    assert code == 0, out
    assert "(MX 10 of lab.test)" in out and "(MX 20 of lab.test)" in out
    assert "127.0.0.1 -> mx1.lab.test (matches the banner host)" in out


def test_host_name_resolved_through_resolver(capsys, dnsmasq, lab_server: Server,
                                             tls_files: TLSFiles) -> None:
    code, (r,) = run_json(capsys, "--resolver", dnsmasq.resolver_arg, "--cafile",
                          str(tls_files.cafile), f"mx2.lab.test:{lab_server.port}")
    assert code == 0, r["error"]
    assert r["host"] == "mx2.lab.test" and r["address"] == "127.0.0.1"
    assert r["mx_preference"] is None and r["tls"]["verified"] is True
    # PTR says mx1.lab.test and so does the banner: they match (the name we dialled is
    # not what is compared).
    assert r["ptr"]["matches_banner"] is True


def test_ptr_mismatch_is_reported(capsys, dnsmasq, server_factory, tls_files) -> None:
    s = server_factory(hostname="other.example")
    code, (r,) = run_json(capsys, "--resolver", dnsmasq.resolver_arg, "--starttls", "no",
                          s.target)
    assert code == 0
    assert r["ptr"] == {"names": ["mx1.lab.test"], "matches_banner": False}
    code, out, _ = run(capsys, "--resolver", dnsmasq.resolver_arg, s.target)
    assert "does not match the banner host other.example" in out


def test_no_ptr_option(capsys, dnsmasq, plain_server: Server) -> None:
    code, (r,) = run_json(capsys, "--resolver", dnsmasq.resolver_arg, "--no-ptr",
                          plain_server.target)
    assert code == 0 and r["ptr"] is None


def test_null_mx_is_one_clear_line(capsys, dnsmasq) -> None:
    code, out, _ = run(capsys, "--resolver", dnsmasq.resolver_arg, "@nullmx.test")
    assert code == 1
    (line,) = out.splitlines()
    assert line.startswith("FAIL") and "nullmx.test" in line
    assert "accepts no mail" in line and "RFC 7505" in line
    code, (r,) = run_json(capsys, "--resolver", dnsmasq.resolver_arg, "@nullmx.test")
    assert r["ok"] is False and r["error"].startswith("dns: ")
    assert r["host"] is None and r["address"] is None and r["target"] == "@nullmx.test"
    assert line.startswith("FAIL @nullmx.test: dns: ")


def test_nxdomain_and_ghost_exchanger(capsys, dnsmasq, plain_server: Server) -> None:
    code, out, _ = run(capsys, "--resolver", dnsmasq.resolver_arg, "@nosuch.test",
                       "@ghost.test", plain_server.target)
    assert code == 1
    lines = out.splitlines()
    fails = [line for line in lines if line.startswith("FAIL")]
    assert len(fails) == 2
    assert any("nosuch.test" in f and "NXDOMAIN" in f for f in fails), fails
    assert any("nowhere.ghost.test" in f and "dns:" in f for f in fails), fails
    assert sum(line.startswith("OK") for line in lines) == 1


def test_unanswering_resolver_fails_cleanly(capsys) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        port = mute.getsockname()[1]
        code, out, _ = run(capsys, "--resolver", f"127.0.0.1:{port}", "--timeout", "0.5",
                           "@lab.test")
    assert code == 1
    (line,) = out.splitlines()
    assert line.startswith("FAIL") and "lab.test" in line and "dns:" in line


def test_postfix_through_mx(capsys, dnsmasq, postfix: PostfixInstance,
                            tls_files: TLSFiles) -> None:
    code, results = run_json(capsys, "--resolver", dnsmasq.resolver_arg, "--cafile",
                             str(tls_files.cafile), f"@lab.test:{postfix.smtp_port}")
    assert code == 0, [r["error"] for r in results]
    assert sorted(r["mx_preference"] for r in results) == [10, 20]
    for r in results:
        assert r["banner"]["text"] == "mx1.lab.test ESMTP Postfix"
        assert r["tls"]["verified"] is True
        assert {c["keyword"] for c in r["ehlo_after_tls"]["capabilities"]} == EHLO_KEYWORDS_TLS
        assert r["ptr"] == {"names": ["mx1.lab.test"], "matches_banner": True}


def test_domain_target_imports_dns_but_no_ui(dnsmasq, plain_server: Server) -> None:
    script = (
        "import sys\nfrom smtptui.cli import main\n"
        f"code = main(['probe', '--helo', 'c.test', '--resolver', {dnsmasq.resolver_arg!r}, "
        f"'--starttls', 'no', '@lab.test:{plain_server.port}'])\n"
        "print('CODE', code, 'dns' in sys.modules, 'textual' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=False)
    assert proc.stdout.strip().splitlines()[-1] == "CODE 0 True False", proc.stdout + proc.stderr

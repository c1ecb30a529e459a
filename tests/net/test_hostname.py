"""net.hostname: the EHLO name a client uses by default."""

from __future__ import annotations

import socket
import subprocess
import sys

from smtptui.net.hostname import local_fqdn


def test_local_fqdn_is_what_socket_getfqdn_says() -> None:
    assert local_fqdn() == socket.getfqdn()


def test_an_ascii_host_name_is_looked_up_without_the_idna_codec() -> None:
    code = ("import sys\nstartup = set(sys.modules)\n"
            "from smtptui.net.hostname import local_fqdn\nlocal_fqdn()\n"
            "print('encodings.idna' in set(sys.modules) - startup)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out == ("True\n" if not socket.gethostname().isascii() else "False\n")

"""Record the README's terminal screenshots (SVG) from the real commands.

Each command runs as a subprocess with FORCE_COLOR=1; its ANSI output is drawn into an
SVG terminal frame with rich (a Textual dependency; only this developer script uses it).
The probe shot starts ``smtptui serve`` on a free loopback port and probes it.

Run: ``python screenshots/make.py`` from the repository root.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"


def shoot(name: str, title: str, argv: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "smtptui", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    shown = "$ smtptui " + " ".join(_quote(a) for a in argv) + "\n"
    console = Console(record=True, width=104, file=io.StringIO(), force_terminal=True)
    console.print(Text(shown, style="bold"), end="")
    # rich drops leading spaces when it wraps a line; keep the commands' indentation.
    output = re.sub(r"(?m)^ +", lambda m: "\u00a0" * len(m.group()), proc.stdout + proc.stderr)
    console.print(Text.from_ansi(output), end="")
    console.save_svg(str(OUT / f"{name}.svg"), title=title)
    print(f"screenshots/{name}.svg  (exit {proc.returncode})")


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " <>;*\"") else arg


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FORCE_COLOR="1", XDG_DATA_HOME=tmp, COLUMNS="104")
        env.pop("NO_COLOR", None)
        shoot("check", "smtptui check",
              ["check", "MAIL FROM: <smith@example.org> SIZE=12k BODY=8BITMIME"], env)
        shoot("explain", "smtptui explain", ["explain", "550 5.1.1 User unknown"], env)
        shoot("run", "smtptui run (embedded teaching server, sendmail 8.9 persona)",
              ["run", "lessons/seed/sendmail-8.9.smtp", "--world",
               "lessons/seed/sendmail-8.9.toml"], env)
        server = subprocess.Popen(
            [sys.executable, "-m", "smtptui", "serve", "--listen", "127.0.0.1:0"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert server.stdout is not None
            first = server.stdout.readline().split()
            address = first[-1]  # "listening on HOST:PORT"
            shoot("probe", "smtptui probe (embedded server, modern persona)",
                  ["probe", address, "--insecure", "--helo", "student.example"], env)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

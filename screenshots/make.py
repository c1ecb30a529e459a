"""Record the README's terminal screenshots (SVG) from the real commands.

Each command runs as a subprocess with FORCE_COLOR=1; its ANSI output is drawn into an
SVG terminal frame with rich (a Textual dependency; only this developer script uses it).
The probe shot starts ``smtptui serve`` on a free loopback port and probes it.

The app shots (``app-*.svg`` and ``.png``) run the Textual app headless on the embedded
teaching server, drive it like a user would, and save what is on screen
(``App.save_screenshot``); the PNG is drawn from the SVG with cairosvg when it is installed
(``pip install cairosvg``), else only the SVG is written. ``app-lesson-en`` and
``app-lesson-ja`` show the guided mode (``smtptui lesson 01``). Japanese needs a CJK font
where the PNG is drawn (e.g. fonts-noto-cjk); without one cairosvg draws boxes, so the
README shows the Japanese shot as SVG (a browser picks a CJK font itself). Nothing here
depends on such a font being installed.

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


APP_SHOTS = r"""
import asyncio, re, sys
from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp

out, name, size = sys.argv[1], sys.argv[2], (100, 30)
mask = lambda t: re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:2525", t)
if name.startswith("lesson"):
    from smtptui.commands.lessons import load, resolve
    from smtptui.tui.guided import GuidedApp

    app = GuidedApp(load(resolve("01")), "ja" if name.endswith("ja") else "en",
                    mask_text=mask, fixed_time=1_764_489_600.0)
else:
    app = SmtpApp(ConnectSpec(persona="rfc821" if name == "turn" else None),
                  mask_text=mask, fixed_time=1_764_489_600.0)

async def until(p, cond):
    for _ in range(1000):
        if cond():
            return
        await p.pause(0.01)
    raise SystemExit(f"{name}: timed out")

def seen(start):
    return any(r.startswith(start) for r in app.main.transcript.row_texts())

async def send(p, line, expect):
    await until(p, lambda: seen("S: 220"))
    app.main.command.value = line
    app.main.command.cursor_position = len(line)
    await p.press("enter")
    await until(p, lambda: seen(expect))

async def pilot(p):
    if name.startswith("lesson"):
        await send(p, "HELO hostA", "S: 250 hostB")
        await until(p, lambda: app.guide.index == 2)
        app.main.command.value = "MAIL FROM: <send@hostA>"
        app.main.command.cursor_position = len(app.main.command.value)
        await p.press("enter")
        await p.press("f6")
        await p.pause(0.3)
        app.save_screenshot(filename=f"app-{name}.svg", path=out)
        app.exit()
        return
    if name == "turn":
        await send(p, "HELO client.example", "S: 250")
        await send(p, "TURN", "S: 250")
        await send(p, "220 client.example ready", "R: HELO")
        await p.press("2")
    else:
        await send(p, "EHLO student.example", "S:┌250-")
    if name == "completion":
        await p.press(*"MAIL FROM:<alice@smtptui.test> ")
    elif name == "composer":
        await send(p, "MAIL FROM:<alice@smtptui.test>", "S: 250 2.1.0")
        await send(p, "RCPT TO:<bob@smtptui.test>", "S: 250 2.1.5")
        await send(p, "DATA", "S: 354")
        await until(p, lambda: app.main.composer.display)
        editor = app.main.composer.editor
        editor.text = editor.text.replace("Subject: ", "Subject: こんにちは") + (
            "ボブさん、SMTP の授業のメールです。\n.a line that starts with a dot\n")
    elif name == "error":
        app.main.command.value = "MAIL FROM:<alice@>"
        app.main.command.cursor_position = len(app.main.command.value)
        await p.press("enter")
    await p.pause(0.3)
    app.save_screenshot(filename=f"app-{name}.svg", path=out)
    app.exit()

app.run(headless=True, auto_pilot=pilot, size=size)
"""

APP_NAMES = {"main": "the app after EHLO", "completion": "completion with meanings",
             "error": "a grammar error, before sending", "composer": "the DATA composer",
             "turn": "after TURN: you are the receiver",
             "lesson-en": "guided mode: lesson 1, a grammar mistake and a hint",
             "lesson-ja": "guided mode in Japanese (see the SVG: this machine's PNG "
                          "renderer may lack a CJK font)"}


def shoot_app(name: str, env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-c", APP_SHOTS, str(OUT), name], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    svg = OUT / f"app-{name}.svg"
    if proc.returncode != 0 or not svg.exists():
        raise SystemExit(f"app shot {name} failed:\n{proc.stderr[-2000:]}")
    print(f"screenshots/app-{name}.svg  ({APP_NAMES[name]})")
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        print("  (no PNG: pip install cairosvg)")
        return
    text = svg.read_text(encoding="utf-8")
    # Fira Code is rarely installed where this runs; a monospace font keeps the columns.
    text = text.replace('"Fira Code"', '"DejaVu Sans Mono"').replace(
        "Fira Code, monospace", "DejaVu Sans Mono, monospace")
    cairosvg.svg2png(bytestring=text.encode("utf-8"), write_to=str(OUT / f"app-{name}.png"),
                     output_width=1400)
    print(f"screenshots/app-{name}.png")


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c in arg for c in " <>;*\"") else arg


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FORCE_COLOR="1", XDG_DATA_HOME=tmp, COLUMNS="104")
        env.pop("NO_COLOR", None)
        for name in APP_NAMES:
            shoot_app(name, env)
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

"""The sans-I/O SMTP core: standard library only, no sockets, no asyncio, no UI.

Bytes in, events out; events in, bytes out. Every front end (TUI, shell, headless
commands), the network client and the embedded server share this package, so what a
learner is told about the protocol comes from one place.

Import submodules directly (``from smtptui.core.grammar import check``); this package
imports nothing eagerly so that headless commands stay fast.
"""

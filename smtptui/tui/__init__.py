"""The Textual front end: the app (``smtptui`` with no command), its screens and widgets.

A front end only: it drives :mod:`smtptui.session` and shows the core's tables; it never
opens a socket or imports ``net``/``server`` (an import-linter contract checks this).
"""

"""``smtptui shell``: the line-mode front end, for plain terminals, screen readers and pipes.

Two drivers over the same :class:`~smtptui.session.Session`: :mod:`.repl` (a
prompt_toolkit prompt, for a terminal) and :mod:`.pipe` (no prompt, for scripts; it
never imports prompt_toolkit). Neither holds protocol logic: checking, completion,
explanations and the transcript come from the session layer and the core.

This package imports nothing at import time, so the pipe path stays light.
"""

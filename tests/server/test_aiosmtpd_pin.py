"""The teaching server extends aiosmtpd's SMTP class through names that are not its
public API; pyproject pins the range they were read from (``>=1.4.4,<1.5``). This test
says which names, so an upgrade that moves one fails here, by name, not in a session."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from aiosmtpd.smtp import SMTP

# Private aiosmtpd names smtptui.server.protocol relies on.
PRIVATE_METHODS = ("_handle_client", "_set_rset_state", "_set_post_data_state",
                   "_create_envelope", "_reset_timeout")
PRIVATE_ATTRIBUTES = ("_reader", "_writer", "_handler_coroutine", "_smtp_methods",
                      "_tls_protocol", "_original_transport", "command_size_limits",
                      "__ident__")


def test_the_installed_aiosmtpd_is_in_the_pinned_range():
    major, minor, patch = (int(x) for x in version("aiosmtpd").split(".")[:3])
    assert (1, 4, 4) <= (major, minor, patch) < (1, 5, 0)


def test_the_private_names_the_server_uses_still_exist():
    for name in PRIVATE_METHODS:
        assert callable(getattr(SMTP, name, None)), name
    source = inspect.getsource(SMTP)
    for name in PRIVATE_ATTRIBUTES:
        assert f"self.{name}" in source or name in source, name


async def test_the_reader_buffer_the_server_refills_is_there():
    # DATA puts pipelined commands after the end of data back into the reader.
    import asyncio

    assert isinstance(asyncio.StreamReader()._buffer, bytearray)  # type: ignore[attr-defined]

"""The blocking client (one-shot commands) keeps the asyncio client's policies.

The asyncio client's own tests -- connect failures and address order, greeting and
reply deadlines, capabilities, STARTTLS verified, refused, failed and injected, the
insecure fallback, message data streamed and salvaged, replies cut short, unsolicited
replies -- are run again here, unchanged, against
:class:`~smtptui.net.blocking.BlockingSMTPClient`: both drive the same steps
(:mod:`smtptui.net.steps`) and bookkeeping (:mod:`smtptui.net.connection`), and these
runs prove the I/O primitives underneath agree too. The test servers live on the test's
event loop, so each blocking step runs in a worker thread (:func:`run_blocking` there).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Self

import pytest

from smtptui.net.blocking import BlockingSMTPClient, run_blocking

from . import test_client, test_reply_matching


class ThreadedBlockingClient:
    """BlockingSMTPClient with every step run in a worker thread (the servers of these
    tests answer on the test's event loop, which a blocking call would stall)."""

    def __init__(self, inner: BlockingSMTPClient) -> None:
        self._inner = inner

    @classmethod
    async def connect(cls, *args: Any, **kwargs: Any) -> ThreadedBlockingClient:
        coro = BlockingSMTPClient.connect(*args, **kwargs)
        return cls(await asyncio.to_thread(run_blocking, coro))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def step(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(run_blocking, attr(*args, **kwargs))

        return step

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_inner":
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


@pytest.fixture(autouse=True)
def blocking_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (test_client, test_reply_matching):
        monkeypatch.setattr(module, "SMTPClient", ThreadedBlockingClient)


def _same_tests(module: Any, names: list[str]) -> dict[str, Any]:
    found = {name: getattr(module, name) for name in names}
    return {f"{name}_blocking": test for name, test in found.items()}


globals().update(_same_tests(test_client, [
    name for name in dir(test_client) if name.startswith("test_")
]))
globals().update(_same_tests(test_reply_matching, [
    name for name in dir(test_reply_matching) if name.startswith("test_")
]))


# ------------------------------------------- name resolution within the connect deadline


def test_a_resolver_that_hangs_is_abandoned_at_the_connect_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading
    import time

    from smtptui.net.connection import Timeouts
    from smtptui.net.errors import StepTimeout

    release = threading.Event()

    def hanging(*_args: object, **_kwargs: object) -> list[object]:
        release.wait(30)  # a resolver stuck on an unanswering DNS server
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    started = time.monotonic()
    try:
        with pytest.raises(StepTimeout, match=r"mx\.lab\.test: timed out after 0\.3 s") as info:
            run_blocking(BlockingSMTPClient.connect("mx.lab.test", 25,
                                                    timeouts=Timeouts(connect=0.3)))
    finally:
        release.set()
    assert info.value.step == "resolve"
    assert time.monotonic() - started < 5


def test_a_resolver_failure_is_the_resolve_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from smtptui.net.errors import ConnectError

    def failing(*_args: object, **_kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(ConnectError, match="mx.lab.test: Name or service not known") as info:
        run_blocking(BlockingSMTPClient.connect("mx.lab.test", 25))
    assert info.value.step == "resolve"

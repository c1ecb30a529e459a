"""Probe SMTP servers: greeting, EHLO capabilities, STARTTLS, certificate, PTR, step timings.

This is the logic behind ``smtptui probe`` (and later the TUI's server view): for each
target -- each MX host of a ``@domain`` target -- connect, read the greeting, EHLO (HELO
when EHLO is refused with 5xx), STARTTLS when advertised and allowed, EHLO again, QUIT.
Every probe ends in a :class:`ProbeResult`; nothing raises out of :func:`probe_targets`,
because one broken server must not stop the report on the others.

Nothing heavy is imported here: :mod:`smtptui.net.dns` (and with it dnspython) is imported
only when a name must be resolved -- an MX lookup, ``--resolver`` for a host name, or a PTR
lookup. PTR lookups are skipped for loopback addresses unless a resolver is given
explicitly: the system resolver has nothing useful to say about 127.0.0.1, and tests must
never send queries off the machine.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from types import MappingProxyType

from smtptui.core.frozen import frozen
from smtptui.core.text import dotted_quad, is_ip_literal
from smtptui.net.connection import ProbeOptions
from smtptui.net.errors import SMTPClientError, printable

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    import asyncio
    import ssl
    from typing import Any

    from smtptui.core.ehlo import Capabilities, Capability
    from smtptui.core.replies import Reply
    from smtptui.net.steps import ClientSteps
    from smtptui.net.targets import Target
    from smtptui.net.tls import TLSInfo

def make_tls_context(*, cafile: str | None = None, insecure: bool = False) -> ssl.SSLContext:
    """:func:`smtptui.net.tls.make_tls_context`, imported when a probe first needs TLS
    (ssl is not imported by a plain probe)."""
    from smtptui.net import tls

    return tls.make_tls_context(cafile=cafile, insecure=insecure)


# The steps a probe times, in order; the first five are the JSON ``timings_ms`` keys.
JSON_TIMINGS = ("connect", "banner", "ehlo", "starttls", "total")
STEPS = ("connect", "banner", "ehlo", "starttls", "ehlo_tls", "quit", "total")


@frozen
class EhloSummary:
    """What one EHLO (or the HELO fallback) returned."""

    code: int | None                          # the EHLO reply code (also when HELO followed)
    capabilities: tuple[Capability, ...] = ()
    domain: str = ""                          # first word of the 250 reply
    helo_code: int | None = None              # set when EHLO got 5xx and HELO was tried

    @classmethod
    def from_capabilities(cls, code: int | None, caps: Capabilities | None) -> EhloSummary:
        if caps is None:
            return cls(code)
        return cls(code, tuple(caps.items), caps.domain)

    @property
    def keywords(self) -> frozenset[str]:
        return frozenset(c.keyword for c in self.capabilities)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "capabilities": [
                {"keyword": c.keyword, "params": list(c.params), "description": c.description}
                for c in self.capabilities
            ],
        }


@frozen
class CapabilityDiff:
    """How the capabilities changed across STARTTLS (RFC 3207 §4.2: they may)."""

    added: tuple[Capability, ...]
    removed: tuple[Capability, ...]
    changed: tuple[tuple[Capability, Capability], ...]   # (before, after): same keyword, new params

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def capability_diff(before: EhloSummary, after: EhloSummary) -> CapabilityDiff:
    """Keywords added, removed and re-parameterised between two EHLO replies."""
    b = {c.keyword: c for c in before.capabilities}
    a = {c.keyword: c for c in after.capabilities}
    return CapabilityDiff(
        added=tuple(c for k, c in a.items() if k not in b),
        removed=tuple(c for k, c in b.items() if k not in a),
        changed=tuple((b[k], c) for k, c in a.items() if k in b and b[k].params != c.params),
    )


@frozen
class PTRResult:
    names: tuple[str, ...]
    matches_banner: bool
    error: str | None = None                  # lookup failed (not a probe failure)

    def to_json_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "matches_banner": self.matches_banner}


_NO_TIMINGS: Mapping[str, float | None] = MappingProxyType({})


@frozen
class ProbeResult:
    """Everything one probe of one host found out; partial when a step failed."""

    target: str                               # the target as the user wrote it
    host: str | None                          # host name or literal address connected to
    port: int
    address: str | None = None                # the address actually connected to
    mx_preference: int | None = None
    mail_domain: str | None = None            # set for the MX hosts of a @domain target
    ok: bool = False
    error: str | None = None                  # "step: reason"
    step: str | None = None                   # the step that failed
    banner_code: int | None = None
    banner_lines: tuple[str, ...] | None = None
    ehlo: EhloSummary | None = None
    tls: TLSInfo | None = None
    ehlo_after_tls: EhloSummary | None = None
    ptr: PTRResult | None = None
    starttls_offered: bool = False            # STARTTLS was advertised before TLS
    timings_ms: Mapping[str, float | None] = _NO_TIMINGS
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How a line about this probe names the host: ``host (address):port``, or the
        target as written when no host was found (a DNS failure of a mail domain)."""
        if self.host is None:
            return self.target
        host = self.host
        shown = f"[{host}]" if ":" in host else host
        if self.address and self.address != self.host:
            addr = f"[{self.address}]" if ":" in self.address else self.address
            return f"{shown} ({addr}):{self.port}"
        return f"{shown}:{self.port}"

    @property
    def banner_host(self) -> str | None:
        """The host name the greeting claims (its first word), if any."""
        if not self.banner_lines or not self.banner_lines[0].split():
            return None
        return self.banner_lines[0].split()[0]

    @property
    def tls_diff(self) -> CapabilityDiff | None:
        if self.ehlo is None or self.ehlo_after_tls is None:
            return None
        return capability_diff(self.ehlo, self.ehlo_after_tls)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` object: exactly the keys documented for ``smtptui probe``."""
        tls = None
        if self.tls is not None:
            t = self.tls
            tls = {
                "mode": t.mode, "version": t.version, "cipher": t.cipher,
                "verified": t.verified, "verify_error": t.verify_error,
                "subject": t.subject, "issuer": t.issuer, "not_after": t.not_after,
                "san": list(t.san),
            }
        return {
            "target": self.target,
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "mx_preference": self.mx_preference,
            "ok": self.ok,
            "error": self.error,
            "banner": None if self.banner_lines is None else {
                "code": self.banner_code, "text": "\n".join(self.banner_lines),
            },
            "ehlo": None if self.ehlo is None else self.ehlo.to_json_dict(),
            "tls": tls,
            "ehlo_after_tls": None if self.ehlo_after_tls is None
            else self.ehlo_after_tls.to_json_dict(),
            "ptr": None if self.ptr is None else self.ptr.to_json_dict(),
            "timings_ms": {k: self.timings_ms.get(k) for k in JSON_TIMINGS},
        }


@frozen
class HostSpec:
    """One host to probe: a literal target, or one MX host of a domain."""

    target: Target
    host: str
    port: int
    addresses: tuple[str, ...] | None = None  # pre-resolved (DNS helper); None: client resolves
    mx_preference: int | None = None
    server_hostname: str | None = None


class _Failed(Exception):
    """A probe step failed with a message of our own (not from the client)."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step, self.reason = step, reason


class _TLSContexts:
    """One verification context per run, built on first use (loading trust costs time)."""

    def __init__(self, options: ProbeOptions) -> None:
        self._options = options
        self._ctx: ssl.SSLContext | None = options.ssl_context

    def get(self) -> ssl.SSLContext:
        if self._ctx is None:
            self._ctx = make_tls_context(cafile=self._options.cafile,
                                         insecure=self._options.insecure)
        return self._ctx


def _reply_text(reply: Reply) -> str:
    text = " / ".join(reply.lines).strip()
    code = "" if reply.code is None else f"{reply.code} "
    return (code + text).strip() or repr(reply.raw[:80])


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if dotted_quad(address):
        return address.startswith("127.")  # 127.0.0.0/8 (ipaddress.is_loopback)
    import ipaddress  # an IPv6 or odd address: not for every a.b.c.d probe

    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


async def _ptr(address: str, banner_host: str | None, options: ProbeOptions) -> PTRResult:
    from smtptui.net import dns  # lazily: dnspython only when a name must be resolved

    try:
        found = await dns.ptr_check(address, banner_host, nameserver=options.resolver,
                                    timeout=options.dns_timeout)
    except dns.DNSFailure as exc:
        return PTRResult((), False, str(exc))
    except Exception as exc:  # noqa: BLE001 -- a PTR lookup never fails the probe
        return PTRResult((), False, f"{type(exc).__name__}: {exc}")
    return PTRResult(tuple(found.get("names", ())), bool(found.get("matches_banner")))


def ptr_wanted(address: str | None, options: ProbeOptions) -> bool:
    """Whether a probe of ``address`` looks up its PTR (not for loopback addresses
    unless a resolver is given; never with ``--no-ptr``)."""
    return bool(options.ptr and address and (options.resolver is not None
                                             or not _is_loopback(address)))


async def probe_host(spec: HostSpec, options: ProbeOptions,
                     contexts: _TLSContexts | None = None,
                     client_class: type[ClientSteps] | None = None) -> ProbeResult:
    """Probe one host; never raises (except cancellation): failures are in the result.

    ``client_class``: the driver (default: the asyncio SMTPClient); a blocking one runs
    the same probe with :func:`~smtptui.net.blocking.run_blocking` when no PTR lookup
    is wanted (that lookup runs alongside, on the event loop)."""
    if client_class is None:
        from smtptui.net.client import SMTPClient

        client_class = SMTPClient
    contexts = contexts or _TLSContexts(options)
    target = spec.target
    timings: dict[str, float | None] = dict.fromkeys(STEPS)
    state: dict[str, Any] = {}
    warnings: list[str] = []
    if options.insecure:
        warnings.append("--insecure: the TLS certificate is not verified")
    client: ClientSteps | None = None
    ptr_task: asyncio.Task[PTRResult] | None = None
    step = "connect"
    start = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round((now - mark) * 1000, 3)
        mark = now

    error: str | None = None
    try:
        client = await client_class.connect(  # type: ignore[attr-defined]
            spec.host, spec.port,
            implicit_tls=target.implicit_tls,
            server_hostname=spec.server_hostname,
            ssl_context=contexts.get() if target.implicit_tls else None,
            timeouts=options.timeouts,
            family=options.family,
            addresses=spec.addresses,
        )
        lap("connect")
        state["address"] = client.peer[0] if client.peer else None
        if target.implicit_tls:
            state["tls"] = client.tls

        step = "greeting"
        greeting = await client.read_greeting()
        lap("banner")
        state["banner_code"], state["banner_lines"] = greeting.code, tuple(greeting.lines)
        if greeting.code is None:
            raise _Failed(step, f"not an SMTP greeting: {printable(greeting.raw)}")
        if greeting.code != 220:
            raise _Failed(step, f"server refuses service: {_reply_text(greeting)}")
        banner_words = greeting.lines[0].split() if greeting.lines else []
        if ptr_wanted(state["address"], options):
            import asyncio

            ptr_task = asyncio.create_task(
                _ptr(state["address"], banner_words[0] if banner_words else None, options))

        step = "ehlo"
        reply = await client.ehlo(options.helo)
        if reply.code is not None and 500 <= reply.code < 600:
            step = "helo"
            helo = await client.helo(options.helo)
            state["ehlo"] = EhloSummary(reply.code, helo_code=helo.code)
            if helo.code != 250:
                raise _Failed(step, f"EHLO and HELO refused: {_reply_text(helo)}")
        elif reply.code != 250:
            state["ehlo"] = EhloSummary(reply.code)
            raise _Failed(step, f"EHLO refused: {_reply_text(reply)}")
        else:
            state["ehlo"] = EhloSummary.from_capabilities(reply.code, client.capabilities)
        lap("ehlo")

        offered = "STARTTLS" in state["ehlo"].keywords
        state["starttls_offered"] = offered
        if not target.implicit_tls and options.starttls != "no" and (offered or
                                                                     options.starttls == "yes"):
            step = "starttls"
            if not offered:
                raise _Failed(step, "not advertised by the server (--starttls yes)")
            client.ssl_context = contexts.get()  # one shared context, built on first use
            reply = await client.starttls(spec.server_hostname)
            if reply.code != 220:
                raise _Failed(step, f"server refused STARTTLS: {_reply_text(reply)}")
            state["tls"] = client.tls
            lap("starttls")
            step = "ehlo"
            reply = await client.ehlo(options.helo)
            if reply.code != 250:
                state["ehlo_after_tls"] = EhloSummary(reply.code)
                raise _Failed(step, f"EHLO after STARTTLS refused: {_reply_text(reply)}")
            state["ehlo_after_tls"] = EhloSummary.from_capabilities(reply.code,
                                                                    client.capabilities)
            lap("ehlo_tls")

        step = "quit"
        try:
            await client.quit()
        except SMTPClientError as exc:  # the probe got its answers; a rude goodbye is a note
            warnings.append(f"quit: {exc.reason}")
        lap("quit")
    except _Failed as exc:
        error, step = str(exc), exc.step
    except SMTPClientError as exc:
        error, step = str(exc), exc.step
    except TimeoutError:  # before OSError, its base class
        error = f"{step}: timed out"
    except (OSError, EOFError) as exc:  # ssl.SSLError included
        error = f"{step}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"
    except Exception as exc:  # noqa: BLE001 -- one bad server must not cost a traceback
        error = f"{step}: unexpected {type(exc).__name__}: {exc}"
    finally:
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001, S110 -- closing a dead connection
                pass
    ptr = None
    if ptr_task is not None:
        ptr = await ptr_task
    timings["total"] = round((time.perf_counter() - start) * 1000, 3)
    tls = state.get("tls")
    if tls is not None and not tls.verified and not options.insecure:
        warnings.append(f"TLS certificate not verified: {tls.verify_error}")
    return ProbeResult(
        target=target.original, host=spec.host, port=spec.port,
        address=state.get("address") or _attempted_address(spec),
        mx_preference=spec.mx_preference,
        mail_domain=target.mail_domain, ok=error is None, error=error,
        step=None if error is None else step,
        banner_code=state.get("banner_code"), banner_lines=state.get("banner_lines"),
        ehlo=state.get("ehlo"), tls=tls, ehlo_after_tls=state.get("ehlo_after_tls"),
        ptr=ptr, starttls_offered=state.get("starttls_offered", False),
        timings_ms=timings, warnings=tuple(warnings),
    )


def _attempted_address(spec: HostSpec) -> str | None:
    """The address a failed connection was tried on, when there was only one to try
    (an IP literal, or one resolved address): the error text names it, so does JSON."""
    if spec.addresses is not None:
        return spec.addresses[0] if len(spec.addresses) == 1 else None
    return spec.host if is_ip_literal(spec.host) else None


def _failure(target: Target, host: str | None, step: str, reason: str,
             mx_preference: int | None = None) -> ProbeResult:
    return ProbeResult(
        target=target.original, host=host, port=target.port, mx_preference=mx_preference,
        mail_domain=target.mail_domain, ok=False, error=f"{step}: {reason}", step=step,
        timings_ms=dict.fromkeys(STEPS),
    )


async def expand_target(target: Target, options: ProbeOptions) -> list[HostSpec | ProbeResult]:
    """The hosts to probe for one target; DNS failures come back as failed results."""
    if target.mail_domain is not None:
        from smtptui.net import dns

        domain = target.mail_domain
        try:
            hosts = await dns.resolve_mx(domain, nameserver=options.resolver,
                                         timeout=options.dns_timeout, family=options.family)
        except dns.DNSFailure as exc:
            return [_failure(target, None, "dns", str(exc))]
        except Exception as exc:  # noqa: BLE001
            return [_failure(target, None, "dns", f"{type(exc).__name__}: {exc}")]
        if not hosts:
            return [_failure(target, None, "dns", f"{domain}: no mail exchanger found")]
        out: list[HostSpec | ProbeResult] = []
        for mx in hosts:
            if not mx.addresses:
                reason = getattr(mx, "note", None) or f"{mx.host}: no address"
                out.append(_failure(target, mx.host, "dns", reason, mx.preference))
                continue
            out.append(HostSpec(target, mx.host, target.port, tuple(mx.addresses),
                                mx.preference, mx.host))
        return out
    assert target.host is not None
    host = target.host
    if options.resolver is not None and not is_ip_literal(host):
        from smtptui.net import dns

        try:
            addresses = await dns.resolve_addresses(host, nameserver=options.resolver,
                                                    timeout=options.dns_timeout,
                                                    family=options.family)
        except dns.DNSFailure as exc:
            return [_failure(target, host, "dns", str(exc))]
        except Exception as exc:  # noqa: BLE001
            return [_failure(target, host, "dns", f"{type(exc).__name__}: {exc}")]
        if not addresses:
            return [_failure(target, host, "dns", f"{host}: no address")]
        return [HostSpec(target, host, target.port, tuple(addresses), None, host)]
    return [HostSpec(target, host, target.port, None, None, host)]


async def probe_targets(targets: Sequence[Target], options: ProbeOptions, *,
                        concurrency: int = 20) -> AsyncIterator[ProbeResult]:
    """Probe every host of every target, at most ``concurrency`` at a time.

    Results are yielded as they finish, not in target order, so a slow server never holds
    back the report on the fast ones.
    """
    import asyncio

    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    sem = asyncio.Semaphore(concurrency)
    contexts = _TLSContexts(options)
    results: asyncio.Queue[ProbeResult | None] = asyncio.Queue()

    async def one_host(spec: HostSpec) -> None:
        async with sem:
            await results.put(await probe_host(spec, options, contexts))

    async def one_target(target: Target) -> None:
        async with sem:
            specs = await expand_target(target, options)
        hosts = []
        for spec in specs:
            if isinstance(spec, ProbeResult):
                await results.put(spec)
            else:
                hosts.append(one_host(spec))
        await asyncio.gather(*hosts)

    async def all_targets() -> None:
        try:
            await asyncio.gather(*(one_target(t) for t in targets))
        finally:
            await results.put(None)  # every result was queued before this

    runner = asyncio.create_task(all_targets())
    try:
        while (result := await results.get()) is not None:
            yield result
        await runner  # surface an unexpected error from the gatherers
    finally:
        if not runner.done():
            runner.cancel()

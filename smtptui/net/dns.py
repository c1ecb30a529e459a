"""DNS for smtptui: mail exchangers, addresses, PTR names and forward-confirmation.

What it implements:

* MX per RFC 5321 §5.1: hosts sorted by preference, *random* order among equal
  preferences (so load spreads as the domain intended), implicit MX (no MX
  records: the domain's own A/AAAA, preference ``None``), null MX per RFC 7505
  (``0 .``: the domain accepts no mail, :class:`NullMX`).
* An MX host whose name has no usable address is **kept** with empty
  ``addresses`` and a one-line ``note`` saying why, so the caller can report
  that exchanger as failed instead of it silently vanishing from the list.
* PTR lookup of a connected address and FCrDNS: a PTR name that equals the
  banner host *and* resolves back to the address.

Every failure is a :class:`DNSFailure` whose ``str()`` is one line naming the
name and the reason ("nosuch.test: domain does not exist (NXDOMAIN)"); dnspython
exceptions never escape.

Imports: dnspython is imported inside the lookup functions, the first time a
name must actually be resolved, so importing this module costs nothing. Callers
on the headless/probe path still import ``smtptui.net.dns`` only when a target
is a name (a host name or a mail domain), never for an IP-address target.

Servers: ``nameserver=(ip, port)`` (or its text form, "127.0.0.1:5353", see
:func:`parse_nameserver`) uses exactly that server (the system
configuration is not read at all: tests and ``--resolver`` rely on this);
``None`` uses the system configuration (/etc/resolv.conf). Addresses are
returned IPv4 first, then IPv6; ``family`` (``socket.AF_INET``/``AF_INET6``/0)
restricts which record types are queried.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import random
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only, keeps the import lazy
    import dns.name

__all__ = [
    "DEFAULT_DNS_PORT",
    "DNSFailure",
    "MXHost",
    "NoAddress",
    "NoSuchDomain",
    "NullMX",
    "parse_nameserver",
    "ptr_check",
    "resolve_addresses",
    "resolve_mx",
    "reverse_names",
]

DEFAULT_DNS_PORT = 53
# Upper bound on lookups in flight for one call: a hostile zone with hundreds of
# MX records must not turn into hundreds of simultaneous queries.
_MAX_PARALLEL = 32
# Per-attempt UDP wait; the caller's ``timeout`` is the deadline for the whole
# lookup, so a lost datagram is retried within it.
_ATTEMPT_TIMEOUT = 2.0

class DNSFailure(Exception):
    """A lookup failed; ``str()`` is one line naming the name and the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class NoSuchDomain(DNSFailure):
    """The name does not exist (NXDOMAIN)."""


class NoAddress(DNSFailure):
    """The name exists but has no address record of the requested family."""


class NullMX(DNSFailure):
    """The domain publishes a null MX (RFC 7505): it accepts no mail."""


@dataclass(frozen=True, slots=True)
class MXHost:
    """One mail exchanger to try, in order.

    ``preference`` is ``None`` for the implicit MX (the domain itself, RFC 5321
    §5.1). ``addresses`` is empty when the host has no usable address; ``note``
    then says why in one line (e.g. "ghost.test: host does not exist (NXDOMAIN)").
    """

    host: str
    preference: int | None
    addresses: tuple[str, ...]
    note: str | None = None


# --------------------------------------------------------------------- parsing


def parse_nameserver(text: str) -> tuple[str, int]:
    """Parse a DNS server given by the user: ``IP``, ``IP:PORT``, ``[IPv6]:PORT``, ``IPv6``.

    Returns ``(ip, port)`` with the address in canonical form and port 53 by
    default. Raises ValueError with a one-line message for anything else (host
    names included: a resolver must be named by address).
    """
    raw = text.strip()
    usage = "expected IP, IP:PORT or [IPv6]:PORT"
    if not raw:
        raise ValueError(f"empty DNS server address ({usage})")
    port_text: str | None = None
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise ValueError(f"DNS server {text!r}: missing ']' ({usage})")
        host, rest = raw[1:end], raw[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"DNS server {text!r}: unexpected {rest!r} after ']' ({usage})")
            port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    else:
        host = raw  # IPv4 without port, or a bare IPv6 address (its port is 53)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"DNS server {text!r}: {host!r} is not an IP address ({usage})"
        ) from None
    port = DEFAULT_DNS_PORT
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit():
            raise ValueError(f"DNS server {text!r}: port {port_text!r} is not a number")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError(f"DNS server {text!r}: port {port} is out of range 1-65535")
    return str(ip), port


def _check_nameserver(nameserver: tuple[str, int] | str) -> tuple[str, int]:
    """A ``(ip, port)`` pair as the functions accept it; a string goes through parse_nameserver."""
    if isinstance(nameserver, str):
        return parse_nameserver(nameserver)
    ip, port = nameserver
    if _ip(str(ip)) is None or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"nameserver must be (IP address, port 1-65535), not {nameserver!r}")
    return str(ip), port


def _hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _secs(seconds: float) -> str:
    """5.0 -> '5.0', 0.25 -> '0.25': as precise as the user wrote it."""
    return f"{seconds:.1f}" if math.isclose(seconds * 10, round(seconds * 10)) else f"{seconds:g}"


def _check_family(family: int) -> None:
    if family not in (0, socket.AF_INET, socket.AF_INET6):
        raise ValueError(f"family must be 0, socket.AF_INET or socket.AF_INET6, not {family!r}")


def _rdtypes(family: int) -> tuple[str, ...]:
    if family == socket.AF_INET:
        return ("A",)
    if family == socket.AF_INET6:
        return ("AAAA",)
    return ("A", "AAAA")


def _records_label(family: int) -> str:
    if family == socket.AF_INET:
        return "A records (IPv4 only was requested)"
    if family == socket.AF_INET6:
        return "AAAA records (IPv6 only was requested)"
    return "address records"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP literal (brackets allowed) or None; IPv4-mapped IPv6 becomes IPv4: the
    core's one test (:func:`smtptui.core.text.ip_literal`)."""
    from smtptui.core.text import ip_literal

    return ip_literal(text)


def _address_literal(domain: str) -> str | None:
    """The IP inside an RFC 5321 address literal ("[192.0.2.1]", "[IPv6:::1]"), else None."""
    t = domain.strip()
    if not (t.startswith("[") and t.endswith("]")):
        return None
    inner = t[1:-1]
    if inner[:5].lower() == "ipv6:":
        inner = inner[5:]
    if _ip(inner) is None:
        raise DNSFailure(f"{_display(domain)}: not a valid address literal")
    return inner


def _display(text: str) -> str:
    """The name as the user wrote it (trailing dot dropped), if it is safe to print."""
    t = text.strip().rstrip(".")
    return t if t.isprintable() else ascii(t)


def _to_name(text: str) -> dns.name.Name:
    """An absolute dnspython name (IDNA-encoded); DNSFailure for nonsense."""
    import dns.exception
    import dns.name

    t = text.strip()
    if not t or t == ".":
        raise DNSFailure(f"{text!r}: empty domain name")
    try:
        return dns.name.from_text(t)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise DNSFailure(f"{_display(text)}: not a valid domain name ({exc})") from None


def _name_text(name: dns.name.Name) -> str:
    """ASCII text without the final dot; odd bytes come out escaped, so it is safe to print."""
    return name.to_text(omit_final_dot=True)


def _canonical(text: str) -> str:
    """Case- and dot-insensitive form of a host name for comparisons."""
    t = text.strip()
    try:
        return _to_name(t).to_text(omit_final_dot=True).lower()
    except DNSFailure:
        return t.rstrip(".").lower()


# --------------------------------------------------------------------- lookups


class _Lookup:
    """One configured resolver plus what error messages need to say about it."""

    def __init__(self, nameserver: tuple[str, int] | str | None, timeout: float) -> None:
        import dns.asyncresolver
        import dns.resolver

        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"DNS timeout must be a positive number of seconds, not {timeout!r}")
        if nameserver is None:
            try:
                resolver = dns.asyncresolver.Resolver()  # reads /etc/resolv.conf
            except dns.resolver.NoResolverConfiguration:
                raise DNSFailure(
                    "no DNS server configured (no nameserver in /etc/resolv.conf)"
                ) from None
            servers = [self._server_text(str(ns), resolver.port) for ns in resolver.nameservers]
        else:
            ip, port = _check_nameserver(nameserver)
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [ip]
            resolver.port = port
            servers = [_hostport(ip, port)]
        resolver.cache = None
        resolver.lifetime = float(timeout)
        resolver.timeout = min(float(timeout), _ATTEMPT_TIMEOUT)
        self.resolver: Any = resolver
        self.timeout = float(timeout)
        self.servers = ("server " if len(servers) == 1 else "servers ") + ", ".join(servers)
        self._limit = asyncio.Semaphore(_MAX_PARALLEL)

    @staticmethod
    def _server_text(server: str, default_port: int) -> str:
        """'Do53:127.0.0.1@5353' (dnspython's form) -> '127.0.0.1:5353'."""
        if server.startswith("Do53:") and "@" in server:
            addr, _, port = server[5:].rpartition("@")
            if port.isdigit():
                return _hostport(addr, int(port))
        if _ip(server) is not None:
            return _hostport(server, default_port)
        return server

    async def query(self, name: dns.name.Name, rdtype: str, shown: str) -> list[Any]:
        """The answer's rdata; [] when the name exists without such records.

        Raises NoSuchDomain for NXDOMAIN and DNSFailure (one line) for the rest.
        """
        import dns.exception
        import dns.resolver

        try:
            async with self._limit:
                answer = await self.resolver.resolve(
                    name, rdtype, search=False, raise_on_no_answer=False
                )
        except dns.resolver.NXDOMAIN:
            raise NoSuchDomain(f"{shown}: does not exist (NXDOMAIN)") from None
        except dns.exception.Timeout:
            raise DNSFailure(
                f"{shown}: DNS timed out after {_secs(self.timeout)} s ({self.servers})"
            ) from None
        except dns.resolver.NoNameservers as exc:
            raise DNSFailure(f"{shown}: {self._explain(exc)}") from None
        except dns.resolver.YXDOMAIN:
            raise DNSFailure(f"{shown}: name too long after DNAME substitution (YXDOMAIN)") from None
        except dns.exception.DNSException as exc:
            raise DNSFailure(f"{shown}: DNS error: {exc}") from None
        if answer.rrset is None:
            return []
        return list(answer.rrset)

    def _explain(self, exc: Exception) -> str:
        """Why every server failed, from dnspython's error trace (duplicates dropped)."""
        import dns.exception
        import dns.message

        parts: list[str] = []
        errors = getattr(exc, "kwargs", {}).get("errors") or []
        for server, _tcp, _port, err, _response in errors:
            where = "DNS server " + self._server_text(str(server), DEFAULT_DNS_PORT)
            if isinstance(err, str):
                text = f"{where} answered {err}"
            elif isinstance(err, ConnectionRefusedError):
                text = f"{where} refused the query (nothing listening?)"
            elif isinstance(err, OSError):
                text = f"{where} unreachable ({err.strerror or err})"
            elif isinstance(err, dns.message.Truncated):
                text = f"{where} sent a truncated answer"
            elif isinstance(err, dns.exception.FormError | EOFError):
                text = f"{where} sent a malformed answer ({err or type(err).__name__})"
            else:
                text = f"{where}: {err or type(err).__name__}"
            if text not in parts:
                parts.append(text)
        return "; ".join(parts) if parts else f"no DNS server answered ({self.servers})"


async def _addresses(
    lk: _Lookup, name: dns.name.Name, shown: str, family: int
) -> tuple[list[str], DNSFailure | None]:
    """Addresses of ``name`` (IPv4 first), or [] and the reason there are none.

    A and AAAA are asked concurrently; an answer in one family wins over a
    failure in the other.
    """
    rdtypes = _rdtypes(family)
    results = await asyncio.gather(
        *(lk.query(name, rdtype, shown) for rdtype in rdtypes), return_exceptions=True
    )
    found: list[str] = []
    failures: list[DNSFailure] = []
    for result in results:
        if isinstance(result, DNSFailure):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            for rdata in result:
                if rdata.address not in found:
                    found.append(rdata.address)
    if found:
        return found, None
    hard = [f for f in failures if not isinstance(f, NoSuchDomain)]
    if hard:
        return [], hard[0]
    if failures:  # NXDOMAIN
        return [], NoSuchDomain(f"{shown}: host does not exist (NXDOMAIN)")
    return [], NoAddress(f"{shown}: no {_records_label(family)}")


async def resolve_addresses(
    host: str,
    *,
    nameserver: tuple[str, int] | str | None = None,
    timeout: float = 5.0,
    family: int = 0,
) -> list[str]:
    """The A/AAAA addresses of ``host``, IPv4 first; an IP literal is returned as it is.

    Raises NoSuchDomain, NoAddress or DNSFailure (one line each).
    """
    _check_family(family)
    literal = _ip(host)
    if literal is not None:
        if family == socket.AF_INET and literal.version != 4:
            raise NoAddress(f"{host}: is an IPv6 address but IPv4 only was requested")
        if family == socket.AF_INET6 and literal.version != 6:
            raise NoAddress(f"{host}: is an IPv4 address but IPv6 only was requested")
        return [str(literal)]
    name = _to_name(host)
    lk = _Lookup(nameserver, timeout)
    found, failure = await _addresses(lk, name, _display(host), family)
    if failure is not None:
        raise failure
    return found


async def resolve_mx(
    domain: str,
    *,
    nameserver: tuple[str, int] | str | None = None,
    timeout: float = 5.0,
    family: int = 0,
    rng: random.Random | None = None,
) -> list[MXHost]:
    """The mail exchangers of ``domain`` in the order to try them (RFC 5321 §5.1).

    Sorted by preference, shuffled among equal preferences (``rng`` makes that
    reproducible), each with its addresses resolved concurrently; a host
    without addresses is kept with a ``note``. No MX records: the implicit MX
    (the domain's own addresses, preference None). Raises NullMX for a null MX
    (RFC 7505), NoSuchDomain for NXDOMAIN, DNSFailure for the rest -- including
    "no MX and no address records".

    An address-literal domain (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``, RFC 5321
    §4.1.3) needs no DNS: it is its own exchanger. ``timeout`` bounds each
    query; the MX query and the (concurrent) address queries run one after the
    other, so the worst case is about twice ``timeout``.
    """
    import dns.name

    _check_family(family)
    literal = _address_literal(domain)
    if literal is not None:
        found = await resolve_addresses(literal, family=family)
        return [MXHost(found[0], None, tuple(found))]
    name = _to_name(domain)
    shown = _display(domain)
    lk = _Lookup(nameserver, timeout)
    try:
        records = await lk.query(name, "MX", shown)
    except NoSuchDomain:
        raise NoSuchDomain(f"{shown}: domain does not exist (NXDOMAIN)") from None

    if not records:
        found, failure = await _addresses(lk, name, shown, family)
        if isinstance(failure, NoSuchDomain):
            raise NoSuchDomain(f"{shown}: domain does not exist (NXDOMAIN)")
        if isinstance(failure, NoAddress):
            raise NoAddress(f"{shown}: no MX and no {_records_label(family)}")
        if failure is not None:
            raise failure
        return [MXHost(_name_text(name), None, tuple(found))]

    # RFC 7505: "0 ." means no mail. A "." among real exchangers is a broken
    # zone; that entry is unusable and skipped, the others are still tried.
    usable = [r for r in records if r.exchange != dns.name.root]
    if not usable:
        raise NullMX(f"{shown} accepts no mail (null MX, RFC 7505)")

    groups: dict[int, list[dns.name.Name]] = {}
    seen: set[str] = set()
    for record in sorted(usable, key=lambda r: r.preference):
        key = _name_text(record.exchange).lower()
        if key in seen:  # listed twice: keep the most preferred entry
            continue
        seen.add(key)
        groups.setdefault(record.preference, []).append(record.exchange)
    shuffle = (rng or random).shuffle
    ordered: list[tuple[int, dns.name.Name]] = []
    for preference in sorted(groups):
        hosts = groups[preference]
        shuffle(hosts)
        ordered.extend((preference, host) for host in hosts)

    resolved = await asyncio.gather(
        *(_addresses(lk, host, _name_text(host), family) for _, host in ordered)
    )
    return [
        MXHost(_name_text(host), preference, tuple(found), None if failure is None else str(failure))
        for (preference, host), (found, failure) in zip(ordered, resolved, strict=True)
    ]


async def _reverse(lk: _Lookup, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    import dns.reversename

    try:
        records = await lk.query(dns.reversename.from_address(str(ip)), "PTR", f"{ip} (PTR)")
    except NoSuchDomain:
        return []
    names: list[str] = []
    for record in records:
        text = _name_text(record.target)
        if text not in names:
            names.append(text)
    return names


def _parse_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = _ip(address)
    if ip is None:
        raise DNSFailure(f"{_display(address)}: not an IP address (PTR lookups need one)")
    return ip


async def reverse_names(
    address: str, *, nameserver: tuple[str, int] | str | None = None, timeout: float = 5.0
) -> list[str]:
    """PTR names of ``address`` (no trailing dot); [] when there is no PTR.

    Raises DNSFailure for timeouts, server failures or a non-address argument.
    """
    ip = _parse_address(address)
    return await _reverse(_Lookup(nameserver, timeout), ip)


async def ptr_check(
    address: str,
    banner_host: str | None,
    *,
    nameserver: tuple[str, int] | str | None = None,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """PTR names of ``address`` and whether they confirm the banner host (FCrDNS).

    ``matches_banner`` is true when a PTR name equals ``banner_host``
    (case-insensitive, trailing dot ignored) and that name resolves forward to
    ``address``. A missing PTR gives ``{"names": [], "matches_banner": False}``.
    Raises DNSFailure when a lookup itself fails (timeout, SERVFAIL...): a
    false "no match" would blame the server for a resolver problem.
    """
    ip = _parse_address(address)
    lk = _Lookup(nameserver, timeout)
    names = await _reverse(lk, ip)
    matches = False
    if banner_host and banner_host.strip():
        wanted = _canonical(banner_host)
        for candidate in (n for n in names if _canonical(n) == wanted):
            found, failure = await _addresses(lk, _to_name(candidate), candidate, 0)
            if failure is not None and not isinstance(failure, NoSuchDomain | NoAddress):
                raise failure
            if any(_ip(a) == ip for a in found):
                matches = True
                break
    return {"names": names, "matches_banner": matches}

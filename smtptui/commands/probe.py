"""``smtptui probe TARGET...``: what servers say about themselves, from the shell or a script.

For each target (each MX host of a ``@domain`` target) this connects, reads the greeting,
sends EHLO (HELO when EHLO is refused), upgrades with STARTTLS when advertised and allowed,
sends EHLO again and QUIT, then reports the greeting, the capabilities with a one-line
meaning each, what changed across TLS, the certificate, the PTR/banner match and the time of
each step. ``--json`` prints one object per probed host per line instead.

Exit status: 0 when every probe succeeded, 1 when any failed, 2 for a usage error.

PTR lookups use ``--resolver`` when given, else the system resolver; they are skipped for
loopback addresses unless ``--resolver`` is given (nothing to learn, and no query should
leave the machine for a local test server), and always with ``--no-ptr``.

Server text (greeting, EHLO lines, certificate names, PTR names, error reasons) is never
written raw to the terminal: control characters and escape sequences are shown escaped.
"""

from __future__ import annotations

import argparse
import socket
import sys

from smtptui.commands._style import Style

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import TextIO

    from smtptui.net.probe import ProbeOptions, ProbeResult
    from smtptui.net.targets import Target

DEFAULT_CONCURRENCY = 20


TARGET_FORMS = "host, host:port, [v6]:port, smtp://host[:port], smtps://host[:port]"
"""How a TARGET may be written; each command's help adds the forms it also takes."""


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that connects shares (issue 3, "Targets")."""
    g = parser.add_argument_group("connection")
    g.add_argument("--starttls", choices=("auto", "yes", "no"), default="auto",
                   help="auto: upgrade when advertised (default); yes: fail when not "
                        "advertised; no: never")
    g.add_argument("--tls", action="store_true",
                   help="implicit TLS from the first byte (SMTPS, port 465 by default)")
    g.add_argument("--cafile", metavar="FILE",
                   help="trust only the CA certificate(s) in FILE (PEM), e.g. a private CA, "
                        "instead of the system trust store (like curl --cacert, "
                        "openssl -CAfile, swaks --tls-ca-path)")
    g.add_argument("--insecure", action="store_true",
                   help="do not verify certificates (always reported as a warning)")
    g.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                   help="deadline for each step (connect, greeting, each reply)")
    g.add_argument("--resolver", metavar="IP[:PORT]",
                   help="DNS server to use instead of the system's (MX, A/AAAA, PTR)")
    g.add_argument("--helo", metavar="NAME",
                   help="name to send with EHLO/HELO (default: this machine's FQDN)")
    fam = g.add_mutually_exclusive_group()
    fam.add_argument("-4", dest="family", action="store_const", const=socket.AF_INET,
                     default=0, help="IPv4 only")
    fam.add_argument("-6", dest="family", action="store_const", const=socket.AF_INET6,
                     help="IPv6 only")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="TARGET",
                        help=f"{TARGET_FORMS}, @domain[:port] or user@domain")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per probed host per line")
    parser.add_argument("--concurrency", type=_positive_int, default=DEFAULT_CONCURRENCY,
                        metavar="N", help=f"probes at a time (default {DEFAULT_CONCURRENCY})")
    parser.add_argument("--no-ptr", dest="ptr", action="store_false",
                        help="skip the PTR lookup of the connected address (it is skipped "
                             "anyway for loopback addresses unless --resolver is given)")
    add_connection_arguments(parser)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    import math

    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _usage(message: str) -> int:
    print(f"smtptui probe: error: {message}", file=sys.stderr)
    return 2


def _parse_resolver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[v6]:PORT`` (the DNS helper's parser; importing it does not
    import dnspython)."""
    from smtptui.net.dns import parse_nameserver

    try:
        return parse_nameserver(text)
    except ValueError as exc:
        raise ValueError(f"--resolver: {exc}") from None


def options_from_args(args: argparse.Namespace) -> ProbeOptions:
    """ProbeOptions from parsed arguments; ValueError (usage error) when they are wrong."""
    from smtptui.net.connection import ProbeOptions
    from smtptui.net.hostname import local_fqdn
    from smtptui.net.targets import check_cafile

    check_cafile(args.cafile)
    resolver = _parse_resolver(args.resolver) if args.resolver else None
    return ProbeOptions(
        helo=args.helo or local_fqdn() or "localhost",
        starttls=args.starttls, cafile=args.cafile, insecure=args.insecure,
        timeout=args.timeout, resolver=resolver, family=args.family,
        ptr=getattr(args, "ptr", True),
    )


def run(args: argparse.Namespace) -> int:
    from smtptui.net.targets import parse_target

    targets: list[Target] = []
    for text in args.targets:
        try:
            targets.append(parse_target(text, tls=args.tls))
        except ValueError as exc:
            return _usage(str(exc))
    try:
        options = options_from_args(args)
    except ValueError as exc:
        return _usage(str(exc))
    if options.cafile is not None:
        # Build the one context of the run now, so a CA file that is not PEM is a usage
        # error before any connection (cheap: only FILE is read, not the system store).
        # Without --cafile the context is built on first use: a probe that never gets
        # to TLS never pays for loading the system trust store.
        from smtptui.core.frozen import replace
        from smtptui.net.tls import make_tls_context

        try:
            ctx = make_tls_context(cafile=options.cafile, insecure=options.insecure)
        except (OSError, ValueError) as exc:
            return _usage(str(exc))
        options = replace(options, ssl_context=ctx)
    out = sys.stdout
    style = Style.for_stream(out)
    if options.insecure:
        err_style = Style.for_stream(sys.stderr)
        print(err_style.warn("smtptui probe: warning: --insecure: TLS certificates are "
                             "not verified; anyone on the path can read and change this "
                             "session"), file=sys.stderr)
    if _one_shot(targets, options):
        return _run_blocking(targets[0], options, args.json, out, style)
    import asyncio

    return asyncio.run(_run(targets, options, args.concurrency, args.json, out, style))


def _one_shot(targets: list[Target], options: ProbeOptions) -> bool:
    """One host that needs no DNS of ours (no MX, no --resolver, no PTR lookup): probed
    by the blocking client, without starting an event loop (asyncio alone costs more
    than swaks' whole probe). Everything else -- several targets, a mail domain, DNS --
    runs concurrently on the event loop."""
    from smtptui.core.text import is_ip_literal
    from smtptui.net.probe import ptr_wanted

    if len(targets) != 1 or options.resolver is not None:
        return False
    host = targets[0].host
    if host is None:  # a mail domain: MX lookup
        return False
    return not options.ptr or is_ip_literal(host) and not ptr_wanted(host, options)


def _run_blocking(target: Target, options: ProbeOptions, as_json: bool, out: TextIO,
                  style: Style) -> int:
    from smtptui.net.blocking import BlockingSMTPClient, run_blocking
    from smtptui.net.probe import ProbeResult, expand_target, probe_host

    failed = 0
    first = True
    for spec in run_blocking(expand_target(target, options)):
        if isinstance(spec, ProbeResult):
            result = spec
        else:
            result = run_blocking(probe_host(spec, options, client_class=BlockingSMTPClient))
        failed += not result.ok
        _emit(result, as_json, out, style, first)
        first = False
    return 1 if failed else 0


async def _run(targets: list[Target], options: ProbeOptions, concurrency: int,
               as_json: bool, out: TextIO, style: Style) -> int:
    from smtptui.net.probe import probe_targets

    failed = 0
    first = True
    async for result in probe_targets(targets, options, concurrency=concurrency):
        failed += not result.ok
        _emit(result, as_json, out, style, first)
        first = False
    return 1 if failed else 0


def _emit(result: ProbeResult, as_json: bool, out: TextIO, style: Style, first: bool) -> None:
    """One probe's report: a JSON line, or the human report (a blank line between
    reports of several lines)."""
    if as_json:
        import json

        record = result.to_json_dict()
        if record.get("error"):
            record["error"] += tls_hint(record["error"])
        out.write(json.dumps(record, ensure_ascii=True) + "\n")
    else:
        text = format_result(result, style)
        if not first and "\n" in text:
            out.write("\n")
        out.write(text + "\n")
    out.flush()


# ------------------------------------------------------------------------- human output


def escape(text: str, limit: int = 400) -> str:
    """Server text made safe for a terminal (control characters, ESC, bidi controls)."""
    from smtptui.net.errors import printable

    return printable(text, limit)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def _where(result: ProbeResult) -> str:
    """``host (address):port`` plus which MX of which domain, escaped."""
    text = escape(result.label)
    if result.mail_domain and result.host is not None:
        pref = "implicit MX" if result.mx_preference is None else f"MX {result.mx_preference}"
        text += f" ({pref} of {escape(result.mail_domain)})"
    return text


TLS_VERIFY_HINT = ("to trust the server's CA give --cafile FILE, or --insecure to look "
                   "anyway")


def tls_hint(error: str) -> str:
    """The fix, named after a certificate verification failure (else nothing)."""
    if "certificate verify failed" in error:
        return f" ({TLS_VERIFY_HINT})"
    return ""


def format_failure(result: ProbeResult, style: Style) -> str:
    """The line a failed probe starts with: host, step and reason (and the fix for a
    certificate that did not verify)."""
    # The error quotes server text already made printable (errors.printable); escape
    # again what is not, without doubling its backslashes.
    from smtptui.net.errors import printable

    error = printable(result.error or "failed", 400, backslash=False)
    return f"{style.fail('FAIL')} {_where(result)}: {error}{tls_hint(error)}"


def _cap_line(keyword: str, params: tuple[str, ...], description: str, style: Style,
              mark: str = " ", width: int = 24) -> str:
    shown = escape(" ".join((keyword, *params)), 200)
    pad = " " * max(1, width - len(shown))
    return f"  {mark} {style.kw(shown)}{pad}{style.dim(escape(description, 200))}"


def format_result(result: ProbeResult, style: Style) -> str:
    """The report on one probed host. A failed probe gets its failure line, then what
    was learned before the failure (the greeting, the EHLO capabilities)."""
    if not result.ok:
        lines = [format_failure(result, style)]
        if result.banner_lines is None:
            return lines[0]
    else:
        lines = [f"{style.ok('OK')}   {style.head(_where(result))}"]

    def row(name: str, text: str) -> None:
        lines.append(f"  {style.label(f'{name:<10}')}{text}")

    if result.banner_lines is not None:
        first, *more = result.banner_lines or ("",)
        row("banner", f"{result.banner_code} {escape(first)}")
        for extra in more:
            row("", f"{result.banner_code} {escape(extra)}")
    if result.ptr is not None:
        p = result.ptr
        if p.error:
            row("ptr", style.warn(f"lookup failed: {escape(p.error)}"))
        elif not p.names:
            row("ptr", style.warn(f"{result.address} has no PTR record"))
        else:
            names = ", ".join(escape(n) for n in p.names)
            verdict = (style.ok("matches the banner host") if p.matches_banner
                       else style.warn(f"does not match the banner host "
                                       f"{escape(result.banner_host or '(none)')}"))
            row("ptr", f"{result.address} -> {names} ({verdict})")
    ehlo = result.ehlo
    if ehlo is not None:
        if ehlo.helo_code is not None:
            row("EHLO", style.warn(f"{ehlo.code} refused; HELO answered {ehlo.helo_code} "
                                   f"(no ESMTP extensions)"))
        else:
            row("EHLO", f"{ehlo.code} {escape(ehlo.domain)}"
                + ("" if ehlo.capabilities else style.dim("  (no extensions)")))
            for c in ehlo.capabilities:
                lines.append(_cap_line(c.keyword, c.params, c.description, style))
    if not result.ok:
        return "\n".join(lines)
    if result.tls is not None:
        t = result.tls
        if t.verified:
            verdict = style.ok("verified")
        elif result.warnings and any(w.startswith("--insecure") for w in result.warnings):
            verdict = style.warn("NOT verified (--insecure)"
                                 + (f": {escape(t.verify_error)}" if t.verify_error else ""))
        else:
            verdict = style.warn(f"NOT verified: {escape(t.verify_error or 'unknown reason')}")
        mode = "STARTTLS" if t.mode == "starttls" else "implicit TLS"
        row("TLS", f"{mode}, {escape(t.version)} {escape(t.cipher)}, {verdict}")
        row("", f"subject {escape(t.subject)}")
        row("", f"issuer  {escape(t.issuer)}")
        if t.san:
            row("", f"SAN     {escape(', '.join(t.san))}")
        row("", f"valid   {escape(t.not_before)} .. {escape(t.not_after)}")
    elif result.starttls_offered:
        row("TLS", style.warn("STARTTLS offered but not used (--starttls no)"))
    else:
        row("TLS", style.warn("none (the server does not offer STARTTLS)"))
    if result.ehlo_after_tls is not None:
        diff = result.tls_diff
        after = result.ehlo_after_tls
        if not diff:
            row("after TLS", f"EHLO {after.code}: same capabilities")
        else:
            row("after TLS", f"EHLO {after.code}:")
            for c in diff.added:
                lines.append(_cap_line(c.keyword, c.params, c.description, style,
                                       style.ok("+")))
            for c in diff.removed:
                lines.append(_cap_line(c.keyword, c.params, c.description, style,
                                       style.fail("-")))
            for old, new in diff.changed:
                was = " ".join((old.keyword, *old.params))
                lines.append(_cap_line(new.keyword, new.params, f"(was: {was})", style,
                                       style.warn("~")))
    for w in result.warnings:
        if not w.startswith("--insecure"):
            row("warning", style.warn(escape(w)))
    t = result.timings_ms
    parts = [f"{name} {_ms(t.get(key))}" for key, name in (
        ("connect", "connect"), ("banner", "banner"), ("ehlo", "ehlo"),
        ("starttls", "starttls"), ("ehlo_tls", "ehlo(tls)"), ("quit", "quit"))
        if t.get(key) is not None]
    row("timings", " · ".join(parts) + f" · total {_ms(t.get('total'))}")
    return "\n".join(lines)

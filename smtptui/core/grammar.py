"""The grammar checker: one SMTP command line against RFC 821 (1982) or RFC 5321 (2008).

``check(line)`` returns diagnostics with exact 0-based, half-open column spans, so a
front end can underline the offending character and say which rule it breaks. It never
raises on any text.

How it works: the verb is looked up in the command table (``core.commands.COMMANDS``)
and the argument is checked by the routine for the verb's ``Arg`` kind, so every verb
the table knows is checked and a new verb only needs a table entry. Each routine is a
hand-written scanner over regular expressions (each compiled on its first use): the
regex consumes the valid part of a component in one C-level call, and the scanner looks
at the first character it did not consume to name the error precisely. Only the error
path loops in Python.

Choices where the RFCs leave room (documented here so tests and users can rely on them):

- ``rfc821`` follows the 1982 BNF exactly: a ``<name>`` needs a letter first, a
  letter-or-digit last and at least three characters; ``<string>`` (VRFY, EXPN, HELP)
  may not contain specials such as ``.`` or ``@`` unless escaped with ``\\``; there are
  no ESMTP parameters, no NOOP argument, and a space around the colon of
  ``FROM:``/``TO:`` is an error. Several spaces after the verb are allowed (RFC 821
  §4.1.2 prose). The null reverse-path ``<>`` is valid with a note: the BNF omits it,
  but §3.6 and the examples use ``MAIL FROM:<>`` and RFC 1123 §5.2.9 says it MUST be
  supported.
- ``rfc5321`` is strict ABNF for errors, with warnings where servers are commonly
  lenient: a space around the colon, several spaces where one SP is written, trailing
  spaces (§4.1.1: receivers SHOULD tolerate them), source routes (MUST be accepted,
  SHOULD NOT be generated), obsolete SEND/SOML/SAML/TURN, unknown parameters, private
  X-commands, sendmail's non-standard VERB/ONEX/XUSR, non-ASCII text without
  SMTPUTF8, and extensions the server did not advertise. ``#<number>`` domains are an
  error: Appendix F.4 says MUST NOT be used.
- VRFY/EXPN under 5321 accept a ``local-part@domain`` argument as well as a String,
  because §3.5.3 says servers SHOULD accept that form as a user name.
- Line length: 512 octets including CRLF, so 510 octets of text. RFC 1869 §4.1.2 says
  the limit covers the command without its parameters and each extension raises it by
  the length of its own parameters, so for MAIL/RCPT the limit is applied to the line
  up to the end of the path, and the known parameters are held to their own maximum
  value lengths (SIZE 20 digits, ENVID 100, ORCPT 500, AUTH= 500). The AUTH command
  stays within 512 (RFC 4954 §4: send a long initial response after 334 instead).
- ``strict=True`` is for checking that a client is exactly right: every leniency
  warning (a space around the colon, several spaces where one SP is written, trailing
  space, non-ASCII text without SMTPUTF8) becomes an error.
- With ``capabilities`` (anything supporting ``keyword in capabilities``, normally
  ``core.ehlo.Capabilities``), a verb or parameter whose EHLO keyword was not
  advertised is a warning; the RFC 5321 §4.5.1 minimum verbs never warn. Capabilities
  only apply to the rfc5321 dialect (RFC 821 has no EHLO).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from smtptui.core import commands as _commands
from smtptui.core.commands import COMMANDS, Arg, CommandSpec, Origin
from smtptui.core.diagnostics import Diagnostic, Severity
from smtptui.core.extensions import PARAMETERS

TYPE_CHECKING = False  # typing is not imported at run time: `smtptui check` starts faster
if TYPE_CHECKING:
    # The EHLO parser is another module; only duck typing is used here.
    from smtptui.core.commands import Dialect
    from smtptui.core.ehlo import Capabilities

__all__ = ["MAX_LINE_OCTETS", "Dialect", "check", "split_command"]



def __getattr__(name: str) -> object:
    """``Dialect``, re-exported for code that imports it at run time (it is only a type)."""
    if name == "Dialect":
        return _commands.Dialect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


MAX_LINE_OCTETS = 512
"""Command line limit including CRLF (RFC 821 §4.5.3, RFC 5321 §4.5.3.1.4)."""
_MAX_TEXT = MAX_LINE_OCTETS - 2
_MAX_LOCAL = 64
_MAX_DOMAIN_5321 = 255
_MAX_DOMAIN_821 = 64
_MAX_PATH = 256

_E = Severity.ERROR
_W = Severity.WARNING
_N = Severity.NOTE

# ---------------------------------------------------------------------------------------
# Character classes and patterns (compiled on first use)
# ---------------------------------------------------------------------------------------


class _Pattern:
    """A regular expression compiled when it is first used.

    Compiling all the patterns below takes ~2 ms, a tenth of a whole ``smtptui check``,
    and one line needs only a few of them. The first call compiles the pattern and
    stores its bound methods in the slots, so later calls cost what a compiled pattern's
    own methods cost (no extra Python frame).
    """

    __slots__ = ("finditer", "fullmatch", "match", "pattern", "search")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __getattr__(self, name: str) -> Callable[..., object]:
        # Called only while the method slots are empty, i.e. before the first use.
        if name not in self.__slots__:
            raise AttributeError(name)
        compiled = re.compile(self.pattern)
        self.match = compiled.match
        self.fullmatch = compiled.fullmatch
        self.search = compiled.search
        self.finditer = compiled.finditer
        return getattr(compiled, name)  # type: ignore[no-any-return]


# RFC 5322 atext; also exactly RFC 821's <c> (ASCII minus <special> and SP).
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"

_VERB = _Pattern(r"[^\x00-\x20\x7f]+")
_CR_LF = _Pattern(r"[\r\n]")
# Lone surrogates: what bytes that are not UTF-8 become when decoded with
# "surrogateescape" (how Python reads argv, and how ``smtptui check -`` reads stdin).
_SURROGATE = _Pattern("[\ud800-\udfff]")

# Classes that include every non-ASCII code point are written as negated ASCII sets:
# the same sets, but `re` compiles them in microseconds instead of ~10 ms each, which
# is start-up time of every headless command.
_ATEXT_OR_NONASCII = r"[^\x00-\x20\"(),.:;<>@\[\\\]\x7f]"  # atext / UTF8-non-ascii
_DOTSTRING_5321 = _Pattern(f"{_ATEXT_OR_NONASCII}+(?:\\.{_ATEXT_OR_NONASCII}+)*")
_ATOM_5321 = _Pattern(f"{_ATEXT_OR_NONASCII}+")
_QUOTED_5321 = _Pattern(r'"(?:[^\x00-\x1f"\\\x7f]|\\[\x20-\x7e])*"')

_C821 = f"(?:[{_ATEXT}]|\\\\[\\x00-\\x7f])"
_STRING_821 = _Pattern(f"{_C821}+")
_DOTSTRING_821 = _Pattern(f"{_C821}+(?:\\.{_C821}+)*")
_QUOTED_821 = _Pattern(r'"(?:[\x00-\x09\x0b\x0c\x0e-\x21\x23-\x5b\x5d-\x7f]|\\[\x00-\x7f])+"')

# Anything that could be meant as a domain label; validated precisely afterwards.
_LABELISH = _Pattern(r'[^\x00-\x20\x7f<>()\[\]\\.,;:@"]+')
_LABEL_5321 = _Pattern(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_LABEL_63 = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_5321_FAST = _Pattern(f"{_LABEL_63}(?:\\.{_LABEL_63})*")
_NAME_821 = _Pattern(r"[A-Za-z][A-Za-z0-9-]+[A-Za-z0-9]")
_DIGITS = _Pattern(r"[0-9]+")
_SNUM = _Pattern(r"[0-9]{1,3}")
_HEX16 = _Pattern(r"[0-9A-Fa-f]{1,4}")
_NONCOLON = _Pattern(r"[^:]+")
_LDH_STR = _Pattern(r"[A-Za-z0-9-]*[A-Za-z0-9]")
_DCONTENT = _Pattern(r"[\x21-\x5a\x5e-\x7e]*")

_ESMTP_KEYWORD = _Pattern(r"[A-Za-z0-9][A-Za-z0-9-]*")
_ESMTP_VALUE = _Pattern(r"[^\x00-\x20=\x7f]+")  # %d33-60 / %d62-126 / non-ASCII
_XTEXT = _Pattern(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*")
# RFC 4954 writes hexchar = "+" HEXDIG HEXDIG, and ABNF letters match either case.
_XTEXT_ANY_CASE = _Pattern(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-Fa-f]{2})*")
_SASL_MECH = _Pattern(r"[A-Za-z0-9_-]{1,20}")
_BASE64 = _Pattern(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_QUEUE_NAME = _Pattern(r"[\x21-\x7e]+")


def split_command(line: str) -> tuple[str, str]:
    """Split a command line into (verb as typed, rest after the separating space(s)).

    A trailing CRLF or LF is dropped. ``"MAIL FROM:<a@b>"`` gives ``("MAIL",
    "FROM:<a@b>")``; ``"DATA"`` gives ``("DATA", "")``.
    """
    line = _strip_eol(line)
    sp = line.find(" ")
    if sp == -1:
        return line, ""
    return line[:sp], line[sp:].lstrip(" ")


def _strip_eol(line: str) -> str:
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line


def _show(ch: str) -> str:
    """A character as a message should name it (control and non-ASCII by code point)."""
    o = ord(ch)
    if o == 32:
        return "a space"
    if o == 9:
        return "a tab (U+0009)"
    if o < 32 or o == 127:
        return f"control character U+{o:04X}"
    if o > 127:
        if ch.isprintable():
            return f"non-ASCII character '{ch}' (U+{o:04X})"
        return f"non-ASCII character U+{o:04X}"
    return f"'{ch}'"


def _octets(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _short_rfc(spec: CommandSpec) -> str:
    """'RFC 1869 §4; RFC 5321 ...' -> 'RFC 1869' (where a verb comes from)."""
    if spec.origin is Origin.NONSTANDARD:
        return "a non-standard sendmail command"
    first = spec.rfc.split(";")[0].strip()
    return first.split("§")[0].strip()


def _cmd_rule(spec: CommandSpec, r821: bool) -> str:
    want = "RFC 821" if r821 else "RFC 5321"
    parts = [p.strip() for p in spec.rfc.split(";")]
    for p in parts:
        if p.startswith(want + " "):
            return p
    if not r821 and spec.origin is Origin.RFC821:
        return "RFC 5321 §4.1.1"
    return parts[0]


def _rules_for(spec: CommandSpec) -> tuple[str, str]:
    """(RFC 821 rule, RFC 5321 rule) naming where a verb's syntax is defined."""
    r821 = f"RFC 821 §4.1.2 {spec.verb}" if spec.origin is Origin.RFC821 else _cmd_rule(
        spec, True)
    if spec.verb == "HELO":
        r5321 = "RFC 5321 §4.1.1.1"
    elif spec.obsolete_5321:
        r5321 = "RFC 821 §4.1.2; RFC 5321 App. F"
    else:
        r5321 = _cmd_rule(spec, False)
    return r821, r5321


_RULES: dict[str, tuple[str, str]] = {v: _rules_for(s) for v, s in COMMANDS.items()}


class _Ctx:
    """Per-call scanning state; one small object, no other per-call allocations."""

    __slots__ = ("line", "n", "out", "r821", "smtputf8", "strict", "utf8", "verb")

    def __init__(self, line: str, r821: bool, strict: bool = False) -> None:
        self.line = line
        self.n = len(line)
        self.r821 = r821
        self.strict = strict
        self.out: list[Diagnostic] = []
        self.utf8: list[tuple[int, int]] | None = None
        self.smtputf8 = False
        self.verb = ""

    def err(self, start: int, end: int, message: str, rule: str) -> None:
        self.out.append(Diagnostic(_E, start, end, message, rule))

    def warn(self, start: int, end: int, message: str, rule: str) -> None:
        self.out.append(Diagnostic(_W, start, end, message, rule))

    def lenient(self, start: int, end: int, message: str, rule: str) -> None:
        """A form servers commonly accept though the grammar does not: a warning, or an
        error under ``strict``."""
        self.out.append(Diagnostic(_E if self.strict else _W, start, end, message, rule))

    def note(self, start: int, end: int, message: str, rule: str) -> None:
        self.out.append(Diagnostic(_N, start, end, message, rule))

    def non_ascii(self, start: int, end: int) -> None:
        if self.utf8 is None:
            self.utf8 = []
        self.utf8.append((start, end))

    def rule(self, r821: str, r5321: str) -> str:
        return r821 if self.r821 else r5321


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


def check(
    line: str,
    dialect: Dialect = "rfc5321",
    capabilities: Capabilities | None = None,
    *,
    strict: bool = False,
) -> list[Diagnostic]:
    """Check one command line; an empty list means valid and nothing to remark.

    ``line`` is the command without CRLF (a trailing CRLF or LF is tolerated).
    Errors are grammar violations a server may reject (500/501/555); warnings are legal
    or commonly accepted forms worth knowing about; notes are remarks on valid forms.
    ``strict`` turns the leniency warnings into errors (see the module docstring).
    """
    if dialect == "rfc5321":
        r821 = False
    elif dialect == "rfc821":
        r821 = True
    else:
        raise ValueError(f"unknown dialect {dialect!r}: use 'rfc821' or 'rfc5321'")
    line = _strip_eol(line)
    ctx = _Ctx(line, r821, strict)
    _check(ctx, None if r821 else capabilities)
    out = ctx.out
    if len(out) > 1:
        out.sort(key=_start_of)
    return out


def _start_of(d: Diagnostic) -> int:
    return d.start


def _check(ctx: _Ctx, caps: Capabilities | None) -> None:
    line, n = ctx.line, ctx.n
    gen_rule = ctx.rule("RFC 821 §4.1.2", "RFC 5321 §4.1.1")
    if n == 0 or line.isspace() and "\r" not in line and "\n" not in line:
        ctx.err(0, n, "empty command line", gen_rule)
        return
    if "\r" in line or "\n" in line:
        k = _CR_LF.search(line).start()  # type: ignore[union-attr]
        what = "CR" if line[k] == "\r" else "LF"
        ctx.err(k, k + 1, f"bare {what} inside a command line; a command ends with CRLF",
                ctx.rule("RFC 821 §4.1.2 <CRLF>", "RFC 5321 §2.3.8"))
        return
    if not line.isascii():
        bad = _SURROGATE.search(line)
        if bad is not None:
            _not_utf8(ctx, bad.start())
            return
    if line[0] == " ":
        k = len(line) - len(line.lstrip(" "))
        ctx.err(0, k, "the line starts with a space; the command verb must come first",
                gen_rule)
        return
    m = _VERB.match(line)
    if m is None:
        ctx.err(0, 1, f"{_show(line[0])} where a command verb was expected", gen_rule)
        return
    verb = m.group()
    vend = m.end()
    upper = verb.upper()
    info = _VERB_INFO.get(upper)
    if info is None:
        _unknown_verb(ctx, verb, vend)
        _line_length(ctx, n)
        return
    spec, handler, in_821, obsolete, advertised_as, nonstandard = info
    ctx.verb = upper
    if ctx.r821 and not in_821:
        ctx.err(0, vend, f"{upper} is not in RFC 821 ({upper} is {_short_rfc(spec)})",
                "RFC 821 §4.1.2")
        _line_length(ctx, n)
        return
    if not ctx.r821:
        if obsolete:
            if upper == "TURN":
                ctx.warn(0, vend, "TURN is deprecated: anyone could claim to be your host; "
                         "use ETRN or ATRN", "RFC 5321 App. F.1")
            else:
                ctx.warn(0, vend, f"{upper} is obsolete: clients SHOULD NOT use "
                         "SEND/SOML/SAML", "RFC 5321 App. F.6")
        if caps is not None and advertised_as is not None and advertised_as not in caps:
            ctx.warn(0, vend, f"the server did not advertise {advertised_as} in its "
                     "EHLO reply", "RFC 5321 §2.2.1")
        elif caps is None and nonstandard:
            ctx.warn(0, vend, f"{upper} is not in any RFC: a sendmail command that other "
                     "servers answer with 500", "RFC 5321 §2.2.2")
    counted = handler(ctx, spec, vend, caps)
    _line_length(ctx, counted)
    if ctx.utf8 is not None and not ctx.smtputf8:
        _report_non_ascii(ctx)


def _not_utf8(ctx: _Ctx, k: int) -> None:
    """A line that cannot be sent as UTF-8 is wrong in every dialect (RFC 6531 §3.3)."""
    o = ord(ctx.line[k])
    if 0xDC80 <= o <= 0xDCFF:
        msg = (f"octet 0x{o - 0xDC00:02X} is not valid UTF-8: the line is in another "
               "encoding (Latin-1?); SMTP text is ASCII, or UTF-8 with SMTPUTF8")
    else:
        msg = f"lone surrogate U+{o:04X} cannot be encoded as UTF-8"
    ctx.err(k, k + 1, msg, "RFC 6531 §3.3; RFC 3629 §3")


def _report_non_ascii(ctx: _Ctx) -> None:
    assert ctx.utf8 is not None
    if ctx.verb == "RCPT":
        msg = ("non-ASCII characters need SMTPUTF8 (RFC 6531): the server must advertise "
               "it and MAIL FROM must carry the SMTPUTF8 parameter")
    else:
        msg = ("non-ASCII characters need SMTPUTF8 (RFC 6531): add the SMTPUTF8 parameter "
               "to MAIL FROM; without it servers reject them")
    for start, end in ctx.utf8:
        ctx.lenient(start, end, msg, "RFC 6531 §3.3")


def _unknown_verb(ctx: _Ctx, verb: str, vend: int) -> None:
    upper = verb.upper()
    if not ctx.r821 and upper[:1] == "X" and _ESMTP_KEYWORD.fullmatch(verb):
        ctx.warn(0, vend, f"{verb!r} is not a known command; X-commands are private "
                 "extensions, so smtptui cannot check its arguments", "RFC 5321 §4.1.5")
        return
    hint = ""
    for known in COMMANDS:
        if upper.startswith(known) and len(upper) > len(known):
            hint = f"; missing space after {known}?"
            break
    if ctx.r821 and not (len(verb) == 4 and verb.isascii() and verb.isalpha()):
        msg = (f"unknown command {verb!r}: RFC 821 command codes are four alphabetic "
               f"characters{hint}")
    else:
        msg = f"unknown command {verb!r}{hint}"
    ctx.err(0, vend, msg, ctx.rule("RFC 821 §4.1.2", "RFC 5321 §4.1.1"))


def _line_length(ctx: _Ctx, upto: int) -> None:
    """The 512-octet limit, applied to ``line[:upto]`` (see the module docstring)."""
    if upto <= _MAX_TEXT // 4:
        return
    text = ctx.line[:upto]
    octets = _octets(text)
    if octets <= _MAX_TEXT:
        return
    if text.isascii():
        col = _MAX_TEXT
    else:
        col, total = 0, 0
        for col, ch in enumerate(text):
            total += _octets(ch)
            if total > _MAX_TEXT:
                break
    extra = ""
    if upto < ctx.n:
        extra = " (parameters not counted: RFC 1869 §4.1.2 lets extensions add their length)"
    if ctx.verb == "AUTH":
        extra = "; send a long initial response after the 334 instead (RFC 4954 §4)"
    unit = "characters" if ctx.r821 else "octets"
    ctx.err(col, upto, f"command line is {octets + 2} {unit} with CRLF; the limit is "
            f"{MAX_LINE_OCTETS}{extra}", ctx.rule("RFC 821 §4.5.3", "RFC 5321 §4.5.3.1.4"))


# ---------------------------------------------------------------------------------------
# Shared pieces: separator after the verb, end of line
# ---------------------------------------------------------------------------------------


def _after_verb(ctx: _Ctx, vend: int, needs: str | None) -> int | None:
    """Consume the SP(s) after the verb; return where the argument starts.

    ``needs`` describes a required argument; None when the argument is optional, in
    which case a missing argument returns None without a diagnostic.
    """
    line, n = ctx.line, ctx.n
    rule = _RULES[ctx.verb][0 if ctx.r821 else 1]
    if vend >= n:
        if needs is not None:
            ctx.err(n, n, f"{ctx.verb} needs {needs}", rule)
        return None
    c = line[vend]
    if c != " ":
        ctx.err(vend, vend + 1, f"expected a space after {ctx.verb}, found {_show(c)}", rule)
        return None
    p = vend + 1
    while p < n and line[p] == " ":
        p += 1
    if p == n:
        if needs is not None:
            ctx.err(n, n, f"{ctx.verb} needs {needs}", rule)
        else:
            _trailing_space(ctx, vend)
        return None
    if p > vend + 1 and not ctx.r821:
        ctx.lenient(vend + 1, p, "more than one space after the verb: RFC 5321 has exactly "
                    "one SP here (RFC 821 allowed several)", rule)
    return p


def _trailing_space(ctx: _Ctx, p: int) -> None:
    # RFC 821's BNF has no trailing space and its text says nothing of it; the SHOULD
    # comes from RFC 5321 §4.1.1, cited in both dialects.
    if ctx.r821:
        msg = ("trailing space before CRLF: not in RFC 821's grammar (RFC 5321 later said "
               "servers SHOULD tolerate it)")
    else:
        msg = "trailing space before CRLF (servers SHOULD tolerate it)"
    ctx.lenient(p, ctx.n, msg, "RFC 5321 §4.1.1")


def _end(ctx: _Ctx, p: int, after: str, rule: str) -> None:
    """After a complete argument only trailing spaces may follow."""
    line, n = ctx.line, ctx.n
    if p >= n:
        return
    if line[p] == " ":
        q = p + 1
        while q < n and line[q] == " ":
            q += 1
        if q == n:
            _trailing_space(ctx, p)
            return
        ctx.err(q, n, f"unexpected text after {after}", rule)
        return
    ctx.err(p, p + 1, f"{_show(line[p])} is not allowed after {after}", rule)


# ---------------------------------------------------------------------------------------
# Domains and address literals
# ---------------------------------------------------------------------------------------


def _domain(ctx: _Ctx, i: int, rule: str) -> int | None:
    """Domain (5321) or <domain> (821) starting at ``i``; returns its end."""
    line, n = ctx.line, ctx.n
    r821 = ctx.r821
    if not r821:
        # Fast path: a well-formed ASCII domain followed by a character that ends it.
        m = _DOMAIN_5321_FAST.match(line, i)
        if m is not None:
            p = m.end()
            if p >= n or line[p] in ">: ,":
                if p - i > _MAX_DOMAIN_5321:
                    ctx.err(i, p, f"domain is {p - i} octets; the limit is "
                            f"{_MAX_DOMAIN_5321}", "RFC 5321 §4.5.3.1.2")
                return p
    p = i
    while True:
        if r821 and p < n and line[p] in "#[":
            q = _element_821(ctx, p)
            if q is None:
                return None
        else:
            m = _LABELISH.match(line, p)
            if m is None:
                _missing_label(ctx, i, p, rule)
                return None
            q = m.end()
            if r821:
                if not _name_821(ctx, p, q):
                    return None
            elif not _label_5321(ctx, p, q, rule):
                return None
        p = q
        if p < n and line[p] == ".":
            p += 1
            continue
        break
    if r821:
        if p - i > _MAX_DOMAIN_821:
            ctx.err(i, p, f"domain is {p - i} characters; the limit is {_MAX_DOMAIN_821}",
                    "RFC 821 §4.5.3")
    else:
        size = _octets(line[i:p]) if p - i > _MAX_DOMAIN_5321 // 4 else 0
        if size > _MAX_DOMAIN_5321:
            ctx.err(i, p, f"domain is {size} octets; the limit is {_MAX_DOMAIN_5321}",
                    "RFC 5321 §4.5.3.1.2")
    return p


def _missing_label(ctx: _Ctx, i: int, p: int, rule: str) -> None:
    line, n = ctx.line, ctx.n
    if p >= n:
        if p == i:
            ctx.err(n, n, "expected a domain", rule)
        else:
            ctx.err(p - 1, p, "a domain must not end with '.'", rule)
        return
    c = line[p]
    if p == i:
        if c == ".":
            ctx.err(p, p + 1, "a domain must not start with '.'", rule)
        elif c == "[":
            ctx.err(p, p + 1, f"an address literal is not allowed here ({ctx.verb} takes a "
                    "Domain; address literals go with EHLO or after '@')", rule)
        else:
            ctx.err(p, p + 1, f"expected a domain, found {_show(c)}", rule)
    elif c == ".":
        ctx.err(p, p + 1, "empty label ('..') in the domain", rule)
    else:
        ctx.err(p - 1, p, "a domain must not end with '.'", rule)


def _bad_label_char(ctx: _Ctx, s: int, e: int, rule: str, allow_non_ascii: bool) -> bool:
    """Report the first character that can never be in a label; True if one was found."""
    line = ctx.line
    for k in range(s, e):
        ch = line[k]
        if ch == "_":
            ctx.err(k, k + 1, "'_' is not allowed in a domain name (letters, digits and "
                    "'-' only)", rule)
            return True
        if ch.isascii():
            if not (ch.isalnum() or ch == "-"):
                ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a domain name", rule)
                return True
        elif not allow_non_ascii or not ch.isprintable():
            ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a domain name", rule)
            return True
    return False


def _label_5321(ctx: _Ctx, s: int, e: int, rule: str) -> bool:
    line = ctx.line
    if _LABEL_5321.fullmatch(line, s, e) is None:
        if line[s] == "#":
            ctx.err(s, e, "'#<number>' host numbers are RFC 821 syntax; RFC 5321 says "
                    "they MUST NOT be used", "RFC 5321 App. F.4")
            return False
        if _bad_label_char(ctx, s, e, rule, allow_non_ascii=True):
            return False
        if line[s] == "-":
            ctx.err(s, s + 1, "a domain label must start with a letter or digit", rule)
            return False
        if line[e - 1] == "-":
            ctx.err(e - 1, e, "a domain label must not end with '-'", rule)
            return False
        ctx.non_ascii(s, e)  # only non-ASCII letters remain: an RFC 6531 U-label
    if e - s > 63:
        ctx.warn(s, e, f"domain label is {e - s} characters; DNS allows at most 63",
                 "RFC 1035 §2.3.4")
    return True


def _name_821(ctx: _Ctx, s: int, e: int) -> bool:
    line = ctx.line
    if _NAME_821.fullmatch(line, s, e) is not None:
        return True
    rule = "RFC 821 §4.1.2 <name>"
    if _bad_label_char(ctx, s, e, rule, allow_non_ascii=False):
        return False
    if not line[s].isalpha():
        ctx.err(s, s + 1, "an RFC 821 <name> must start with a letter (RFC 1123 later "
                "allowed a digit)", rule)
    elif line[e - 1] == "-":
        ctx.err(e - 1, e, "an RFC 821 <name> must end with a letter or digit", rule)
    else:
        ctx.err(s, e, f"an RFC 821 <name> has at least 3 characters (<a> <ldh-str> "
                f"<let-dig>); '{line[s:e]}' has {e - s} (RFC 5321 allows shorter)", rule)
    return False


def _element_821(ctx: _Ctx, p: int) -> int | None:
    """RFC 821 <element> forms "#" <number> and "[" <dotnum> "]"."""
    line, n = ctx.line, ctx.n
    rule = "RFC 821 §4.1.2 <element>"
    if line[p] == "#":
        m = _DIGITS.match(line, p + 1)
        if m is None:
            ctx.err(p + 1, min(p + 2, n), "'#' must be followed by a decimal host number",
                    rule)
            return None
        return m.end()
    if line[p + 1:p + 6].lower() == "ipv6:":
        ctx.err(p + 1, p + 6, "RFC 821 address literals are [dotnum] IPv4 only; IPv6 "
                "literals came with RFC 2821/5321", rule)
        return None
    m = _DCONTENT.match(line, p + 1)
    e = m.end()
    if e >= n:
        ctx.err(n, n, "missing ']' at the end of the [dotnum] address", rule)
        return None
    if line[e] != "]":
        ctx.err(e, e + 1, f"{_show(line[e])} is not allowed in a [dotnum] address", rule)
        return None
    problem = _ipv4_problem(line[p + 1:e])
    if problem is not None:
        off, end, msg = problem
        ctx.err(p + 1 + off, p + 1 + end, msg, "RFC 821 §4.1.2 <dotnum>")
        return None
    return e + 1


def _ipv4_problem(text: str) -> tuple[int, int, str] | None:
    """Why ``text`` is not ``Snum 3("." Snum)`` (offsets within text), or None."""
    if not text:
        return 0, 0, "empty address"
    parts = text.split(".")
    off = 0
    for part in parts:
        if not part:
            at = off if off < len(text) else off - 1  # the '.' after the gap, or the last
            return at, at + 1, "missing number next to '.' in an IPv4 address"
        if _SNUM.fullmatch(part) is None:
            for k, ch in enumerate(part):
                if not ("0" <= ch <= "9"):
                    return off + k, off + k + 1, f"{_show(ch)} in an IPv4 address"
            return off, off + len(part), f"'{part}' has more than 3 digits (0-255)"
        if int(part) > 255:
            return off, off + len(part), f"{part} is out of range (0-255)"
        off += len(part) + 1
    if len(parts) != 4:
        return 0, len(text), f"an IPv4 address has 4 numbers, this has {len(parts)}"
    return None


def _ipv6_problem(addr: str) -> tuple[int, int, str] | None:
    """Why ``addr`` is not an RFC 5321 §4.1.3 IPv6-addr (offsets within addr), or None."""
    L = len(addr)
    if L == 0:
        return 0, 0, "empty IPv6 address"
    dc = addr.find("::")
    if dc != -1:
        again = addr.find("::", dc + 1)
        if again != -1:
            return again, again + 2, "only one '::' may appear in an IPv6 address"
    if addr[0] == ":" and dc != 0:
        return 0, 1, "an IPv6 address cannot start with a single ':'"
    if addr[-1] == ":" and dc != L - 2:
        return L - 1, L, "an IPv6 address cannot end with a single ':'"
    groups = [(m.start(), m.end()) for m in _NONCOLON.finditer(addr)]
    v4 = None
    if groups and "." in addr[groups[-1][0]:groups[-1][1]]:
        v4 = groups.pop()
        if dc != -1 and dc > v4[0]:
            return dc, dc + 2, "'::' cannot follow the IPv4 part"
        problem = _ipv4_problem(addr[v4[0]:v4[1]])
        if problem is not None:
            off, end, msg = problem
            return v4[0] + off, v4[0] + end, msg
    for s, e in groups:
        if _HEX16.fullmatch(addr, s, e) is None:
            for k in range(s, e):
                if addr[k] not in "0123456789abcdefABCDEF":
                    return k, k + 1, f"{_show(addr[k])} in an IPv6 address (hex digits only)"
            return s, e, "an IPv6 group has 1 to 4 hex digits"
    count = len(groups)
    if dc == -1:
        want = 6 if v4 else 8
        if count != want:
            form = "6 groups and an IPv4 address" if v4 else "8 groups"
            return 0, L, f"a full IPv6 address has {form}; this has {count} groups (or use '::')"
    else:
        most = 4 if v4 else 6
        if count > most:
            return 0, L, (f"at most {most} groups may appear with '::'"
                          + (" and an IPv4 part" if v4 else "") + f"; this has {count}")
    return None


def _address_literal(ctx: _Ctx, i: int) -> int | None:
    """RFC 5321 §4.1.3 address-literal starting at '[' (``line[i]``)."""
    line, n = ctx.line, ctx.n
    rule = "RFC 5321 §4.1.3 address-literal"
    m = _DCONTENT.match(line, i + 1)
    e = m.end()
    if e >= n:
        ctx.err(n, n, "missing ']' at the end of the address literal", rule)
        return None
    if line[e] != "]":
        ctx.err(e, e + 1, f"{_show(line[e])} is not allowed in an address literal", rule)
        return None
    content = line[i + 1:e]
    cs = i + 1
    if not content:
        ctx.err(i, e + 1, "empty address literal", rule)
        return None
    if "0" <= content[0] <= "9" and ":" not in content:
        problem = _ipv4_problem(content)
        if problem is not None:
            ctx.err(cs + problem[0], cs + problem[1], problem[2],
                    "RFC 5321 §4.1.3 IPv4-address-literal")
            return None
        return e + 1
    if content[:5].lower() == "ipv6:":
        problem = _ipv6_problem(content[5:])
        if problem is not None:
            ctx.err(cs + 5 + problem[0], cs + 5 + problem[1], problem[2],
                    "RFC 5321 §4.1.3 IPv6-address-literal")
            return None
        return e + 1
    if ":" in content and _ipv6_problem(content) is None:
        ctx.err(cs, cs, f"an IPv6 address literal needs the 'IPv6:' tag: [IPv6:{content}]",
                "RFC 5321 §4.1.3 IPv6-address-literal")
        return None
    colon = content.find(":")
    if colon <= 0 or _LDH_STR.fullmatch(content, 0, colon) is None:
        ctx.err(cs, e, "expected an IPv4 address, 'IPv6:' and an IPv6 address, or a "
                "'tag:content' literal", rule)
        return None
    if colon == len(content) - 1:
        ctx.err(e, e + 1, "a General-address-literal needs content after the tag", rule)
        return None
    ctx.warn(cs, cs + colon, f"address-literal tag '{content[:colon]}' is not registered "
             "(only IPv6 is); the tag MUST be registered with IANA", rule)
    return e + 1


# ---------------------------------------------------------------------------------------
# Local parts, mailboxes and paths
# ---------------------------------------------------------------------------------------


def _quoted(ctx: _Ctx, j: int, rule: str) -> int | None:
    """A quoted string starting at the '"' at ``line[j]``; returns its end."""
    line, n = ctx.line, ctx.n
    r821 = ctx.r821
    m = (_QUOTED_821 if r821 else _QUOTED_5321).match(line, j)
    if m is not None:
        if not r821 and not m.group().isascii():
            ctx.non_ascii(j, m.end())
        return m.end()
    k = j + 1
    while k < n:
        ch = line[k]
        o = ord(ch)
        if ch == '"':
            if r821 and k == j + 1:
                ctx.err(j, k + 1, 'an RFC 821 quoted string cannot be empty ("")', rule)
                return None
            break
        if ch == "\\":
            if k + 1 >= n:
                ctx.err(k, k + 1, "'\\' at the end of the line: it must quote a character",
                        rule)
                return None
            o2 = ord(line[k + 1])
            if (o2 > 127) if r821 else not (32 <= o2 <= 126):
                ctx.err(k + 1, k + 2, f"{_show(line[k + 1])} cannot be quoted with '\\'",
                        rule)
                return None
            k += 2
            continue
        if r821:
            ok = o < 128 and ch not in "\r\n"
        else:
            ok = 32 <= o <= 126 or (o > 127 and ch.isprintable())
        if not ok:
            ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a quoted string", rule)
            return None
        k += 1
    else:
        ctx.err(n, n, "unterminated quoted string: missing '\"'", rule)
        return None
    ctx.err(j, k + 1, "invalid quoted string", rule)  # defensive; not reached
    return None


def _dot_string(ctx: _Ctx, j: int, rule: str) -> int | None:
    line, n = ctx.line, ctx.n
    m = (_DOTSTRING_821 if ctx.r821 else _DOTSTRING_5321).match(line, j)
    if m is None:
        if j >= n:
            ctx.err(n, n, "expected a local-part", rule)
        elif line[j] == ".":
            ctx.err(j, j + 1, "a local-part must not start with '.'", rule)
        elif line[j] in "@>":
            ctx.err(j, j + 1, f"expected a local-part before {_show(line[j])}", rule)
        else:
            _bad_local_char(ctx, j, rule)
        return None
    e = m.end()
    if e < n and line[e] == ".":
        k = e + 1
        if k >= n or line[k] in "@>":
            ctx.err(e, e + 1, "a local-part must not end with '.'", rule)
        elif line[k] == ".":
            ctx.err(k, k + 1, "empty atom ('..') in the local-part; quote the local-part "
                    "to use it", rule)
        else:
            _bad_local_char(ctx, k, rule)
        return None
    if not ctx.r821 and not m.group().isascii():
        ctx.non_ascii(j, e)
    return e


def _bad_local_char(ctx: _Ctx, k: int, rule: str) -> None:
    line, n = ctx.line, ctx.n
    ch = line[k]
    if ctx.r821 and ch == "\\":
        if k + 1 >= n:
            ctx.err(k, k + 1, "'\\' at the end of the line: it must quote a character", rule)
        else:
            ctx.err(k + 1, k + 2, f"{_show(line[k + 1])} cannot be quoted with '\\'", rule)
        return
    hint = " (use a quoted string)" if ch.isascii() and ch.isprintable() else ""
    ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a local-part{hint}", rule)


def _mailbox(ctx: _Ctx, j: int) -> int | None:
    """Local-part "@" (Domain / address-literal) starting at ``j``; returns its end."""
    line, n = ctx.line, ctx.n
    r821 = ctx.r821
    rule_lp = ctx.rule("RFC 821 §4.1.2 <local-part>", "RFC 5321 §4.1.2 Local-part")
    if j >= n:
        ctx.err(n, n, "expected a mailbox (local-part@domain)",
                ctx.rule("RFC 821 §4.1.2 <mailbox>", "RFC 5321 §4.1.2 Mailbox"))
        return None
    if line[j] == '"':
        q = _quoted(ctx, j, rule_lp)
    else:
        q = _dot_string(ctx, j, rule_lp)
    if q is None:
        return None
    rule_mb = ctx.rule("RFC 821 §4.1.2 <mailbox>", "RFC 5321 §4.1.2 Mailbox")
    if q >= n:
        ctx.err(n, n, "expected '@' and a domain after the local-part", rule_mb)
        return None
    if line[q] != "@":
        ch = line[q]
        if ch == ">":
            ctx.err(q, q + 1, "the mailbox needs '@' and a domain", rule_mb)
        else:
            ctx.err(q, q + 1, f"{_show(ch)} is not allowed in a local-part", rule_lp)
        return None
    size = _octets(line[j:q]) if q - j > _MAX_LOCAL // 4 else 0
    if size > _MAX_LOCAL:
        unit = "characters" if r821 else "octets"
        ctx.err(j, q, f"local-part is {size} {unit}; the limit is {_MAX_LOCAL}",
                ctx.rule("RFC 821 §4.5.3", "RFC 5321 §4.5.3.1.1"))
    d = q + 1
    if not r821 and d < n and line[d] == "[":
        return _address_literal(ctx, d)
    return _domain(ctx, d, ctx.rule("RFC 821 §4.1.2 <domain>", "RFC 5321 §4.1.2 Domain"))


def _source_route(ctx: _Ctx, j: int) -> int | None:
    """A-d-l ":" starting at the first '@'; returns the position after the ':'."""
    line, n = ctx.line, ctx.n
    rule = ctx.rule("RFC 821 §4.1.2 <a-d-l>", "RFC 5321 §4.1.2 A-d-l")
    drule = ctx.rule("RFC 821 §4.1.2 <domain>", "RFC 5321 §4.1.2 At-domain")
    while True:
        q = _domain(ctx, j + 1, drule)
        if q is None:
            return None
        if q < n and line[q] == ",":
            if q + 1 < n and line[q + 1] == "@":
                j = q + 1
                continue
            at = q + 1
            ctx.err(at, min(at + 1, n), "expected '@domain' after ',' in the source route",
                    rule)
            return None
        if q < n and line[q] == ":":
            return q + 1
        if q >= n:
            ctx.err(n, n, "expected ':' and a mailbox after the source route", rule)
        else:
            ctx.err(q, q + 1, f"expected ',' or ':' after a source-route domain, found "
                    f"{_show(line[q])}", rule)
        return None


def _path(ctx: _Ctx, i: int, reverse: bool) -> int | None:
    """Reverse-path / Forward-path starting at ``i``; returns the position after '>'."""
    line, n = ctx.line, ctx.n
    r821 = ctx.r821
    rule = ctx.rule("RFC 821 §4.1.2 <path>", "RFC 5321 §4.1.2 Path")
    if i >= n:
        ctx.err(n, n, "expected '<' and a path", rule)
        return None
    if line[i] != "<":
        ctx.err(i, i + 1, f"the path must be enclosed in angle brackets <...>, found "
                f"{_show(line[i])}", rule)
        return None
    j = i + 1
    if j < n and line[j] == ">":
        if r821:
            if reverse:
                ctx.note(i, j + 1, "the null reverse-path <>: RFC 821's BNF omits it, but "
                         "§3.6 and its examples send MAIL FROM:<> for error notifications, "
                         "and RFC 1123 §5.2.9 says it MUST be supported",
                         "RFC 821 §3.6; RFC 1123 §5.2.9")
            else:
                ctx.err(i, j + 1, "a forward-path cannot be empty", "RFC 821 §4.1.2 <path>")
        elif not reverse:
            ctx.err(i, j + 1, f"{ctx.verb} needs a recipient; the null path <> is only a "
                    "reverse-path", "RFC 5321 §4.1.2 Forward-path")
        return j + 1
    if not reverse and line[j:j + 11].lower() == "postmaster>":
        if r821:
            ctx.err(j, j + 10, "RFC 821 has no domainless <Postmaster>: write "
                    "<Postmaster@host> (RFC 5321 §4.1.1.3 added the short form)",
                    "RFC 821 §4.1.2 <mailbox>")
            return None
        return j + 11  # RFC 5321 §4.1.1.3: "<Postmaster>" without a domain, any case
    if j < n and line[j] == "@":
        k = _source_route(ctx, j)
        if k is None:
            return None
        if not r821:
            ctx.warn(j, k, "source route: servers MUST accept it but clients SHOULD NOT "
                     "generate it, and servers SHOULD ignore it", "RFC 5321 App. F.2")
        j = k
    q = _mailbox(ctx, j)
    if q is None:
        return None
    if q >= n:
        ctx.err(n, n, "missing '>' at the end of the path", rule)
        return None
    if line[q] != ">":
        ctx.err(q, q + 1, f"expected '>' to close the path, found {_show(line[q])}", rule)
        return None
    end = q + 1
    size = _octets(line[i:end]) if end - i > _MAX_PATH // 4 else 0
    if size > _MAX_PATH:
        unit = "characters" if r821 else "octets"
        ctx.err(i, end, f"path is {size} {unit}; the limit is {_MAX_PATH}",
                ctx.rule("RFC 821 §4.5.3", "RFC 5321 §4.5.3.1.3"))
    return end


# ---------------------------------------------------------------------------------------
# ESMTP parameters (RFC 1869 §6, RFC 5321 §4.1.2)
# ---------------------------------------------------------------------------------------


def _enum(*allowed: str):
    names = " / ".join(allowed)
    upper = frozenset(allowed)

    def checker(value: str) -> tuple[int, int, str] | None:
        if value.upper() in upper:
            return None
        return 0, len(value), f"'{value}' is not one of {names}"

    return checker


def _xtext_problem(value: str, limit: int, any_case: bool = False
                   ) -> tuple[int, int, str] | None:
    """Why ``value`` is not xtext of at most ``limit`` characters, or None.

    RFC 3461 §4 (DSN) wants upper-case hex after '+'; RFC 4954 (AUTH=) allows either.
    """
    if (_XTEXT_ANY_CASE if any_case else _XTEXT).fullmatch(value) is None:
        digits = "0123456789ABCDEFabcdef" if any_case else "0123456789ABCDEF"
        what = "hex digits" if any_case else "upper-case hex digits"
        k, L = 0, len(value)
        while k < L:
            ch = value[k]
            if ch == "+":
                pair = value[k + 1:k + 3]
                if len(pair) < 2 or any(c not in digits for c in pair):
                    return k, min(k + 3, L), f"'+' must be followed by two {what} (xtext)"
                k += 3
                continue
            o = ord(ch)
            if o < 33 or o > 126 or ch == "=":
                return k, k + 1, f"{_show(ch)} is not allowed in xtext; encode it as +XX"
            k += 1
    if len(value) > limit:
        return limit, len(value), f"value is {len(value)} characters; the limit is {limit}"
    return None


def _check_size(value: str) -> tuple[int, int, str] | None:
    for k, ch in enumerate(value):
        if not ("0" <= ch <= "9"):
            return k, k + 1, f"{_show(ch)}: the size is a decimal number of octets"
    if len(value) > 20:
        return 20, len(value), "at most 20 digits"
    return None


def _check_notify(value: str) -> tuple[int, int, str] | None:
    if value.upper() == "NEVER":
        return None
    seen: set[str] = set()
    off = 0
    for item in value.split(","):
        up = item.upper()
        if up == "NEVER":
            return off, off + len(item), "NEVER cannot be combined with other values"
        if not item:  # point at the comma next to the gap
            at = off if off < len(value) else off - 1
            return at, at + 1, "empty list item"
        if up not in ("SUCCESS", "FAILURE", "DELAY"):
            return off, off + len(item), f"'{item}' is not SUCCESS, FAILURE or DELAY"
        if up in seen:
            return off, off + len(item), f"{up} appears twice"
        seen.add(up)
        off += len(item) + 1
    return None


def _check_orcpt(value: str) -> tuple[int, int, str] | None:
    semi = value.find(";")
    if semi == -1:
        return 0, len(value), "expected addr-type;xtext, e.g. rfc822;user@example.org"
    if semi == 0 or _ATOM_5321.fullmatch(value, 0, semi) is None or not value[:semi].isascii():
        return 0, max(semi, 1), "the address type before ';' must be an atom such as rfc822"
    problem = _xtext_problem(value[semi + 1:], 500)
    if problem is not None:
        return semi + 1 + problem[0], semi + 1 + problem[1], problem[2]
    if len(value) > 500 - 6:  # the whole "ORCPT=..." parameter is at most 500 characters
        return 494, len(value), (f"the ORCPT parameter is {len(value) + 6} characters; "
                                 "the limit is 500")
    return None


def _check_auth_param(value: str) -> tuple[int, int, str] | None:
    if value == "<>":
        return None
    return _xtext_problem(value, 500, any_case=True)


_BY = _Pattern(r"[+-]?[0-9]{1,9};[NRnr][Tt]?")
_MT_PRIORITY = _Pattern(r"[+-]?[0-9]")

_VALUE_CHECKS = {
    "SIZE": _check_size,
    "BODY": _enum("7BIT", "8BITMIME", "BINARYMIME"),
    "RET": _enum("FULL", "HDRS"),
    "ENVID": lambda v: _xtext_problem(v, 100),
    "NOTIFY": _check_notify,
    "ORCPT": _check_orcpt,
    "AUTH": _check_auth_param,
    "BY": lambda v: None if _BY.fullmatch(v) else (
        0, len(v), "expected by-time;by-mode[T], e.g. 3600;R"),
    "MT-PRIORITY": lambda v: None if _MT_PRIORITY.fullmatch(v) else (
        0, len(v), "expected a priority from -9 to 9"),
}


def _params(ctx: _Ctx, p: int, verb: str, caps: Capabilities | None) -> None:
    """Mail-parameters / Rcpt-parameters after the path; ``line[p]`` follows '>'."""
    line, n = ctx.line, ctx.n
    rule = f"RFC 5321 §4.1.2 {'Rcpt' if verb == 'RCPT' else 'Mail'}-parameters"
    if p >= n:
        return
    if line[p] != " ":
        ctx.err(p, p + 1, f"expected a space or the end of the line after the path, found "
                f"{_show(line[p])}", rule)
        return
    seen: dict[str, int] = {}
    start = p
    while p < n:
        q = p + 1
        while q < n and line[q] == " ":
            q += 1
        if q == n:
            _trailing_space(ctx, p)
            return
        if q > p + 1:
            ctx.lenient(p + 1, q, "more than one space between parameters: the grammar "
                        "has exactly one SP", rule)
        e = line.find(" ", q)
        if e == -1:
            e = n
        _param(ctx, q, e, verb, seen, caps, rule)
        p = e
    if n > _MAX_TEXT:
        _unknown_params_length(ctx, start)


def _unknown_params_length(ctx: _Ctx, path_end: int) -> None:
    """RFC 1869 §4.1.2: only an extension in use raises the 512-octet limit, by the
    length of its own parameters. smtptui knows those of the extensions in its table;
    parameters it does not know are counted towards the limit (a warning, since the
    server may know the extension)."""
    line = ctx.line
    counted = _octets(line[:path_end])
    first = -1
    pos = path_end
    for token in line[path_end:].split(" "):
        if token and token.split("=", 1)[0].upper() not in PARAMETERS:
            counted += 1 + _octets(token)
            if first == -1:
                first = pos
        pos += len(token) + 1
    if counted > _MAX_TEXT and first != -1:
        ctx.warn(first, ctx.n, f"without the parameters of known extensions the command "
                 f"line is {counted + 2} octets with CRLF; the limit is {MAX_LINE_OCTETS}, "
                 "and only extensions the server knows raise it", "RFC 1869 §4.1.2")


def _param(ctx: _Ctx, s: int, e: int, verb: str, seen: dict[str, int],
           caps: Capabilities | None, rule: str) -> None:
    line = ctx.line
    eq = line.find("=", s, e)
    kend = e if eq == -1 else eq
    if kend == s:
        ctx.err(s, s + 1, "parameter keyword missing before '='", rule)
        return
    if _ESMTP_KEYWORD.fullmatch(line, s, kend) is None:
        for k in range(s, kend):
            ch = line[k]
            if not (ch.isascii() and (ch.isalnum() or (ch == "-" and k > s))):
                ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a parameter keyword "
                        "(letters, digits and '-', not first)", rule)
                return
    keyword = line[s:kend].upper()
    if keyword in seen:
        ctx.err(s, kend, f"duplicate parameter {keyword} (first at column {seen[keyword]})",
                rule)
        return
    seen[keyword] = s
    value: str | None = None
    vs = kend + 1
    if eq != -1:
        if vs == e:
            ctx.err(eq, vs, f"'=' without a value after {keyword}", rule)
            return
        if _ESMTP_VALUE.fullmatch(line, vs, e) is None:
            for k in range(vs, e):
                ch = line[k]
                o = ord(ch)
                if ch == "=" or o < 33 or o == 127 or (o > 127 and not ch.isprintable()):
                    ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a parameter value",
                            rule)
                    return
        value = line[vs:e]
        if not value.isascii():
            ctx.non_ascii(vs, e)
    param = PARAMETERS.get(keyword)
    if param is None:
        if keyword[0] != "X":
            ctx.warn(s, kend, f"unknown parameter {keyword}: not in smtptui's table, the "
                     "server may answer 555", "RFC 1869 §6")
        return
    if verb not in param.verbs:
        ctx.err(s, kend, f"{keyword} is a {param.verbs[0]} parameter ({param.rfc}), not a "
                f"{verb} parameter", param.rfc)
        return
    if param.value == "":
        if value is not None:
            ctx.err(eq, e, f"{keyword} takes no value", param.rfc)
            return
    elif value is None:
        ctx.err(s, e, f"{keyword} needs a value: {keyword}={param.value}", param.rfc)
        return
    else:
        checker = _VALUE_CHECKS.get(keyword)
        if checker is not None:
            problem = checker(value)
            if problem is not None:
                ctx.err(vs + problem[0], max(vs + problem[1], vs + problem[0]),
                        f"{keyword}: {problem[2]}", param.rfc)
                return
    if keyword == "SMTPUTF8":
        ctx.smtputf8 = True
    if caps is not None:
        ext = param.extension
        if keyword == "BODY" and value is not None and value.upper() == "BINARYMIME":
            ext = "BINARYMIME"
        if ext not in caps:
            ctx.warn(s, e, f"the server did not advertise {ext}, which {keyword} needs",
                     param.rfc)
        elif keyword == "SIZE" and value is not None:
            limit = getattr(caps, "size_limit", None)
            if limit and int(value) > limit:
                ctx.warn(vs, e, f"SIZE={value} is more than the server's limit of {limit} "
                         "octets", "RFC 1870 §6")


# ---------------------------------------------------------------------------------------
# Argument handlers, one per Arg kind. Each returns the column up to which the
# 512-octet line limit applies.
# ---------------------------------------------------------------------------------------


def _h_none(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    line, n = ctx.line, ctx.n
    if vend >= n:
        return n
    rule = _RULES[ctx.verb][0 if ctx.r821 else 1]
    if line[vend] != " ":
        ctx.err(vend, vend + 1, f"{_show(line[vend])} is not allowed after {ctx.verb}", rule)
        return n
    q = vend + 1
    while q < n and line[q] == " ":
        q += 1
    if q == n:
        _trailing_space(ctx, vend)
        return n
    if ctx.r821:
        why = " in RFC 821 (RFC 5321 allows one)" if ctx.verb == "NOOP" else ""
    else:
        why = " (servers SHOULD answer 501)"
    ctx.err(q, n, f"{ctx.verb} takes no argument{why}", rule)
    return n


def _h_domain(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    p = _after_verb(ctx, vend, "a domain (the client's host name)")
    if p is None:
        return ctx.n
    rule = ctx.rule("RFC 821 §4.1.2 <domain>", "RFC 5321 §4.1.2 Domain")
    q = _domain(ctx, p, rule)
    if q is not None:
        _end(ctx, q, "the domain", _RULES[ctx.verb][0 if ctx.r821 else 1])
    return ctx.n


def _h_ehlo(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    p = _after_verb(ctx, vend, "a domain or an address literal such as [192.0.2.1]")
    if p is None:
        return ctx.n
    if ctx.line[p] == "[":
        q = _address_literal(ctx, p)
    else:
        q = _domain(ctx, p, "RFC 5321 §4.1.2 Domain")
    if q is not None:
        _end(ctx, q, "the domain", "RFC 5321 §4.1.1.1")
    return ctx.n


def _h_path(ctx: _Ctx, spec: CommandSpec, vend: int, caps: Capabilities | None) -> int:
    line, n = ctx.line, ctx.n
    r821 = ctx.r821
    reverse = ctx.verb not in _FORWARD_PATH_VERBS
    kw = "FROM" if reverse else "TO"
    kind = "reverse-path" if reverse else "forward-path"
    rule = _RULES[ctx.verb][0 if r821 else 1]
    p = _after_verb(ctx, vend, f"{kw}:<{kind}>")
    if p is None:
        return n
    if line[p:p + len(kw)].upper() != kw:
        other = "TO" if reverse else "FROM"
        if line[p:p + len(other) + 1].upper() == other + ":":
            ctx.err(p, p + len(other) + 1, f"{ctx.verb} takes {kw}:, not {other}:", rule)
        else:
            ctx.err(p, p + 1, f"expected {kw}:<{kind}>", rule)
        return n
    q = p + len(kw)
    s = q
    while q < n and line[q] == " ":
        q += 1
    if q >= n or line[q] != ":":
        if q >= n:
            ctx.err(n, n, f"expected ':' after {kw}", rule)
        else:
            ctx.err(q, q + 1, f"expected ':' after {kw}, found {_show(line[q])}", rule)
        return n
    colon_rule = ctx.rule(rule, "RFC 5321 §3.3")
    if q > s:
        _space_at_colon(ctx, s, q, f"before the ':' of {kw}:", colon_rule)
    q += 1
    s = q
    while q < n and line[q] == " ":
        q += 1
    if q > s:
        _space_at_colon(ctx, s, q, f"after '{kw}:'", colon_rule)
    end = _path(ctx, q, reverse)
    if end is None:
        return n
    if r821:
        if end < n:
            if line[end] == " ":
                k = end
                while k < n and line[k] == " ":
                    k += 1
                if k == n:
                    _trailing_space(ctx, end)
                else:
                    ctx.err(k, n, "RFC 821 allows nothing after the path (ESMTP parameters "
                            "came with RFC 1869)", rule)
            else:
                ctx.err(end, end + 1, f"{_show(line[end])} is not allowed after the path", rule)
        return n
    _params(ctx, end, "RCPT" if not reverse else "MAIL", caps)
    return end


def _space_at_colon(ctx: _Ctx, s: int, e: int, where: str, rule: str) -> None:
    if ctx.r821:
        ctx.err(s, e, f"no space is allowed {where}", rule)
    else:
        ctx.lenient(s, e, f"space {where}: RFC 5321 allows none on either side of the "
                    "colon, though many servers accept it", rule)


def _string_arg(ctx: _Ctx, p: int, allow_mailbox: bool) -> None:
    """RFC 821 <string> / RFC 5321 String (and, for VRFY/EXPN, a mailbox)."""
    line, n = ctx.line, ctx.n
    if ctx.r821:
        rule = "RFC 821 §4.1.2 <string>"
        m = _STRING_821.match(line, p)
        e = p if m is None else m.end()
        if e >= n:
            return
        ch = line[e]
        if ch == " ":
            k = e
            while k < n and line[k] == " ":
                k += 1
            if k == n:
                _trailing_space(ctx, e)
            else:
                ctx.err(e, e + 1, "a space ends the <string>; write '\\ ' to include one",
                        rule)
        elif ch == "\\":
            _bad_local_char(ctx, e, rule)  # a backslash that quotes nothing valid
        elif ch.isascii() and ch.isprintable():
            ctx.err(e, e + 1, f"{_show(ch)} is a <special> in RFC 821; write '\\{ch}' to "
                    "include it", rule)
        else:
            ctx.err(e, e + 1, f"{_show(ch)} is not allowed in an RFC 821 <string>", rule)
        return
    rule = "RFC 5321 §4.1.2 String"
    ch = line[p]
    if allow_mailbox and ch == "<":
        end = _path(ctx, p, reverse=False)
        if end is not None:
            ctx.lenient(p, end, "angle brackets are not part of the argument: the String "
                        "is a user name or local-part@domain", "RFC 5321 §3.5.3")
            _end(ctx, end, "the argument", rule)
        return
    if ch == '"':
        e = _quoted(ctx, p, rule)
        if e is None:
            return
    else:
        m = _ATOM_5321.match(line, p)
        e = p if m is None else m.end()
        if m is not None and not m.group().isascii():
            ctx.non_ascii(p, e)
    if allow_mailbox and e < n and line[e] in "@.":
        ctx.utf8 = None if ctx.utf8 is None else [s for s in ctx.utf8 if s[0] < p]
        end = _mailbox(ctx, p)  # §3.5.3: local-part@domain SHOULD be accepted
        if end is not None:
            _end(ctx, end, "the mailbox", rule)
        return
    if e == p:
        ctx.err(p, p + 1, f"{_show(ch)} cannot start a String (an atom or a quoted "
                "string)", rule)
        return
    if e < n and line[e] != " ":
        ctx.err(e, e + 1, f"{_show(line[e])} is not allowed in a String (use a quoted "
                "string)", rule)
        return
    _end(ctx, e, "the argument (a String has no spaces unless quoted)", rule)


def _h_string(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    p = _after_verb(ctx, vend, "an argument (a user name, mailbox or list)")
    if p is not None:
        _string_arg(ctx, p, allow_mailbox=True)
    return ctx.n


def _h_optional_string(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    if ctx.r821 and ctx.verb == "NOOP":
        return _h_none(ctx, spec, vend, caps)
    p = _after_verb(ctx, vend, None)
    if p is not None:
        _string_arg(ctx, p, allow_mailbox=False)
    return ctx.n


def _h_auth(ctx: _Ctx, spec: CommandSpec, vend: int, caps: Capabilities | None) -> int:
    line, n = ctx.line, ctx.n
    rule = "RFC 4954 §4"
    p = _after_verb(ctx, vend, "a SASL mechanism such as PLAIN or LOGIN")
    if p is None:
        return n
    e = line.find(" ", p)
    if e == -1:
        e = n
    if _SASL_MECH.fullmatch(line, p, e) is None:
        for k in range(p, e):
            ch = line[k]
            if not (ch.isascii() and (ch.isalnum() or ch in "-_")):
                ctx.err(k, k + 1, f"{_show(ch)} is not allowed in a SASL mechanism name",
                        "RFC 4422 §3.1")
                return n
        ctx.err(p, e, f"a SASL mechanism name has 1 to 20 characters, this has {e - p}",
                "RFC 4422 §3.1")
        return n
    mech = line[p:e]
    if mech != mech.upper():
        ctx.lenient(p, e, "SASL mechanism names are upper case; most servers accept any "
                    "case", "RFC 4422 §3.1")
    if caps is not None:
        offered = getattr(caps, "auth_mechanisms", None)
        if offered and mech.upper() not in {m.upper() for m in offered}:
            ctx.warn(p, e, f"the server offers {' '.join(offered)}, not {mech.upper()}",
                     "RFC 4954 §3")
    if e >= n:
        return n
    q = e + 1
    while q < n and line[q] == " ":
        q += 1
    if q == n:
        _trailing_space(ctx, e)
        return n
    if q > e + 1:
        ctx.lenient(e + 1, q, "more than one space before the initial response", rule)
    r = line.find(" ", q)
    if r == -1:
        r = n
    if not (r == q + 1 and line[q] == "=") and _BASE64.fullmatch(line, q, r) is None:
        _base64_error(ctx, q, r, rule)
        return n
    _end(ctx, r, "the initial response", rule)
    return n


def _base64_error(ctx: _Ctx, q: int, r: int, rule: str) -> None:
    line = ctx.line
    pad = -1
    for k in range(q, r):
        ch = line[k]
        if ch == "=":
            if pad == -1:
                pad = k
            continue
        if not (ch.isascii() and (ch.isalnum() or ch in "+/")):
            ctx.err(k, k + 1, f"{_show(ch)} is not base64 (the initial response is base64 "
                    "or '=')", rule)
            return
        if pad != -1:
            ctx.err(pad, pad + 1, "'=' padding may only appear at the end of base64", rule)
            return
    ctx.err(q, r, f"base64 length {r - q} is not a multiple of 4 (or wrong padding)", rule)


def _h_bdat(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    line, n = ctx.line, ctx.n
    rule = "RFC 3030 §2"
    p = _after_verb(ctx, vend, "a chunk size in octets")
    if p is None:
        return n
    m = _DIGITS.match(line, p)
    if m is None:
        ctx.err(p, p + 1, f"expected the chunk size (digits), found {_show(line[p])}", rule)
        return n
    e = m.end()
    if e < n and line[e] != " ":
        ctx.err(e, e + 1, f"{_show(line[e])} in the chunk size (digits only)", rule)
        return n
    if e < n:
        q = e + 1
        while q < n and line[q] == " ":
            q += 1
        if q < n:
            r = line.find(" ", q)
            if r == -1:
                r = n
            if line[q:r].upper() != "LAST":
                ctx.err(q, r, "after the chunk size only LAST may follow", rule)
                return n
            if q > e + 1:
                ctx.lenient(e + 1, q, "more than one space before LAST", rule)
            e = r
    _end(ctx, e, "the BDAT arguments", rule)
    return n


def _h_etrn(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    line, n = ctx.line, ctx.n
    rule = "RFC 1985 §5"
    p = _after_verb(ctx, vend, "a node: domain, @domain or #queue")
    if p is None:
        return n
    ch = line[p]
    if ch == "#":
        m = _QUEUE_NAME.match(line, p + 1)
        if m is None:
            ctx.err(p + 1, min(p + 2, n), "expected a queue name after '#'", rule)
            return n
        q: int | None = m.end()
    else:
        q = _domain(ctx, p + 1 if ch == "@" else p, "RFC 1985 §5 node-name")
    if q is not None:
        _end(ctx, q, "the node name", rule)
    return n


def _h_free(ctx: _Ctx, spec: CommandSpec, vend: int, caps: object) -> int:
    return ctx.n


_Handler = Callable[[_Ctx, CommandSpec, int, "Capabilities | None"], int]

_HANDLERS: dict[Arg, _Handler] = {
    Arg.NONE: _h_none,
    Arg.DOMAIN: _h_domain,
    Arg.EHLO_DOMAIN: _h_ehlo,
    Arg.REVERSE_PATH: _h_path,
    Arg.FORWARD_PATH: _h_path,
    Arg.STRING: _h_string,
    Arg.OPTIONAL_STRING: _h_optional_string,
    Arg.AUTH: _h_auth,
    Arg.BDAT: _h_bdat,
    Arg.ETRN: _h_etrn,
    Arg.FREE: _h_free,
}

_FORWARD_PATH_VERBS = frozenset(v for v, s in COMMANDS.items() if s.arg is Arg.FORWARD_PATH)

# Per verb, everything _check needs, resolved once: enum attribute lookups and enum
# hashing are slow in the per-line path.
_VERB_INFO: dict[str, tuple[CommandSpec, _Handler, bool, bool, str | None, bool]] = {
    verb: (
        spec,
        _HANDLERS[spec.arg],
        spec.origin is Origin.RFC821,
        spec.obsolete_5321,
        None if spec.minimum_5321 else spec.ehlo_keyword,
        spec.origin is Origin.NONSTANDARD,
    )
    for verb, spec in COMMANDS.items()
}

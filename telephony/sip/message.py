"""A strict, bounded SIP message reader and a response builder (RFC 3261 §7, §8.2.6, §20).

pyVoIP's own parser splits headers on ``": "`` and trips over empty values, compact forms,
comma-joined Vias and blank lines in bodies. We read every datagram here first: malformed ones
are dropped with a reason, good ones are rewritten into the plain form pyVoIP understands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DATAGRAM = 65535
MAX_HEADER_BYTES = 16 * 1024
MANDATORY = ("via", "from", "to", "call-id", "cseq")
COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "r": "refer-to",
    "o": "event",
}
CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "via": "Via",
    "proxy-authenticate": "Proxy-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_REQUEST_LINE = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP/2\.0$")
_STATUS_LINE = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2}) ?(.*)$")


class SipSyntaxError(ValueError):
    """The datagram is not a SIP message we can safely act on."""


def canonical_name(lower: str) -> str:
    return CANONICAL.get(lower) or "-".join(p.capitalize() for p in lower.split("-"))


@dataclass
class SipMessage:
    start_line: str
    headers: list[tuple[str, str]]  # (lower-case full name, stripped value), in order
    body: bytes = b""
    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    source: tuple[str, int] | None = field(default=None, compare=False)

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((v for n, v in self.headers if n == name), None)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    @property
    def call_id(self) -> str:
        return self.get("call-id") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        num, _, method = (self.get("cseq") or "").partition(" ")
        return int(num), method.strip().upper()

    def header_param(self, name: str, param: str) -> str | None:
        value = self.get(name) or ""
        m = re.search(rf";\s*{re.escape(param)}=([^;,>\s]+)", value.split(">")[-1] if ">" in value else value)
        return m.group(1) if m else None


def _split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and <...> (for Via, Contact, ...)."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def parse(data: bytes, source: tuple[str, int] | None = None) -> SipMessage:
    if len(data) > MAX_DATAGRAM:
        raise SipSyntaxError("datagram too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
        if not sep:
            raise SipSyntaxError("no end of headers")
    if len(head) > MAX_HEADER_BYTES:
        raise SipSyntaxError("header section too large")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipSyntaxError("headers are not UTF-8") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    start = lines[0].strip()
    raw_headers: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and raw_headers:  # folded continuation line
            raw_headers[-1] += " " + line.strip()
        elif line.strip():
            raw_headers.append(line)
    msg = SipMessage(start_line=start, headers=[], source=source)
    if m := _REQUEST_LINE.match(start):
        msg.method, msg.uri = m.group(1).upper(), m.group(2)
    elif m := _STATUS_LINE.match(start):
        msg.status, msg.reason = int(m.group(1)), m.group(2)
    else:
        raise SipSyntaxError(f"bad start line {start[:80]!r}")
    for line in raw_headers:
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not _TOKEN.match(name):
            raise SipSyntaxError(f"bad header line {line[:80]!r}")
        name = COMPACT.get(name, name)
        if name in ("via", "contact", "route", "record-route"):
            msg.headers += [(name, v) for v in _split_commas(value)] or [(name, "")]
        else:
            msg.headers.append((name, value.strip()))
    missing = [h for h in MANDATORY if not msg.get(h)]
    if missing:
        raise SipSyntaxError(f"missing {', '.join(missing)}")
    try:
        _num, meth = msg.cseq
    except ValueError as exc:
        raise SipSyntaxError("bad CSeq") from exc
    if msg.is_request and meth != msg.method and not (msg.method == "ACK" and meth == "ACK"):
        raise SipSyntaxError("CSeq method does not match request method")
    clen = msg.get("content-length")
    if clen is not None:
        if not clen.isdigit() or int(clen) > len(body):
            raise SipSyntaxError(f"bad Content-Length {clen[:20]!r}")
        body = body[: int(clen)]
    msg.body = body
    return msg


def _sdp_for_pyvoip(body: bytes) -> bytes:
    """SDP without the lines pyVoIP 1.6.8 crashes on (blank lines, rtpmap/fmtp for PTs not offered)."""
    lines = [ln for ln in body.decode("utf-8").replace("\r\n", "\n").split("\n") if ln.strip()]
    offered = {pt for ln in lines if ln.startswith("m=") for pt in ln.split()[3:]}
    keep = []
    for ln in lines:
        m = re.match(r"a=(rtpmap|fmtp):(\S+)", ln)
        if m and m.group(2) not in offered:
            continue
        keep.append(ln)
    return ("\r\n".join(keep) + "\r\n").encode()


def for_pyvoip(msg: SipMessage) -> bytes:
    """Re-serialise in the exact shape pyVoIP 1.6.8's parser expects: ``Name: value``, one header per
    line, full names, no empty values, no blank lines in the body."""
    out = [msg.start_line]
    body = msg.body
    if body and (msg.get("content-type") or "").lower().startswith("application/sdp"):
        body = _sdp_for_pyvoip(body)
    for name, value in msg.headers:
        if not value or name == "content-length":
            continue
        out.append(f"{canonical_name(name)}: {value}")
    out.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(out) + "\r\n\r\n").encode() + body


def build_response(
    req: SipMessage,
    code: int,
    reason: str,
    *,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    """A response per RFC 3261 §8.2.6: Vias, From, Call-ID, CSeq copied; To gets our tag."""
    lines = [f"SIP/2.0 {code} {reason}"]
    lines += [f"Via: {v}" for v in req.get_all("via")]
    lines.append(f"From: {req.get('from')}")
    to = req.get("to") or ""
    if to_tag and ";tag=" not in to.replace(" ", ""):
        to += f";tag={to_tag}"
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {req.call_id}")
    lines.append(f"CSeq: {req.get('cseq')}")
    lines += [f"{n}: {v}" for n, v in extra or []]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def uri_of(name_addr: str) -> str:
    """``"Bob" <sip:b@h>;tag=1`` -> ``sip:b@h``; a bare ``sip:b@h;tag=1`` -> ``sip:b@h``."""
    if "<" in name_addr:
        return name_addr.split("<", 1)[1].split(">", 1)[0]
    return name_addr.split(";", 1)[0].strip()


def format_name_addr(display_name: str, uri: str) -> str:
    """``"Display" <uri>`` (RFC 3261 §25.1 quoted-string: backslash before ``"`` and ``\\``), or
    ``<uri>`` without a display name."""
    if not display_name:
        return f"<{uri}>"
    quoted = display_name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{uri}>'


def user_and_display(name_addr: str) -> tuple[str, str]:
    """Caller number and display name from a From header value."""
    display = ""
    if "<" in name_addr:
        display = name_addr.split("<", 1)[0].strip().strip('"').strip()
    uri = uri_of(name_addr)
    user = uri.split(":", 1)[-1].split("@", 1)[0] if "@" in uri else ""
    return user, display

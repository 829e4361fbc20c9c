"""SIP dialog state for building in-dialog requests (RFC 3261 §12): BYE, re-INVITE, REFER, ACK."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from telephony.sip import message


@dataclass
class Dialog:
    call_id: str
    local: str  # our name-addr with our tag: the From of our requests
    remote: str  # the peer's name-addr with its tag: the To of our requests
    target: str  # the peer's Contact URI: the Request-URI of our requests
    routes: list[str] = field(default_factory=list)
    peer_supports: frozenset[str] = frozenset()  # option tags of the peer's Supported header

    @property
    def local_tag(self) -> str:
        return tag_of(self.local)

    @property
    def remote_tag(self) -> str:
        return tag_of(self.remote)

    def replaces_uri(self) -> str:
        """The peer's address with this dialog in a Replaces header (RFC 3891 §6.1, RFC 5589 §7):
        for the peer, ``to-tag`` is its own (our remote) tag and ``from-tag`` ours."""
        replaces = f"{self.call_id};to-tag={self.remote_tag};from-tag={self.local_tag}"
        return f"{message.uri_of(self.remote)}?Replaces={quote(replaces, safe='')}"

    def request(
        self, method: str, cseq: int, via: str, extra: list[tuple[str, str]] | None = None, body: bytes = b""
    ) -> bytes:
        lines = [
            f"{method} {self.target} SIP/2.0",
            f"Via: {via}",
            "Max-Forwards: 70",
            f"From: {self.local}",
            f"To: {self.remote}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            *(f"Route: {r}" for r in self.routes),
            *(f"{n}: {v}" for n, v in extra or []),
            f"Content-Length: {len(body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tag_of(name_addr: str) -> str:
    """The ``tag`` parameter of a From/To value ('' when it has none)."""
    # header parameters follow the closing ">" of a name-addr, or the first ";" of a bare URI
    params = name_addr.rsplit(">", 1)[1] if "<" in name_addr else name_addr.partition(";")[2]
    for part in params.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "tag":
            return value.strip()
    return ""


def option_tags(msg: message.SipMessage) -> frozenset[str]:
    """The option tags a request or response lists in its Supported headers (``k`` compact form)."""
    return frozenset(t.strip().lower() for v in msg.get_all("supported") for t in v.split(",") if t.strip())


def with_tag(name_addr: str, tag: str) -> str:
    return name_addr if ";tag=" in name_addr.replace(" ", "") else f"{name_addr};tag={tag}"


def uas_dialog(invite: message.SipMessage, local_tag: str) -> Dialog:
    """The dialog an incoming INVITE creates (we answer it): route set = Record-Route in order."""
    return Dialog(
        call_id=invite.call_id,
        local=with_tag(invite.get("to") or "", local_tag),
        remote=invite.get("from") or "",
        target=message.uri_of(invite.get("contact") or invite.get("from") or ""),
        routes=invite.get_all("record-route"),
        peer_supports=option_tags(invite),
    )


def uac_dialog(local: str, ok: message.SipMessage) -> Dialog:
    """The dialog a 2xx to our INVITE creates: route set = Record-Route reversed."""
    return Dialog(
        call_id=ok.call_id,
        local=local,
        remote=ok.get("to") or "",
        target=message.uri_of(ok.get("contact") or ok.get("to") or ""),
        routes=list(reversed(ok.get_all("record-route"))),
        peer_supports=option_tags(ok),
    )

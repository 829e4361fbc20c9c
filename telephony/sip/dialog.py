"""SIP dialog state for building in-dialog requests (RFC 3261 §12): BYE, re-INVITE, REFER, ACK."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.sip import message


@dataclass
class Dialog:
    call_id: str
    local: str  # our name-addr with our tag: the From of our requests
    remote: str  # the peer's name-addr with its tag: the To of our requests
    target: str  # the peer's Contact URI: the Request-URI of our requests
    routes: list[str] = field(default_factory=list)

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
    )


def uac_dialog(local: str, ok: message.SipMessage) -> Dialog:
    """The dialog a 2xx to our INVITE creates: route set = Record-Route reversed."""
    return Dialog(
        call_id=ok.call_id,
        local=local,
        remote=ok.get("to") or "",
        target=message.uri_of(ok.get("contact") or ok.get("to") or ""),
        routes=list(reversed(ok.get_all("record-route"))),
    )

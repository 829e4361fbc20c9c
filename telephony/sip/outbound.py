"""Outbound calls (call-backs to citizens): our own INVITE client transaction (RFC 3261 §17.1.1).

pyVoIP 1.6.8's ``call()`` reads the socket itself under the receive lock and blocks forever on a
407, leaves the call DIALING on any final answer but 404/503, and ACKs a 2xx with a random To-tag
and the To-URI as Request-URI (strict peers drop the call after 32 s). Here the INVITE, its
retransmission, 401/407 digest, CANCEL and both kinds of ACK are ours; the answered call is a
pyVoIP ``VoIPCall`` (our subclass), so media works as for incoming calls.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from dataclasses import dataclass, field

import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
import structlog
from pyVoIP import SIP
from pyVoIP.VoIP import CallState

from telephony.events import CallAnswered, CallEnded, CallRinging, EndReason
from telephony.redact import mask_number
from telephony.sip import dialog, digest, message, sdp
from telephony.sip.client import T1
from telephony.sip.phone import HotlineCall, HotlinePhone, offer_payloads

log = structlog.get_logger(__name__)

TIMER_B = 32.0  # no provisional answer at all: give up (RFC 3261 17.1.1.2)
REJECTED = {486, 600, 603}


@dataclass
class Dialing:
    """An outbound call before its final answer; ``cancel`` is set by a hang-up command."""

    our_id: str
    number: str
    cancel: threading.Event = field(default_factory=threading.Event)


class _Invite:
    """One INVITE (and its CANCEL / non-2xx ACK), as sent."""

    def __init__(
        self, phone: HotlinePhone, call_id: str, local: str, target: str, body: bytes, auth: str | None
    ) -> None:
        sip = phone.sip
        self.cseq = sip.next_cseq()
        self.via = sip.new_via()
        self.target, self.local, self.call_id = target, local, call_id
        lines = [
            f"INVITE {target} SIP/2.0",
            f"Via: {self.via}",
            "Max-Forwards: 70",
            f"From: {local}",
            f"To: <{target}>",
            f"Call-ID: {call_id}",
            f"CSeq: {self.cseq} INVITE",
            f"Contact: <{sip.contact_uri}>",
            "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS",
            "Content-Type: application/sdp",
        ]
        if auth:
            lines.append(auth)
        lines.append(f"Content-Length: {len(body)}")
        self.data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def _simple(self, method: str, to: str) -> bytes:
        lines = [
            f"{method} {self.target} SIP/2.0",
            f"Via: {self.via}",  # same branch: CANCEL and non-2xx ACK belong to the INVITE transaction
            "Max-Forwards: 70",
            f"From: {self.local}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            "Content-Length: 0",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def cancel(self) -> bytes:
        return self._simple("CANCEL", f"<{self.target}>")

    def ack_failure(self, resp: message.SipMessage) -> bytes:
        return self._simple("ACK", resp.get("to") or f"<{self.target}>")


def place_call(phone: HotlinePhone, pending: Dialing) -> None:
    """Runs on its own thread until the call is answered or has failed (then call_ended)."""
    try:
        _place_call(phone, pending)
    except Exception as exc:
        log.exception("dial_failed", call_id=pending.our_id)
        phone.sink.emit(CallEnded(call_id=pending.our_id, reason="failed", detail=repr(exc)))


def _place_call(phone: HotlinePhone, pending: Dialing) -> None:
    cfg, sip = phone.cfg, phone.sip
    domain = cfg.domain or cfg.server
    target = f"sip:{pending.number}@{domain}" + ("" if cfg.port == 5060 else f":{cfg.port}")
    call_id = sip.gen_call_id()
    tag = sip.gen_tag()
    sip.tagLibrary[call_id] = tag
    local = f"{message.format_name_addr(cfg.display_name, f'sip:{cfg.username}@{domain}')};tag={tag}"
    port = phone.request_port()
    sess = random.randint(1, 2**31)
    offer = {pt: str(p) for pt, p in offer_payloads(cfg).items()}
    body = sdp.build_audio_sdp(cfg.bind_ip, port, str(sess), sess + 2, offer, origin_user="pyVoIP")
    log.info("dialing", call_id=pending.our_id, number=mask_number(pending.number))
    auth: str | None = None
    while True:  # at most twice: the second INVITE carries credentials, and is not challenged again
        inv = _Invite(phone, call_id, local, target, body, auth)
        final, cancelled = _run_invite(phone, inv, pending)
        if final is None:
            phone.release_port(port)
            why = "cancelled while ringing" if cancelled else "no answer from the proxy"
            return _ended(phone, pending, "local_hangup" if cancelled else "failed", why)
        if final.status >= 300:
            sip.send(inv.ack_failure(final))
        if final.status in (401, 407) and auth is None and not cancelled:
            header = "www-authenticate" if final.status == 401 else "proxy-authenticate"
            ch = digest.parse_challenge(final.get(header) or "")
            value = digest.authorization_value(
                ch, "INVITE", target, cfg.auth_username or cfg.username, cfg.password, use_qop=cfg.fix("qop")
            )
            auth = f"{'Authorization' if final.status == 401 else 'Proxy-Authorization'}: {value}"
            continue
        if 200 <= final.status < 300:
            return _answered(phone, pending, inv, final, port, sess)
        break
    phone.release_port(port)
    detail = f"{final.status} {final.reason}"
    if cancelled:
        return _ended(phone, pending, "local_hangup", f"cancelled while ringing ({detail})")
    return _ended(phone, pending, "rejected" if final.status in REJECTED else "failed", detail)


def _run_invite(
    phone: HotlinePhone, inv: _Invite, pending: Dialing
) -> tuple[message.SipMessage | None, bool]:
    """Send, retransmit until a provisional answer, CANCEL on request or ring timeout; -> final, cancelled."""
    sip = phone.sip
    key = (inv.call_id, inv.cseq, "INVITE")
    q = sip.open_waiter(key)
    start = time.monotonic()
    interval, next_send = T1, start + T1
    provisional = rang = False
    cancel_sent_at: float | None = None
    try:
        sip.send(inv.data)
        while True:
            now = time.monotonic()
            if now - start > phone.cfg.max_ringing_s:
                pending.cancel.set()
            if pending.cancel.is_set() and provisional and cancel_sent_at is None:
                sip.send(inv.cancel())
                cancel_sent_at = now
            if cancel_sent_at is not None and now - cancel_sent_at > 5.0:
                return None, True
            if not provisional:
                if now - start > TIMER_B or (pending.cancel.is_set() and now - start > 4.0):
                    return None, pending.cancel.is_set()
                if now >= next_send:
                    sip.send(inv.data)
                    interval = min(interval * 2, 4.0)
                    next_send = now + interval
            try:
                resp = q.get(timeout=0.05)
            except queue.Empty:
                continue
            if resp.status < 200:
                provisional = True
                if resp.status in (180, 183) and not rang:
                    rang = True
                    phone.sink.emit(CallRinging(call_id=pending.our_id, callee=pending.number))
                continue
            return resp, cancel_sent_at is not None
    finally:
        sip.close_waiter(key)


def _answered(
    phone: HotlinePhone, pending: Dialing, inv: _Invite, ok: message.SipMessage, port: int, sess: int
) -> None:
    host = phone.host
    request = SIP.SIPMessage(inv.data)
    ms = {port: offer_payloads(phone.cfg)}
    call = HotlineCall(phone, CallState.DIALING, request, sess, phone.cfg.bind_ip, ms=ms, sendmode="sendrecv")
    call.our_id = pending.our_id
    call.dialog = dialog.uac_dialog(inv.local, ok)
    call.ack = call.dialog.request("ACK", inv.cseq, phone.sip.new_via())
    phone.calls[inv.call_id] = call
    phone.sip.send(call.ack)  # right away: the 2xx is retransmitted until it arrives
    if pending.cancel.is_set():  # hung up while the 200 OK was on its way
        call.state = CallState.ANSWERED
        host.start_session(call)
        call.hangup()
        return
    call.answered(SIP.SIPMessage(message.for_pyvoip(ok)))
    call.player = host.player_for(call)
    host.start_session(call)
    phone.sink.emit(CallAnswered(call_id=call.our_id, codec=call.codec))


def _ended(phone: HotlinePhone, pending: Dialing, reason: EndReason, detail: str) -> None:
    log.info("dial_ended", call_id=pending.our_id, reason=reason, detail=detail)
    phone.sink.emit(CallEnded(call_id=pending.our_id, reason=reason, detail=detail))

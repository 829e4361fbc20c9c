"""pyVoIP's VoIPPhone and VoIPCall, patched for the hotline (SIP worker only).

Each override names the pyVoIP 1.6.8 defect it works around (config.FIXES); with a fix switched
off the plain pyVoIP behaviour is kept so the rig tests can show the defect.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Any

import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
import structlog
from pyVoIP import RTP, SIP
from pyVoIP.VoIP import CallState, InvalidStateError, PhoneStatus, VoIPCall, VoIPPhone

from telephony import audio
from telephony.events import CallHeld, CallRejected, CallResumed, CallTransferred, Dtmf, EndReason
from telephony.sip import dialog, message, sdp
from telephony.sip.client import HotlineSIPClient
from telephony.sip.config import SipConfig
from telephony.sip.ports import CallHost, EventSink
from telephony.sip.rtp import HotlineRTPClient

log = structlog.get_logger(__name__)

REASONS = {
    403: "Forbidden",
    404: "Not Found",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    503: "Service Unavailable",
    603: "Decline",
}


def raw_of(request: SIP.SIPMessage) -> message.SipMessage:
    """Our strict parse of a request handed to pyVoIP (attached by the client, or re-read)."""
    raw = getattr(request, "hotline", None)
    return raw if raw is not None else message.parse(request.raw)


def our_payloads(cfg: SipConfig, available: dict[int, RTP.PayloadType]) -> dict[int, RTP.PayloadType]:
    """The payloads of ``available`` we use, in our order: ``cfg.codecs`` first to last, then
    telephone-event when DTMF goes by RFC 4733. pyVoIP answers and sends in the offerer's order;
    an answer's order is the answerer's preference (RFC 3264 §6.1), and RTPClient sends the first."""
    audio_pts = sorted(
        (pt for pt, p in available.items() if str(p) in cfg.codecs),
        key=lambda pt: cfg.codecs.index(str(available[pt])),
    )
    if not audio_pts:  # nothing of ours: the 'codecs' fix refused the call already, or it is off
        return available
    events = [pt for pt, p in available.items() if p == RTP.PayloadType.EVENT]
    chosen = audio_pts + (events if cfg.dtmf_mode == "rfc4733" else [])
    return {pt: available[pt] for pt in chosen}


def offer_payloads(cfg: SipConfig) -> dict[int, RTP.PayloadType]:
    """The payloads of our own offer (outbound calls), in our order."""
    every = {8: RTP.PayloadType.PCMA, 0: RTP.PayloadType.PCMU, 101: RTP.PayloadType.EVENT}
    return our_payloads(cfg, every)


class HotlineCall(VoIPCall):
    # narrower than pyVoIP's declarations: a HotlineCall only ever lives on a HotlinePhone
    phone: HotlinePhone
    sip: HotlineSIPClient

    def __init__(
        self,
        phone: HotlinePhone,
        callstate: CallState,
        request: SIP.SIPMessage,
        session_id: int,
        myIP: str,
        ms: dict[int, dict[int, RTP.PayloadType]] | None = None,
        sendmode: str = "sendonly",
    ) -> None:
        self.our_id = uuid.uuid4().hex
        self.lock = threading.RLock()
        self.ended = threading.Event()
        self.end_reason: EndReason | None = None
        self.end_detail = ""
        self.muted = False
        self.held_by_remote = False
        self.held_locally = False
        self.player: audio.AudioSource | None = None
        self.bye_pending = False
        self.ack: bytes | None = None  # our ACK of an outbound call's 2xx, re-sent on 2xx retransmits
        self.bye_done = threading.Event()
        self.ringing_since = time.monotonic()
        self.cfg: SipConfig = phone.cfg
        self.sink: EventSink = phone.sink
        # pyVoIP types ``ms`` as payload -> codec, but a DIALING call's media are port -> that map
        super().__init__(phone, callstate, request, session_id, myIP, ms=ms, sendmode=sendmode)  # type: ignore[arg-type]
        self.sdp_version = int(self.session_id) + 2  # what pyVoIP put in the o= line of its 200 OK
        self.raw_invite = raw_of(self.request)
        self.source = self.raw_invite.source or self.sip.server_addr
        self.outbound = self.state == CallState.DIALING
        # incoming: the INVITE made the dialog; outbound: set by the 2xx (telephony.sip.outbound)
        self.dialog = dialog.uas_dialog(self.raw_invite, self.sip.tagLibrary.get(self.call_id, ""))

    # -- media -----------------------------------------------------------------------------------
    @property
    def rtp(self) -> list[HotlineRTPClient]:
        """Our RTP clients (``create_rtp_clients`` makes only these; pyVoIP types its list by the base)."""
        return [c for c in self.RTPClients if isinstance(c, HotlineRTPClient)]

    def create_rtp_clients(
        self,
        codecs: dict[int, RTP.PayloadType],
        ip: str,
        port: int,
        request: SIP.SIPMessage,
        baseport: int,
    ) -> None:
        self.assignedPorts[port] = codecs  # pyVoIP forgets the port of incoming calls: never freed
        assoc = our_payloads(self.cfg, codecs)
        for ii in range(len(request.body["c"])):
            self.RTPClients.append(
                HotlineRTPClient(
                    assoc,
                    ip,
                    port,
                    request.body["c"][ii]["address"],
                    baseport + ii,
                    self.sendmode,
                    on_dtmf=self.dtmf_callback,
                    next_frame=self.next_tx_frame,
                    fix=self.cfg.fix,
                    dtmf_mode=self.cfg.dtmf_mode,
                )
            )

    def dtmf_callback(self, code: str) -> None:
        self.sink.emit(Dtmf(call_id=self.our_id, digit=code))

    def next_tx_frame(self) -> bytes:
        if self.muted or self.held_by_remote or self.held_locally or self.player is None:
            return audio.SILENCE
        return self.player.next_frame() or audio.SILENCE

    @property
    def codec(self) -> str:
        return str(self.RTPClients[0].preference) if self.RTPClients else ""

    # -- state changes ---------------------------------------------------------------------------
    def _end(self, reason: EndReason, detail: str = "") -> None:
        self.state = CallState.ENDED
        if self.end_reason is None:
            self.end_reason, self.end_detail = reason, detail
        for c in self.RTPClients:
            c.stop()
        self.ended.set()

    def answer(self) -> None:
        with self.lock:
            if self.state != CallState.RINGING:
                raise InvalidStateError(f"call is {self.state.value}, not ringing")
            super().answer()

    def reject(self, code: int = 486) -> None:
        if not 400 <= code < 700:
            raise ValueError(f"a rejection is a 4xx-6xx final answer, not {code}")
        with self.lock:
            if self.state != CallState.RINGING:
                raise InvalidStateError(f"call is {self.state.value}, not ringing")
            tag = self.sip.tagLibrary.get(self.call_id) or self.sip.gen_tag()
            extra = [("Contact", f"<{self.sip.contact_uri}>")]
            resp = message.build_response(
                self.raw_invite, code, REASONS.get(code, "Rejected"), to_tag=tag, extra=extra
            )
            self.sip.send(resp, self.source)
            self._end("rejected", f"{code}")

    def cancelled(self) -> None:
        """CANCEL while ringing: 487 to the INVITE; the call can never be answered after this."""
        with self.lock:
            if self.state != CallState.RINGING:
                return
            tag = self.sip.tagLibrary.get(self.call_id) or self.sip.gen_tag()
            self.sip.send(
                message.build_response(self.raw_invite, 487, "Request Terminated", to_tag=tag), self.source
            )
            self._end("cancelled")

    def hangup(self) -> None:
        with self.lock:
            if self.state != CallState.ANSWERED:
                raise InvalidStateError(f"call is {self.state.value}, not answered")
            self.bye_pending = self.cfg.fix("bye")
            self._end("local_hangup")
        if self.bye_pending:
            threading.Thread(target=self._send_bye, name=f"bye:{self.our_id[:8]}", daemon=True).start()
        else:
            self.sip.bye(self.request)
            self.end_detail = "BYE sent, unconfirmed (pyVoIP sends it once and never reads the answer)"

    def bye(self) -> None:
        with self.lock:
            if self.state != CallState.ENDED:
                self._end("remote_bye")

    def on_reinvite(self, reinvite: message.SipMessage) -> None:
        """The other side changes the session (hold, resume, new media address): answer the direction
        it asks for, keep the same RTP streams, report hold/resume."""
        offer = sdp.parse_audio(reinvite.body)
        with self.lock:
            direction = sdp.ANSWER_DIRECTION.get(offer.direction, "sendrecv") if offer else "sendrecv"
            was_held = self.held_by_remote
            if offer is not None:
                self.held_by_remote = offer.on_hold
                for c in self.rtp:
                    if offer.address and offer.address != "0.0.0.0":
                        c.outIP, c.outPort = offer.address, offer.port
                    c.sending = direction in ("sendrecv", "sendonly")
            body = self._next_sdp(direction)
            extra = [("Contact", f"<{self.sip.contact_uri}>"), ("Content-Type", "application/sdp")]
            tag = self.sip.tagLibrary.get(self.call_id, "")
            self.sip.send(
                message.build_response(reinvite, 200, "OK", to_tag=tag, extra=extra, body=body), self.source
            )
        if self.held_by_remote and not was_held:
            self.sink.emit(CallHeld(call_id=self.our_id, by="remote"))
        elif was_held and not self.held_by_remote:
            self.sink.emit(CallResumed(call_id=self.our_id, by="remote"))

    def _next_sdp(self, direction: str) -> bytes:
        """Our session description again, same port and codecs, next version (RFC 3264 §8)."""
        self.sdp_version += 1
        rtp = self.RTPClients[0]
        payloads = {pt: str(p) for pt, p in rtp.assoc.items()}
        return sdp.build_audio_sdp(
            self.myIP,
            rtp.inPort,
            self.session_id,
            self.sdp_version,
            payloads,
            direction,
            origin_user="pyVoIP",
        )

    # -- requests we send in the dialog ------------------------------------------------------------
    def _in_dialog(
        self, method: str, extra: list[tuple[str, str]], body: bytes = b"", timeout: float = 8.0
    ) -> tuple[message.SipMessage | None, int, str]:
        """Send an in-dialog request and wait for its final answer -> (response, cseq, via)."""
        sent: dict[str, Any] = {}

        def build(cseq: int) -> bytes:
            sent["cseq"], sent["via"] = cseq, self.sip.new_via()
            return self.dialog.request(method, cseq, sent["via"], extra, body)

        resp = self.sip.transaction(build, self.call_id, method, timeout=timeout)
        return resp, sent["cseq"], sent["via"]

    def set_hold(self, on: bool) -> None:
        """Our hold/resume: re-INVITE with a=sendonly / a=sendrecv (RFC 3264 §8.4); we send silence
        while holding. Blocking (up to 8 s): run it off the command thread."""
        with self.lock:
            if self.state != CallState.ANSWERED:
                raise InvalidStateError(f"call is {self.state.value}, not answered")
            if on == self.held_locally:
                return
            body = self._next_sdp("sendonly" if on else "sendrecv")
        extra = [("Contact", f"<{self.sip.contact_uri}>"), ("Content-Type", "application/sdp")]
        resp, cseq, via = self._in_dialog("INVITE", extra, body)
        if resp is None:
            raise InvalidStateError("re-INVITE unanswered")
        if resp.status >= 300:
            # the ACK of a failed INVITE belongs to its transaction: same Via branch
            self.sip.send(self.dialog.request("ACK", cseq, via))
            raise InvalidStateError(f"re-INVITE refused: {resp.status} {resp.reason}")
        self.sip.send(self.dialog.request("ACK", cseq, self.sip.new_via()))
        self.held_locally = on
        self.sink.emit(
            CallHeld(call_id=self.our_id, by="local") if on else CallResumed(call_id=self.our_id, by="local")
        )

    def blind_transfer(self, target: str) -> None:
        """REFER the far end to ``target`` (RFC 3515); on 202 Accepted our part is done: BYE."""
        if self.state != CallState.ANSWERED:
            raise InvalidStateError(f"call is {self.state.value}, not answered")
        domain = self.cfg.domain or self.cfg.server
        uri = target if target.startswith("sip:") else f"sip:{target}@{domain}"
        self._refer(uri, CallTransferred(call_id=self.our_id, target=target), f"transferred to {target}")

    def attended_transfer(self, consult: HotlineCall) -> None:
        """Connect our peer to the peer of ``consult`` (RFC 5589 §7): REFER with a Refer-To carrying
        ``Replaces`` of the consultation dialog; the peer's INVITE replaces that dialog at the target
        (which then ends it), and on 202 Accepted we hang up this call. Only when our peer lists
        ``replaces`` in Supported: otherwise it would ring the target as a new call, and the
        consultation would stay up beside it."""
        if consult is self:
            raise InvalidStateError("a call cannot be transferred to itself")
        for call in (self, consult):
            if call.state != CallState.ANSWERED:
                raise InvalidStateError(f"call {call.our_id} is {call.state.value}, not answered")
        if "replaces" not in self.dialog.peer_supports:
            raise InvalidStateError("the peer does not support Replaces; use a blind transfer")
        number = message.uri_of(consult.dialog.remote)
        self._refer(
            consult.dialog.replaces_uri(),
            CallTransferred(call_id=self.our_id, target=number, replaces=consult.our_id),
            f"transferred to {number} (replacing {consult.our_id})",
        )

    def _refer(self, refer_to: str, done: CallTransferred, detail: str) -> None:
        """The common tail of both transfers: REFER in the dialog; when accepted, report ``done``
        and hang up with ``detail`` as the end's reason."""
        extra = [
            ("Refer-To", f"<{refer_to}>"),
            ("Referred-By", f"<{self.sip.contact_uri}>"),
            ("Contact", f"<{self.sip.contact_uri}>"),
        ]
        resp, _cseq, _via = self._in_dialog("REFER", extra)
        if resp is None or resp.status >= 300:
            why = f"{resp.status} {resp.reason}" if resp else "no answer"
            raise InvalidStateError(f"transfer refused: {why}")
        self.sink.emit(done)
        with self.lock:
            if self.state == CallState.ANSWERED:
                self.end_reason = "local_hangup"
                self.end_detail = detail
        self.hangup()

    def _bye_request(self, cseq: int) -> bytes:
        return self.dialog.request("BYE", cseq, self.sip.new_via())

    def _send_bye(self) -> None:
        try:
            resp = self.sip.transaction(self._bye_request, self.call_id, "BYE", timeout=4.0)
            bye = f"BYE answered {resp.status}" if resp else "BYE unanswered"
            self.end_detail = f"{self.end_detail}; {bye}" if self.end_detail else bye
        finally:
            self.bye_done.set()
        log.info("sip_bye_sent", call_id=self.our_id, detail=self.end_detail)

    def __del__(self) -> None:  # pyVoIP's __del__ touches the phone's port list unlocked
        pass


class HotlinePhone(VoIPPhone):
    def __init__(self, cfg: SipConfig, host: CallHost[HotlineCall], sink: EventSink) -> None:
        super().__init__(
            cfg.server,
            cfg.port,
            cfg.username,
            cfg.password,
            myIP=cfg.bind_ip,
            sipPort=cfg.sip_port,
            rtpPortLow=cfg.rtp_port_min,
            rtpPortHigh=cfg.rtp_port_max,
        )
        self.cfg = cfg
        self.host = host
        self.sink = sink
        self.sip: HotlineSIPClient = HotlineSIPClient(cfg, self, sink)

    def _callback_MSG_Invite(self, request: SIP.SIPMessage) -> None:
        call_id = request.headers["Call-ID"]
        if call_id in self.calls:  # re-INVITE: our RTP start() is idempotent, so no doubled streams
            known = self.calls[call_id]
            if known.state == CallState.ANSWERED:
                if self.cfg.fix("reinvite") and isinstance(known, HotlineCall):
                    known.on_reinvite(raw_of(request))
                else:
                    known.renegotiate(request)
            return
        raw = raw_of(request)
        source = raw.source or self.sip.server_addr
        offer = sdp.parse_audio(raw.body)
        if self.cfg.fix("codecs") and (offer is None or offer.best_codec(self.cfg.codecs) is None):
            ours = ",".join(self.cfg.codecs)
            why = f"no {ours} in offer: " + (",".join(offer.codec_names()) if offer else "no audio")
            self.sip.send(
                message.build_response(raw, 488, "Not Acceptable Here", to_tag=self.sip.gen_tag()), source
            )
            self.sink.emit(CallRejected(source=f"{source[0]}:{source[1]}", why=why))
            return
        tag = self.sip.gen_tag()
        self.sip.tagLibrary[call_id] = tag
        if self.cfg.fix("contact"):
            extra = [("Contact", f"<{self.sip.contact_uri}>"), ("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")]
            self.sip.send(message.build_response(raw, 180, "Ringing", to_tag=tag, extra=extra), source)
        else:
            ringing = self.sip.gen_ringing(request).encode()  # sets its own tag
            self.sip.send(ringing, source)
        sess_id = random.randint(1, 2**31)
        call = self._incoming_call(request, sess_id)
        if self.cfg.fix("offer_delay"):
            self.host.on_new_call(call)
        else:  # pyVoIP 1.6.8: threading.Timer(1, callCallback)
            threading.Timer(1.0, self.host.on_new_call, [call]).start()

    def _create_Call(self, request: SIP.SIPMessage, sess_id: int) -> None:
        self._incoming_call(request, sess_id)

    def _incoming_call(self, request: SIP.SIPMessage, sess_id: int) -> HotlineCall:
        call = HotlineCall(self, CallState.RINGING, request, sess_id, self.myIP, sendmode=self.recvmode)
        self.calls[request.headers["Call-ID"]] = call
        return call

    def _callback_MSG_Bye(self, request: SIP.SIPMessage) -> None:
        self.on_bye(request)

    def on_bye(self, request: SIP.SIPMessage) -> None:
        call = self.calls.get(request.headers["Call-ID"])
        if isinstance(call, HotlineCall):
            call.bye()

    def on_cancel(self, msg: message.SipMessage) -> bool:
        call = self.calls.get(msg.call_id)
        if isinstance(call, HotlineCall):
            call.cancelled()
            return True
        return False

    def on_invite_response(self, msg: message.SipMessage) -> None:
        """A 2xx retransmitted after its transaction ended: our ACK was lost, send it again."""
        call = self.calls.get(msg.call_id)
        if isinstance(call, HotlineCall) and call.ack is not None and 200 <= msg.status < 300:
            self.sip.send(call.ack)

    def has_call(self, sip_call_id: str) -> bool:
        return sip_call_id in self.calls

    def set_status(self, status: PhoneStatus) -> None:
        self._status = status

    def release_port(self, port: int) -> None:
        """Give back a port taken by ``request_port`` for a call that never came up."""
        with self.portsLock:
            if port in self.assignedPorts:
                self.assignedPorts.remove(port)

    def release_call(self, call: HotlineCall) -> None:
        """Forget an ended call and free its RTP ports (pyVoIP keeps both until the range runs out)."""
        if not self.cfg.fix("cleanup"):
            return
        with self.portsLock:
            for port in call.assignedPorts:
                if port in self.assignedPorts:
                    self.assignedPorts.remove(port)
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        self.sip.tagLibrary.pop(call.call_id, None)

    def stop(self, failed: bool = False) -> None:
        for call in list(self.calls.values()):
            try:
                if call.state == CallState.ANSWERED:
                    call.hangup()
                elif call.state == CallState.RINGING and isinstance(call, HotlineCall):
                    call.reject(480)
            except InvalidStateError:
                pass
        self.sip.stop()
        self._status = PhoneStatus.FAILED if failed else PhoneStatus.INACTIVE

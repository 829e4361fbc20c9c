"""pyVoIP's SIPClient with its transport, registration and request dispatch replaced (SIP worker only).

One thread reads the socket and is the only reader (pyVoIP lets REGISTER and ``call()`` read it
directly, eating INVITEs that arrive meanwhile). Our own requests wait for their responses on a
queue keyed by Call-ID and CSeq, with RFC 3261 retransmission. Every datagram is read by our strict
parser first; requests from anyone but the registrar/proxy are refused.
"""

from __future__ import annotations

import queue
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
import structlog
from pyVoIP import SIP
from pyVoIP.VoIP.status import PhoneStatus

from telephony.events import CallRejected, Registered, RegistrationFailed
from telephony.redact import mask_number
from telephony.sip import digest, message
from telephony.sip.config import SipConfig
from telephony.sip.ports import EventSink, PhoneHooks

log = structlog.get_logger(__name__)

T1 = 0.5
KEEPALIVE_INTERVAL = 2.0  # seconds between OPTIONS pings to the registrar while registered
KEEPALIVE_TIMEOUT = 1.5
KEEPALIVE_RETRY = 1.0
UNREGISTER_TIMEOUT = 4.0  # the un-REGISTER when stopping waits at most this (or register_timeout)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY"


@dataclass(frozen=True)
class RegisterResult:
    ok: bool
    expires: int = 0
    why: str = ""


def granted_expiry(resp: message.SipMessage, contact_uri: str, asked: int) -> int:
    """The expiry the registrar granted our binding: its Contact's ``expires``, else ``Expires:``."""
    for value in resp.get_all("contact"):
        if message.uri_of(value).split(";")[0] == contact_uri:
            m = re.search(r";\s*expires=(\d+)", value)
            if m:
                return int(m.group(1))
    header = resp.get("expires")
    return int(header) if header and header.isdigit() else asked


def refresh_delay(granted: int) -> float:
    """Refresh well before expiry: half-way for short grants, a minute early for long ones."""
    return max(1.0, granted / 2 if granted <= 120 else granted - 60)


class HotlineSIPClient(SIP.SIPClient):
    def __init__(self, cfg: SipConfig, phone: PhoneHooks, sink: EventSink) -> None:
        super().__init__(
            cfg.server,
            cfg.port,
            cfg.username,
            cfg.password,
            # pyVoIP reads .phone only in its own register()/deregister(), both replaced here; this
            # class reaches the phone through ``self.hooks`` (PhoneHooks) instead
            phone=None,  # type: ignore[arg-type]
            myIP=cfg.bind_ip,
            myPort=cfg.sip_port,
            callCallback=phone.callback,
            fatalCallback=phone.fatal,
        )
        self.cfg = cfg
        self.hooks = phone
        self.sink = sink
        self.default_expires = cfg.expires
        self.server_addr = (socket.gethostbyname(cfg.server), cfg.port)
        self.contact_uri = f"sip:{cfg.username}@{cfg.bind_ip}:{cfg.sip_port}"
        self._waiters: dict[tuple[str, int, str], queue.Queue[message.SipMessage]] = {}
        self._waiters_lock = threading.Lock()
        self._cseq = random.randint(1, 2**20)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.reg_call_id = self.gen_call_id()
        self.ka_call_id = self.gen_call_id()
        self.ka_tag = self.gen_tag()
        self.granted_expires = 0

    # -- identifiers -----------------------------------------------------------------------------
    def gen_call_id(self) -> str:
        if self.cfg.fix("callid"):
            return f"{uuid.uuid4().hex}@{self.myIP}"
        return super().gen_call_id()

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    # -- transport -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.NSD:
            raise RuntimeError("SIP client already started")
        self.NSD = True
        self._stop.clear()
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.myIP, self.myPort))
        self.s.settimeout(0.2)
        self.out = self.s
        for target, name in ((self.recv_loop, "sip-recv"), (self.registration_loop, "sip-register")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        if not self.NSD:
            return
        self._stop.set()
        if self.hooks.get_status() == PhoneStatus.REGISTERED:
            self.register_once(0, timeout=min(self.cfg.register_timeout, UNREGISTER_TIMEOUT))
        self.NSD = False
        for th in self._threads:
            th.join(timeout=1.0)
        self.s.close()

    def send(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        addr = addr or self.server_addr
        # every SIP message at debug level; the worker's log processor redacts credentials
        log.debug("sip_tx", to=f"{addr[0]}:{addr[1]}", text=data.decode("utf-8", "replace"))
        self.s.sendto(data, addr)

    def recv_loop(self) -> None:
        while self.NSD:
            try:
                data, addr = self.s.recvfrom(message.MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self.handle_datagram(data, addr)
            except Exception:  # one bad message must never stop the line
                log.exception("sip_handler_error", source=f"{addr[0]}:{addr[1]}")

    def handle_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # CRLF keep-alive
        source = f"{addr[0]}:{addr[1]}"
        log.debug("sip_rx", source=source, text=data[:4096].decode("utf-8", "replace"))
        if not self.cfg.fix("parser"):
            return self._handle_like_pyvoip(data)
        try:
            msg = message.parse(data, addr)
        except message.SipSyntaxError as exc:
            log.warning("sip_malformed_dropped", source=source, why=str(exc), size=len(data))
            return None
        if msg.is_request and self.cfg.fix("ghost") and addr != self.server_addr:
            log.warning("sip_request_refused", source=source, method=msg.method, why="not from registrar")
            if msg.method != "ACK":
                self.send(message.build_response(msg, 403, "Forbidden", to_tag=self.gen_tag()), addr)
            if msg.method == "INVITE":
                self.sink.emit(CallRejected(source=source, why="not from registrar/proxy"))
            return None
        if not msg.is_request:
            return self._handle_response(msg)
        return self._handle_request(msg)

    def _handle_like_pyvoip(self, data: bytes) -> None:
        """Plain pyVoIP 1.6.8 reading (the 'parser' fix off): its parser, its silent failures."""
        try:
            pm = SIP.SIPMessage(data)
        except Exception as exc:
            log.warning("sip_parse_failed_pyvoip", why=repr(exc))
            return
        if pm.type == SIP.SIPMessageType.RESPONSE:
            parsed = message.parse(data)
            self._handle_response(parsed)
            return
        self.parse_message(pm)

    def _handle_response(self, msg: message.SipMessage) -> None:
        num, method = msg.cseq
        with self._waiters_lock:
            waiter = self._waiters.get((msg.call_id, num, method))
        if waiter is not None:
            waiter.put(msg)
        elif method == "INVITE" and msg.status >= 200:
            self.hooks.on_invite_response(msg)
        else:
            log.debug("sip_stray_response", status=msg.status, method=method)

    def _handle_request(self, msg: message.SipMessage) -> None:
        method = msg.method
        if method == "ACK":
            return
        if method == "OPTIONS" and self.cfg.fix("options"):
            extra = [("Allow", ALLOW), ("Accept", "application/sdp"), ("Contact", f"<{self.contact_uri}>")]
            self.send(message.build_response(msg, 200, "OK", to_tag=self.gen_tag(), extra=extra), msg.source)
            return
        if method == "CANCEL" and self.cfg.fix("cancel"):
            found = self.hooks.on_cancel(msg)
            code, reason = (200, "OK") if found else (481, "Call/Transaction Does Not Exist")
            self.send(message.build_response(msg, code, reason), msg.source)
            return
        if method in ("INVITE", "BYE", "CANCEL"):
            pm = SIP.SIPMessage(message.for_pyvoip(msg))
            pm.hotline = msg  # type: ignore[attr-defined]  # the strict parse rides along
            if method == "BYE":
                self.hooks.on_bye(pm)
                self.send(message.build_response(msg, 200, "OK"), msg.source)
                return
            self.parse_message(pm)
            return
        if method == "NOTIFY" and self.cfg.fix("options"):  # transfer progress (RFC 3515 §2.4.4)
            known = self.hooks.has_call(msg.call_id)
            code, reason = (200, "OK") if known else (481, "Call/Transaction Does Not Exist")
            self.send(message.build_response(msg, code, reason), msg.source)
            return
        if self.cfg.fix("options"):
            extra = [("Allow", ALLOW)]
            self.send(message.build_response(msg, 405, "Method Not Allowed", extra=extra), msg.source)

    # -- client transactions ---------------------------------------------------------------------
    def transaction(
        self, build: Callable[[int], bytes], call_id: str, method: str, timeout: float = 4.0
    ) -> message.SipMessage | None:
        """Send a request built for a fresh CSeq, retransmit (T1 doubling), return the final response."""
        cseq = self.next_cseq()
        key = (call_id, cseq, method)
        q = self.open_waiter(key)
        data = build(cseq)
        deadline = time.monotonic() + timeout
        interval = T1
        provisional = False
        try:
            self.send(data)
            next_send = time.monotonic() + interval
            while (now := time.monotonic()) < deadline:
                try:
                    resp = q.get(timeout=max(0.0, min(next_send, deadline) - now))
                except queue.Empty:
                    if time.monotonic() >= next_send and not provisional:
                        self.send(data)
                        interval = min(interval * 2, 4.0)
                        next_send = time.monotonic() + interval
                    continue
                if resp.status >= 200:
                    return resp
                provisional = True  # a 1xx stops retransmission (RFC 3261 17.1.2.2)
            return None
        finally:
            self.close_waiter(key)

    def open_waiter(self, key: tuple[str, int, str]) -> queue.Queue[message.SipMessage]:
        """Responses matching (Call-ID, CSeq number, method) will be put on the returned queue."""
        q: queue.Queue[message.SipMessage] = queue.Queue()
        with self._waiters_lock:
            self._waiters[key] = q
        return q

    def close_waiter(self, key: tuple[str, int, str]) -> None:
        with self._waiters_lock:
            self._waiters.pop(key, None)

    def new_via(self) -> str:
        return f"SIP/2.0/UDP {self.myIP}:{self.myPort};branch={self.gen_branch()};rport"

    # -- registration ----------------------------------------------------------------------------
    def _register_request(self, cseq: int, expires: int, auth: tuple[str, str] | None) -> bytes:
        user, server = self.cfg.username, self.cfg.domain or self.cfg.server
        uri = f"sip:{server}" if self.cfg.port == 5060 else f"sip:{server}:{self.cfg.port}"
        aor = message.format_name_addr(self.cfg.display_name, f"sip:{user}@{server}")
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: {self.new_via()}",
            "Max-Forwards: 70",
            f"From: {aor};tag={self.tagLibrary['register']}",
            f"To: <sip:{user}@{server}>",
            f"Call-ID: {self.reg_call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <{self.contact_uri};transport=udp>",
            f"Expires: {expires}",
            f"Allow: {ALLOW}",
            "User-Agent: hotline (pyVoIP 1.6.8)",
        ]
        if auth:
            lines.append(f"{auth[0]}: {auth[1]}")
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def register_once(self, expires: int, timeout: float | None = None) -> RegisterResult:
        """One registration (with its digest round); each REGISTER waits ``timeout`` (default: the
        configured ``register_timeout``) for the registrar's final answer."""
        uri = f"sip:{self.cfg.server}" if self.cfg.port == 5060 else f"sip:{self.cfg.server}:{self.cfg.port}"
        wait = self.cfg.register_timeout if timeout is None else timeout
        auth: tuple[str, str] | None = None
        for _attempt in range(2):

            def build(cseq: int, a: tuple[str, str] | None = auth) -> bytes:
                return self._register_request(cseq, expires, a)

            resp = self.transaction(build, self.reg_call_id, "REGISTER", wait)
            if resp is None:
                return RegisterResult(False, why="no answer from registrar")
            if resp.status in (401, 407) and auth is None:
                header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
                try:
                    ch = digest.parse_challenge(resp.get(header) or "")
                except ValueError as exc:
                    return RegisterResult(False, why=f"bad challenge: {exc}")
                value = digest.authorization_value(
                    ch,
                    "REGISTER",
                    uri,
                    self.cfg.auth_username or self.cfg.username,
                    self.cfg.password,
                    use_qop=self.cfg.fix("qop"),
                )
                auth = ("Authorization" if resp.status == 401 else "Proxy-Authorization", value)
                continue
            if 200 <= resp.status < 300:
                granted = granted_expiry(resp, self.contact_uri, expires)
                return RegisterResult(True, expires=granted if self.cfg.fix("expires") else expires)
            return RegisterResult(False, why=f"{resp.status} {resp.reason}")
        return RegisterResult(False, why="credentials refused")

    def registrar_alive(self) -> bool:
        """One OPTIONS to the registrar: any final answer means it is up."""
        uri = f"sip:{self.cfg.server}:{self.cfg.port}"

        def build(cseq: int) -> bytes:
            lines = [
                f"OPTIONS {uri} SIP/2.0",
                f"Via: {self.new_via()}",
                "Max-Forwards: 70",
                f"From: <sip:{self.cfg.username}@{self.cfg.domain or self.cfg.server}>;tag={self.ka_tag}",
                f"To: <{uri}>",
                f"Call-ID: {self.ka_call_id}",
                f"CSeq: {cseq} OPTIONS",
                "Content-Length: 0",
            ]
            return ("\r\n".join(lines) + "\r\n\r\n").encode()

        try:
            return self.transaction(build, self.ka_call_id, "OPTIONS", timeout=KEEPALIVE_TIMEOUT) is not None
        except OSError:
            return False

    def _registered(self, result: RegisterResult) -> None:
        self.hooks.set_status(PhoneStatus.REGISTERED)
        self.granted_expires = result.expires
        log.info("sip_registered", user=mask_number(self.cfg.username), expires=result.expires)
        self.sink.emit(Registered(expires=result.expires))

    def _failed(self, why: str) -> None:
        self.hooks.set_status(PhoneStatus.FAILED)
        log.warning("sip_registration_failed", why=why)
        self.sink.emit(RegistrationFailed(why=why))

    def _watch(self, refresh_in: float) -> None:
        """Until the refresh is due: ping the registrar; if it stops answering (PBX restart, which
        forgets every binding), report it and return as soon as it answers again."""
        due = time.monotonic() + refresh_in
        while (left := due - time.monotonic()) > 0:
            if self._stop.wait(min(KEEPALIVE_INTERVAL, left)):
                return
            if not self.cfg.fix("watchdog") or time.monotonic() >= due or self.registrar_alive():
                continue
            self._failed("registrar not answering")
            while not self._stop.is_set() and not self.registrar_alive():
                self._stop.wait(KEEPALIVE_RETRY)
            return

    def registration_loop(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            self.hooks.set_status(PhoneStatus.REGISTERING)
            try:
                result = self.register_once(self.cfg.expires)
            except OSError as exc:
                result = RegisterResult(False, why=str(exc))
            if self._stop.is_set():
                return
            if result.ok:
                self._registered(result)
                backoff = 1.0
                self._watch(
                    refresh_delay(result.expires) if self.cfg.fix("expires") else self.cfg.expires - 5
                )
                continue
            self._failed(result.why)
            # an unreachable registrar is retried soon; a refusal (bad credentials) backs off further
            cap = 5.0 if result.why == "no answer from registrar" else 30.0
            self._stop.wait(backoff)
            backoff = min(backoff * 2, cap)

    # -- pyVoIP overrides that would block or misaddress -----------------------------------------
    def register(self) -> bool:  # pyVoIP's own synchronous REGISTER path is never used
        return self.register_once(self.cfg.expires).ok

    def deregister(self) -> bool:
        return self.register_once(0).ok

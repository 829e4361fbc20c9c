"""Our RTP endpoint for one call, a subclass of pyVoIP's RTPClient (runs in the SIP worker).

Replaces the parts of pyVoIP 1.6.8's RTP layer that break: 16-bit PCM frames pulled from a
source instead of an unbounded send buffer, a bounded receive queue instead of a BytesIO that grows
1.2 MiB a minute, a drift-free 20 ms send clock, sequence/timestamp wrap, a marker on the first
packet, real A-law for PCMA, DTMF sent and received either as RFC 4733 telephone-events or in-band
(``dtmf_mode``), telephone-event bounds, packets from strangers dropped, and ``start()`` made
idempotent so a re-INVITE cannot double the streams.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable

import pyVoIP.VoIP  # noqa: F401  # first: importing pyVoIP.SIP alone is a circular-import error
import structlog
from pyVoIP import RTP

from telephony import audio
from telephony.sip.config import DtmfMode

log = structlog.get_logger(__name__)

DTMF_KEYS = "0123456789*#ABCD"
RX_MAX_FRAMES = 50  # 1 s of received audio waiting for the recorder; older frames are dropped
DTMF_MAX_PER_SECOND = 10  # a person presses at most a few keys a second; more is a flood, dropped
PTIME = 0.020
INBAND_TONE_S = 0.1  # in-band digits: 100 ms of dual tone, then 60 ms of silence
INBAND_GAP_FRAMES = 3


def telephone_event_packets(digit: str, volume: int = 10, frames: int = 5) -> list[tuple[bytes, bool, int]]:
    """RFC 4733 payloads for one digit: (payload, marker, duration) for ``frames`` updates + 3 ends."""
    code = DTMF_KEYS.index(digit.upper())
    out = []
    for i in range(1, frames + 1):
        out.append((struct.pack(">BBH", code, volume & 0x3F, i * audio.FRAME_SAMPLES), i == 1, i))
    end = struct.pack(">BBH", code, 0x80 | (volume & 0x3F), frames * audio.FRAME_SAMPLES)
    out += [(end, False, frames)] * 3
    return out


def parse_telephone_event(payload: bytes, bounded: bool = True) -> tuple[str | None, bool]:
    """(digit or None, end bit). Codes > 15 (flash, tones) are not digits: None when ``bounded``;
    pyVoIP 1.6.8 indexes its 16-entry table with them and dies (``bounded=False``)."""
    if len(payload) < 4:
        return None, False
    code, flags = payload[0], payload[1]
    if code >= len(DTMF_KEYS):
        if bounded:
            return None, bool(flags & 0x80)
        return DTMF_KEYS[code], False  # raises IndexError, like pyVoIP
    return DTMF_KEYS[code], bool(flags & 0x80)


class HotlineRTPClient(RTP.RTPClient):
    def __init__(
        self,
        assoc: dict[int, RTP.PayloadType],
        in_ip: str,
        in_port: int,
        out_ip: str,
        out_port: int,
        sendrecv: RTP.TransmitType,
        *,
        on_dtmf: Callable[[str], None],
        next_frame: Callable[[], bytes],
        fix: Callable[[str], bool],
        dtmf_mode: DtmfMode = "rfc4733",
    ) -> None:
        super().__init__(assoc, in_ip, in_port, out_ip, out_port, sendrecv, dtmf=on_dtmf)
        self.fix = fix
        self.dtmf_mode: DtmfMode = dtmf_mode
        self.inband = audio.DtmfDetector() if dtmf_mode == "inband" else None
        self.next_frame = next_frame
        self.rx: deque[bytes] = deque(maxlen=RX_MAX_FRAMES)
        self.tx_log: deque[bytes] = deque(maxlen=RX_MAX_FRAMES)
        self.dtmf_out: deque[str] = deque(maxlen=64)
        self.event_pt = next((pt for pt, p in assoc.items() if p == RTP.PayloadType.EVENT), None)
        self.sending = True
        self.dropped_foreign = 0
        self.dropped_dtmf = 0
        self._recent_digits: deque[float] = deque()
        self._last_event_ts: int | None = None
        self._started = False
        self._threads: list[threading.Thread] = []
        self.outSequence = random.randint(0, 0xFFFF)
        self.outTimestamp = random.randint(0, 0xFFFFFFFF)
        self.outSSRC = random.randint(1, 0xFFFFFFFF)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:  # pyVoIP calls start() again on every re-INVITE
            return
        self._started = True
        self.sin = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sin.bind((self.inIP, self.inPort))
        self.sin.settimeout(0.2)
        self.sout = self.sin  # symmetric RTP: send from the port we receive on
        for target, name in ((self.recv, "rtp-rx"), (self.trans, "rtp-tx")):
            th = threading.Thread(target=target, name=f"{name}:{self.inPort}", daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        self.NSD = False
        if self._started:
            self.sin.close()
        for th in self._threads:
            if th is not threading.current_thread():
                th.join(timeout=1.0)

    # -- receive ---------------------------------------------------------------------------------
    def recv(self) -> None:
        while self.NSD:
            try:
                packet, addr = self.sin.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if addr[0] != self.outIP:
                self.dropped_foreign += 1
                continue
            try:
                self.parse_packet(packet)
            except (RTP.RTPParseError, IndexError, ValueError, struct.error) as exc:
                if isinstance(exc, IndexError) and not self.fix("dtmf_bounds"):
                    raise  # what pyVoIP does: the receiver thread dies
                log.debug("rtp_packet_dropped", why=str(exc))

    def parse_packet(self, packet: bytes) -> None:
        if len(packet) < 12 or packet[0] >> 6 != 2:
            raise RTP.RTPParseError("not RTP v2")
        cc = packet[0] & 0x0F
        pt = packet[1] & 0x7F
        ts = struct.unpack(">I", packet[4:8])[0]
        offset = 12 + 4 * cc
        if packet[0] & 0x10 and len(packet) >= offset + 4:  # header extension
            offset += 4 + 4 * struct.unpack(">H", packet[offset + 2 : offset + 4])[0]
        payload = packet[offset:]
        if packet[0] & 0x20 and payload:  # padding
            payload = payload[: -payload[-1]]
        kind = self.assoc.get(pt)
        if kind in (RTP.PayloadType.PCMU, RTP.PayloadType.PCMA):
            pcm = audio.ulaw_decode(payload) if kind == RTP.PayloadType.PCMU else audio.alaw_decode(payload)
            self.rx.append(pcm)
            if self.inband is not None:
                for key in self.inband.feed(pcm):
                    self._digit(key)
        elif kind == RTP.PayloadType.EVENT and self.dtmf_mode == "rfc4733":
            digit, _end = parse_telephone_event(payload, bounded=self.fix("dtmf_bounds"))
            # one digit per event: RFC 4733 repeats the same timestamp for every update and end packet
            if digit is not None and ts != self._last_event_ts:
                self._last_event_ts = ts
                self._digit(digit)
        else:
            raise RTP.RTPParseError(f"payload type {pt} not negotiated")

    def _digit(self, digit: str) -> None:
        """Report a received digit, unless the far end floods us with them."""
        now = time.monotonic()
        while self._recent_digits and now - self._recent_digits[0] > 1.0:
            self._recent_digits.popleft()
        if len(self._recent_digits) >= DTMF_MAX_PER_SECOND:
            self.dropped_dtmf += 1
            return
        self._recent_digits.append(now)
        if self.dtmf is not None:
            self.dtmf(digit)

    def read_frame(self) -> bytes | None:
        try:
            return self.rx.popleft()
        except IndexError:
            return None

    # -- send ------------------------------------------------------------------------------------
    def encode(self, pcm16: bytes) -> bytes:
        if self.preference == RTP.PayloadType.PCMA and self.fix("pcma"):
            return audio.alaw_encode(pcm16)
        return audio.ulaw_encode(pcm16)  # pyVoIP 1.6.8 does this for PCMA too

    def _header(self, pt: int, marker: bool, ts: int) -> bytes:
        return struct.pack(">BBHII", 0x80, (0x80 if marker else 0) | pt, self.outSequence, ts, self.outSSRC)

    def _send(self, packet: bytes) -> None:
        with contextlib.suppress(OSError):  # closed by stop(), or no route: the next frame tries again
            self.sout.sendto(packet, (self.outIP, self.outPort))
        self.outSequence = (self.outSequence + 1) & 0xFFFF

    def trans(self) -> None:
        first = True
        pending: list[tuple[bytes, bool, int]] = []
        tones: list[bytes] = []  # in-band digits: the frames that replace the source's
        event_ts = 0
        next_at = time.monotonic()
        while self.NSD:
            frame = self.next_frame()
            if self.dtmf_mode == "inband":
                if not tones and self.dtmf_out:
                    digit = self.dtmf_out.popleft()
                    tones = list(audio.frames(audio.dtmf_tone(digit, INBAND_TONE_S)))
                    tones += [audio.SILENCE] * INBAND_GAP_FRAMES
                if tones:
                    frame = tones.pop(0)
            elif not pending and self.dtmf_out and self.event_pt is not None:
                pending = telephone_event_packets(self.dtmf_out.popleft())
                event_ts = self.outTimestamp
            if pending:
                payload, marker, _ = pending.pop(0)
                self._send(self._header(self.event_pt or 101, marker, event_ts) + payload)
            elif self.sending:
                self.tx_log.append(frame)
                self._send(self._header(int(self.preference), first, self.outTimestamp) + self.encode(frame))
                first = False
            self.outTimestamp = (self.outTimestamp + audio.FRAME_SAMPLES) & 0xFFFFFFFF
            # absolute schedule: no drift; after a long stall skip ahead instead of bursting
            next_at += PTIME
            delay = next_at - time.monotonic()
            if delay < -0.2:
                next_at = time.monotonic()
            elif delay > 0:
                time.sleep(delay)

"""Per-call sessions inside the SIP worker: events out, commands in, media pump and recording."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import structlog
from pyVoIP.VoIP import CallState

from telephony import audio
from telephony.device import DeviceUnavailable, SoundDeviceBridge
from telephony.events import CallAnswered, CallEnded, CallOffered, Event, LineError
from telephony.redact import mask_number
from telephony.sip import message
from telephony.sip.config import SipConfig
from telephony.sip.outbound import Dialing, place_call
from telephony.sip.phone import HotlineCall, HotlinePhone
from telephony.sip.ports import EventSink

log = structlog.get_logger(__name__)

DTMF_ALLOWED = set("0123456789*#ABCDabcd")


class CommandError(Exception):
    pass


class CallManager:
    """The calls of one SIP worker: their sessions (media pump, recording, ring timeout) and the
    commands from the host. It is the phone's ``CallHost`` and passes events on to ``sink``."""

    def __init__(self, cfg: SipConfig, sink: EventSink) -> None:
        self.cfg = cfg
        self.sink = sink
        self.calls: dict[str, HotlineCall] = {}
        self.dialing: dict[str, Dialing] = {}
        self._lock = threading.Lock()
        self.play_pcm = audio.read_wav_pcm16(Path(cfg.play_wav)) if cfg.play_wav else None
        self.device: SoundDeviceBridge | None = None  # the headset, opened at the first answer
        self.phone = HotlinePhone(cfg, self, sink)

    def emit(self, event: Event) -> None:
        self.sink.emit(event)

    def player_for(self, call: HotlineCall) -> audio.AudioSource | None:
        """What an answered call sends: the headset when configured (and it opens), else the WAV."""
        if self.cfg.audio_device is not None:
            if self.device is None:
                try:
                    self.device = SoundDeviceBridge(self.cfg.audio_device).open()
                except DeviceUnavailable as exc:
                    self.emit(LineError(message=str(exc), call_id=call.our_id))
            if self.device is not None:
                return self.device
        return audio.PcmPlayer(self.play_pcm) if self.play_pcm is not None else None

    # -- from pyVoIP's SIP thread ----------------------------------------------------------------
    def on_new_call(self, call: HotlineCall) -> None:
        with self._lock:  # before call_offered goes out: an answer may come back at once
            self.calls[call.our_id] = call
        caller, display = message.user_and_display(call.raw_invite.get("from") or "")
        if call.state == CallState.RINGING:  # with pyVoIP's 1 s delay the caller may have gone already
            log.info("call_offered", call_id=call.our_id, caller=mask_number(caller))
            self.emit(CallOffered(call_id=call.our_id, caller=caller, display_name=display))
        self.start_session(call)

    def start_session(self, call: HotlineCall) -> None:
        with self._lock:
            self.calls[call.our_id] = call
        threading.Thread(
            target=self._session, args=(call,), name=f"call:{call.our_id[:8]}", daemon=True
        ).start()

    def _session(self, call: HotlineCall) -> None:
        recorders: tuple[audio.WavRecorder, audio.WavRecorder] | None = None
        try:
            while not call.ended.wait(0.05):
                if (
                    call.state == CallState.RINGING
                    and time.monotonic() - call.ringing_since > self.cfg.max_ringing_s
                ):
                    call.reject(480)
                if recorders is None and call.state == CallState.ANSWERED and self.cfg.record_dir:
                    base = Path(self.cfg.record_dir) / call.our_id
                    recorders = (
                        audio.WavRecorder(Path(f"{base}-rx.wav")),
                        audio.WavRecorder(Path(f"{base}-tx.wav")),
                    )
                self._drain(call, recorders)
            self._drain(call, recorders)
            if call.bye_pending:  # report whether the far end confirmed our BYE
                call.bye_done.wait(5.0)
        except Exception as exc:
            log.exception("call_session_failed", call_id=call.our_id)
            with call.lock:
                call._end("failed", repr(exc))
        finally:
            if recorders:
                for r in recorders:
                    r.close()
            self.phone.release_call(call)
            with self._lock:
                self.calls.pop(call.our_id, None)
            log.info("call_ended", call_id=call.our_id, reason=call.end_reason)
            self.emit(
                CallEnded(call_id=call.our_id, reason=call.end_reason or "failed", detail=call.end_detail)
            )

    def _drain(
        self, call: HotlineCall, recorders: tuple[audio.WavRecorder, audio.WavRecorder] | None
    ) -> None:
        # the headset hears the call it speaks to, and nothing of a call on hold
        to_device = self.device if call.player is self.device and not call.held_locally else None
        for rtp in call.rtp:
            while (frame := rtp.read_frame()) is not None:
                if recorders:
                    recorders[0].write(frame)
                if to_device is not None:
                    to_device.write(frame)
            while rtp.tx_log:
                frame = rtp.tx_log.popleft()
                if recorders:
                    recorders[1].write(frame)

    # -- commands from the parent ----------------------------------------------------------------
    def call(self, call_id: str) -> HotlineCall:
        with self._lock:
            call = self.calls.get(call_id)
        if call is None:
            raise CommandError(f"no such call {call_id}")
        return call

    def execute(self, cmd: dict[str, Any]) -> None:
        name = cmd["cmd"]
        if name == "dial":
            pending = Dialing(cmd["call_id"], str(cmd["number"]))
            self.dialing[pending.our_id] = pending
            threading.Thread(target=self._dial, args=(pending,), name="dial", daemon=True).start()
            return
        if name == "hangup" and cmd["call_id"] in self.dialing:
            self.dialing[cmd["call_id"]].cancel.set()
            return
        call = self.call(cmd["call_id"])
        if name == "answer":
            call.player = self.player_for(call)
            call.answer()
            self.emit(CallAnswered(call_id=call.our_id, codec=call.codec))
        elif name == "reject":
            call.reject(int(cmd.get("code", 486)))
        elif name == "hangup":
            call.hangup()
        elif name == "mute":
            call.muted = bool(cmd["on"])
        elif name == "send_dtmf":
            digits = str(cmd["digits"])
            if not digits or not set(digits) <= DTMF_ALLOWED:
                raise CommandError(f"bad DTMF digits {digits!r}")
            for rtp in call.rtp:
                rtp.dtmf_out.extend(digits.upper())
        elif name in ("hold", "resume", "blind_transfer", "attended_transfer"):
            threading.Thread(target=self._slow_command, args=(call, cmd), name=name, daemon=True).start()
        else:
            raise CommandError(f"{name} is not implemented yet")

    def _dial(self, pending: Dialing) -> None:
        try:
            place_call(self.phone, pending)
        finally:
            self.dialing.pop(pending.our_id, None)

    def _slow_command(self, call: HotlineCall, cmd: dict[str, Any]) -> None:
        """Commands that wait for the far end, off the command thread; failures become error events."""
        try:
            if cmd["cmd"] == "blind_transfer":
                call.blind_transfer(str(cmd["target"]))
            elif cmd["cmd"] == "attended_transfer":
                call.attended_transfer(self.call(str(cmd["consult"])))
            else:
                call.set_hold(cmd["cmd"] == "hold")
        except Exception as exc:
            self.emit(LineError(message=f"{cmd['cmd']}: {exc}", call_id=call.our_id))

    def stop(self) -> None:
        self.phone.stop()
        if self.device is not None:
            self.device.close()
            self.device = None

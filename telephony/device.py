"""The local sound device (the operator's headset) as the audio bridge of a call.

Optional: it needs ``sounddevice`` (PortAudio), the ``audio`` extra (``pip install
hotline-console[audio]``), imported only when a bridge is opened, so the rest of the line works
without it. ``available()`` says whether it can be used here.

``SoundDeviceBridge`` is an :class:`~telephony.audio.AudioSource` (``next_frame``: the microphone,
20 ms of 8 kHz 16-bit PCM) and a sink (``write``: frames received from the caller, to the speaker).
The device runs at its own rate; frames are resampled to and from 8 kHz. Both directions
go through bounded queues: a stalled device or network drops the oldest audio, never grows memory,
and the microphone gives silence when it has nothing.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import Any

import structlog

from telephony import audio

log = structlog.get_logger(__name__)

MAX_QUEUED_FRAMES = 10  # 200 ms each way: enough for scheduling jitter, short enough to stay live


class DeviceUnavailable(RuntimeError):
    """No sounddevice/PortAudio, or the device cannot be opened; the message says which."""


def load_backend() -> ModuleType:
    """The ``sounddevice`` module, or DeviceUnavailable with what to install."""
    try:
        return importlib.import_module("sounddevice")
    except ImportError as exc:  # the package, or its PortAudio library (OSError wrapped by it)
        raise DeviceUnavailable(
            f"the local sound device needs the audio extra (pip install 'hotline-console[audio]' and "
            f"the PortAudio library): {exc}"
        ) from None
    except OSError as exc:
        raise DeviceUnavailable(f"PortAudio library not found: {exc}") from None


def available() -> bool:
    try:
        load_backend()
    except DeviceUnavailable:
        return False
    return True


class SoundDeviceBridge:
    """Microphone -> ``next_frame()``; ``write(frame)`` -> speaker. ``backend`` is the sounddevice
    module (injectable: any module with ``RawInputStream``, ``RawOutputStream``, ``query_devices``)."""

    def __init__(self, device: str | int | None = None, backend: ModuleType | Any | None = None) -> None:
        self.device = None if device in (None, "", "default") else device
        self._backend = backend
        self._mic = bytearray()  # 8 kHz PCM from the microphone, waiting for next_frame
        self._spk = bytearray()  # PCM at the device rate, waiting for the speaker
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self.rate = audio.RATE
        self._in_state: Any = None
        self._out_state: Any = None
        self.dropped_in = 0  # microphone bytes dropped because nobody read them
        self.dropped_out = 0  # received bytes dropped because the speaker did not take them

    def open(self) -> SoundDeviceBridge:
        sd = self._backend or load_backend()
        try:
            info = sd.query_devices(self.device, "input")
            self.rate = int(info["default_samplerate"]) if info else audio.RATE
            block = self.rate * audio.FRAME_SAMPLES // audio.RATE
            kwargs = {
                "samplerate": self.rate,
                "channels": 1,
                "dtype": "int16",
                "blocksize": block,
                "device": self.device,
                "latency": "low",
            }
            self._streams = [
                sd.RawInputStream(callback=self._on_input, **kwargs),
                sd.RawOutputStream(callback=self._on_output, **kwargs),
            ]
            for stream in self._streams:
                stream.start()
        except Exception as exc:  # PortAudioError, ValueError for an unknown device, ...
            self.close()
            raise DeviceUnavailable(f"cannot open sound device {self.device or 'default'}: {exc}") from None
        log.info("sound_device_opened", device=str(self.device or "default"), rate=self.rate)
        return self

    # -- PortAudio's threads -----------------------------------------------------------------------
    def _on_input(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        pcm = bytes(indata)
        if self.rate != audio.RATE:
            pcm, self._in_state = audio.resample(pcm, self.rate, audio.RATE, self._in_state)
        with self._lock:
            self._mic += pcm
            self.dropped_in += _trim(self._mic, MAX_QUEUED_FRAMES * audio.FRAME_BYTES)

    def _on_output(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        need = frames * 2
        with self._lock:
            out = bytes(self._spk[:need])
            del self._spk[:need]
        outdata[:need] = out + bytes(need - len(out))

    # -- the call's side -------------------------------------------------------------------------
    def next_frame(self) -> bytes | None:
        """20 ms from the microphone (silence while less than a frame is waiting)."""
        with self._lock:
            if len(self._mic) < audio.FRAME_BYTES:
                return audio.SILENCE
            frame = bytes(self._mic[: audio.FRAME_BYTES])
            del self._mic[: audio.FRAME_BYTES]
        return frame

    def write(self, pcm16: bytes) -> None:
        """A frame from the caller, for the speaker."""
        if self.rate != audio.RATE:
            pcm16, self._out_state = audio.resample(pcm16, audio.RATE, self.rate, self._out_state)
        limit = MAX_QUEUED_FRAMES * audio.FRAME_BYTES * self.rate // audio.RATE
        with self._lock:
            self._spk += pcm16
            self.dropped_out += _trim(self._spk, limit)

    def close(self) -> None:
        for stream in self._streams:
            try:
                stream.stop()
                stream.close()
            except Exception:  # closing a broken stream must not hide why it broke
                log.warning("sound_device_close_failed", exc_info=True)
        self._streams = []


def _trim(buf: bytearray, limit: int) -> int:
    """Drop the oldest bytes of ``buf`` beyond ``limit`` (whole samples); return how many."""
    excess = len(buf) - limit
    if excess <= 0:
        return 0
    excess += excess % 2
    del buf[:excess]
    return excess

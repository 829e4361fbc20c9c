"""16-bit PCM audio: frames, G.711, a WAV player, silence, per-call WAV recording, a tone detector,
in-band DTMF (dual tones, RFC 4733 §1's alternative to telephone-events) made and recognised.

The line speaks 8 kHz mono signed 16-bit little-endian PCM in 20 ms frames (160 samples, 320
bytes) to and from its audio bridge. G.711 uses the stdlib ``audioop`` (present up to Python 3.12;
pyVoIP 1.6.8 needs it too).
"""

from __future__ import annotations

import math
import struct
import warnings
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

RATE = 8000
FRAME_SAMPLES = 160
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE = bytes(FRAME_BYTES)


def ulaw_encode(pcm16: bytes) -> bytes:
    return audioop.lin2ulaw(pcm16, 2)


def ulaw_decode(data: bytes) -> bytes:
    return audioop.ulaw2lin(data, 2)


def alaw_encode(pcm16: bytes) -> bytes:
    return audioop.lin2alaw(pcm16, 2)


def alaw_decode(data: bytes) -> bytes:
    return audioop.alaw2lin(data, 2)


RateState = tuple[int, tuple[tuple[int, int], ...]] | None


def resample(pcm16: bytes, src_rate: int, dst_rate: int, state: RateState = None) -> tuple[bytes, RateState]:
    """Mono 16-bit PCM from ``src_rate`` to ``dst_rate``; pass the returned state to the next call
    of the same stream so chunk boundaries do not click."""
    return audioop.ratecv(pcm16, 2, 1, src_rate, dst_rate, state)


def tone(hz: float, seconds: float, amplitude: float = 0.4) -> bytes:
    """A sine as 16-bit PCM at 8 kHz."""
    n = int(seconds * RATE)
    peak = amplitude * 32767
    return struct.pack(f"<{n}h", *(int(peak * math.sin(2 * math.pi * hz * i / RATE)) for i in range(n)))


def goertzel_share(pcm16: bytes, hz: float) -> float:
    """Share (0..1) of the signal's energy at ``hz``: about 1.0 for a clean tone, ~0 for other content."""
    n = len(pcm16) // 2
    if n == 0:
        return 0.0
    xs = struct.unpack(f"<{n}h", pcm16[: 2 * n])
    k = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in xs:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in xs) * n / 2
    return power / total if total else 0.0


DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_GRID = ("123A", "456B", "789C", "*0#D")
DTMF_BLOCK = 205  # samples per detection block (25.6 ms): the usual Goertzel size for 8 kHz DTMF
DTMF_HOP = 102  # blocks overlap by half, so a 40 ms key (ITU-T Q.24's shortest) fills two of them
DTMF_MIN_RMS = 300.0  # quieter blocks are silence, not digits
DTMF_MIN_SHARE = 0.7  # the two strongest tones hold this share of the block's energy


def dtmf_tone(digit: str, seconds: float = 0.1, amplitude: float = 0.25) -> bytes:
    """The dual tone of one DTMF key as 16-bit PCM at 8 kHz (each tone at ``amplitude``)."""
    row = next(i for i, keys in enumerate(DTMF_GRID) if digit.upper() in keys)
    low, high = DTMF_ROWS[row], DTMF_COLS[DTMF_GRID[row].index(digit.upper())]
    n = int(seconds * RATE)
    peak = amplitude * 32767
    return struct.pack(
        f"<{n}h",
        *(
            int(peak * (math.sin(2 * math.pi * low * i / RATE) + math.sin(2 * math.pi * high * i / RATE)))
            for i in range(n)
        ),
    )


def _goertzel_power(xs: tuple[int, ...], hz: float) -> float:
    k = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in xs:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


class DtmfDetector:
    """Recognises in-band DTMF in a stream of 16-bit PCM frames: one digit per key press.

    A key counts once its dual tone fills two overlapping blocks in a row (38 ms), and again only
    after a block without it."""

    def __init__(self) -> None:
        self._pending = b""
        self._candidate: str | None = None
        self._reported: str | None = None

    def feed(self, pcm16: bytes) -> list[str]:
        """The digits that started in ``pcm16`` (usually none)."""
        self._pending += pcm16
        out: list[str] = []
        size = 2 * DTMF_BLOCK
        while len(self._pending) >= size:
            block, self._pending = self._pending[:size], self._pending[2 * DTMF_HOP :]
            key = self._block_key(struct.unpack(f"<{DTMF_BLOCK}h", block))
            if key is None:
                self._candidate = self._reported = None
            elif key == self._candidate and key != self._reported:
                self._reported = key
                out.append(key)
            else:
                self._candidate = key
        return out

    @staticmethod
    def _block_key(xs: tuple[int, ...]) -> str | None:
        energy = sum(x * x for x in xs)
        if energy < DTMF_MIN_RMS**2 * len(xs):
            return None
        scale = len(xs) / 2  # a pure tone's Goertzel power is its energy times n/2
        rows = [_goertzel_power(xs, hz) for hz in DTMF_ROWS]
        cols = [_goertzel_power(xs, hz) for hz in DTMF_COLS]
        r, c = max(range(4), key=rows.__getitem__), max(range(4), key=cols.__getitem__)
        row_share, col_share = rows[r] / (energy * scale), cols[c] / (energy * scale)
        # both tones present (twist within about 8 dB) and together nearly all of the energy
        if min(row_share, col_share) < DTMF_MIN_SHARE / 6 or row_share + col_share < DTMF_MIN_SHARE:
            return None
        return DTMF_GRID[r][c]


def frames(pcm16: bytes) -> Iterator[bytes]:
    """Split PCM into whole 20 ms frames, padding the last one with silence."""
    for i in range(0, len(pcm16), FRAME_BYTES):
        chunk = pcm16[i : i + FRAME_BYTES]
        yield chunk + SILENCE[len(chunk) :]


class AudioSource(Protocol):
    def next_frame(self) -> bytes | None:
        """The next 20 ms frame, or None when the source has nothing more."""


class Silence:
    def next_frame(self) -> bytes | None:
        return SILENCE


class PcmPlayer:
    """Plays a PCM buffer once (or looped), then stays silent."""

    def __init__(self, pcm16: bytes, loop: bool = False) -> None:
        self._frames = list(frames(pcm16))
        self._loop = loop
        self._i = 0

    def next_frame(self) -> bytes | None:
        if self._i >= len(self._frames):
            if not self._loop or not self._frames:
                return None
            self._i = 0
        frame = self._frames[self._i]
        self._i += 1
        return frame


def read_wav_pcm16(path: Path) -> bytes:
    """Any PCM WAV (8/16/24/32-bit, any rate, mono or stereo) as 8 kHz mono 16-bit PCM."""
    with wave.open(str(path), "rb") as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        data = w.readframes(w.getnframes())
    if width == 1:  # WAV 8-bit is unsigned
        data = audioop.bias(data, 1, -128)
    data = audioop.lin2lin(data, width, 2)
    if channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    elif channels != 1:
        raise ValueError(f"{path}: {channels} channels not supported")
    if rate != RATE:
        data, _ = audioop.ratecv(data, 2, 1, rate, RATE, None)
    return data


def write_wav_pcm16(path: Path, pcm16: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm16)


class WavRecorder:
    """Appends frames to an 8 kHz mono 16-bit WAV file as they come (nothing kept in memory)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._w = wave.open(str(path), "wb")  # noqa: SIM115  # closed by close()
        self._w.setnchannels(1)
        self._w.setsampwidth(2)
        self._w.setframerate(RATE)

    def write(self, pcm16: bytes) -> None:
        self._w.writeframesraw(pcm16)

    def close(self) -> None:
        self._w.close()

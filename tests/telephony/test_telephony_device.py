"""The local sound device bridge (telephony.device).

The machines that run the suite have no sound card, so the frame plumbing (resampling, bounds,
silence) is driven through a stand-in for sounddevice's stream API that calls the bridge's
callbacks the way PortAudio does; the real sounddevice test runs only where it and a device exist.
On the SIP line, a configured device that cannot be opened is an ``error`` event and the call goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers.siprig import Kamailio, ended, scenario, via_kamailio

from telephony import audio, device

DEVICE_RATE = 48_000


class FakeStream:
    def __init__(self, callback: Any, samplerate: int, blocksize: int, **_kw: Any) -> None:
        self.callback, self.samplerate, self.blocksize = callback, samplerate, blocksize
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


class FakeSoundDevice:
    """sounddevice's surface the bridge uses: devices at 48 kHz, raw int16 streams."""

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []

    def query_devices(self, device: Any, kind: str) -> dict[str, Any]:
        if device not in (None, 0):
            raise ValueError(f"no such device {device!r}")
        return {"name": "fake", "default_samplerate": float(DEVICE_RATE)}

    def RawInputStream(self, **kw: Any) -> FakeStream:  # sounddevice's name
        self.streams.append(FakeStream(**kw))
        return self.streams[-1]

    def RawOutputStream(self, **kw: Any) -> FakeStream:  # sounddevice's name
        self.streams.append(FakeStream(**kw))
        return self.streams[-1]


def to_8k(pcm: bytes) -> bytes:
    return audio.resample(pcm, DEVICE_RATE, audio.RATE)[0]


def test_microphone_and_speaker_are_resampled_20ms_frames() -> None:
    sd = FakeSoundDevice()
    bridge = device.SoundDeviceBridge("default", backend=sd).open()
    mic, spk = sd.streams
    assert mic.started and spk.started and mic.blocksize == DEVICE_RATE // 50
    assert bridge.next_frame() == audio.SILENCE  # nothing spoken yet
    tone48 = audio.resample(audio.tone(1000, 1.0), audio.RATE, DEVICE_RATE)[0]
    block = mic.blocksize * 2
    for i in range(5):
        mic.callback(tone48[i * block : (i + 1) * block], mic.blocksize, None, None)
    heard = b"".join(bridge.next_frame() or b"" for _ in range(4))
    assert all(len(f) == audio.FRAME_BYTES for f in audio.frames(heard))
    assert audio.goertzel_share(heard, 1000) > 0.8
    for frame in list(audio.frames(audio.tone(440, 0.2))):
        bridge.write(frame)
    out = bytearray(block)
    played = bytearray()
    for _ in range(10):
        spk.callback(out, spk.blocksize, None, None)
        played += out
    assert audio.goertzel_share(to_8k(bytes(played[: block * 8])), 440) > 0.8
    spk.callback(out, spk.blocksize, None, None)  # drained: the speaker gets silence, not old audio
    assert bytes(out) == bytes(block)
    bridge.close()
    assert mic.closed and spk.closed


def test_queues_are_bounded_both_ways() -> None:
    sd = FakeSoundDevice()
    bridge = device.SoundDeviceBridge(None, backend=sd).open()
    mic, _spk = sd.streams
    speech = audio.resample(audio.tone(300, 4.0), audio.RATE, DEVICE_RATE)[0]
    block = mic.blocksize * 2
    for i in range(200):  # 4 s of microphone nobody reads
        mic.callback(speech[i * block : (i + 1) * block], mic.blocksize, None, None)
        bridge.write(audio.SILENCE)  # 4 s of caller the speaker never takes
    assert bridge.dropped_in > 0 and bridge.dropped_out > 0
    waiting = 0
    for _ in range(200):
        if bridge.next_frame() == audio.SILENCE:
            break
        waiting += 1
    assert 0 < waiting <= device.MAX_QUEUED_FRAMES  # only the newest 200 ms were kept
    bridge.close()


def test_an_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(device.DeviceUnavailable, match="cannot open sound device"):
        device.SoundDeviceBridge("no-such-headset", backend=FakeSoundDevice()).open()


def test_real_sounddevice_when_installed() -> None:
    if not device.available():
        pytest.skip("sounddevice/PortAudio not installed (the audio extra)")
    sd = device.load_backend()
    try:
        sd.query_devices(None, "input")
    except Exception as exc:
        pytest.skip(f"no input device here: {exc}")
    bridge = device.SoundDeviceBridge("default").open()
    try:
        assert bridge.next_frame() is not None
    finally:
        bridge.close()


@pytest.mark.sip
def test_line_with_an_unopenable_device_reports_it_and_still_answers(
    kamailio: Kamailio, sip_user: str, make_line, sipp, tmp_path: Path
) -> None:
    _line, log = make_line(kamailio, sip_user, audio_device="no-such-headset")
    run = sipp(
        scenario("citizen_call.xml", hangup="remote"),
        *via_kamailio(kamailio, sip_user, "-d", "500", "-key", "codecs", "0 101", "-key", "hdr", "X-Rig: 1"),
    )
    assert run.wait(30) == 0, run.report()
    assert ended(log).reason == "remote_bye"
    errors = [e for e in log.events if e.name == "error"]
    assert errors and "sound device" in errors[0].message  # type: ignore[attr-defined]

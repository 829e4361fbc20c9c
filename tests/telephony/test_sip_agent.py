"""``hotline agent`` as an operator would run it: a real process, the rig's kamailio, a sipp citizen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from siprig import PASSWORD, Kamailio, Sipp, free_port_block, free_udp_port, kill_group, scenario

from telephony import audio

pytestmark = pytest.mark.sip


def test_agent_answers_plays_records_and_hangs_up(kamailio: Kamailio, sip_user: str, tmp_path: Path) -> None:
    wav = tmp_path / "greeting.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, 2.0))
    rtp = free_port_block(10)
    (tmp_path / "config.toml").write_text(
        f'[sip]\nserver = "127.0.0.1"\nport = {kamailio.port}\nusername = "{sip_user}"\npassword = "{PASSWORD}"\n'
        f'bind_ip = "127.0.0.1"\nsip_port = {free_udp_port()}\nrtp_port_min = {rtp}\nrtp_port_max = {rtp + 9}\n'
        f'[logging]\nfile = "{tmp_path / "hotline.log"}"\n'
    )
    cmd = [
        sys.executable,
        "-m",
        "console.cli",
        "agent",
        "--config",
        str(tmp_path / "config.toml"),
        "--answer-after",
        "0",
        "--hangup-after",
        "1.5",
        "--play",
        str(wav),
        "--record",
        str(tmp_path / "rec"),
        "--max-calls",
        "1",
        "--duration",
        "25",
    ]
    agent = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    citizen = None
    try:
        first = agent.stdout.readline()  # type: ignore[union-attr]  # bounded: --duration 25
        assert json.loads(first)["event"] == "registered", first + agent.stderr.read()  # type: ignore[union-attr]
        citizen = Sipp(
            tmp_path / "sipp",
            scenario("citizen_call.xml", hangup="local"),
            [
                f"127.0.0.1:{kamailio.port}",
                "-s",
                sip_user,
                "-m",
                "1",
                "-p",
                str(free_udp_port()),
                "-key",
                "codecs",
                "0 101",
                "-key",
                "hdr",
                "X-Rig: 1",
            ],
        ).start()
        out, err = agent.communicate(timeout=40)
        assert citizen.wait(20) == 0, citizen.report()
    finally:
        kill_group(agent)  # type: ignore[arg-type]
        if citizen:
            citizen.stop()
    assert agent.returncode == 0, err
    events = [json.loads(line) for line in (first + out).splitlines()]
    names = [e["event"] for e in events]
    assert names[:1] == ["registered"] and "call_offered" in names and names[-1] == "call_ended", names
    offered = next(e for e in events if e["event"] == "call_offered")
    assert offered["caller"] == "13800138100" and offered["t"] >= 0
    end = events[-1]
    assert end["reason"] == "local_hangup" and end["call_id"] == offered["call_id"]
    assert all({"event", "t"} <= e.keys() for e in events)
    heard = audio.read_wav_pcm16(tmp_path / "rec" / f"{end['call_id']}-rx.wav")
    sent = audio.read_wav_pcm16(tmp_path / "rec" / f"{end['call_id']}-tx.wav")
    assert audio.goertzel_share(heard[: audio.RATE * 2], 1000) > 0.8
    assert audio.goertzel_share(sent[: audio.RATE * 2], 440) > 0.8
    assert (
        "secret" not in (tmp_path / "hotline.log").read_text()
        if (tmp_path / "hotline.log").exists()
        else True
    )

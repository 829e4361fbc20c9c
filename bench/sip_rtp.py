"""RTP send timing, CPU and memory of the SIP worker during calls, on loopback.

    .venv/bin/python bench/sip_rtp.py [--calls 1] [--seconds 30]

Calls the line through kamailio with a minimal UAC (bench/sip_latency.py) whose SDP points at
sockets of this process, so every RTP packet the line sends is timed here. Prints the send
interval (median / p95 / p99, ms), jitter |interval - 20 ms| p99, the worker's CPU per call (% of
one core, from /proc) and its RSS at start and end with the slope in MB per minute.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.siprig import EventLog, Kamailio, line_config
from percentiles import pct
from sip_latency import SDP, Uac

from telephony import audio
from telephony.sip import SipLine


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def receive(sock: socket.socket, until: float, arrivals: list[float]) -> None:
    sock.settimeout(0.5)
    while time.monotonic() < until:
        try:
            sock.recv(2048)
        except TimeoutError:
            continue
        arrivals.append(time.monotonic())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="siprtp-"))
    wav = tmp / "speech.wav"
    audio.write_wav_pcm16(wav, audio.tone(440, args.seconds + 5))
    kam = Kamailio(tmp / "kam").start()
    log = EventLog()
    line = SipLine(
        line_config(kam, "1001", tmp, record_dir=str(tmp / "rec"), play_wav=str(wav), log_level="warning")
    )
    log.on_offer = lambda ev: line.answer(ev.call_id)
    line.start(log)
    uac = Uac(kam.port, "1001")
    try:
        assert log.wait_for(lambda e: e.name == "registered", 8), "line did not register"
        pid = line.worker_pid
        assert pid is not None
        time.sleep(1.0)
        idle0, t_idle = cpu_seconds(pid), time.monotonic()
        time.sleep(3.0)
        idle_pct = 100 * (cpu_seconds(pid) - idle0) / (time.monotonic() - t_idle)
        sinks, calls = [], []
        for i in range(args.calls):
            sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sink.bind(("127.0.0.1", 0))
            call_id = f"rtp-{i}-{uuid.uuid4().hex[:8]}"
            uac.sock.sendto(
                uac.request("INVITE", call_id, 1, body=SDP.format(port=sink.getsockname()[1])), uac.kam
            )
            _, resp = uac.wait_status(200)
            tag = resp.split(b"To:", 1)[1].split(b"tag=", 1)[1].split(b"\r\n", 1)[0].decode()
            uac.sock.sendto(uac.request("ACK", call_id, 1, tag), uac.kam)
            sinks.append(sink)
            calls.append((call_id, tag))
        until = time.monotonic() + args.seconds
        arrivals: list[list[float]] = [[] for _ in sinks]
        threads = [
            threading.Thread(target=receive, args=(s, until, a)) for s, a in zip(sinks, arrivals, strict=True)
        ]
        for th in threads:
            th.start()
        c0, t0, rss0 = cpu_seconds(pid), time.monotonic(), rss_mb(pid)
        rss_samples = [(0.0, rss0)]
        while time.monotonic() < until:
            time.sleep(min(5.0, max(0.0, until - time.monotonic())))
            rss_samples.append((time.monotonic() - t0, rss_mb(pid)))
        cpu_pct = 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
        for th in threads:
            th.join()
        for call_id, tag in calls:
            uac.sock.sendto(uac.request("BYE", call_id, 2, tag), uac.kam)
            uac.wait_status(200)
    finally:
        line.stop()
        kam.stop()
    intervals = [1000 * (b - a) for arr in arrivals for a, b in itertools.pairwise(arr)]
    jitter = [abs(x - 20.0) for x in intervals]
    xs = [t for t, _ in rss_samples]
    ys = [m for _, m in rss_samples]
    slope = statistics.linear_regression(xs, ys).slope * 60 if len(xs) > 1 else 0.0
    print(f"calls={args.calls} seconds={args.seconds:g} packets={sum(len(a) for a in arrivals)}")
    print(
        f"RTP send interval   median={statistics.median(intervals):6.2f} ms  p95={pct(intervals, 95):6.2f} ms  "
        f"p99={pct(intervals, 99):6.2f} ms  mean={statistics.mean(intervals):6.3f} ms"
    )
    print(f"jitter |iv-20 ms|   p99={pct(jitter, 99):6.2f} ms  max={max(jitter):6.2f} ms")
    print(
        f"worker CPU          idle={idle_pct:5.2f} %  with calls={cpu_pct:5.2f} %  "
        f"per call={(cpu_pct - idle_pct) / args.calls:5.2f} % of one core"
    )
    print(f"worker RSS          start={ys[0]:6.1f} MB  end={ys[-1]:6.1f} MB  slope={slope:+.3f} MB/min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""SIP line latency on loopback: INVITE -> 180, INVITE -> call_offered, answer -> 200 OK, and
INVITE -> 200 OK with auto-answer for our line and for baresip (the ratio ours / baresip).

    .venv/bin/python bench/sip_latency.py [--calls 50] [--no-baresip]

Starts its own kamailio (tests/helpers/siprig.py) and a SipLine (worker process); a minimal UAC
in this process sends each INVITE through kamailio, so all times are on this process's monotonic
clock, which is also the line's event clock. Prints median / p95 / p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.siprig import Baresip, EventLog, Kamailio, free_udp_port, line_config
from percentiles import pct

from telephony.events import CallOffered
from telephony.sip import SipLine

SDP = (
    "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)


class Uac:
    def __init__(self, kam_port: int, user: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.kam = ("127.0.0.1", kam_port)
        self.user = user

    def request(self, method: str, call_id: str, cseq: int, to_tag: str = "", body: str = "") -> bytes:
        to = f"<sip:{self.user}@127.0.0.1:{self.kam[1]}>" + (f";tag={to_tag}" if to_tag else "")
        head = (
            f"{method} sip:{self.user}@127.0.0.1:{self.kam[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:16]}\r\n"
            f"From: <sip:13800000000@127.0.0.1:{self.port}>;tag=bench\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\nContact: <sip:bench@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n"
        )
        if body:
            head += "Content-Type: application/sdp\r\n"
        return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()

    def wait_status(self, code: int) -> tuple[float, bytes]:
        while True:
            data = self.sock.recv(65535)
            if data.startswith(f"SIP/2.0 {code}".encode()):
                return time.monotonic(), data


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--no-baresip", action="store_true", help="skip the baresip comparison")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sipbench-"))
    kam = Kamailio(tmp / "kam").start()
    log = EventLog()
    answered_at: dict[str, float] = {}
    line = SipLine(line_config(kam, "1001", tmp, record_dir=None, log_level="warning"), clock=time.monotonic)

    def on_offer(ev: CallOffered) -> None:
        answered_at[ev.call_id] = time.monotonic()
        line.answer(ev.call_id)

    log.on_offer = on_offer
    line.start(log)
    uac = Uac(kam.port, "1001")
    ours_200: list[float] = []
    baresip_200: list[float] = []
    ringing: list[float] = []
    offered: list[float] = []
    answer: list[float] = []
    seen: set[str] = set()
    try:
        assert log.wait_for(lambda e: e.name == "registered", 8), "line did not register"
        for i in range(args.calls):
            call_id = f"bench-{i}-{uuid.uuid4().hex[:8]}"
            t0 = time.monotonic()
            uac.sock.sendto(uac.request("INVITE", call_id, 1, body=SDP.format(port=free_udp_port())), uac.kam)
            t180, _ = uac.wait_status(180)
            t200, resp = uac.wait_status(200)
            tag = resp.split(b"To:", 1)[1].split(b"tag=", 1)[1].split(b"\r\n", 1)[0].decode()
            uac.sock.sendto(uac.request("ACK", call_id, 1, tag), uac.kam)
            ev = log.wait_for(lambda e: isinstance(e, CallOffered) and e.call_id not in seen, 5)
            assert isinstance(ev, CallOffered)
            seen.add(ev.call_id)
            ringing.append(1000 * (t180 - t0))
            ours_200.append(1000 * (t200 - t0))
            offered.append(1000 * (ev.t - t0))
            answer.append(1000 * (t200 - answered_at[ev.call_id]))
            uac.sock.sendto(uac.request("BYE", call_id, 2, tag), uac.kam)
            uac.wait_status(200)
            threading.Event().wait(0.05)
        if not args.no_baresip and shutil.which("baresip"):
            baresip_200 = time_baresip(kam, tmp, args.calls)
    finally:
        line.stop()
        kam.stop()
    rows = [
        ("INVITE -> 180 Ringing", ringing),
        ("INVITE -> call_offered", offered),
        ("answer() -> 200 OK at the caller", answer),
        ("INVITE -> 200 OK, ours (auto-answer)", ours_200),
    ]
    if baresip_200:
        rows.append(("INVITE -> 200 OK, baresip (auto)", baresip_200))
    for name, xs in rows:
        print(
            f"{name:38} n={len(xs):3}  median={statistics.median(xs):6.2f} ms  p95={pct(xs, 95):6.2f} ms  "
            f"p99={pct(xs, 99):6.2f} ms"
        )
    if baresip_200:
        print(
            f"ratio ours / baresip (median INVITE -> 200 OK): "
            f"{statistics.median(ours_200) / statistics.median(baresip_200):.2f}"
        )
    return 0


def time_baresip(kam: Kamailio, tmp: Path, calls: int) -> list[float]:
    """The same INVITE -> 200 OK against baresip 2001 (answermode=auto), through the same kamailio."""
    phone = Baresip(tmp / "baresip", kam, user="2001").start(60 + calls)
    uac = Uac(kam.port, "2001")
    times: list[float] = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(times) < calls:
            call_id = f"bares-{uuid.uuid4().hex[:8]}"
            t0 = time.monotonic()
            uac.sock.sendto(uac.request("INVITE", call_id, 1, body=SDP.format(port=free_udp_port())), uac.kam)
            data = uac.sock.recv(65535)
            while data[8:9] == b"1":  # provisional answers
                data = uac.sock.recv(65535)
            if not data.startswith(b"SIP/2.0 2"):
                time.sleep(0.5)  # baresip not registered yet
                continue
            t200 = time.monotonic()
            tag = data.split(b"To:", 1)[1].split(b"tag=", 1)[1].split(b"\r\n", 1)[0].decode()
            uac.sock.sendto(uac.request("ACK", call_id, 1, tag), uac.kam)
            uac.sock.sendto(uac.request("BYE", call_id, 2, tag), uac.kam)
            uac.wait_status(200)
            times.append(1000 * (t200 - t0))
            deadline = time.monotonic() + 10
            time.sleep(0.05)
    finally:
        phone.stop()
    return times


if __name__ == "__main__":
    sys.exit(main())

"""``hotline agent``: the SIP line without a UI, for operations checks, the rig and load tests.

Registers the configured ``[sip]`` line and prints one JSON object per line on stdout for every
event (``event``, ``t`` = seconds since start, ``call_id`` for calls, ...). It can answer and hang up
by itself after fixed delays, play a WAV file to callers and record both directions of each call.

Each call and its events (and, with ``--record``, the recording's path) are written to the configured
store by the console's own ``CallLog`` (console.services.call_log), so the agent's calls count in the
KPIs and worklists exactly like an operator's; ``--no-store`` skips that for a pure line check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli import CommandContext
    from console.config import SipConfig as SipSection
    from telephony.events import Event
    from telephony.sip import SipConfig

EventSink = Callable[["Event"], None]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "agent", help="headless SIP line: register, answer, print one JSON event per line"
    )
    p.add_argument("--config", metavar="FILE", help="the config.toml to use (its [sip] section)")
    p.add_argument(
        "--answer-after", type=_seconds, metavar="S", help="answer each offered call after S seconds"
    )
    p.add_argument("--hangup-after", type=_seconds, metavar="S", help="hang up S seconds after answering")
    p.add_argument("--play", metavar="FILE.wav", help="play this WAV file to each answered caller")
    p.add_argument(
        "--record", metavar="DIR", help="record both directions of each call to DIR/<call_id>-rx|tx.wav"
    )
    p.add_argument(
        "--audio-device",
        metavar="NAME",
        help="bridge answered calls to this local sound device ('default'; needs the audio extra)",
    )
    p.add_argument("--max-calls", type=int, metavar="N", help="exit after N calls have ended")
    p.add_argument("--duration", type=_seconds, metavar="S", help="exit after S seconds")
    p.add_argument("--no-store", action="store_true", help="do not write the calls to the store")
    p.set_defaults(handler=run_agent)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


def line_config(
    sip: SipSection,
    *,
    record_dir: Path | None = None,
    play_wav: Path | None = None,
    audio_device: str | None = None,
) -> SipConfig:
    """The telephony SipConfig from the console's ``[sip]`` section, every key of it, and what the
    caller adds: where to record, what to play, and a sound device that overrides ``[sip]``'s."""
    from telephony.sip import SipConfig

    if not sip.username:
        from console.cli import CommandError

        raise CommandError("agent: [sip] username is not set (config.toml or HOTLINE_SIP__USERNAME)", 2)
    return SipConfig(
        server=sip.server,
        port=sip.port,
        username=sip.username,
        password=sip.password.get_secret_value(),
        auth_username=sip.auth_username,
        domain=sip.domain,
        display_name=sip.display_name,
        bind_ip=sip.bind_ip,
        sip_port=sip.sip_port,
        rtp_port_min=sip.rtp_port_min,
        rtp_port_max=sip.rtp_port_max,
        expires=sip.expires,
        register_timeout=sip.register_timeout,
        codecs=tuple(sip.codecs),
        dtmf_mode=sip.dtmf_mode,
        record_dir=str(record_dir) if record_dir is not None else None,
        play_wav=str(play_wav) if play_wav is not None else None,
        audio_device=audio_device or sip.audio_device or None,
        disabled_fixes=frozenset() if sip.registrar_only_inbound else frozenset({"ghost"}),
    )


def run_agent(args: argparse.Namespace, ctx: CommandContext, sink: EventSink | None = None) -> int:
    from console.services.call_log import CallLog
    from store.db import utcnow
    from telephony.events import CallAnswered, CallEnded, CallOffered, Registered, monotonic_clock
    from telephony.line import LineCommandError
    from telephony.sip import SipLine

    cfg = line_config(
        ctx.config.sip,
        record_dir=Path(args.record) if args.record else None,
        play_wav=Path(args.play) if args.play else None,
        audio_device=args.audio_device,
    )
    # the store is opened (and a bad one refused) before the line registers
    store = None if getattr(args, "no_store", False) else ctx.store
    clock, origin = monotonic_clock(), utcnow()  # t = 0 on the line's clock is `origin` on the wall
    if sink is None and store is not None:
        record_dir = Path(args.record).resolve() if args.record else None
        sink = CallLog(store, origin=origin, recording_dir=record_dir).on_event
    events: queue.Queue[Event] = queue.Queue()
    line = SipLine(cfg, clock=clock)
    timers: list[tuple[float, Callable[[], None]]] = []  # (due on clock, action), run by this thread
    ended = 0
    registered = False
    line.start(events.put)
    try:
        while True:
            now = clock()
            if args.duration is not None and now >= args.duration:
                break
            for due, action in [t for t in timers if t[0] <= now]:
                timers.remove((due, action))
                with contextlib.suppress(LineCommandError):  # the call ended meanwhile
                    action()
            try:
                ev = events.get(timeout=0.05)
            except queue.Empty:
                continue
            _print_event(ev)
            if sink is not None:
                sink(ev)
            if isinstance(ev, Registered):
                registered = True
            elif isinstance(ev, CallOffered) and args.answer_after is not None:
                timers.append((ev.t + args.answer_after, partial(line.answer, ev.call_id)))
            elif isinstance(ev, CallAnswered) and args.hangup_after is not None:
                timers.append((ev.t + args.hangup_after, partial(line.hangup, ev.call_id)))
            elif isinstance(ev, CallEnded):
                ended += 1
                if args.max_calls is not None and ended >= args.max_calls:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        line.stop()
        while not events.empty():  # what arrived while stopping (calls hung up, ...)
            ev = events.get_nowait()
            _print_event(ev)
            if sink is not None:
                sink(ev)
    return 0 if registered else 1


def _print_event(ev: Event) -> None:
    data = ev.to_dict()
    data["t"] = round(data["t"], 4)
    sys.stdout.write(json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False) + "\n")
    sys.stdout.flush()

"""The calls ``hotline demo`` and ``hotline console --sim`` ring on a simulated line.

The pace is ``[demo]``: by default a call every 60-120 s, which one operator handling a call in
about 75 s (talk, ticket, wrap-up) keeps up with, so the queue stays short; callers
who wait to be answered stay on the line until the operator hangs up (10-20 minutes at most), and a
few hang up after one or two rings. ``[demo] busy`` is the stress mode: a call every 8-20 s, callers
who give up after 2-5 minutes, a quarter who hang up while it rings. About a third of the calls come
from numbers that already have tickets (repeat callers). The script is seeded, so two demos ring the
same calls.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from console.config import DemoConfig
from telephony.sim import ScriptedCall, SimLine, ThreadScheduler

DEMO_USER, DEMO_PASSWORD, DEMO_NAME = "demo", "demo", "演示话务员"
FIRST_RING = 3.0  # seconds after start: the demo operator is logged in by then
DEMO_CALLS = 200


@dataclass(frozen=True)
class Pacing:
    """How the simulated calls arrive: seconds between two calls; how long a caller stays on the
    line at most (counted from the first ring, queue included: the operator normally hangs up
    first); the share who give up while it rings, and after how many seconds."""

    interval: tuple[float, float] = (60.0, 120.0)
    patience: tuple[float, float] = (600.0, 1200.0)
    give_up_share: float = 0.1
    # calm: a one-ring hang-up, over before an operator who reads the ringing pop answers (a later
    # one would hang up a few seconds into the answered call)
    give_up_after: tuple[float, float] = (1.5, 3.0)


CALM = Pacing()
BUSY = Pacing(interval=(8.0, 20.0), patience=(120.0, 300.0), give_up_share=0.25, give_up_after=(5.0, 12.0))


def pacing_of(demo: DemoConfig) -> Pacing:
    """The pace ``[demo]`` asks for: ``busy`` is the stress mode, else the configured interval."""
    if demo.busy:
        return BUSY
    return Pacing(interval=(demo.call_interval_min, demo.call_interval_max))


def demo_script(
    repeat_numbers: Sequence[str],
    count: int = DEMO_CALLS,
    seed: int = 7,
    first_ring: float = FIRST_RING,
    pacing: Pacing = CALM,
) -> list[ScriptedCall]:
    """``count`` calls at ``pacing``: a third from numbers with history, some who give up ringing."""
    rng = random.Random(seed)
    names = ("", "", "", "张先生", "李女士", "王阿姨", "刘师傅")
    out: list[ScriptedCall] = []
    at = first_ring
    for i in range(max(0, count)):
        if repeat_numbers and rng.random() < 0.35:
            number = rng.choice(list(repeat_numbers))
        elif rng.random() < 0.2:
            number = f"0412{rng.randint(2000000, 8999999)}"  # an Anshan landline
        else:
            number = f"1{rng.choice('35789')}{rng.randint(100000000, 999999999)}"
        gives_up = i > 0 and rng.random() < pacing.give_up_share  # the first call always waits
        hangup = rng.uniform(*(pacing.give_up_after if gives_up else pacing.patience))
        out.append(
            ScriptedCall(caller=number, display_name=rng.choice(names), ring_at=at, hangup_after=hangup)
        )
        at += rng.uniform(*pacing.interval)
    return out


def demo_line(repeat_numbers: Sequence[str], count: int = DEMO_CALLS, pacing: Pacing = CALM) -> SimLine:
    """A SimLine in real time ringing ``demo_script`` calls at ``pacing``."""
    return SimLine(demo_script(repeat_numbers, count, pacing=pacing), ThreadScheduler())

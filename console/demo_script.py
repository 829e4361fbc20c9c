"""The calls ``hotline demo`` and ``hotline console --sim`` ring on a simulated line.

Calls every 8-20 s: about a third from numbers that already have tickets (repeat callers), a quarter
of them hang up while it still rings. The script is seeded, so two demos ring the same calls.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from telephony.sim import ScriptedCall, SimLine, ThreadScheduler

DEMO_USER, DEMO_PASSWORD, DEMO_NAME = "demo", "demo", "演示话务员"
FIRST_RING = 3.0  # seconds after start: the demo operator is logged in by then
DEMO_CALLS = 200


def demo_script(
    repeat_numbers: Sequence[str], count: int = DEMO_CALLS, seed: int = 7, first_ring: float = FIRST_RING
) -> list[ScriptedCall]:
    """Calls every 8-20 s: a third from numbers with history, a quarter hang up while it rings."""
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
        gives_up = i > 0 and rng.random() < 0.25  # the first call always waits to be answered
        hangup = rng.uniform(5, 12) if gives_up else rng.uniform(120, 300)
        out.append(
            ScriptedCall(caller=number, display_name=rng.choice(names), ring_at=at, hangup_after=hangup)
        )
        at += rng.uniform(8, 20)
    return out


def demo_line(repeat_numbers: Sequence[str], count: int = DEMO_CALLS) -> SimLine:
    """A SimLine in real time ringing ``demo_script`` calls."""
    return SimLine(demo_script(repeat_numbers, count), ThreadScheduler())

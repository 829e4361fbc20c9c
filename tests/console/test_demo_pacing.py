"""The demo's pace (``[demo]``): one operator keeps up by default, ``busy`` is the stress mode.

The walkthrough's demo rang a call every 8-20 s: with one operator the queue sat at 9-14 and the
callers who had waited minutes hung up a few seconds after being answered.
"""

from __future__ import annotations

import heapq
import itertools

import pytest

from console import bootstrap
from console.config import Config, ConfigError, load_config
from console.demo_script import BUSY, CALM, demo_script, pacing_of
from telephony.sim import ScriptedCall, SimLine

HANDLE_SECONDS = 75.0  # one call at the desk: talk, ticket, wrap-up
ANSWER_DELAY = 3.0  # the operator reads the ringing pop, then answers


def _gaps(script: list[ScriptedCall]) -> list[float]:
    return [b.ring_at - a.ring_at for a, b in itertools.pairwise(script)]


def _queue_and_late_hangups(script: list[ScriptedCall]) -> tuple[int, int]:
    """One operator answering in ring order and spending HANDLE_SECONDS on each call: the longest
    queue seen, and how many answered callers hang up within 10 s of being answered."""
    free_at = 0.0
    waiting: list[float] = []  # when the calls queued ahead finish
    longest = late = 0
    for call in script:
        while waiting and waiting[0] <= call.ring_at:
            heapq.heappop(waiting)
        assert call.hangup_after is not None
        gives_up_at = call.ring_at + call.hangup_after
        answer_at = max(call.ring_at + ANSWER_DELAY, free_at)
        if answer_at >= gives_up_at:
            continue  # gave up while it rang (a missed call, not a late hang-up)
        if gives_up_at - answer_at < 10.0:
            late += 1
        free_at = answer_at + HANDLE_SECONDS
        heapq.heappush(waiting, free_at)
        longest = max(longest, len(waiting) - 1)
    return longest, late


def test_the_default_pace_is_one_an_operator_keeps_up_with() -> None:
    script = demo_script(["13904121037"], 200)
    assert all(60.0 <= gap <= 120.0 for gap in _gaps(script))
    longest, late = _queue_and_late_hangups(script)
    assert longest <= 1 and late == 0
    waiting = [c.hangup_after for c in script if c.hangup_after and c.hangup_after > 60]
    assert min(waiting) >= 600  # a caller who waits stays until the operator hangs up


def test_busy_is_the_stress_mode() -> None:
    script = demo_script(["13904121037"], 200, pacing=BUSY)
    assert all(8.0 <= gap <= 20.0 for gap in _gaps(script))
    longest, _late = _queue_and_late_hangups(script)
    assert longest >= 3  # the queue grows (callers abandon it after 2-5 minutes): what --busy is for
    assert sum(1 for c in script if c.hangup_after is not None and c.hangup_after < 15) > 200 * 0.15


def test_demo_settings_reach_the_simulated_line() -> None:
    calm = bootstrap.make_line(Config(), sim=True, repeat_numbers=["13904121037"], calls=20)
    assert isinstance(calm, SimLine) and all(60.0 <= g <= 120.0 for g in _gaps(calm.script))
    busy = load_config(env={"HOTLINE_DEMO__BUSY": "true"})
    assert pacing_of(busy.demo) == BUSY
    line = bootstrap.make_line(busy, sim=True, calls=20)
    assert isinstance(line, SimLine) and all(8.0 <= g <= 20.0 for g in _gaps(line.script))
    slow = load_config(
        env={"HOTLINE_DEMO__CALL_INTERVAL_MIN": "200", "HOTLINE_DEMO__CALL_INTERVAL_MAX": "300"}
    )
    assert pacing_of(slow.demo).interval == (200.0, 300.0) and pacing_of(Config().demo) == CALM
    line = bootstrap.make_line(slow, sim=True, calls=20)
    assert isinstance(line, SimLine) and all(200.0 <= g <= 300.0 for g in _gaps(line.script))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"HOTLINE_DEMO__CALL_INTERVAL_MIN": "100", "HOTLINE_DEMO__CALL_INTERVAL_MAX": "50"},
            "demo.call_interval_max: expected call_interval_min <= call_interval_max",
        ),
        ({"HOTLINE_DEMO__CALL_INTERVAL_MIN": "0"}, "demo.call_interval_min: expected a number 1-3600, got"),
        ({"HOTLINE_DEMO__BUSY": "sometimes"}, "demo.busy: expected true or false"),
    ],
)
def test_bad_demo_settings_are_one_clear_line(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        load_config(env=env)

"""SimLine: scripted calls, same events as the SIP line, deterministic with a manual scheduler."""

from __future__ import annotations

import threading

import pytest

from telephony.events import CallEnded, Event
from telephony.line import Line, LineCommandError
from telephony.sim import ManualScheduler, ScriptedCall, SimLine


def started(script: list[ScriptedCall]) -> tuple[SimLine, ManualScheduler, list[Event]]:
    sched = ManualScheduler()
    events: list[Event] = []
    line = SimLine(script, scheduler=sched)
    line.start(events.append)
    return line, sched, events


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


def test_simline_is_a_line() -> None:
    assert isinstance(SimLine([]), Line)


def test_answered_call_with_dtmf_and_caller_hangup() -> None:
    line, sched, events = started(
        [ScriptedCall("13800138000", "张三", ring_at=2.0, hangup_after=10.0, dtmf=((1.0, "1"), (1.5, "#")))]
    )
    sched.advance(1.9)
    assert names(events) == ["registered"]
    sched.advance(0.2)
    offered = events[-1]
    assert offered.name == "call_offered" and offered.t == 2.0
    assert (offered.caller, offered.display_name) == ("13800138000", "张三")  # type: ignore[attr-defined]
    sched.advance(1.0)  # t = 3.1
    line.answer(offered.call_id)  # type: ignore[attr-defined]
    sched.advance(20)
    assert names(events) == ["registered", "call_offered", "call_answered", "dtmf", "dtmf", "call_ended"]
    assert "".join(e.digit for e in events if e.name == "dtmf") == "1#"  # type: ignore[attr-defined]
    end = events[-1]
    assert isinstance(end, CallEnded) and end.reason == "remote_bye" and end.t == 12.0


def test_caller_gives_up_while_ringing_and_cannot_be_answered() -> None:
    line, sched, events = started([ScriptedCall("110", ring_at=0.5, hangup_after=3.0)])
    sched.advance(5)
    end = events[-1]
    assert isinstance(end, CallEnded) and end.reason == "cancelled" and end.t == 3.5
    with pytest.raises(LineCommandError):
        line.answer(end.call_id)


def test_reject_hold_resume_transfer_and_hangup() -> None:
    line, sched, events = started([ScriptedCall("1", ring_at=0), ScriptedCall("2", ring_at=1)])
    sched.advance(0)
    first = events[-1].call_id  # type: ignore[attr-defined]
    line.reject(first, 603)
    sched.advance(1)
    second = events[-1].call_id  # type: ignore[attr-defined]
    line.answer(second)
    line.hold(second)
    with pytest.raises(LineCommandError):
        line.hold(second)
    line.resume(second)
    line.mute(second, True)
    line.send_dtmf(second, "12")
    line.blind_transfer(second, "8001")
    sched.advance(1)
    assert names(events)[1:] == [
        "call_offered",
        "call_ended",
        "call_offered",
        "call_answered",
        "call_held",
        "call_resumed",
        "call_transferred",
        "call_ended",
    ]
    assert [e.reason for e in events if isinstance(e, CallEnded)] == ["rejected", "local_hangup"]
    with pytest.raises(LineCommandError):
        line.hangup(second)
    line.stop()


def test_dial_and_real_time_scheduler_delivers_from_a_line_thread() -> None:
    got = threading.Event()
    threads: list[str] = []

    def on_event(ev: Event) -> None:
        threads.append(threading.current_thread().name)
        if ev.name == "call_answered":
            got.set()

    line = SimLine([])
    line.start(on_event)
    call_id = line.dial("13900000000")
    assert got.wait(5)
    assert set(threads) == {"simline"}
    line.hangup(call_id)
    line.stop()


def test_attended_transfer_joins_the_caller_to_the_consultation_call() -> None:
    line, sched, events = started([ScriptedCall("13800138000", ring_at=0.0)])
    sched.advance(0.1)
    caller = events[-1].call_id  # type: ignore[attr-defined]
    line.answer(caller)
    line.hold(caller)
    consult = line.dial("0310")
    sched.advance(1.0)
    with pytest.raises(LineCommandError):
        line.attended_transfer(caller, caller)
    line.attended_transfer(caller, consult)
    sched.advance(0.1)
    transferred = [e for e in events if e.name == "call_transferred"]
    assert [(e.call_id, e.target, e.replaces) for e in transferred] == [  # type: ignore[attr-defined]
        (caller, "0310", consult)
    ]
    assert {e.call_id: e.reason for e in events if isinstance(e, CallEnded)} == {
        caller: "local_hangup",
        consult: "remote_bye",
    }
    with pytest.raises(LineCommandError):
        line.attended_transfer(caller, consult)

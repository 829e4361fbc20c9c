"""Show that each rig test fails with its pyVoIP workaround switched off (and passes with it on).

    .venv/bin/python tests/telephony/prove_fixes.py      # ~2-3 min; prints one line per fix

Not collected by pytest (no test_ prefix): it runs pytest once per fix with
HOTLINE_SIP_DISABLE_FIXES=<fix> and -k <that fix's test>.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = {
    "qop": "test_register_with_qop_auth",
    "expires": "test_register_refreshes_within_the_granted_expiry",
    "callid": "test_call_ids_differ_across_restarts",
    "offer_delay": "test_offer_reaches_the_operator_before_a_quick_cancel",
    "cancel": "test_cancel_while_ringing_gets_487_and_is_never_answerable",
    "bye": "test_local_hangup_bye_is_answered",
    "options": "test_options_is_answered",
    "parser": "test_empty_supported_header_still_rings",
    "ghost": "test_ghost_invite_is_refused_and_reported",
    "pcma": "test_tone_out_is_on_the_wire and PCMA",
    "dtmf_bounds": "test_out_of_range_telephone_event_does_not_kill_dtmf",
    "cleanup": "test_ended_calls_free_their_rtp_ports",
    "reinvite": "test_hold_and_resume_from_the_far_end",
    "watchdog": "test_line_is_back_after_a_pbx_restart",
    "codecs": "test_offer_without_g711_gets_488",
    "contact": "test_ringing_carries_our_contact",
}


def run(fix: str, expr: str, disabled: bool) -> bool:
    env = {**os.environ, "HOTLINE_SIP_DISABLE_FIXES": fix if disabled else ""}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "test_sip_rig.py"),
            "-k",
            expr,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode == 0


def main() -> int:
    ok = True
    for fix, expr in TESTS.items():
        with_fix, without = run(fix, expr, False), run(fix, expr, True)
        good = with_fix and not without
        ok &= good
        print(
            f"{'ok ' if good else 'BAD'} {fix:12} with fix: {'pass' if with_fix else 'FAIL'}  "
            f"plain pyVoIP: {'pass' if without else 'fail'}  ({expr})",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

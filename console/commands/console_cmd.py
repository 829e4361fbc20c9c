"""``hotline console``: the operator console (Textual) on the configured store and line.

The line is the ``[sip]`` account when ``sip.enabled``; ``--sim`` rings simulated demo calls instead;
otherwise the console runs without a phone (tickets and worklists still work) and says so.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli import CommandContext
    from console.config import Config
    from telephony.line import Line


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "console", help="the operator console (Textual): log in, take calls, file tickets"
    )
    p.add_argument("--sim", action="store_true", help="ring simulated demo calls instead of the SIP line")
    p.add_argument("--user", metavar="NAME", help="user name proposed at the login screen")
    p.set_defaults(handler=run_console)


def make_line(config: Config, sim: bool) -> Line:
    """The SIP line of ``[sip]``, the simulated demo line, or a line that is not there."""
    if sim:
        from console.commands._demo_ui import demo_line

        return demo_line([])
    if config.sip.enabled:
        from console.commands.agent import line_config
        from telephony.sip import SipLine

        opts = argparse.Namespace(
            record=str(config.recording.resolved_directory) if config.recording.enabled else None,
            play=None,
            audio_device=None,
        )
        return SipLine(line_config(config.sip, opts))
    from console.services.desk import OfflineLine

    return OfflineLine("[sip] enabled = false")


def prepare_terminal(config: Config) -> None:
    """Environment Textual reads at import: frame rate, and the kitty keyboard switch for IMEs."""
    os.environ.setdefault("TEXTUAL_FPS", str(config.ui.fps))
    if config.ui.disable_kitty_keyboard:
        os.environ["TEXTUAL_DISABLE_KITTY_KEY"] = "1"


def quiet_logging(config: Config) -> None:
    """Logs to the file only: a line on stderr would be drawn over the console's screen."""
    from console.logs import configure_logging

    try:
        configure_logging(config.logging, cli=False, secrets=config.secrets())
    except OSError:
        configure_logging(config.logging, cli=False, secrets=config.secrets(), to_file=False)


def run_console(args: argparse.Namespace, ctx: CommandContext) -> int:
    config = ctx.config
    prepare_terminal(config)
    quiet_logging(config)
    from console import wiring
    from console.app import HotlineApp
    from console.commands.sync import build_sync_thread

    if args.user:
        config = config.model_copy(
            update={"operator": config.operator.model_copy(update={"username": args.user})}
        )
    store = ctx.store
    line = make_line(config, args.sim)
    sync = build_sync_thread(store, config)
    if sync is not None:
        sync.start()
    try:
        app = HotlineApp(
            config, store, line, form_factory=wiring.ticket_form, worklists=wiring.worklists, sync=sync
        )
        app.run()
        app.shutdown()
    finally:
        if sync is not None:
            sync.stop(5)
    return 0

"""``hotline console``: the operator console (Textual) on the configured store and line.

The line is the ``[sip]`` account when ``sip.enabled``; ``--sim`` rings simulated demo calls instead
(at the ``[demo]`` pace, ``--busy`` for the stress mode);
otherwise the console runs without a phone (tickets and worklists still work) and says so.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "console", help="the operator console (Textual): log in, take calls, file tickets"
    )
    p.add_argument("--sim", action="store_true", help="ring simulated demo calls instead of the SIP line")
    p.add_argument(
        "--busy", action="store_true", help="with --sim: a call every 8-20 s (same as [demo] busy = true)"
    )
    p.add_argument("--user", metavar="NAME", help="user name proposed at the login screen")
    p.set_defaults(handler=run_console)


def run_console(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console import bootstrap  # here, not at the top: ``hotline --help`` stays fast

    config = ctx.config
    bootstrap.prepare_terminal(config)
    bootstrap.quiet_logging(config)
    if args.user:
        config = config.model_copy(
            update={"operator": config.operator.model_copy(update={"username": args.user})}
        )
    if args.busy:
        config = config.model_copy(update={"demo": config.demo.model_copy(update={"busy": True})})
    store = ctx.store
    bootstrap.run_app(config, store, bootstrap.make_line(config, sim=args.sim))
    return 0

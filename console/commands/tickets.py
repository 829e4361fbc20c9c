"""``hotline tickets list`` and ``hotline tickets show NUMBER`` (read-only views of the store)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from console.commands import format_table, local_times, print_json

if TYPE_CHECKING:
    from console.cli import CommandContext

LIST_COLUMNS = [
    "number",
    "status",
    "created_at",
    "nature",
    "board",
    "leaf_code",
    "district",
    "urgency",
    "department",
    "deadline",
]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    tickets = subparsers.add_parser("tickets", help="work orders: list, show one with its history")
    actions = tickets.add_subparsers(dest="tickets_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the newest tickets first")
    listing.add_argument("--status", help="only this status (已受理, 已派单, 办理中, 已办结 ...)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="a JSON array of tickets")
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="one ticket and every change made to it")
    show.add_argument("number", help="the ticket number, e.g. AS20261128000123")
    show.add_argument("--json", action="store_true", help="the ticket as JSON with its `events` array")
    show.set_defaults(handler=run_show)

    create = actions.add_parser("create", help="file tickets from other channels (web form, app, mailbox)")
    create.add_argument(
        "--json-file",
        required=True,
        type=Path,
        metavar="FILE",
        help="a JSON array of tickets; prints a JSON array of the created numbers",
    )
    create.set_defaults(handler=run_create)


def run_list(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.tickets import TicketError, list_tickets, ticket_as_dict

    try:
        with ctx.existing_store.read() as session:
            rows = [ticket_as_dict(t) for t in list_tickets(session, status=args.status, limit=args.limit)]
    except TicketError as exc:
        raise TicketError(f"tickets list: {exc}") from None
    if args.json:
        print_json(rows)
    else:
        print(format_table([local_times(r) for r in rows], LIST_COLUMNS))
    return 0


def run_show(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console.cli import CommandError
    from store.tickets import find_ticket, ticket_as_dict

    with ctx.existing_store.read() as session:
        ticket = find_ticket(session, args.number)
        if ticket is None:
            raise CommandError(f"tickets show: no ticket {args.number}")
        shown = ticket_as_dict(ticket, with_events=True)
    if args.json:
        print_json(shown)
        return 0
    events = shown.pop("events")
    local = local_times(shown)
    width = max(len(k) for k in local)
    for key, value in local.items():
        if value not in (None, "", [], 0, False) or key in ("status", "number"):
            print(f"{key:<{width}}  {value}")
    print()
    print(
        format_table(
            [local_times(e) for e in events],
            ["seq", "at", "actor", "actor_role", "command", "field", "old", "new", "reason"],
        )
    )
    return 0


def run_create(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Each entry is validated and saved (with its outbox row) in its own transaction, so a bad entry
    loses none of the good ones; bad ones are reported by index on stderr (exit code 1)."""
    import json
    import sys

    from console.cli import CommandError
    from store.db import utcnow
    from store.tickets import Actor, TicketError, create_ticket, draft_from

    try:
        entries = json.loads(args.json_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"tickets create: cannot read {args.json_file} as JSON: {exc}") from None
    if not isinstance(entries, list):
        raise CommandError(f"tickets create: {args.json_file} must hold a JSON array of tickets")
    actor = Actor("channel-intake", "system")
    numbers: list[str] = []
    bad = 0
    for index, entry in enumerate(entries):
        try:
            if not isinstance(entry, dict):
                raise TicketError("expected a JSON object")
            data = dict(entry)
            request_id = data.pop("client_request_id", None)
            if request_id is not None and not isinstance(request_id, str):
                raise TicketError("client_request_id must be a string")
            draft = draft_from(data)
            with ctx.store.session() as session:
                ticket = create_ticket(session, draft, actor, utcnow(), client_request_id=request_id)
                numbers.append(ticket.number)
        except TicketError as exc:
            bad += 1
            print(f"hotline: tickets create: entry {index}: {exc}", file=sys.stderr)
    print_json(numbers)
    return 1 if bad else 0

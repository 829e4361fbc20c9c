"""``hotline users add NAME --role ROLE`` and ``hotline users list``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from console.commands import format_table, local_times, print_json

if TYPE_CHECKING:
    from console.cli import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = subparsers.add_parser("users", help="people who log in: add, list")
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a user (the password is asked for, or read from stdin)")
    add.add_argument("name", help="login name")
    add.add_argument("--role", required=True, help="operator, supervisor, trainer or admin")
    add.add_argument("--display-name", default="", help="the name shown in the console")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    add.add_argument("--json", action="store_true", help="print the new user as JSON")
    add.set_defaults(handler=run_add)

    listing = actions.add_parser("list", help="list the users (never their password hashes)")
    listing.add_argument("--json", action="store_true", help="a JSON array of users")
    listing.set_defaults(handler=run_list)


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at a terminal prompt."""
    from console.cli import CommandError

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("users add: no terminal to ask for the password; use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise CommandError("users add: the two passwords differ; nothing was stored")
    return first


def run_add(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.db import utcnow
    from store.users import UserError, add_user, user_as_dict

    password = read_password(args.password_stdin)
    try:
        with ctx.store.session() as session:
            user = add_user(session, args.name, args.role, password, utcnow(), display_name=args.display_name)
            shown = user_as_dict(user)
    except UserError as exc:
        raise UserError(f"users add: {exc}") from None
    if args.json:
        print_json(shown)
    else:
        print(f"added {shown['role']} {shown['username']}")
    return 0


def run_list(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.users import list_users, user_as_dict

    with ctx.existing_store.read() as session:
        users = [user_as_dict(u) for u in list_users(session)]
    if args.json:
        print_json(users)
    else:
        print(
            format_table(
                [local_times(u) for u in users], ["username", "role", "display_name", "active", "created_at"]
            )
        )
    return 0

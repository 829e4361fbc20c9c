"""``hotline seed --tickets N [--days D] [--seed S]``: write a realistic history for demos and benchmarks."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING

from console.commands import print_json

if TYPE_CHECKING:
    from console.cli import CommandContext
    from console.config import Config
    from store.seed_data import SeedLeaf


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    seed = subparsers.add_parser(
        "seed", help="write a realistic history of calls and tickets (demo, benchmarks)"
    )
    seed.add_argument("--tickets", type=_count, required=True, metavar="N", help="how many tickets to write")
    seed.add_argument(
        "--days", type=_count, default=30, metavar="D", help="spread over the last D days (default 30)"
    )
    seed.add_argument("--seed", type=int, default=1, metavar="S", help="random seed: same S, same history")
    seed.add_argument(
        "--tree",
        choices=("taxonomy", "placeholder"),
        default="taxonomy",
        help="leaves to file tickets under: the configured taxonomy (default) or the small "
        "placeholder tree of store/seed.py",
    )
    seed.add_argument("--json", action="store_true", help="print the summary as JSON")
    seed.set_defaults(handler=run_seed)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def run_seed(args: argparse.Namespace, ctx: CommandContext) -> int:
    from store.seed import seed
    from store.seed_data import PLACEHOLDER_LEAVES

    config = ctx.config
    leaves, version = (PLACEHOLDER_LEAVES, None) if args.tree == "placeholder" else _taxonomy_leaves(config)
    report = seed(
        ctx.store,
        tickets=args.tickets,
        days=args.days,
        seed=args.seed,
        policy=config.deadlines,
        prefix=config.store.ticket_prefix,
        progress=_progress if sys.stderr.isatty() else None,
        leaves=leaves,
        taxonomy_version=version,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    summary = {**dataclasses.asdict(report), "days": args.days, "seed": args.seed}
    summary["seconds"] = round(report.seconds, 3)
    summary["by_status"] = dict(sorted(report.by_status.items()))
    if args.json:
        print_json(summary)
    else:
        print(
            f"seeded {report.tickets} tickets ({report.events} events, {report.calls} calls, "
            f"{report.callers} callers) over {args.days} days in {summary['seconds']} s"
        )
    return 0


def _taxonomy_leaves(config: Config) -> tuple[tuple[SeedLeaf, ...], str]:
    """``seed()`` arguments for the configured taxonomy: its leaves (with their departments' names and
    time limits) and its version, so seeded tickets record the version they were filed under."""
    from console.cli import CommandError
    from store.seed_data import leaves_from_taxonomy
    from taxonomy.model import TaxonomyFileError, load_departments, load_taxonomy

    try:
        taxonomy = load_taxonomy(config.taxonomy.path)
        departments = {d.id: d.name for d in load_departments().values()}
    except (OSError, TaxonomyFileError) as exc:
        raise CommandError(f"seed: cannot load the taxonomy: {exc} (or use --tree placeholder)") from None
    return leaves_from_taxonomy(taxonomy.leaves(), departments), taxonomy.version


def _progress(done: int, total: int) -> None:
    print(f"\rseeding: {done}/{total} tickets", end="", file=sys.stderr, flush=True)

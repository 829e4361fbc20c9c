"""``hotline kpi [--from DATE] [--to DATE] [--by GROUPING] [--json]``: the KPIs of store/kpi/report.py."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING, Any

from console.commands import format_table, print_json

if TYPE_CHECKING:
    from console.cli import CommandContext

# store.kpi.report.GROUPINGS (kept here so --help does not import the store; a test checks they agree)
GROUPINGS = ("board", "department", "district", "leaf", "day")
CASE_COLUMNS = (
    "completion_rate",
    "on_time_close_rate",
    "on_time_reply_rate",
    "timely_accept_rate",
    "satisfaction_rate",
    "return_rate",
    "rehandle_rate",
    "direct_close_share",
)
CALL_COLUMNS = ("answer_rate", "service_level", "abandon_rate")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kpi = subparsers.add_parser(
        "kpi", help="key figures: 接通率, 办结率, 按时办结率, 满意率 ... for a period"
    )
    kpi.add_argument(
        "--from",
        dest="date_from",
        type=_date,
        metavar="DATE",
        help="first day (YYYY-MM-DD, Anshan time; default: the beginning)",
    )
    kpi.add_argument(
        "--to",
        dest="date_to",
        type=_date,
        metavar="DATE",
        help="last day, included (YYYY-MM-DD; default: no end)",
    )
    kpi.add_argument("--by", choices=GROUPINGS, help="one row per board, department, district, leaf or day")
    kpi.add_argument(
        "--json", action="store_true", help="the full report as JSON (ratios with numerator and denominator)"
    )
    kpi.set_defaults(handler=run_kpi)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def run_kpi(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console.cli import CommandError
    from store.kpi.report import compute_kpis

    date_to = args.date_to + dt.timedelta(days=1) if args.date_to else None  # the report is [from, to)
    if args.date_from and date_to and args.date_from >= date_to:
        raise CommandError("kpi: --from must not be after --to")
    accept_hours = ctx.config.deadlines.accept_within_hours
    with ctx.existing_store.read() as session:
        report = compute_kpis(session, args.date_from, date_to, args.by, accept_within_hours=accept_hours)
    data = report.as_json()
    if args.json:
        print_json(data)
        return 0
    rows = [table_row(data["total"], "(all)")] + [table_row(g, g["key"]) for g in data["groups"]]
    columns = ["group", "received", "closed", *CASE_COLUMNS]
    if data["total"]["calls"] is not None:
        columns += ["offered", *CALL_COLUMNS, "aht_seconds"]
    print(f"KPIs from {data['from'] or 'the beginning'} to {data['to'] or 'now'} (source: {data['source']})")
    print(format_table(rows, columns))
    return 0


def table_row(group: dict[str, Any], name: str | None) -> dict[str, object]:
    row: dict[str, object] = {"group": name if name is not None else "(none)"}
    cases, calls = group["cases"], group["calls"] or {}
    for key, value in {**cases, **calls}.items():
        if isinstance(value, dict):
            row[key] = "-" if value["value"] is None else f"{value['value'] * 100:.1f}%"
        else:
            row[key] = value
    return row

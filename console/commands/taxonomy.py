"""``hotline taxonomy search|stats|import|learn``: the classification tree from the command line.

- ``search QUERY [--limit N] [--json]``: the leaves the operator's picker would show.
- ``search --batch FILE [--limit N] [--json]``: one result line per input line, in order (``-`` = stdin).
- ``stats [--json]``: nodes per level and the version.
- ``import FILE``: validate a city's official list (CSV/XLSX) and install it as a new version.
- ``learn``: keyword candidates mined from the store's tickets and logged choices, for review.

The taxonomy file is ``[taxonomy] path`` of the configuration, else the shipped default.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.cli import CommandContext
    from console.i18n import Translator
    from taxonomy.model import Department, Taxonomy
    from taxonomy.search import Result, Searcher

BATCH_MAX_LINES = 100_000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    taxo = subparsers.add_parser("taxonomy", help="the classification tree: search, stats, import, learn")
    actions = taxo.add_subparsers(dest="taxonomy_command", metavar="ACTION", required=True)

    search = actions.add_parser("search", help="rank leaves for a query (Chinese, pinyin, initials, code)")
    search.add_argument("query", nargs="?", help="what the operator types, e.g. 暖气不热, nqbr, dt困人")
    search.add_argument(
        "--batch", metavar="FILE", help="one query per line ('-' = stdin); one output line each"
    )
    search.add_argument("--limit", type=_positive, default=10, help="results per query (default 10)")
    search.add_argument("--json", action="store_true", help="JSON: an array per query")
    search.set_defaults(handler=run_search)

    stats = actions.add_parser("stats", help="nodes per level and the taxonomy version")
    stats.add_argument("--json", action="store_true", help='print {"levels": {...}, "version": ...}')
    stats.set_defaults(handler=run_stats)

    imp = actions.add_parser("import", help="import a city's official list (CSV or XLSX) as a new version")
    imp.add_argument("file", type=Path, help="the list to import")
    imp.add_argument("--json", action="store_true", help="print the outcome as JSON")
    imp.set_defaults(handler=run_import)

    learn = actions.add_parser("learn", help="mine keyword candidates from tickets and logged choices")
    learn.add_argument("--min-support", type=_positive, default=3, help="texts per leaf (default 3)")
    learn.add_argument("--min-precision", type=float, default=0.6, help="share under that leaf (default 0.6)")
    learn.add_argument("--per-leaf", type=_positive, default=10, help="candidates per leaf (default 10)")
    learn.add_argument("--json", action="store_true", help="one JSON object per candidate line")
    learn.set_defaults(handler=run_learn)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def load_configured_taxonomy(ctx: CommandContext) -> Taxonomy:
    """The taxonomy of ``[taxonomy] path``: a JSONL file, or a directory of imported versions (its
    current import, else the shipped default); no path: the shipped default. A bad file is refused."""
    from console.cli import CommandError
    from taxonomy.importer import load_current
    from taxonomy.model import TaxonomyFileError, load_taxonomy

    path = ctx.config.taxonomy.path
    try:
        if path is not None and Path(path).is_dir():
            return load_current(path)
        return load_taxonomy(path)
    except FileNotFoundError:
        raise CommandError(f"taxonomy: file not found: {path}") from None
    except TaxonomyFileError as exc:
        raise CommandError(f"taxonomy: {exc}") from None


def _searcher(ctx: CommandContext) -> Searcher:
    from taxonomy.search import Searcher

    return Searcher(load_configured_taxonomy(ctx))


def _batch_lines(name: str) -> Iterator[str]:
    from console.cli import CommandError

    if name == "-":
        yield from _bounded(sys.stdin)
        return
    try:
        with open(name, encoding="utf-8", errors="replace") as fh:
            yield from _bounded(fh)
    except OSError as exc:
        raise CommandError(f"taxonomy search: cannot read {name}: {exc.strerror}") from None


def _bounded(lines: Iterable[str]) -> Iterator[str]:
    for n, line in enumerate(lines):
        if n >= BATCH_MAX_LINES:
            raise _too_many()
        yield line.rstrip("\r\n")


def _too_many() -> Exception:
    from console.cli import CommandError

    return CommandError(f"taxonomy search: a batch holds at most {BATCH_MAX_LINES} lines")


@dataclass(frozen=True)
class SearchWords:
    """What a plain-text search result line says in the UI's language (``[ui] language``): the
    department's name instead of its code, the ticket urgency and the time limit as the desk shows them."""

    tr: Translator
    departments: Mapping[str, Department]

    def department(self, code: str | None) -> str:
        if not code:
            return self.tr.t("cli.search.no_department")
        found = self.departments.get(code)
        return found.name if found else code

    def urgency(self, leaf_urgency: str | None) -> str:
        from store.vocabulary import urgency_of_leaf

        return self.tr.label("urgency", urgency_of_leaf(leaf_urgency))

    def limit(self, time_limit: object) -> str:
        from taxonomy.model import TimeLimit

        if time_limit is None:
            return "-"
        if isinstance(time_limit, TimeLimit):
            return self.tr.t(f"cli.limit.{time_limit.unit}", n=time_limit.value)
        return str(time_limit)


def search_words(ctx: CommandContext) -> SearchWords:
    from console.cli import CommandError
    from console.i18n import Translator
    from taxonomy.model import TaxonomyFileError, load_departments

    config = ctx.config
    try:
        departments = load_departments(config.taxonomy.departments)
    except (OSError, TaxonomyFileError) as exc:
        raise CommandError(f"taxonomy: the departments file: {exc}") from None
    return SearchWords(Translator.load(config.ui.language), departments)


def _render(results: list[Result], words: SearchWords) -> str:
    if not results:
        return "  " + words.tr.t("cli.search.none")
    rows = []
    for n, r in enumerate(results, start=1):
        rows.append(
            f"{n:>2}. {r.code}  {' › '.join(r.path)}  [{r.score:.3f}]  "
            f"{words.tr.t('cli.search.matched', text=r.matched)}  "
            f"{words.department(r.department)}  {words.limit(r.time_limit)}  {words.urgency(r.urgency)}"
        )
    return "\n".join(rows)


def run_search(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console.cli import CommandError

    if (args.query is None) == (args.batch is None):
        raise CommandError("taxonomy search: give either a QUERY or --batch FILE", exit_code=2)
    searcher = _searcher(ctx)
    words = None if args.json else search_words(ctx)
    queries: Iterable[str] = [args.query] if args.batch is None else _batch_lines(args.batch)
    for query in queries:
        results = searcher.search(query, limit=args.limit)
        if args.json:
            print(json.dumps([r.to_dict() for r in results], ensure_ascii=False), flush=args.batch == "-")
        else:
            assert words is not None
            if args.batch is not None:
                print(f"# {query}")
            print(_render(results, words))
    return 0


def run_stats(args: argparse.Namespace, ctx: CommandContext) -> int:
    taxonomy = load_configured_taxonomy(ctx)
    levels = {str(level): count for level, count in sorted(taxonomy.level_counts().items())}
    if args.json:
        print(json.dumps({"levels": levels, "version": taxonomy.version}, ensure_ascii=False))
    else:
        print(f"version {taxonomy.version}: " + ", ".join(f"level {k}: {v}" for k, v in levels.items()))
    return 0


def run_import(args: argparse.Namespace, ctx: CommandContext) -> int:
    """Import into the directory ``[taxonomy] path``; a bad file lists its problems by row, writes nothing."""
    from console.cli import CommandError
    from taxonomy.importer import ImportError_
    from taxonomy.importer import run_import as import_into_config

    if not args.file.is_file():
        raise CommandError(f"taxonomy import: no such file: {args.file}")
    try:
        outcome = import_into_config(args.file, ctx.config)
    except ImportError_ as exc:
        raise CommandError(f"taxonomy import: {exc}") from None
    if args.json:
        print(json.dumps(outcome, ensure_ascii=False))
    else:
        state = "imported" if outcome.get("changed", True) else "unchanged"
        print(
            f"{state}: version {outcome['version']} ({outcome['file']}); levels {outcome['levels']}; "
            f"added {outcome['added']}, retired {outcome['retired']}, reactivated {outcome['reactivated']}"
        )
    return 0


def learn_pairs(ctx: CommandContext) -> list[tuple[str, str]]:
    """(text, leaf code) pairs from ticket descriptions and the logged (query, chosen leaf) choices."""
    from store.taxonomy_choices import learning_pairs

    with ctx.store.read() as session:
        return learning_pairs(session)


def run_learn(args: argparse.Namespace, ctx: CommandContext) -> int:
    from taxonomy.learn import mine_keywords

    taxonomy = load_configured_taxonomy(ctx)
    candidates = mine_keywords(
        learn_pairs(ctx),
        taxonomy,
        min_support=args.min_support,
        min_precision=args.min_precision,
        per_leaf=args.per_leaf,
    )
    for c in candidates:
        if args.json:
            record = {
                "leaf": c.leaf_code,
                "keyword": c.keyword,
                "support": c.support,
                "precision": c.precision,
                "score": c.score,
            }
            print(json.dumps(record, ensure_ascii=False))
        else:
            node = taxonomy.get(c.leaf_code)
            where = " › ".join(node.path) if node else c.leaf_code
            print(f"{c.leaf_code}  {where}  +{c.keyword}  (support {c.support}, precision {c.precision:.2f})")
    if not candidates and not args.json:
        print("no keyword candidates (too few tickets, or the keywords already cover them)")
    return 0

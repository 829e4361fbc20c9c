"""Build step: parse the authoring files in taxonomy/source/, validate them and write default.jsonl.

    python -m taxonomy.build            # rebuild taxonomy/data/default.jsonl
    python -m taxonomy.build --check    # exit 1 if the shipped file is stale or the sources are invalid

The authoring format is described in the module docstring of ``parse_source`` (and in the team's
taxo_format note). Every problem is reported with ``file:line`` and the build writes nothing unless all
files are valid. Output is deterministic: nodes sorted by code, fixed key order, and a version derived
from the content, so an unchanged source gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import structlog

from taxonomy.model import (
    BOARDS,
    DEFAULT_TAXONOMY_PATH,
    HANDOFFS,
    NATURES,
    PACKAGE_DIR,
    URGENCIES,
    Node,
    TimeLimit,
    load_departments,
)
from taxonomy.pinyin import PinyinConverter, default_converter

log = structlog.get_logger(__name__)

DEFAULT_SOURCE_DIR = PACKAGE_DIR / "source"
MAJORS: Mapping[str, str] = MappingProxyType(
    {"1": "城市建设与管理", "2": "社会事务与民生服务", "3": "经济发展与市场监管"}
)
LEAF_OPTION_KEYS = frozenset(
    {"dept", "co", "limit", "urgency", "handoff", "natures", "board", "fields", "exclude", "answer"}
)
DOMAIN_OPTION_KEYS = frozenset({"dept", "limit", "natures", "board", "co", "keywords"})
_FILE_NAME_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.txt$")
_DOMAIN_CODE_RE = re.compile(r"^\d{3}$")
_LEAF_CODE_RE = re.compile(r"^\d{6}$")


class BuildError(ValueError):
    """All problems found in the sources, one ``file:line: message`` per entry."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        shown = "\n".join(self.errors[:50])
        more = f"\n... and {len(self.errors) - 50} more" if len(self.errors) > 50 else ""
        super().__init__(f"{len(self.errors)} error(s) in taxonomy sources:\n{shown}{more}")


@dataclass(frozen=True, slots=True)
class DomainSpec:
    """A parsed ``domain:`` line: the L2 node and the defaults its leaves inherit."""

    code: str
    name: str
    department: str
    time_limit: TimeLimit
    natures: tuple[str, ...]
    board: str
    co_departments: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    origin: str = ""


@dataclass(frozen=True, slots=True)
class LeafSpec:
    """A parsed leaf line, options still raw (resolved against its domain in ``build_nodes``)."""

    code: str
    name: str
    keywords: tuple[str, ...]
    options: Mapping[str, str]
    domain: str
    origin: str = ""


@dataclass
class ParsedSources:
    domains: list[DomainSpec] = field(default_factory=list)
    leaves: list[LeafSpec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _unique(words: Iterable[str], drop: str = "") -> tuple[str, ...]:
    """Keep first occurrences, drop empties and the node's own name."""
    seen: dict[str, None] = {}
    for word in words:
        if word and word != drop:
            seen.setdefault(word, None)
    return tuple(seen)


def _split_options(text: str, origin: str, errors: list[str]) -> dict[str, str]:
    """``key=value key=value ... [answer=free text to end of line]``."""
    options: dict[str, str] = {}
    text = text.strip()
    answer_at = re.search(r"(?:^|\s)answer=", text)
    if answer_at:
        options["answer"] = text[answer_at.end() :].strip()
        text = text[: answer_at.start()]
    for token in text.split():
        key, sep, value = token.partition("=")
        if not sep or not key or not value:
            errors.append(f"{origin}: option {token!r} is not key=value")
        elif key in options:
            errors.append(f"{origin}: option {key!r} given twice")
        else:
            options[key] = value
    return options


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in re.split(r"[,，、]", value) if v.strip())


def parse_source(text: str, origin: str) -> ParsedSources:
    """Parse one authoring file.

    Lines: ``# comment``;
    ``domain: <code> | <name> | dept=<id> | limit=<n>h|d|wd | natures=a,b | board=<b> [| co=a,b] [| keywords=k k]``;
    ``<leafcode> | <name> | <keyword> <keyword> ... [| key=value ... [answer=text to end of line]]``.
    Structural problems are collected in ``errors`` (with ``origin:line``); semantic checks (departments,
    boards, uniqueness) happen in ``build_nodes``.
    """
    parsed = ParsedSources()
    domain: DomainSpec | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{origin}:{lineno}"
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if line.startswith("domain:"):
            domain = _parse_domain(line[len("domain:") :], where, parsed.errors)
            if domain is not None:
                parsed.domains.append(domain)
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (3, 4):
            parsed.errors.append(f"{where}: a leaf line needs 3 or 4 '|'-separated parts, got {len(parts)}")
            continue
        code, name, keywords = parts[0], parts[1], parts[2]
        if not _LEAF_CODE_RE.match(code):
            parsed.errors.append(f"{where}: leaf code must be 6 digits, got {code!r}")
            continue
        if domain is None:
            parsed.errors.append(f"{where}: leaf {code} before any domain: line")
            continue
        if not code.startswith(domain.code):
            parsed.errors.append(f"{where}: leaf {code} is not under domain {domain.code} (code prefix)")
            continue
        if not name or " " in name:
            parsed.errors.append(f"{where}: leaf {code} needs a name without spaces")
            continue
        options = _split_options(parts[3], where, parsed.errors) if len(parts) == 4 else {}
        unknown = set(options) - LEAF_OPTION_KEYS
        if unknown:
            parsed.errors.append(f"{where}: unknown option(s) {sorted(unknown)}")
        parsed.leaves.append(
            LeafSpec(
                code=code,
                name=name,
                keywords=_unique(keywords.split(), drop=name),
                options=MappingProxyType(options),
                domain=domain.code,
                origin=where,
            )
        )
    return parsed


def _parse_domain(text: str, where: str, errors: list[str]) -> DomainSpec | None:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 6:
        errors.append(f"{where}: domain line needs code | name | dept= | limit= | natures= | board=")
        return None
    code, name = parts[0], parts[1]
    if not _DOMAIN_CODE_RE.match(code) or code[0] not in MAJORS:
        errors.append(f"{where}: domain code must be 3 digits under a major {sorted(MAJORS)}, got {code!r}")
        return None
    opts: dict[str, str] = {}
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in DOMAIN_OPTION_KEYS:
            errors.append(f"{where}: bad domain option {part!r}")
            continue
        opts[key] = value.strip()
    missing = [k for k in ("dept", "limit", "natures", "board") if not opts.get(k)]
    if missing:
        errors.append(f"{where}: domain {code} misses {missing}")
        return None
    try:
        limit = TimeLimit.parse(opts["limit"])
    except ValueError as exc:
        errors.append(f"{where}: {exc}")
        return None
    return DomainSpec(
        code=code,
        name=name,
        department=opts["dept"],
        time_limit=limit,
        natures=_split_list(opts["natures"]),
        board=opts["board"],
        co_departments=_split_list(opts.get("co", "")),
        keywords=_unique(opts.get("keywords", "").split(), drop=name),
        origin=where,
    )


def read_sources(source_dir: Path) -> ParsedSources:
    """Parse every ``<code>_<name>.txt`` in ``source_dir`` (sorted by file name)."""
    merged = ParsedSources()
    for path in sorted(source_dir.glob("*.txt")):
        match = _FILE_NAME_RE.match(path.name)
        if not match:
            merged.errors.append(f"{path.name}:0: file name must be <domaincode>_<ascii_name>.txt")
            continue
        parsed = parse_source(path.read_text(encoding="utf-8"), path.name)
        for domain in parsed.domains:
            if domain.code[0] != match.group(1)[0]:
                parsed.errors.append(f"{domain.origin}: domain {domain.code} is not under this file's major")
        merged.domains.extend(parsed.domains)
        merged.leaves.extend(parsed.leaves)
        merged.errors.extend(parsed.errors)
    return merged


def pinyin_map(aliases: Iterable[str], converter: PinyinConverter) -> Mapping[str, tuple[str, str]]:
    """alias → (full pinyin, initials) for every alias (the name and each keyword)."""
    return MappingProxyType({alias: converter.keys(alias) for alias in aliases})


def build_nodes(
    sources: ParsedSources,
    department_ids: Iterable[str],
    converter: PinyinConverter,
) -> list[Node]:
    """Validate parsed sources and turn them into nodes (majors, domains, leaves); raise BuildError."""
    errors = list(sources.errors)
    known_depts = frozenset(department_ids)
    nodes: list[Node] = []
    for code, name in MAJORS.items():
        nodes.append(
            Node(
                code=code, name=name, level=1, parent=None, path=(name,), pinyin=pinyin_map([name], converter)
            )
        )

    domains: dict[str, DomainSpec] = {}
    for domain in sources.domains:
        if domain.code in domains:
            errors.append(
                f"{domain.origin}: domain code {domain.code} already used at {domains[domain.code].origin}"
            )
            continue
        domains[domain.code] = domain
        errors.extend(
            _check_common(
                domain.origin,
                domain.department,
                domain.co_departments,
                domain.natures,
                domain.board,
                known_depts,
            )
        )
        nodes.append(
            Node(
                code=domain.code,
                name=domain.name,
                level=2,
                parent=domain.code[0],
                path=(MAJORS[domain.code[0]], domain.name),
                keywords=domain.keywords,
                pinyin=pinyin_map((domain.name, *domain.keywords), converter),
                department=domain.department,
            )
        )

    seen_leaves: dict[str, str] = {}
    names_in_domain: dict[tuple[str, str], str] = {}
    for leaf in sources.leaves:
        if leaf.code in seen_leaves:
            errors.append(f"{leaf.origin}: leaf code {leaf.code} already used at {seen_leaves[leaf.code]}")
            continue
        seen_leaves[leaf.code] = leaf.origin
        other = names_in_domain.setdefault((leaf.domain, leaf.name), leaf.origin)
        if other != leaf.origin:
            errors.append(f"{leaf.origin}: leaf name {leaf.name!r} repeats {other} in the same domain")
        leaf_domain = domains.get(leaf.domain)
        if leaf_domain is None:
            continue  # its domain line was rejected; that error is already reported
        node, leaf_errors = _leaf_node(leaf, leaf_domain, known_depts, converter)
        errors.extend(leaf_errors)
        if node is not None:
            nodes.append(node)

    present_majors = {d[0] for d in domains}
    for code in MAJORS:
        if code not in present_majors:
            log.warning("taxonomy.build.empty_major", major=code)
    if errors:
        raise BuildError(errors)
    nodes.sort(key=lambda n: n.code)
    return nodes


def _check_common(
    where: str,
    dept: str | None,
    co: Iterable[str],
    natures: Iterable[str],
    board: str | None,
    known_depts: frozenset[str],
) -> list[str]:
    errors = []
    if dept is not None and dept not in known_depts:
        errors.append(f"{where}: unknown department {dept!r}")
    errors.extend(f"{where}: unknown co-department {c!r}" for c in co if c not in known_depts)
    errors.extend(
        f"{where}: unknown nature {n!r} (use {','.join(NATURES)})" for n in natures if n not in NATURES
    )
    if board is not None and board not in BOARDS:
        errors.append(f"{where}: unknown board {board!r}")
    return errors


def _leaf_node(
    leaf: LeafSpec, domain: DomainSpec, known_depts: frozenset[str], converter: PinyinConverter
) -> tuple[Node | None, list[str]]:
    opts = leaf.options
    where = leaf.origin
    errors: list[str] = []
    dept = opts.get("dept", domain.department)
    # An inherited co-department that the leaf made its lead is simply dropped from the co list.
    co = _split_list(opts["co"]) if "co" in opts else tuple(c for c in domain.co_departments if c != dept)
    natures = _split_list(opts["natures"]) if "natures" in opts else domain.natures
    board = opts.get("board", domain.board)
    errors.extend(_check_common(where, dept, co, natures, board, known_depts))
    if dept in co:
        errors.append(f"{where}: lead department {dept!r} is also listed as co-department")
    limit = domain.time_limit
    if "limit" in opts:
        try:
            limit = TimeLimit.parse(opts["limit"])
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    urgency = opts.get("urgency", "normal")
    if urgency not in URGENCIES:
        errors.append(f"{where}: urgency must be one of {URGENCIES}, got {urgency!r}")
    handoff = opts.get("handoff")
    if handoff is not None and handoff not in HANDOFFS:
        errors.append(f"{where}: handoff must be one of {HANDOFFS}, got {handoff!r}")
    if handoff is not None and urgency != "critical":
        errors.append(f"{where}: handoff= only makes sense on urgency=critical leaves")
    answer = opts.get("answer")
    if "answer" in opts and not answer:
        errors.append(f"{where}: empty answer=")
    if not natures:
        errors.append(f"{where}: leaf has no allowed natures")
    if errors:
        return None, errors
    node = Node(
        code=leaf.code,
        name=leaf.name,
        level=3,
        parent=domain.code,
        path=(MAJORS[domain.code[0]], domain.name, leaf.name),
        keywords=leaf.keywords,
        pinyin=pinyin_map((leaf.name, *leaf.keywords), converter),
        natures=natures,
        board=board,
        department=dept,
        co_departments=co,
        time_limit=limit,
        urgency=urgency,
        handoff=handoff,
        required_fields=_split_list(opts.get("fields", "")),
        exclude_keywords=_split_list(opts.get("exclude", "")),
        answer=answer or None,
    )
    return node, errors


def content_version(nodes: Sequence[Node], prefix: str = "default") -> str:
    """A version derived from the content: same nodes → same version (fits tickets.taxonomy_version)."""
    digest = hashlib.sha256()
    for node in nodes:
        digest.update(_dumps(node.to_json(version="")).encode("utf-8"))
        digest.update(b"\n")
    return f"{prefix}-{digest.hexdigest()[:12]}"


def _dumps(record: Mapping[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def render_jsonl(nodes: Sequence[Node], version: str) -> str:
    """The file content: one JSON object per node, in the order given (callers sort by code)."""
    return "".join(_dumps(node.to_json(version)) + "\n" for node in nodes)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; the data file is meant to be readable by all
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class BuildResult:
    version: str
    counts: Mapping[int, int]
    leaves_per_major: Mapping[str, int]
    text: str


def build(source_dir: Path = DEFAULT_SOURCE_DIR, converter: PinyinConverter | None = None) -> BuildResult:
    """Parse, validate and render the sources (writes nothing)."""
    departments = load_departments(source_dir / "departments.tsv")
    nodes = build_nodes(read_sources(source_dir), departments, converter or default_converter())
    version = content_version(nodes)
    counts = {level: sum(1 for n in nodes if n.level == level) for level in (1, 2, 3)}
    per_major = {m: sum(1 for n in nodes if n.is_leaf and n.code[0] == m) for m in MAJORS}
    return BuildResult(
        version=version,
        counts=MappingProxyType(counts),
        leaves_per_major=MappingProxyType(per_major),
        text=render_jsonl(nodes, version),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taxonomy.build", description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE_DIR, help="authoring files directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_TAXONOMY_PATH, help="JSON Lines output file")
    parser.add_argument("--check", action="store_true", help="only verify that --out is up to date")
    args = parser.parse_args(argv)
    try:
        result = build(args.source)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 2
    summary = (
        f"version {result.version}: levels {dict(result.counts)}, "
        f"leaves per major {dict(result.leaves_per_major)}"
    )
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != result.text:
            print(f"{args.out} is stale; run: python -m taxonomy.build ({summary})", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date, {summary}")
        return 0
    write_atomic(args.out, result.text)
    print(f"wrote {args.out}, {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

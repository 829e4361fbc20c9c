"""Import a city's official classification list (CSV or XLSX) as a new taxonomy version.

Column layout (first row = header; Chinese or English header names; order free; unknown columns ignored):

=================  ===================  =====================================================================
column             also accepted        content
=================  ===================  =====================================================================
code               编码, 代码            required, digits/letters, unique; stable (a retired code is never reused)
name               名称                 required
level              层级, 级别            required, 1 / 2 / 3 (3 = leaf)
parent             上级编码, 父级编码     required for levels 2 and 3, empty for level 1
keywords           关键词, 别名          separated by spaces, 、 ， , ; |
department         主办部门, 承办单位     department id or full name from departments.tsv (leaves: required)
co_departments     协办部门              same, list
time_limit         办理时限, 时限         24h / 3d / 5wd, or 24小时 / 3天 / 5个工作日 (leaves: required)
urgency            紧急程度              normal / high / critical, or 一般 / 紧急 / 特急 (default normal)
handoff            转接                  110 / 119 / 120 / 122 (critical leaves only)
natures            诉求性质, 性质         list of 咨询 求助 投诉 举报 建议 表扬 (leaves: required)
board              板块                  one of the 11 boards (leaves: required)
required_fields    必填项                list
exclude_keywords   排除词                list
answer             标准答复, 答复口径     free text
replaces           替代编码              list of codes this node replaces (they get replaced_by = code)
=================  ===================  =====================================================================

Versioning: ``import_file(path, data_dir)`` writes ``<data_dir>/<version>.jsonl`` and points
``<data_dir>/CURRENT`` at it. Nodes of the previous version that are missing from the file are kept as
retired (``active: false``, ``valid_to`` = import date) so old tickets keep resolving. A bad file raises
``ImportError_`` listing every problem with its row number, and nothing is written (temp file + rename).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import structlog

from taxonomy.build import content_version, pinyin_map, render_jsonl, write_atomic
from taxonomy.model import (
    BOARDS,
    CURRENT_POINTER,
    HANDOFFS,
    NATURES,
    Department,
    Node,
    Taxonomy,
    TaxonomyFileError,
    TimeLimit,
    load_departments,
    load_taxonomy,
)
from taxonomy.pinyin import PinyinConverter, default_converter

log = structlog.get_logger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_CELL_CHARS = 4_000

HEADER_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "code": ("code", "编码", "代码", "分类编码"),
        "name": ("name", "名称", "分类名称", "事项名称"),
        "level": ("level", "层级", "级别"),
        "parent": ("parent", "上级编码", "父级编码", "上级"),
        "keywords": ("keywords", "关键词", "别名"),
        "department": ("department", "主办部门", "承办单位", "责任单位"),
        "co_departments": ("co_departments", "协办部门", "协办单位"),
        "time_limit": ("time_limit", "办理时限", "时限"),
        "urgency": ("urgency", "紧急程度"),
        "handoff": ("handoff", "转接"),
        "natures": ("natures", "诉求性质", "性质"),
        "board": ("board", "板块"),
        "required_fields": ("required_fields", "必填项"),
        "exclude_keywords": ("exclude_keywords", "排除词"),
        "answer": ("answer", "标准答复", "答复口径"),
        "replaces": ("replaces", "替代编码"),
    }
)
_URGENCY_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "normal": "normal",
        "high": "high",
        "critical": "critical",
        "一般": "normal",
        "紧急": "high",
        "特急": "critical",
    }
)
_CN_LIMIT_RE = re.compile(r"^(\d+)\s*(小时|个?工作日|天|日|个?自然日)$")
_CN_UNITS: Mapping[str, str] = MappingProxyType(
    {"小时": "h", "工作日": "wd", "个工作日": "wd", "天": "d", "日": "d", "自然日": "d", "个自然日": "d"}
)
_LIST_SPLIT_RE = re.compile(r"[\s,，、;；|]+")
_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
_VERSION_RE = re.compile(r"^v(\d+)-\d{8}$")


class ImportError_(ValueError):
    """A file that cannot be imported; ``errors`` holds (row, message) pairs, row 0 = the file itself.

    (The trailing underscore keeps it from shadowing Python's builtin ``ImportError``.)
    """

    def __init__(self, errors: Sequence[tuple[int, str]], source: str = "") -> None:
        self.errors = tuple(errors)
        self.source = source
        lines = [
            f"{source}:{row}: {message}" if source else f"row {row}: {message}"
            for row, message in self.errors
        ]
        more = f"\n... and {len(lines) - 50} more" if len(lines) > 50 else ""
        super().__init__(
            f"{len(self.errors)} problem(s) in taxonomy import:\n" + "\n".join(lines[:50]) + more
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    version: str
    path: Path
    changed: bool
    added: tuple[str, ...]
    retired: tuple[str, ...]
    reactivated: tuple[str, ...]
    counts: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    cells: Mapping[str, str]


# -- reading -------------------------------------------------------------------------------------------------


def read_rows(path: Path) -> list[_Row]:
    """Rows of a CSV/TSV/XLSX file as header-keyed cells (canonical column names); row numbers as in the file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportError_([(0, f"cannot read file: {exc.strerror or exc}")], str(path)) from exc
    if size > MAX_FILE_BYTES:
        raise ImportError_([(0, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")], str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        table = _xlsx_table(path)
    else:
        table = _csv_table(path.read_bytes(), tab=path.suffix.lower() == ".tsv", source=str(path))
    return _rows_from_table(table, str(path))


def _csv_table(raw: bytes, tab: bool, source: str) -> list[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence except a few invalid ones
        raise ImportError_([(0, "file is neither UTF-8 nor GB18030 text")], source)
    if "\x00" in text:
        raise ImportError_([(0, "file contains NUL bytes (binary, not CSV)")], source)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if tab or ("\t" in first_line and "," not in first_line) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            table.append((reader.line_num, cells))
            if len(table) > MAX_ROWS + 1:
                raise ImportError_([(reader.line_num, f"more than {MAX_ROWS} rows")], source)
    except csv.Error as exc:
        raise ImportError_([(reader.line_num, f"malformed CSV: {exc}")], source) from exc
    return table


def _xlsx_table(path: Path) -> list[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise ImportError_([(0, f"not a readable XLSX workbook: {exc}")], str(path)) from exc
    try:
        sheet = workbook.worksheets[0]
        table: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            table.append((number, [_cell_text(v) for v in values]))
            if number > MAX_ROWS + 1:
                raise ImportError_([(number, f"more than {MAX_ROWS} rows")], str(path))
        return table
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 101001 as 101001.0
    return str(value)


def _rows_from_table(table: list[tuple[int, list[str]]], source: str) -> list[_Row]:
    non_empty = [(n, cells) for n, cells in table if any(c.strip() for c in cells)]
    if not non_empty:
        raise ImportError_([(0, "file has no header row")], source)
    header_row, header = non_empty[0]
    columns: dict[int, str] = {}
    lookup = {alias.lower(): canonical for canonical, aliases in HEADER_ALIASES.items() for alias in aliases}
    for index, title in enumerate(header):
        canonical = lookup.get(title.strip().lstrip("\ufeff").lower())
        if canonical is None:
            continue
        if canonical in columns.values():
            raise ImportError_([(header_row, f"column {canonical!r} appears twice in the header")], source)
        columns[index] = canonical
    missing = [c for c in ("code", "name", "level", "parent") if c not in columns.values()]
    if missing:
        raise ImportError_([(header_row, f"header misses required column(s) {missing}")], source)
    rows: list[_Row] = []
    errors: list[tuple[int, str]] = []
    for number, cells in non_empty[1:]:
        mapped = {}
        for index, canonical in columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            if len(value) > MAX_CELL_CHARS:
                errors.append((number, f"{canonical} is longer than {MAX_CELL_CHARS} characters"))
            mapped[canonical] = value
        rows.append(_Row(number, MappingProxyType(mapped)))
    if errors:
        raise ImportError_(errors, source)
    return rows


# -- validation ------------------------------------------------------------------------------------------------


def _split(value: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in _LIST_SPLIT_RE.split(value):
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def parse_time_limit(text: str) -> TimeLimit:
    """``24h``/``3d``/``5wd`` or ``24小时``/``3天``/``5个工作日``."""
    text = text.strip()
    match = _CN_LIMIT_RE.match(text)
    if match:
        return TimeLimit.parse(match.group(1) + _CN_UNITS[match.group(2)])
    return TimeLimit.parse(text)


@dataclass
class _Validator:
    departments: Mapping[str, Department]
    converter: PinyinConverter
    errors: list[tuple[int, str]]

    def __post_init__(self) -> None:
        self._by_name = {d.name: d.id for d in self.departments.values()}

    def department(self, row: int, value: str, what: str) -> str | None:
        if value in self.departments:
            return value
        if value in self._by_name:
            return self._by_name[value]
        self.errors.append((row, f"unknown {what} {value!r} (use an id or name from departments.tsv)"))
        return None

    def node(self, row: _Row, level: int, parent: str | None) -> Node | None:
        cells = row.cells
        n = row.number
        before = len(self.errors)
        keywords = tuple(k for k in _split(cells.get("keywords", "")) if k != cells["name"])
        dept = cells.get("department", "")
        department = self.department(n, dept, "department") if dept else None
        co = tuple(
            d
            for d in (self.department(n, c, "co-department") for c in _split(cells.get("co_departments", "")))
            if d
        )
        natures = _split(cells.get("natures", ""))
        for nature in natures:
            if nature not in NATURES:
                self.errors.append((n, f"unknown nature {nature!r} (use {','.join(NATURES)})"))
        board = cells.get("board", "") or None
        if board is not None and board not in BOARDS:
            self.errors.append((n, f"unknown board {board!r}"))
        urgency = _URGENCY_WORDS.get(cells.get("urgency", "").lower() or "normal")
        if urgency is None:
            self.errors.append(
                (n, f"unknown urgency {cells.get('urgency')!r} (normal/high/critical, 一般/紧急/特急)")
            )
        handoff = cells.get("handoff", "") or None
        if handoff is not None and (handoff not in HANDOFFS or urgency != "critical"):
            self.errors.append(
                (n, f"handoff must be one of {HANDOFFS} and only on critical leaves, got {handoff!r}")
            )
        time_limit = None
        if cells.get("time_limit"):
            try:
                time_limit = parse_time_limit(cells["time_limit"])
            except ValueError as exc:
                self.errors.append((n, str(exc)))
        if level == 3:
            for column, value in (
                ("department", department or dept),
                ("time_limit", cells.get("time_limit")),
                ("natures", natures),
                ("board", board),
            ):
                if not value:
                    self.errors.append((n, f"leaf needs {column}"))
        if len(self.errors) > before:
            return None
        return Node(
            code=cells["code"],
            name=cells["name"],
            level=level,
            parent=parent,
            path=(),
            keywords=keywords,
            pinyin=pinyin_map((cells["name"], *keywords), self.converter),
            natures=natures,
            board=board,
            department=department,
            co_departments=co,
            time_limit=time_limit,
            urgency=urgency or "normal",
            handoff=handoff,
            required_fields=_split(cells.get("required_fields", "")),
            exclude_keywords=_split(cells.get("exclude_keywords", "")),
            answer=cells.get("answer") or None,
        )


def validate_rows(
    rows: Sequence[_Row], departments: Mapping[str, Department], converter: PinyinConverter, source: str = ""
) -> list[Node]:
    """Check codes, levels, parents and cycles; return nodes with paths (active, no validity dates yet)."""
    errors: list[tuple[int, str]] = []
    validator = _Validator(departments, converter, errors)
    row_of: dict[str, int] = {}
    levels: dict[str, int] = {}
    parents: dict[str, str | None] = {}
    for row in rows:
        code, name = row.cells["code"], row.cells["name"]
        if not _CODE_RE.match(code):
            errors.append((row.number, f"bad code {code!r} (1-32 letters/digits)"))
            continue
        if code in row_of:
            errors.append((row.number, f"duplicate code {code} (first at row {row_of[code]})"))
            continue
        row_of[code] = row.number
        if not name:
            errors.append((row.number, f"code {code} has no name"))
        level_text = row.cells["level"]
        if level_text not in ("1", "2", "3"):
            errors.append((row.number, f"level must be 1, 2 or 3, got {level_text!r}"))
            continue
        levels[code] = int(level_text)
        parent = row.cells["parent"] or None
        if (parent is None) != (levels[code] == 1):
            errors.append((row.number, "level-1 rows have no parent; levels 2 and 3 need one"))
        parents[code] = parent
    for code, parent in parents.items():
        if parent is None:
            continue
        if parent not in levels:
            errors.append((row_of[code], f"parent {parent} of {code} does not exist"))
        elif levels[parent] != levels[code] - 1:
            errors.append(
                (row_of[code], f"parent {parent} is level {levels[parent]}, {code} is level {levels[code]}")
            )
    errors.extend(_cycle_errors(parents, row_of))
    cells_of = {r.cells["code"]: r.cells for r in rows if row_of.get(r.cells["code"]) == r.number}
    nodes: dict[str, Node] = {}
    for row in rows:
        code = row.cells["code"]
        if row_of.get(code) != row.number or code not in levels:
            continue
        parent = parents[code]
        if levels[code] == 3 and parent in cells_of:
            row = _Row(row.number, _inherit(row.cells, cells_of[parent]))
        node = validator.node(row, levels[code], parent)
        if node is not None:
            nodes[code] = node
    if errors:
        raise ImportError_(sorted(errors), source)
    if not nodes:
        raise ImportError_([(0, "file has no classification rows")], source)
    return [
        replace(node, path=_path(node.code, nodes)) for node in sorted(nodes.values(), key=lambda n: n.code)
    ]


_INHERITED = ("department", "co_departments", "time_limit", "natures", "board")


def _inherit(cells: Mapping[str, str], parent: Mapping[str, str]) -> Mapping[str, str]:
    """Leaves take dispatch defaults from their level-2 row where their own cell is empty."""
    merged = dict(cells)
    for column in _INHERITED:
        if not merged.get(column) and parent.get(column):
            merged[column] = parent[column]
    return MappingProxyType(merged)


def _cycle_errors(parents: Mapping[str, str | None], row_of: Mapping[str, int]) -> list[tuple[int, str]]:
    errors = []
    for start in parents:
        seen = {start}
        current = parents.get(start)
        for _ in range(len(parents)):
            if current is None or current not in parents:
                break
            if current in seen:
                errors.append((row_of[start], f"parent chain of {start} loops back to {current}"))
                break
            seen.add(current)
            current = parents[current]
    return errors


def _path(code: str, nodes: Mapping[str, Node]) -> tuple[str, ...]:
    names: list[str] = []
    current: str | None = code
    for _ in range(len(nodes)):
        if current is None:
            break
        node = nodes[current]
        names.append(node.name)
        current = node.parent
    return tuple(reversed(names))


# -- versioning --------------------------------------------------------------------------------------------------


def current_version_path(data_dir: Path) -> Path | None:
    """The taxonomy file ``CURRENT`` points at, or None before the first import."""
    pointer = data_dir / CURRENT_POINTER
    if not pointer.exists():
        return None
    target = data_dir / pointer.read_text(encoding="utf-8").strip()
    return target if target.is_file() else None


def _next_version(data_dir: Path, today: date) -> str:
    numbers = [int(m.group(1)) for p in data_dir.glob("v*.jsonl") if (m := _VERSION_RE.match(p.stem))]
    return f"v{max(numbers, default=0) + 1}-{today:%Y%m%d}"


def merge_with_previous(
    new_nodes: Sequence[Node],
    previous: Taxonomy | None,
    today: date,
    replaces: Mapping[str, tuple[str, ...]],
    source: str = "",
    row_of: Mapping[str, int] | None = None,
) -> tuple[list[Node], list[str], list[str], list[str]]:
    """Carry validity dates over, retire what disappeared, honour ``replaces``; returns nodes + code lists."""
    row_of = row_of or {}
    old = previous.by_code if previous is not None else {}
    new_codes = {n.code for n in new_nodes}
    errors: list[tuple[int, str]] = []
    replaced_by = {old_code: new for new, olds in replaces.items() for old_code in olds}
    for old_code, new in replaced_by.items():
        if old_code in new_codes:
            errors.append(
                (row_of.get(new, 0), f"{new} replaces {old_code}, but {old_code} is still in the file")
            )
    merged: list[Node] = []
    added, reactivated = [], []
    for node in new_nodes:
        before = old.get(node.code)
        if before is None:
            added.append(node.code)
            merged.append(replace(node, valid_from=today))
            continue
        if not before.active:
            if before.name != node.name:
                errors.append(
                    (
                        row_of.get(node.code, 0),
                        f"code {node.code} was retired as {before.name!r}; never reuse a code for another item",
                    )
                )
                continue
            reactivated.append(node.code)
        merged.append(replace(node, valid_from=before.valid_from if before.active else today))
    retired = []
    for code, node in old.items():
        if code in new_codes:
            continue
        if node.active:
            retired.append(code)
        merged.append(
            replace(
                node,
                active=False,
                valid_to=node.valid_to or today,
                replaced_by=replaced_by.get(code, node.replaced_by),
            )
        )
    if errors:
        raise ImportError_(sorted(errors), source)
    merged.sort(key=lambda n: n.code)
    return merged, added, sorted(retired), reactivated


def import_file(
    path: Path | str,
    data_dir: Path | str,
    *,
    previous: Taxonomy | None = None,
    departments: Mapping[str, Department] | None = None,
    converter: PinyinConverter | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate ``path`` (CSV/TSV/XLSX) and write it as the next version in ``data_dir``.

    The previous version is the one ``data_dir/CURRENT`` points at, else ``previous`` (e.g. the shipped
    default taxonomy), else none. Raises ``ImportError_`` (nothing written) when the file is bad.
    """
    source = Path(path)
    target_dir = Path(data_dir)
    today = today or date.today()
    departments = departments if departments is not None else load_departments()
    rows = read_rows(source)
    nodes = validate_rows(rows, departments, converter or default_converter(), str(source))
    row_of = {r.cells["code"]: r.number for r in rows}
    replaces = {r.cells["code"]: _split(r.cells.get("replaces", "")) for r in rows if r.cells.get("replaces")}
    current_path = current_version_path(target_dir)
    if current_path is not None:
        try:
            previous = load_taxonomy(current_path)
        except TaxonomyFileError as exc:
            raise ImportError_(
                [(0, f"current version {current_path.name} is unreadable: {exc}")], str(source)
            ) from exc
    merged, added, retired, reactivated = merge_with_previous(
        nodes, previous, today, replaces, str(source), row_of
    )
    counts = MappingProxyType(
        {lvl: sum(1 for n in merged if n.active and n.level == lvl) for lvl in (1, 2, 3)}
    )
    if (
        previous is not None
        and current_path is not None
        and content_version(merged) == content_version(previous.nodes)
    ):
        log.info("taxonomy.import.unchanged", version=previous.version)
        return ImportResult(previous.version, current_path, False, (), (), (), counts)
    version = _next_version(target_dir, today)
    out = target_dir / f"{version}.jsonl"
    write_atomic(out, render_jsonl(merged, version))
    write_atomic(target_dir / CURRENT_POINTER, out.name + "\n")
    log.info(
        "taxonomy.import.done", version=version, added=len(added), retired=len(retired), file=source.name
    )
    return ImportResult(version, out, True, tuple(added), tuple(retired), tuple(reactivated), counts)


def run_import(path: Path | str, config: Any) -> dict[str, Any]:
    """CLI entry (``hotline taxonomy import FILE``): import into the directory ``config.taxonomy.path``.

    ``config`` is duck-typed (anything with ``.taxonomy.path``) so this package imports nothing of the
    console. The first import retires the shipped default's nodes, so tickets filed under them still
    resolve. Raises ``ImportError_`` for a bad file or an unusable target directory.
    """
    target = getattr(getattr(config, "taxonomy", None), "path", None)
    if target is None or (Path(target).exists() and not Path(target).is_dir()):
        raise ImportError_(
            [
                (
                    0,
                    "set [taxonomy] path to a directory that holds the imported versions "
                    f"(it is {str(target)!r}); searches then load the current import from it",
                )
            ],
            str(path),
        )
    data_dir = Path(target)
    previous = load_taxonomy() if current_version_path(data_dir) is None else None
    result = import_file(path, data_dir, previous=previous)
    return {
        "version": result.version,
        "file": str(result.path),
        "changed": result.changed,
        "levels": {str(k): v for k, v in result.counts.items()},
        "added": len(result.added),
        "retired": len(result.retired),
        "reactivated": len(result.reactivated),
    }


def load_current(data_dir: Path | str, fallback: Path | str | None = None) -> Taxonomy:
    """The imported taxonomy ``data_dir/CURRENT`` points at; the shipped default (or ``fallback``) if none."""
    current = current_version_path(Path(data_dir))
    return load_taxonomy(current if current is not None else fallback)


def nodes_to_rows(nodes: Iterable[Node]) -> list[dict[str, str]]:
    """The import layout for existing nodes (round trip: export a taxonomy, edit it in Excel, import it)."""
    rows = []
    for n in nodes:
        if not n.active:
            continue
        rows.append(
            {
                "code": n.code,
                "name": n.name,
                "level": str(n.level),
                "parent": n.parent or "",
                "keywords": " ".join(n.keywords),
                "department": n.department or "",
                "co_departments": ",".join(n.co_departments),
                "time_limit": _limit_text(n.time_limit),
                "urgency": n.urgency if n.is_leaf else "",
                "handoff": n.handoff or "",
                "natures": ",".join(n.natures),
                "board": n.board or "",
                "required_fields": ",".join(n.required_fields),
                "exclude_keywords": ",".join(n.exclude_keywords),
                "answer": n.answer or "",
            }
        )
    return rows


def _limit_text(limit: TimeLimit | None) -> str:
    if limit is None:
        return ""
    suffix = {"hours": "h", "days": "d", "working_days": "wd"}[limit.unit]
    return f"{limit.value}{suffix}"

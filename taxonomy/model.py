"""The classification tree as immutable data, its JSON Lines form, and the department list.

A taxonomy file (``taxonomy/data/default.jsonl`` or a version written by the importer) holds one JSON
object per node, sorted by code. Pinyin is precomputed in the file, so loading never runs pypinyin.
Retired nodes (``active: false``) stay in the file so tickets filed under them keep resolving.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_TAXONOMY_PATH = PACKAGE_DIR / "data" / "default.jsonl"
DEFAULT_DEPARTMENTS_PATH = PACKAGE_DIR / "source" / "departments.tsv"

# the request natures and the 11 boards of the seed platform (DESIGN.md), defined here, the lowest
# package that needs them (the importer validates them); store.vocabulary takes them from here
Nature = Literal["咨询", "求助", "投诉", "举报", "建议", "表扬"]
NATURES: tuple[Nature, ...] = get_args(Nature)
BOARDS: tuple[str, ...] = (
    "群众诉求",
    "群众需求",
    "企业服务",
    "基层服务",
    "环保",
    "信访",
    "公益诉讼",
    "举报投诉",
    "安全预警",
    "巡视巡察",
    "两代表一委员意见建议",
)
URGENCIES: tuple[str, ...] = ("normal", "high", "critical")
HANDOFFS: tuple[str, ...] = ("110", "119", "120", "122")
LEVELS: tuple[int, ...] = (1, 2, 3)

TimeUnit = Literal["hours", "days", "working_days"]
_UNIT_SUFFIX: Mapping[str, TimeUnit] = MappingProxyType({"h": "hours", "d": "days", "wd": "working_days"})
_UNIT_LABEL: Mapping[str, str] = MappingProxyType({"hours": "小时", "days": "天", "working_days": "个工作日"})


class TaxonomyFileError(ValueError):
    """A taxonomy or department file that cannot be read (message carries the line number)."""


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A processing deadline rule: ``value`` hours, calendar days or working days."""

    value: int
    unit: TimeUnit

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_LABEL:
            raise ValueError(f"unknown time-limit unit {self.unit!r}")
        if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value <= 0:
            raise ValueError(f"time limit must be a positive integer, got {self.value!r}")

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        """Parse the authoring form ``24h`` / ``3d`` / ``5wd``."""
        text = text.strip().lower()
        for suffix in ("wd", "h", "d"):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                return cls(int(text[: -len(suffix)]), _UNIT_SUFFIX[suffix])
        raise ValueError(f"bad time limit {text!r} (use <n>h, <n>d or <n>wd)")

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TimeLimit:
        return cls(int(data["value"]), data["unit"])

    def __str__(self) -> str:
        return f"{self.value}{_UNIT_LABEL[self.unit]}"


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the tree. Level 1 = major, 2 = domain, 3 = leaf (the dispatch fields matter on leaves)."""

    code: str
    name: str
    level: int
    parent: str | None
    path: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    # alias (the name or a keyword) -> (full pinyin, initials)
    pinyin: Mapping[str, tuple[str, str]] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    natures: tuple[str, ...] = ()
    board: str | None = None
    department: str | None = None
    co_departments: tuple[str, ...] = ()
    time_limit: TimeLimit | None = None
    urgency: str = "normal"
    handoff: str | None = None
    required_fields: tuple[str, ...] = ()
    exclude_keywords: tuple[str, ...] = ()
    answer: str | None = None
    active: bool = True
    valid_from: date | None = None
    valid_to: date | None = None
    replaced_by: str | None = None

    @property
    def is_leaf(self) -> bool:
        return self.level == 3

    @property
    def aliases(self) -> tuple[str, ...]:
        """The name first, then the keywords: every string the search should match."""
        return (self.name, *self.keywords)

    def to_json(self, version: str) -> dict[str, Any]:
        """The JSON Lines record; leaf-only fields are written for leaves only."""
        record: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "parent": self.parent,
            "path": list(self.path),
            "keywords": list(self.keywords),
            "pinyin": {alias: list(keys) for alias, keys in self.pinyin.items()},
        }
        if self.level >= 2 and self.department:
            record["department"] = self.department
        if self.is_leaf:
            record.update(
                natures=list(self.natures),
                board=self.board,
                department=self.department,
                co_departments=list(self.co_departments),
                time_limit=self.time_limit.to_json() if self.time_limit else None,
                urgency=self.urgency,
                handoff=self.handoff,
                required_fields=list(self.required_fields),
                exclude_keywords=list(self.exclude_keywords),
                answer=self.answer,
            )
        record.update(
            active=self.active,
            valid_from=self.valid_from.isoformat() if self.valid_from else None,
            valid_to=self.valid_to.isoformat() if self.valid_to else None,
            replaced_by=self.replaced_by,
            version=version,
        )
        return record

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], limits: dict[tuple[int, str], TimeLimit] | None = None
    ) -> Node:
        """Build a node from its record; ``limits`` lets a loader share the few distinct TimeLimit objects."""
        limit = data.get("time_limit")
        time_limit = None
        if limit:
            key = (limit["value"], limit["unit"])
            time_limit = limits.get(key) if limits is not None else None
            if time_limit is None:
                time_limit = TimeLimit.from_json(limit)
                if limits is not None:
                    limits[key] = time_limit
        return cls(
            code=str(data["code"]),
            name=str(data["name"]),
            level=int(data["level"]),
            parent=data.get("parent"),
            path=tuple(data.get("path") or ()),
            keywords=tuple(data.get("keywords") or ()),
            pinyin=MappingProxyType({a: (k[0], k[1]) for a, k in (data.get("pinyin") or {}).items()}),
            natures=tuple(data.get("natures") or ()),
            board=data.get("board"),
            department=data.get("department"),
            co_departments=tuple(data.get("co_departments") or ()),
            time_limit=time_limit,
            urgency=data.get("urgency") or "normal",
            handoff=data.get("handoff"),
            required_fields=tuple(data.get("required_fields") or ()),
            exclude_keywords=tuple(data.get("exclude_keywords") or ()),
            answer=data.get("answer"),
            active=bool(data.get("active", True)),
            valid_from=_date_or_none(data.get("valid_from")),
            valid_to=_date_or_none(data.get("valid_to")),
            replaced_by=data.get("replaced_by"),
        )


def _date_or_none(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Taxonomy:
    """An immutable tree indexed by code. ``nodes`` includes retired nodes; most accessors skip them."""

    version: str
    nodes: tuple[Node, ...]
    by_code: Mapping[str, Node] = field(init=False, repr=False)
    _children: Mapping[str | None, tuple[Node, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_code = {n.code: n for n in self.nodes}
        if len(by_code) != len(self.nodes):
            raise ValueError("duplicate codes in taxonomy")
        children: dict[str | None, list[Node]] = {}
        for node in self.nodes:
            children.setdefault(node.parent, []).append(node)
        object.__setattr__(self, "by_code", MappingProxyType(by_code))
        object.__setattr__(self, "_children", MappingProxyType({k: tuple(v) for k, v in children.items()}))

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def get(self, code: str) -> Node | None:
        """The node with this exact code (active or retired), or None."""
        return self.by_code.get(code)

    def children(self, code: str | None, include_retired: bool = False) -> tuple[Node, ...]:
        """Direct children of ``code`` (``None`` → the majors), in code order."""
        nodes = self._children.get(code, ())
        return nodes if include_retired else tuple(n for n in nodes if n.active)

    def majors(self) -> tuple[Node, ...]:
        return self.children(None)

    def leaves(self, include_retired: bool = False) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_leaf and (include_retired or n.active))

    def level_counts(self) -> dict[int, int]:
        """Active nodes per level: ``{1: 3, 2: N2, 3: N3}``."""
        counts = dict.fromkeys(LEVELS, 0)
        for node in self.nodes:
            if node.active:
                counts[node.level] = counts.get(node.level, 0) + 1
        return counts

    def path(self, code: str) -> tuple[str, ...]:
        """Names from the major down to ``code`` (works for retired codes too)."""
        node = self.by_code.get(code)
        if node is None:
            raise KeyError(code)
        return node.path

    def resolve(self, code: str) -> Node | None:
        """The node a ticket's stored code refers to, including retired ones; None if never known."""
        return self.by_code.get(code)

    def current(self, code: str, max_hops: int = 16) -> Node | None:
        """The active node to use today for ``code``: itself, or the end of its ``replaced_by`` chain."""
        node = self.by_code.get(code)
        for _ in range(max_hops):
            if node is None or node.active:
                return node
            if node.replaced_by is None:
                return None
            node = self.by_code.get(node.replaced_by)
        return None


CURRENT_POINTER = "CURRENT"


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """Load a taxonomy JSON Lines file (default: the shipped ``taxonomy/data/default.jsonl``).

    ``path`` may also be a directory of imported versions: the file its ``CURRENT`` pointer names is
    loaded, or the shipped default while nothing has been imported yet.
    """
    source = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    if source.is_dir():
        pointer = source / CURRENT_POINTER
        source = (
            source / pointer.read_text(encoding="utf-8").strip()
            if pointer.is_file()
            else DEFAULT_TAXONOMY_PATH
        )
    with source.open(encoding="utf-8") as fh:
        return taxonomy_from_lines(fh, str(source))


def taxonomy_from_lines(lines: Iterable[str], origin: str = "<taxonomy>") -> Taxonomy:
    """Build a Taxonomy from JSON Lines text; the version is taken from the records."""
    nodes: list[Node] = []
    versions: set[str] = set()
    limits: dict[tuple[int, str], TimeLimit] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            nodes.append(Node.from_json(data, limits))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise TaxonomyFileError(f"{origin}:{lineno}: {exc}") from exc
        versions.add(str(data.get("version", "")))
    if len(versions) > 1:
        raise TaxonomyFileError(f"{origin}: records carry several versions: {sorted(versions)}")
    nodes.sort(key=lambda n: n.code)
    return Taxonomy(version=versions.pop() if versions else "", nodes=tuple(nodes))


@dataclass(frozen=True, slots=True)
class Department:
    """A department that orders are dispatched to (市直部门, 县区政府, 公用事业企业 ...)."""

    id: str
    name: str
    kind: str
    phone: str | None = None


def load_departments(path: Path | str | None = None) -> Mapping[str, Department]:
    """Read ``departments.tsv`` (id, name, kind, phone; ``#`` comments) into an id → Department map."""
    source = Path(path) if path is not None else DEFAULT_DEPARTMENTS_PATH
    departments: dict[str, Department] = {}
    for lineno, raw in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in raw.split("\t")]
        if len(cols) < 3 or not cols[0] or not cols[1]:
            raise TaxonomyFileError(f"{source}:{lineno}: expected id<TAB>name<TAB>kind[<TAB>phone]")
        if cols[0] in departments:
            raise TaxonomyFileError(f"{source}:{lineno}: duplicate department id {cols[0]!r}")
        phone = cols[3] if len(cols) > 3 and cols[3] else None
        departments[cols[0]] = Department(id=cols[0], name=cols[1], kind=cols[2], phone=phone)
    return MappingProxyType(departments)

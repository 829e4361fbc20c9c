"""The in-memory search index over a taxonomy: an alias table plus inverted indexes.

Every leaf contributes its name and keywords as aliases. Per alias we keep the precomputed pinyin
(full key, initials key) and its syllables, and we index character bigrams, pinyin-syllable bigrams
(for IME homophones: 暖起 and 暖气 share ``nuan|qi``) and the pinyin keys as two newline-joined
blobs sorted by length, so a prefix or substring scan is one C-level ``str.find`` loop that meets
the shortest keys first. Domains (level 2) get their own small alias table.

Building never runs pypinyin for aliases whose pinyin the data carries.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taxonomy.search_query import CJK_CLASS
from taxonomy.search_syllables import MAX_SYLLABLE_LEN, SYLLABLES


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """What a result shows about a leaf (copied out of the node once, at build time)."""

    code: str
    name: str
    path: tuple[str, ...]
    domain: str  # parent code
    department: str | None
    time_limit: Any
    urgency: str | None
    exclude: tuple[str, ...]
    praise_only: bool = False  # a 表扬-only leaf: rare in traffic, never the default reading
    position: float = 0.0  # place in its domain, 0 = first: authors list the common matters first


@dataclass(slots=True)
class SearchIndex:
    leaves: list[LeafInfo] = field(default_factory=list)
    leaf_by_code: dict[str, int] = field(default_factory=dict)
    sorted_codes: list[str] = field(default_factory=list)  # leaf codes, for code-prefix lookup
    # alias table (parallel lists; an alias id is the position)
    alias_text: list[str] = field(default_factory=list)
    alias_leaf: list[int] = field(default_factory=list)
    alias_full: list[str] = field(default_factory=list)
    alias_initials: list[str] = field(default_factory=list)
    alias_syllables: list[tuple[str, ...] | None] = field(default_factory=list)
    alias_bigram_count: list[int] = field(default_factory=list)
    leaf_aliases: list[list[int]] = field(default_factory=list)  # leaf number -> its alias ids
    # inverted indexes
    char_bigrams: dict[str, list[int]] = field(default_factory=dict)
    char_unigrams: dict[str, list[int]] = field(default_factory=dict)
    syllable_bigrams: dict[str, list[int]] = field(default_factory=dict)
    initials_blob: KeyBlob = field(default_factory=lambda: KeyBlob.build([]))
    full_blob: KeyBlob = field(default_factory=lambda: KeyBlob.build([]))
    initials_prefix: PrefixIndex = field(default_factory=lambda: PrefixIndex.build([]))
    full_prefix: PrefixIndex = field(default_factory=lambda: PrefixIndex.build([]))
    # domains
    domain_aliases: list[tuple[str, int]] = field(default_factory=list)  # (alias text, domain index)
    domain_codes: list[str] = field(default_factory=list)
    domain_leaves: list[list[int]] = field(default_factory=list)
    version: str | None = None
    span_counts: dict[str, int] = field(default_factory=dict)  # memo of search_scorers.span_count

    @property
    def alias_count(self) -> int:
        return len(self.alias_text)


@dataclass(frozen=True, slots=True)
class KeyBlob:
    """Pinyin keys joined by newlines, shortest first; ``find`` hits map back to alias ids."""

    text: str
    starts: list[int]
    ids: list[int]

    @classmethod
    def build(cls, keyed: Sequence[tuple[str, int]], presorted: bool = False) -> KeyBlob:
        """``presorted``: ``keyed`` is already in (length, key, id) order."""
        ordered = keyed if presorted else sorted(keyed, key=lambda item: (len(item[0]), item[0], item[1]))
        starts, ids, pos = [], [], 1
        for key, alias_id in ordered:
            starts.append(pos)
            ids.append(alias_id)
            pos += len(key) + 1
        return cls("\n" + "\n".join(k for k, _ in ordered) + "\n", starts, ids)

    def find(self, needle: str, *, prefix_only: bool, cap: int) -> list[int]:
        """Alias ids whose key starts with (or contains) ``needle``, shortest keys first, at most ``cap``."""
        if not needle or "\n" in needle:
            return []
        pattern = "\n" + needle if prefix_only else needle
        out: list[int] = []
        seen: set[int] = set()
        pos = self.text.find(pattern)
        while pos >= 0 and len(out) < cap:
            slot = bisect.bisect_right(self.starts, pos + (1 if prefix_only else 0)) - 1
            alias_id = self.ids[slot]
            if alias_id not in seen:
                seen.add(alias_id)
                out.append(alias_id)
            # continue after the end of this key: one hit per key is enough
            nxt = self.starts[slot + 1] - 1 if slot + 1 < len(self.starts) else len(self.text)
            pos = self.text.find(pattern, max(nxt, pos + 1))
        return out


@dataclass(frozen=True, slots=True)
class PrefixIndex:
    """Keys in lexicographic order for prefix ranges by bisection; one- and two-letter prefixes
    (thousands of keys at scale) are answered from small precomputed buckets, shortest keys first."""

    keys: list[str]
    ids: list[int]
    short: dict[str, list[int]]

    SHORT = 2

    @classmethod
    def build(
        cls, keyed: Sequence[tuple[str, int]], bucket: int = 400, presorted: bool = False
    ) -> PrefixIndex:
        """``presorted``: ``keyed`` is already in (length, key, id) order."""
        ordered = sorted(keyed)
        short: defaultdict[str, list[int]] = defaultdict(list)
        by_length = keyed if presorted else sorted(keyed, key=lambda item: (len(item[0]), item[0], item[1]))
        for key, alias_id in by_length:
            for n in range(1, min(cls.SHORT, len(key)) + 1):
                ids = short[key[:n]]
                if len(ids) < bucket:
                    ids.append(alias_id)
        return cls([k for k, _ in ordered], [i for _, i in ordered], dict(short))

    def find(self, prefix: str, cap: int) -> list[int]:
        """Alias ids whose key starts with ``prefix``, shortest keys first, at most ``cap``."""
        if not prefix:
            return []
        if len(prefix) <= self.SHORT:
            return self.short.get(prefix, [])[:cap]
        lo = bisect.bisect_left(self.keys, prefix)
        hi = bisect.bisect_left(self.keys, prefix[:-1] + chr(ord(prefix[-1]) + 1), lo)
        keys = self.keys
        span = (
            sorted(range(lo, hi), key=lambda i: (len(keys[i]), i))
            if hi - lo <= 4 * cap
            else (heapq.nsmallest(cap, range(lo, hi), key=lambda i: (len(keys[i]), i)))
        )
        return [self.ids[i] for i in span[:cap]]


def char_bigrams(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(len(text) - 1)]


_ALL_CJK = re.compile(f"[{CJK_CLASS}]+")
_CANONICAL = {s: s for s in SYLLABLES}  # one string object per syllable, shared by every alias


def _fuzzy(syllable: str) -> str:
    """The 模糊音 most IMEs offer and north-eastern speakers rely on: zh/z, ch/c, sh/s, ang/an, eng/en, ing/in."""
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    if len(syllable) > 2 and syllable.endswith("ng") and syllable[-3] in "aei":
        syllable = syllable[:-1]
    return syllable


FUZZY_SYLLABLE = {s: _fuzzy(s) for s in SYLLABLES}


def syllable_bigrams(syllables: Sequence[str]) -> list[str]:
    """Adjacent syllable pairs in their 模糊音 form: 养老精 (jing) still meets 养老金 (jin)."""
    fuzzy = [FUZZY_SYLLABLE.get(s, s) for s in syllables]
    return [f"{a}|{b}" for a, b in itertools.pairwise(fuzzy)]


def split_syllables(full: str, initials: str) -> tuple[str, ...] | None:
    """Split a concatenated full-pinyin key into syllables, guided by the initials (one per syllable).

    ``("nuanqibure", "nqbr")`` → ``("nuan", "qi", "bu", "re")``. None when the key holds anything
    that is not a syllable (digits, Latin words), so such aliases only use the key blobs.
    """
    if " " in full or "'" in full:
        parts = tuple(p for p in full.replace("'", " ").split() if p)
        return parts if all(p in SYLLABLES for p in parts) else None
    n, size = len(initials), len(full)
    if n == 0 or size == 0:
        return None
    out: list[str] = []

    def walk(pos: int, i: int) -> bool:
        if i == n:
            return pos == size
        if pos >= size or full[pos] != initials[i]:
            return False
        for length in range(min(MAX_SYLLABLE_LEN, size - pos), 0, -1):
            piece = _CANONICAL.get(full[pos : pos + length])
            if piece is not None:
                out.append(piece)
                if walk(pos + length, i + 1):
                    return True
                out.pop()
        return False

    return tuple(out) if walk(0, 0) else None


def _get(node: Any, name: str, default: Any = None) -> Any:
    if isinstance(node, Mapping):
        return node.get(name, default)
    return getattr(node, name, default)


def _nodes_of(taxonomy: Any) -> list[Any]:
    """Accept a Taxonomy object (``.nodes`` as a mapping or list) or any iterable of nodes."""
    nodes = _get(taxonomy, "nodes", None) if not isinstance(taxonomy, list | tuple) else None
    if nodes is None:
        nodes = taxonomy
    if isinstance(nodes, Mapping):
        nodes = nodes.values()
    nodes = list(nodes)
    if nodes and isinstance(nodes[0], dict):
        return sorted(nodes, key=lambda n: str(n.get("code")))
    return sorted(nodes, key=lambda n: str(getattr(n, "code", "")))


PinyinFn = Callable[[str], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _AliasRow:
    text: str
    leaf: int
    full: str
    initials: str


def _node_view(node: Any) -> Mapping[str, Any]:
    """The fields we read, from a model Node, a dict or any object with those attributes."""
    if isinstance(node, dict):
        return node
    return {name: getattr(node, name, None) for name in _FIELDS}


_FIELDS = (
    "code",
    "name",
    "level",
    "parent",
    "path",
    "keywords",
    "pinyin",
    "department",
    "time_limit",
    "urgency",
    "exclude_keywords",
    "natures",
    "active",
)


def build_index(taxonomy: Any, pinyin_fn: PinyinFn) -> SearchIndex:
    """Build the index (see ``_build``) with the cyclic garbage collector paused.

    The build allocates a few hundred thousand small objects and no cycles; letting the collector
    walk them again and again costs about a third of the start-up time for nothing.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build(taxonomy, pinyin_fn)
    finally:
        if paused:
            gc.enable()


def _build(taxonomy: Any, pinyin_fn: PinyinFn) -> SearchIndex:
    """Build the index; ``pinyin_fn(text) -> (full, initials)`` is only called for aliases lacking pinyin.

    Alias ids are assigned in order of alias length, so every posting list is sorted shortest first
    for free (the scorers cap long posting lists and keep the best end).
    """
    idx = SearchIndex(version=_get(taxonomy, "version", None))
    nodes = [_node_view(n) for n in _nodes_of(taxonomy)]
    by_code = {str(n["code"]): n for n in nodes}
    domain_of: dict[str, int] = {}
    for node in nodes:
        if node.get("level") == 2:
            code = str(node["code"])
            domain_of[code] = len(idx.domain_codes)
            idx.domain_codes.append(code)
            idx.domain_leaves.append([])
            for alias in dict.fromkeys([node.get("name"), *(node.get("keywords") or ())]):
                if alias:
                    idx.domain_aliases.append((str(alias).lower(), domain_of[code]))

    rows: list[_AliasRow] = []
    domain_size: Counter[str] = Counter(
        str(n.get("parent") or "") for n in nodes if n.get("level") == 3 and n.get("active") is not False
    )
    for node in nodes:
        if node.get("level") != 3 or node.get("active") is False:
            continue
        code = str(node["code"])
        parent = str(node.get("parent") or "")
        path = tuple(node.get("path") or ())
        leaf_no = len(idx.leaves)
        idx.leaves.append(
            LeafInfo(
                code=code,
                name=str(node["name"]),
                path=path if len(path) >= 3 else _path_from_parents(node, by_code),
                domain=parent,
                department=node.get("department"),
                time_limit=node.get("time_limit"),
                urgency=node.get("urgency"),
                exclude=tuple(w.lower() for w in node.get("exclude_keywords") or () if w),
                praise_only=tuple(node.get("natures") or ()) == ("表扬",),
                position=_position(idx.domain_leaves[domain_of[parent]], domain_size[parent])
                if parent in domain_of
                else 0.0,
            )
        )
        idx.leaf_by_code[code] = leaf_no
        if parent in domain_of:
            idx.domain_leaves[domain_of[parent]].append(leaf_no)
        table = node.get("pinyin") or {}
        for original in dict.fromkeys(a for a in (node["name"], *(node.get("keywords") or ())) if a):
            keys = table.get(original)
            full, initials = (keys[0], keys[1]) if keys and len(keys) >= 2 else pinyin_fn(str(original))
            rows.append(_AliasRow(str(original).lower(), leaf_no, str(full).lower(), str(initials).lower()))
    rows.sort(key=lambda r: (len(r.text), r.text, r.leaf))
    _fill_alias_table(idx, rows)
    idx.sorted_codes = sorted(idx.leaf_by_code)
    return idx


def _position(members_so_far: Sequence[int], size: int) -> float:
    return len(members_so_far) / max(1, size - 1)


def _fill_alias_table(idx: SearchIndex, rows: Sequence[_AliasRow]) -> None:
    bigrams: defaultdict[str, list[int]] = defaultdict(list)
    unigrams: defaultdict[str, list[int]] = defaultdict(list)
    syl_bigrams: defaultdict[str, list[int]] = defaultdict(list)
    char_syllable: dict[str, str] = {}  # learnt while splitting: most aliases reuse known characters
    leaf_aliases: list[list[int]] = [[] for _ in idx.leaves]
    texts, leaves, fulls, initials = idx.alias_text, idx.alias_leaf, idx.alias_full, idx.alias_initials
    syllable_table, counts = idx.alias_syllables, idx.alias_bigram_count
    all_cjk = _ALL_CJK.fullmatch
    for alias_id, row in enumerate(rows):
        alias = row.text
        syllables = _syllables_of(alias, row.full, row.initials, char_syllable) if all_cjk(alias) else None
        grams = {alias[i : i + 2] for i in range(len(alias) - 1)}
        texts.append(alias)
        leaves.append(row.leaf)
        fulls.append(row.full)
        initials.append(row.initials)
        syllable_table.append(syllables)
        counts.append(len(grams))
        leaf_aliases[row.leaf].append(alias_id)
        for g in grams:
            bigrams[g].append(alias_id)
        for ch in set(alias):
            unigrams[ch].append(alias_id)
        if syllables and len(syllables) > 1:
            for pair in set(syllable_bigrams(syllables)):
                syl_bigrams[pair].append(alias_id)
    idx.leaf_aliases = leaf_aliases
    idx.char_bigrams = dict(bigrams)
    idx.char_unigrams = dict(unigrams)
    idx.syllable_bigrams = dict(syl_bigrams)
    for keys, blob_name, prefix_name in (
        (initials, "initials_blob", "initials_prefix"),
        (fulls, "full_blob", "full_prefix"),
    ):
        by_length = sorted(
            ((k, i) for i, k in enumerate(keys) if k), key=lambda item: (len(item[0]), item[0], item[1])
        )
        setattr(idx, blob_name, KeyBlob.build(by_length, presorted=True))
        setattr(idx, prefix_name, PrefixIndex.build(by_length, presorted=True))


def _syllables_of(
    alias: str, full: str, initials: str, char_syllable: dict[str, str]
) -> tuple[str, ...] | None:
    """Syllables per character: from characters seen before when they spell ``full``, else split it."""
    known = [char_syllable.get(c) for c in alias]
    if all(known) and "".join(known) == full:  # type: ignore[arg-type]
        return tuple(known)  # type: ignore[arg-type]
    syllables = split_syllables(full, initials)
    if syllables and len(syllables) == len(alias):
        for ch, syl in zip(alias, syllables, strict=True):
            char_syllable.setdefault(ch, syl)
    return syllables


def _path_from_parents(node: Any, by_code: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    seen: set[str] = set()
    cur: Any = node
    while cur is not None and str(_get(cur, "code")) not in seen:
        seen.add(str(_get(cur, "code")))
        names.append(str(_get(cur, "name")))
        cur = by_code.get(str(_get(cur, "parent") or ""))
    return tuple(reversed(names))


def codes_with_prefix(idx: SearchIndex, prefix: str, limit: int) -> list[str]:
    start = bisect.bisect_left(idx.sorted_codes, prefix)
    out = []
    for code in idx.sorted_codes[start : start + limit]:
        if not code.startswith(prefix):
            break
        out.append(code)
    return out

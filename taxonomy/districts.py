"""Anshan's county-level units (属地), their streets/towns and landmarks, and address → jurisdiction matching.

``match_district(address)`` takes what an operator typed or a caller said ("铁东区胜利街道…", "汤岗子那边",
"鞍钢厂区", "tiedong", or an IME homophone such as "铁冬区") and returns candidate jurisdictions, best first,
as ``DistrictMatch(district, street, score)`` with a score in 0–100. Matching is layered:

1. exact mentions of district names/aliases, streets (full or without 街道/镇/乡), and landmarks; a mention
   inside a longer mention (千山 inside 千山中路) is ignored;
2. the pinyin of the address against the pinyin of every name (catches homophone typos);
3. ASCII input (pinyin typing) against full pinyin prefixes and initials;
4. a rapidfuzz ``partial_ratio`` fallback for near-misses.
A district named explicitly outranks a street of another district with the same name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from taxonomy.pinyin import PinyinConverter, default_converter, has_cjk, normalize_query

DEFAULT_DISTRICTS_PATH = Path(__file__).resolve().parent / "data" / "districts.json"
_STREET_SUFFIXES = ("管理区", "街道", "镇", "乡")

# Scores of the layers (0-100). Full names beat short forms; a short 2-character street name such as
# 解放/和平 is also an everyday word, so it scores low unless its district is named too.
SCORE_STREET_FULL = 95.0
SCORE_DISTRICT = 90.0
SCORE_PLACE = 85.0
SCORE_STREET_SHORT = 70.0
SCORE_SHORT_WORD = 55.0
SCORE_CONSISTENT_SHARE = 0.5
SCORE_PINYIN_IN_ADDRESS = 65.0
SCORE_ASCII_FULL_PREFIX = 80.0
SCORE_ASCII_INITIALS = 70.0
FUZZY_CUTOFF = 80.0
FUZZY_WEIGHT = 0.6


@dataclass(frozen=True, slots=True)
class Street:
    name: str
    district: str
    aliases: tuple[str, ...] = ()
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """A landmark callers name instead of an address (鞍钢, 千山, 西柳服装城)."""

    name: str
    districts: tuple[str, ...]
    street: str | None = None
    aliases: tuple[str, ...] = ()
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class District:
    name: str
    code: str | None
    department: str
    aliases: tuple[str, ...]
    streets: tuple[Street, ...]
    places: tuple[Place, ...] = ()


class DistrictMatch(NamedTuple):
    district: str
    street: str | None
    score: float


@dataclass(frozen=True, slots=True)
class _Alias:
    text: str
    district: str
    street: str | None
    score: float
    full: str  # full pinyin
    initials: str


@dataclass(frozen=True)
class Districts:
    """The jurisdiction list plus its precomputed alias index (built once, immutable)."""

    version: str
    districts: tuple[District, ...]
    converter: PinyinConverter = field(default_factory=default_converter, repr=False)
    _aliases: tuple[_Alias, ...] = field(init=False, repr=False)
    by_name: Mapping[str, District] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", MappingProxyType({d.name: d for d in self.districts}))
        object.__setattr__(self, "_aliases", tuple(self._build_aliases()))

    def _build_aliases(self) -> Iterable[_Alias]:
        seen: set[tuple[str, str, str | None]] = set()

        def make(text: str, district: str, street: str | None, score: float) -> _Alias | None:
            if len(text) < 2 or (text, district, street) in seen:
                return None
            seen.add((text, district, street))
            full, initials = self.converter.keys(text)
            return _Alias(text, district, street, score, full, initials)

        candidates: list[_Alias | None] = []
        for d in self.districts:
            candidates += [make(a, d.name, None, SCORE_DISTRICT) for a in (d.name, *d.aliases)]
            for s in d.streets:
                candidates.append(make(s.name, d.name, s.name, SCORE_STREET_FULL))
                for short in (*s.aliases, street_short_name(s.name)):
                    score = SCORE_STREET_SHORT if len(short) > 2 else SCORE_SHORT_WORD
                    candidates.append(make(short, d.name, s.name, score))
            for p in d.places:
                candidates += [make(a, d.name, p.street, SCORE_PLACE) for a in (p.name, *p.aliases)]
        return [c for c in candidates if c is not None]

    def department_of(self, district: str) -> str | None:
        found = self.by_name.get(district)
        return found.department if found else None

    def match(self, address: str, limit: int = 5) -> list[DistrictMatch]:
        """Candidate (district, street, score) for a spoken or typed address, best first."""
        text = normalize_query(address)[:300]
        if not text:
            return []
        if has_cjk(text):
            scored = self._exact(text)
            self._merge(scored, self._pinyin_in_address(text, scored))
            if not scored:
                self._merge(scored, self._fuzzy(text))
        else:
            scored = self._ascii(text.replace(" ", "").replace("'", ""))
        return self._rank(scored, limit)

    # -- layers ------------------------------------------------------------------------------------------

    def _exact(self, text: str) -> dict[tuple[str, str | None], float]:
        hits = [(a, text.find(a.text)) for a in self._aliases if a.text in text]
        spans = [(pos, pos + len(a.text)) for a, pos in hits]
        scored: dict[tuple[str, str | None], float] = {}
        for (alias, _), (start, end) in zip(hits, spans, strict=True):
            if any(s <= start and end <= e and (e - s) > (end - start) for s, e in spans):
                continue  # 千山 inside 千山中路, 长甸 inside 东长甸
            key = (alias.district, alias.street)
            scored[key] = max(scored.get(key, 0.0), alias.score)
        return self._apply_district_context(scored)

    def _apply_district_context(
        self, scored: dict[tuple[str, str | None], float]
    ) -> dict[tuple[str, str | None], float]:
        named = {d for (d, street), s in scored.items() if street is None and s >= SCORE_DISTRICT}
        if not named:
            return scored
        out: dict[tuple[str, str | None], float] = {}
        for (district, street), score in scored.items():
            if street is not None and district in named:
                # A street of the named district outranks the bare district; full names stay on top.
                base = max(score, SCORE_DISTRICT)
                score = base + (100.0 - base) * SCORE_CONSISTENT_SHARE
            elif street is not None:
                score *= 0.6  # the caller named another district: a same-named street elsewhere is unlikely
            out[(district, street)] = score
        return out

    def _pinyin_in_address(
        self, text: str, already: Mapping[tuple[str, str | None], float]
    ) -> dict[tuple[str, str | None], float]:
        full = self.converter.keys(text)[0]
        scored: dict[tuple[str, str | None], float] = {}
        for alias in self._aliases:
            # Only names of 3+ characters: 2-character pinyin (jiefang, heping) is too common to trust.
            if len(alias.text) >= 3 and alias.full in full and (alias.district, alias.street) not in already:
                key = (alias.district, alias.street)
                scored[key] = max(scored.get(key, 0.0), SCORE_PINYIN_IN_ADDRESS * alias.score / 100.0)
        return scored

    def _ascii(self, query: str) -> dict[tuple[str, str | None], float]:
        scored: dict[tuple[str, str | None], float] = {}
        if len(query) < 2:
            return scored
        for alias in self._aliases:
            if alias.full.startswith(query) and len(query) >= 3:
                score = SCORE_ASCII_FULL_PREFIX * min(1.0, len(query) / len(alias.full) + 0.5)
            elif alias.initials == query or (len(query) >= 3 and alias.initials.startswith(query)):
                score = SCORE_ASCII_INITIALS * (1.0 if alias.initials == query else 0.85)
            else:
                continue
            score *= alias.score / 100.0
            key = (alias.district, alias.street)
            scored[key] = max(scored.get(key, 0.0), score)
        return scored

    def _fuzzy(self, text: str) -> dict[tuple[str, str | None], float]:
        scored: dict[tuple[str, str | None], float] = {}
        for alias in self._aliases:
            if len(alias.text) < 3:
                continue
            ratio = fuzz.partial_ratio(alias.text, text, score_cutoff=FUZZY_CUTOFF)
            if ratio:
                key = (alias.district, alias.street)
                scored[key] = max(scored.get(key, 0.0), ratio * FUZZY_WEIGHT * alias.score / 100.0)
        return scored

    @staticmethod
    def _merge(
        into: dict[tuple[str, str | None], float], other: Mapping[tuple[str, str | None], float]
    ) -> None:
        for key, score in other.items():
            into[key] = max(into.get(key, 0.0), score)

    @staticmethod
    def _rank(scored: Mapping[tuple[str, str | None], float], limit: int) -> list[DistrictMatch]:
        # A street-level hit makes the bare district redundant when it scores at least as well.
        best_street = {d: s for (d, street), s in scored.items() if street is not None}
        rows = [
            DistrictMatch(d, street, round(score, 1))
            for (d, street), score in scored.items()
            if street is not None or score > best_street.get(d, -1.0)
        ]
        rows.sort(key=lambda m: (-m.score, m.street is None, m.district, m.street or ""))
        return rows[: max(0, limit)]


def street_short_name(name: str) -> str:
    """胜利街道 → 胜利, 唐家房镇 → 唐家房, 海州管理区 → 海州."""
    for suffix in _STREET_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _district_from_json(data: Mapping[str, Any]) -> District:
    name = data["name"]
    streets = tuple(
        Street(s["name"], name, tuple(s.get("aliases", ())), bool(s.get("uncertain", False)))
        for s in data.get("streets", ())
    )
    places = tuple(
        Place(
            p["name"],
            (name, *p.get("shared_with", ())),
            p.get("street"),
            tuple(p.get("aliases", ())),
            bool(p.get("uncertain", False)),
        )
        for p in data.get("places", ())
    )
    return District(
        name, data.get("code"), data["department"], tuple(data.get("aliases", ())), streets, places
    )


def load_districts(path: Path | str | None = None, converter: PinyinConverter | None = None) -> Districts:
    """Read the districts file (default: the shipped ``taxonomy/data/districts.json``)."""
    source = Path(path) if path is not None else DEFAULT_DISTRICTS_PATH
    data = json.loads(source.read_text(encoding="utf-8"))
    districts = tuple(_district_from_json(d) for d in data["districts"])
    return Districts(str(data.get("version", "")), districts, converter or default_converter())


@lru_cache(maxsize=1)
def default_districts() -> Districts:
    """The shipped list, loaded once (immutable)."""
    return load_districts()


def match_district(address: str, districts: Districts | None = None, limit: int = 5) -> list[DistrictMatch]:
    """Fuzzy-match a spoken/typed address to (district, street, score) candidates, best first."""
    return (districts or default_districts()).match(address, limit=limit)

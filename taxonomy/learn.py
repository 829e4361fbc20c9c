"""Mine keyword candidates from (text, leaf) pairs: what callers say that the keyword list misses.

The store feeds it ticket descriptions (and the operators' typed queries) with the leaf finally
chosen; a supervisor reviews the candidates before any becomes a keyword. A candidate is a
character n-gram that occurs in at least ``min_support`` texts filed under one leaf, mostly there
(``precision`` = share of all texts containing it that were filed under that leaf), and is not
already covered by that leaf's aliases. Only maximal n-grams are kept (楼上漏水 rather than 上漏水
when both have the same support). Pure function: no I/O, deterministic output.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from taxonomy.search_query import RunKind, clean, split_runs

# Characters that make an n-gram grammar rather than content when they start or end it.
_EDGE_STOP = frozenset("的了吗呢啊吧呀哦嘛我你他她它们是在有和与及就都也还这那个一又被把给让对说要")
_TEXT_MAX_CHARS = 400


@dataclass(frozen=True, slots=True)
class Candidate:
    leaf_code: str
    keyword: str
    support: int  # texts under this leaf containing the keyword
    precision: float  # support / texts anywhere containing it
    score: float


def _leaf_aliases(taxonomy: Any) -> dict[str, tuple[str, ...]]:
    nodes = getattr(taxonomy, "nodes", taxonomy)
    out: dict[str, tuple[str, ...]] = {}
    for node in nodes:
        if getattr(node, "level", None) == 3:
            out[str(node.code)] = tuple(a.lower() for a in (node.name, *node.keywords))
    return out


def _ngrams(text: str, min_n: int, max_n: int) -> set[str]:
    grams: set[str] = set()
    for run in split_runs(clean(text, _TEXT_MAX_CHARS)):
        if run.kind is not RunKind.CJK:
            continue
        s = run.text
        for n in range(min_n, max_n + 1):
            for i in range(len(s) - n + 1):
                g = s[i : i + n]
                if g[0] not in _EDGE_STOP and g[-1] not in _EDGE_STOP:
                    grams.add(g)
    return grams


def mine_keywords(
    pairs: Iterable[tuple[str, str]],
    taxonomy: Any,
    *,
    min_support: int = 3,
    min_precision: float = 0.6,
    min_n: int = 2,
    max_n: int = 5,
    per_leaf: int = 10,
) -> list[Candidate]:
    """Keyword candidates per leaf, sorted by leaf code, then score (support × precision), then keyword.

    ``pairs`` are (text, leaf_code); pairs naming an unknown leaf are ignored.
    """
    aliases = _leaf_aliases(taxonomy)
    every_alias = {a for group in aliases.values() for a in group}
    leaf_df: defaultdict[str, Counter[str]] = defaultdict(Counter)
    df: Counter[str] = Counter()
    for text, code in pairs:
        if code not in aliases or not isinstance(text, str):
            continue
        grams = _ngrams(text, min_n, max_n)
        leaf_df[code].update(grams)
        df.update(grams)

    out: list[Candidate] = []
    for code in sorted(leaf_df):
        own = aliases[code]
        found: list[Candidate] = []
        for gram, support in leaf_df[code].items():
            if support < min_support or gram in every_alias or any(gram in alias for alias in own):
                continue
            precision = support / df[gram]
            if precision < min_precision:
                continue
            found.append(Candidate(code, gram, support, round(precision, 3), round(support * precision, 3)))
        out.extend(_maximal(found)[:per_leaf])
    return out


def _maximal(found: list[Candidate]) -> list[Candidate]:
    """Drop an n-gram inside a longer candidate that has (almost) the same support; best first."""
    kept: list[Candidate] = []
    for cand in sorted(found, key=lambda c: (-len(c.keyword), -c.score, c.keyword)):
        if any(cand.keyword in k.keyword and k.support >= 0.8 * cand.support for k in kept):
            continue
        kept.append(cand)
    kept.sort(key=lambda c: (-c.score, -len(c.keyword), c.keyword))
    return kept

"""Find the right leaf in a few keystrokes: the query router, reciprocal-rank fusion and boosts.

``Searcher(taxonomy).search("暖起不热")`` routes the query (see ``search_query``):

- letters only → pinyin tiers (initials, full keys, syllable prefixes: nqbr, nuanqi, nuanqbr);
- Chinese → fused rankings: character-bigram coverage over names + keywords, ``partial_ratio`` over
  the candidate aliases, ``QRatio`` over the candidate names, pinyin-syllable coverage (homophones),
  and a small credit for the domain named in the query;
- mixed (``dt困人``) → the Chinese ranking, the pinyin ranking of the letters and the pinyin
  ranking of the whole query read as pinyin, fused;
- digits → code prefix.

Fusion is ``Σ wᵢ / (k + rankᵢ)`` with competition ranks (equal scores share a rank), so the order
never depends on hash or insertion order; remaining ties go to the shorter matched alias, then the
code. Boosts (the operator's recent/frequent choices, leaf popularity in recent tickets) are plain
``code → weight`` mappings added on top of candidates that matched; they never invent a result.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import structlog

from taxonomy.pinyin import default_converter, pinyin_keys
from taxonomy.search_index import LeafInfo, SearchIndex, build_index, codes_with_prefix
from taxonomy.search_query import SUGGEST_MAX_CHARS, Mode, Query, RunKind, parse_query
from taxonomy.search_scorers import (
    PREFIX_TIER,
    SUBSTRING_TIER,
    WORD_BONUS,
    Hit,
    LeafHits,
    ScorerLimits,
    SubstringMemo,
    bigram_scores,
    domain_scores,
    partial_ratio_scores,
    pinyin_match,
    pinyin_scores,
    qratio_scores,
    syllable_scores,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Weights:
    """Fusion weights per signal (tuned on the development set, see bench/RESULTS.md)."""

    bigram: float = 1.0
    partial: float = 0.6
    qratio: float = 1.0
    homophone: float = 0.6
    domain: float = 0.3
    # mixed input: Chinese part, letters as pinyin, the whole query read as pinyin
    mixed_chinese: float = 1.0
    mixed_letters: float = 0.6
    mixed_whole: float = 1.2


@dataclass(frozen=True, slots=True)
class SearchConfig:
    weights: Weights = field(default_factory=Weights)
    limits: ScorerLimits = field(default_factory=ScorerLimits)
    rrf_k: float = 10.0
    depth: int = 50  # how many of each ranked list take part in the fusion
    user_boost: float = 0.15  # added at most, for the operator's strongest prior
    popularity_boost: float = 0.1
    exclude_factor: float = 0.5  # a leaf whose exclude keyword is in the query keeps half its score
    praise_factor: float = 0.9  # a praise-only leaf, when the query does not praise
    order_prior: float = 0.02  # subtracted × a leaf's place in its domain (0 first .. 1 last)
    mixed_depth: int = 100  # mixed input: how deep the Chinese part is searched for leaves matching both
    cache_size: int = 512
    domain_min_chars: int = 6  # queries this long (caller phrases) also get the domain signal
    fuzzy_below: int = 5  # pinyin: try typo-tolerant matching only when fewer leaves matched exactly


@dataclass(frozen=True, slots=True)
class Result:
    code: str
    path: tuple[str, ...]
    score: float
    matched: str
    department: str | None
    time_limit: Any
    urgency: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``hotline taxonomy search --json``."""
        limit = self.time_limit
        if limit is not None and not isinstance(limit, dict | str | int | float):
            limit = _plain(limit)
        return {
            "code": self.code,
            "path": list(self.path),
            "score": self.score,
            "matched": self.matched,
            "department": self.department,
            "time_limit": limit,
            "urgency": self.urgency,
        }


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    return str(value)


class ChoiceLog(Protocol):
    """Where the console stores (query typed, leaf chosen, rank shown) pairs for keyword mining."""

    def __call__(self, query: str, leaf_code: str, rank: int | None) -> None: ...


# (leaf number, score before boosts, alias id or -1)
Ranked = list[tuple[int, float, int]]
# (weight, best hit per leaf, the score that counts as perfect; None: the best score in the list)
Signal = tuple[float, LeafHits, float | None]
PINYIN_MAX = PREFIX_TIER + WORD_BONUS  # the best a pinyin match can score


def _pinyin_unit(raw: float) -> float:
    """Pinyin tiers on [0, 1]: prefix 0.88-1, substring 0.5-0.62, fuzzy (partial_ratio 70-100) below 0.45."""
    if raw >= SUBSTRING_TIER:
        return round(0.5 + 0.5 * (raw - SUBSTRING_TIER) / (PINYIN_MAX - SUBSTRING_TIER), 4)
    return round(0.45 * max(0.0, raw - 70.0) / 30.0, 4)


PRAISE_WORDS = ("表扬", "感谢", "锦旗", "好人好事", "点赞")


def _competition_ranks(hits: LeafHits, depth: int) -> list[tuple[int, int]]:
    """(leaf, rank) for the best ``depth`` leaves; equal scores share a rank (1, 1, 3, ...)."""
    ordered = sorted(hits.items(), key=lambda item: (-item[1].score, item[0]))[:depth]
    out: list[tuple[int, int]] = []
    rank, prev = 0, None
    for pos, (leaf, hit) in enumerate(ordered, start=1):
        if hit.score != prev:
            rank, prev = pos, hit.score
        out.append((leaf, rank))
    return out


class Searcher:
    """The taxonomy search index and its queries. Build once at start-up; queries are synchronous.

    It keeps small bounded memos (results per query, pinyin substring scans per keystroke, word
    counts), so call it from one thread (the console's event loop) or give each thread its own.
    """

    def __init__(
        self,
        taxonomy: Any,
        *,
        popularity: Mapping[str, float] | None = None,
        config: SearchConfig | None = None,
        choice_log: ChoiceLog | None = None,
        pinyin: Callable[[str], tuple[str, str]] = pinyin_keys,
    ) -> None:
        self.config = config or SearchConfig()
        self.index: SearchIndex = build_index(taxonomy, pinyin)
        self._popularity = _normalised(popularity)
        self._choice_log = choice_log
        self._converter = default_converter()
        self._cache: OrderedDict[tuple[str, str], Ranked] = OrderedDict()
        self._substrings: SubstringMemo = {}  # pinyin substring scans by keystroke prefix
        log.debug("taxonomy_index_built", leaves=len(self.index.leaves), aliases=self.index.alias_count)

    # --- public API ------------------------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 10, user_prior: Mapping[str, float] | None = None
    ) -> list[Result]:
        """Leaves for what the operator typed, best first (at most ``limit``)."""
        if limit <= 0 or not isinstance(query, str):
            return []
        parsed = parse_query(query)
        ranked = self._cached("search", parsed, lambda: self._rank(parsed))
        return self._finish(ranked, limit, user_prior)

    def suggest(
        self, description: str, limit: int = 5, user_prior: Mapping[str, float] | None = None
    ) -> list[Result]:
        """Leaves for a whole sentence the operator typed (the caller's words): 楼上天天漏水到我家."""
        if limit <= 0 or not isinstance(description, str):
            return []
        parsed = parse_query(description, SUGGEST_MAX_CHARS)
        if parsed.mode is not Mode.CHINESE and parsed.mode is not Mode.MIXED:
            return self.search(description, limit, user_prior)
        ranked = self._cached("suggest", parsed, lambda: self._rank_chinese(parsed, sentence=True))
        return self._finish(ranked, limit, user_prior)

    def record_choice(self, query: str, leaf_code: str, rank: int | None = None) -> None:
        """Hand a (query, chosen leaf) pair to the choice log, if one was given."""
        if self._choice_log is not None and leaf_code in self.index.leaf_by_code:
            self._choice_log(query, leaf_code, rank)

    def leaf(self, code: str) -> LeafInfo | None:
        n = self.index.leaf_by_code.get(code)
        return None if n is None else self.index.leaves[n]

    def set_popularity(self, popularity: Mapping[str, float] | None) -> None:
        """Replace the popularity prior (e.g. recomputed from the last 90 days of tickets)."""
        self._popularity = _normalised(popularity)

    def with_config(self, config: SearchConfig) -> Searcher:
        """A searcher over this one's index (building it takes about a second) with ``config``, a copy
        of the popularity prior and memos of its own (results depend on the config)."""
        other = copy.copy(self)
        other.config = config
        other._popularity = dict(self._popularity)
        other._cache = OrderedDict()
        other._substrings = {}
        return other

    # --- ranking ---------------------------------------------------------------------------------------

    def _cached(self, kind: str, parsed: Query, compute: Callable[[], Ranked]) -> Ranked:
        key = (kind, f"{parsed.mode}:{parsed.text}")
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        ranked = compute()
        self._cache[key] = ranked
        if len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)
        return ranked

    def _rank(self, q: Query) -> Ranked:
        if q.mode is Mode.EMPTY:
            return []
        if q.mode is Mode.CODE:
            return self._rank_code(q.text)
        if q.mode is Mode.PINYIN:
            return self._rank_pinyin(q.text)
        if q.mode is Mode.CHINESE:
            return self._rank_chinese(q, sentence=False)
        return self._rank_mixed(q)

    def _rank_code(self, prefix: str) -> Ranked:
        out: Ranked = []
        for code in codes_with_prefix(self.index, prefix, self.config.depth):
            out.append((self.index.leaf_by_code[code], 1.0 if code == prefix else 0.9, -1))
        return out

    def _rank_pinyin(self, text: str, *, substrings: bool = True, priors: bool = True) -> Ranked:
        hits = pinyin_scores(
            self.index,
            text,
            self.config.limits,
            want_leaves=self.config.fuzzy_below,
            memo=self._substrings,
            substrings=substrings,
        )
        scaled = {leaf: Hit(_pinyin_unit(h.score), h.alias) for leaf, h in hits.items()}
        if priors:
            self._apply_priors(scaled, text)
        return self._ordered(scaled)

    def _rank_chinese(
        self, q: Query, *, sentence: bool, limits: ScorerLimits | None = None, priors: bool = True
    ) -> Ranked:
        idx, w = self.index, self.config.weights
        limits = limits or self.config.limits
        runs = [r.text for r in q.runs if r.kind is not RunKind.ALPHA]
        text = "".join(runs)
        if not text:
            return []
        bigram, bigram_pool = bigram_scores(idx, runs, limits)
        run_syllables = [self._syllables(r) for r in runs if r and not r.isdigit()]
        homophone, syllable_pool = syllable_scores(idx, run_syllables, limits)
        pool = list(dict.fromkeys([*bigram_pool, *syllable_pool]))
        partial = partial_ratio_scores(idx, text, pool, limits)
        leaves = set(bigram) | set(homophone) | set(partial)
        domain_hits: LeafHits = {}
        if sentence or len(text) >= self.config.domain_min_chars:  # a keyword names a leaf, not a domain
            for domain, score in domain_scores(idx, text).items():
                for leaf in idx.domain_leaves[domain]:
                    domain_hits[leaf] = Hit(score, -1)
            if len(leaves) < limits.depth:
                leaves |= set(domain_hits)
            domain_hits = {leaf: hit for leaf, hit in domain_hits.items() if leaf in leaves}
        signals: list[Signal] = [
            (w.bigram, bigram, 1.0),
            (w.homophone, homophone, 1.0),
            (w.partial, partial, 101.0),
            (w.domain, domain_hits, None),
        ]
        if not sentence:  # a whole sentence against a short name says little
            signals.append((w.qratio, qratio_scores(idx, text, leaves), 100.0))
        fused = self._fuse(signals, limits.depth)
        if priors:
            self._apply_priors(fused, text)
        return self._ordered(fused, limits.depth)

    def _rank_mixed(self, q: Query) -> Ranked:
        """``dt困人``: the Chinese part, the letters as pinyin and the whole read as pinyin, fused; leaves
        that match both parts (a 困人 leaf whose alias also spells dt) go first."""
        w, idx = self.config.weights, self.index
        letters = q.letters
        whole = "".join(
            r.text if r.kind is not RunKind.CJK else "".join(self._syllables(r.text)) for r in q.runs
        )
        wide = replace(self.config.limits, depth=self.config.mixed_depth)
        chinese = self._rank_chinese(q, sentence=False, limits=wide, priors=False)  # priors once, at the end
        parts: list[tuple[float, Ranked]] = [
            (w.mixed_chinese, chinese),
            (w.mixed_letters, self._rank_pinyin(letters, priors=False)),
            # the whole read as pinyin only as prefixes: the Chinese part already finds the rest
            (w.mixed_whole, self._rank_pinyin(whole, substrings=False, priors=False)),
        ]
        signals: list[Signal] = [
            (weight, {leaf: Hit(score, alias) for leaf, score, alias in ranked}, 1.0)
            for weight, ranked in parts
        ]
        fused = self._fuse(signals, wide.depth)
        first = letters[:1]
        for leaf, _score, _alias in chinese:
            if leaf in fused and any(
                first in idx.alias_initials[a] and pinyin_match(letters, idx, a) is not None
                for a in idx.leaf_aliases[leaf]
            ):
                hit = fused[leaf]
                fused[leaf] = Hit(round(hit.score + 1.0, 4), hit.alias)
        top = max((h.score for h in fused.values()), default=1.0)
        fused = {leaf: Hit(round(h.score / top, 4), h.alias) for leaf, h in fused.items()}
        self._apply_priors(fused, q.cjk)
        return self._ordered(fused)

    def _fuse(self, signals: Sequence[Signal], depth: int) -> dict[int, Hit]:
        """Score-weighted reciprocal-rank fusion: ``Σ wᵢ · sᵢ / (k + rankᵢ)`` with ``sᵢ`` the signal's own
        score scaled to [0, 1] (so a weak first place counts less than a perfect one), normalised so
        a leaf ranked first with a perfect score by every active signal gets 1.0."""
        k = self.config.rrf_k
        total: dict[int, float] = {}
        alias: dict[int, int] = {}
        best_share: dict[int, float] = {}
        active = 0.0
        for weight, hits, scale in signals:
            if not hits or weight <= 0:
                continue
            active += weight
            top = scale or max(h.score for h in hits.values()) or 1.0
            for leaf, rank in _competition_ranks(hits, depth):
                hit = hits[leaf]
                share = weight * max(0.0, min(1.0, hit.score / top)) / (k + rank)
                total[leaf] = total.get(leaf, 0.0) + share
                # the alias shown as "matched" comes from the signal that contributed most
                if hit.alias >= 0 and share > best_share.get(leaf, 0.0):
                    best_share[leaf], alias[leaf] = share, hit.alias
        if not active:
            return {}
        top = active / (k + 1)
        return {leaf: Hit(round(score / top, 4), alias.get(leaf, -1)) for leaf, score in total.items()}

    def _apply_priors(self, fused: dict[int, Hit], text: str) -> None:
        """Exclude keywords in the query push a leaf down; so does being a praise-only leaf, unless the
        caller is praising (thanks are a small share of calls, never the default reading of a topic);
        and a leaf listed late in its domain loses a little (authors list the common matters first;
        a stand-in until the popularity prior from real tickets is passed in)."""
        praising = any(word in text for word in PRAISE_WORDS)
        for leaf_no, hit in fused.items():
            leaf = self.index.leaves[leaf_no]
            factor = 1.0
            if any(word and word in text for word in leaf.exclude):
                factor *= self.config.exclude_factor
            if leaf.praise_only and not praising:
                factor *= self.config.praise_factor
            score = hit.score * factor - self.config.order_prior * leaf.position
            if score != hit.score:
                fused[leaf_no] = Hit(round(score, 4), hit.alias)

    def _ordered(self, fused: Mapping[int, Hit], depth: int | None = None) -> Ranked:
        ordered = sorted(fused.items(), key=lambda item: self._tie_key(item[0], item[1]))
        return [(leaf, hit.score, hit.alias) for leaf, hit in ordered[: depth or self.config.depth]]

    def _tie_key(self, leaf: int, hit: Hit) -> tuple[float, int, str]:
        alias_len = len(self.index.alias_text[hit.alias]) if hit.alias >= 0 else 99
        return (-hit.score, alias_len, self.index.leaves[leaf].code)

    def _syllables(self, text: str) -> list[str]:
        return [s for s, is_ascii in self._converter.tokens(text) if not is_ascii]

    # --- results ---------------------------------------------------------------------------------------

    def _finish(self, ranked: Ranked, limit: int, user_prior: Mapping[str, float] | None) -> list[Result]:
        prior = _normalised(user_prior) if user_prior else {}
        cfg, idx = self.config, self.index
        scored = []
        for leaf, score, alias in ranked:
            code = idx.leaves[leaf].code
            boosted = (
                score
                + cfg.user_boost * prior.get(code, 0.0)
                + cfg.popularity_boost * self._popularity.get(code, 0.0)
            )
            scored.append((round(boosted, 4), leaf, alias))
        scored.sort(key=lambda item: (-item[0], *self._tie_key(item[1], Hit(item[0], item[2]))[1:]))
        return [self._result(leaf, score, alias) for score, leaf, alias in scored[:limit]]

    def _result(self, leaf_no: int, score: float, alias: int) -> Result:
        leaf = self.index.leaves[leaf_no]
        return Result(
            code=leaf.code,
            path=leaf.path,
            score=score,
            matched=self.index.alias_text[alias] if alias >= 0 else leaf.name,
            department=leaf.department,
            time_limit=leaf.time_limit,
            urgency=leaf.urgency,
        )


def _normalised(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Scale a code → weight mapping into [0, 1] (the strongest entry gets 1); junk entries are ignored."""
    if not weights:
        return {}
    clean = {
        str(k): float(v)
        for k, v in weights.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
    }
    top = max(clean.values(), default=0.0)
    return {k: v / top for k, v in clean.items()} if top > 0 else {}


def prior_from_choices(codes_newest_first: Sequence[str], *, half_life: float = 20.0) -> dict[str, float]:
    """An operator's recent-and-frequent prior from their last choices (newest first).

    Each choice adds ``0.5 ** (age / half_life)``: frequent codes accumulate, recent ones weigh more.
    """
    prior: dict[str, float] = {}
    for age, code in enumerate(codes_newest_first):
        prior[code] = prior.get(code, 0.0) + 0.5 ** (age / half_life)
    return prior

"""The individual ranked signals of the search, each a function of (index, query) → best hit per leaf.

Chinese text: character-bigram coverage over the alias table (the main signal), pinyin-syllable
bigram coverage (IME homophones: 暖起不热 → nuan|qi), ``partial_ratio`` over the candidate aliases
and ``QRatio`` over the candidate leaves' names. Letters: tiered pinyin matching (prefix > substring
> fuzzy, shorter alias first) over initials, full keys and syllable-by-syllable prefixes (nuanqbr).

rapidfuzz only ever runs over candidates from the inverted indexes, never over the whole table, so
a query costs the same at 3k and at 100k aliases, give or take the size of the posting lists.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from taxonomy.search_index import FUZZY_SYLLABLE, KeyBlob, SearchIndex, char_bigrams, syllable_bigrams
from taxonomy.search_syllables import MAX_SYLLABLE_LEN, SYLLABLE_PREFIXES

PREFIX_TIER = 102.0
SUBSTRING_TIER = 101.0


@dataclass(frozen=True, slots=True)
class Hit:
    score: float
    alias: int  # the alias id that produced the score; -1 when the leaf name was scored directly


LeafHits = dict[int, Hit]


@dataclass(frozen=True, slots=True)
class ScorerLimits:
    """Caps that bound the work per query (all counts of aliases)."""

    pinyin_pool: int = 300  # per scan of a key blob
    fuzzy_pool: int = 1500
    unigram_pool: int = 300
    posting_cap: int = 800  # longer posting lists only count their shortest aliases (plus known candidates)
    rerank_pool: int = 150  # aliases handed on to partial_ratio
    depth: int = 50  # leaves kept per signal
    substring_below: int = 20  # pinyin: scan for substrings only when fewer prefix leaves were found
    partial_cutoff: float = 50.0
    fuzzy_cutoff: float = 70.0


def _keep(hits: LeafHits, idx: SearchIndex, alias: int, score: float) -> None:
    leaf = idx.alias_leaf[alias]
    old = hits.get(leaf)
    if (
        old is None
        or score > old.score
        or (score == old.score and len(idx.alias_text[alias]) < len(idx.alias_text[old.alias]))
    ):
        hits[leaf] = Hit(score, alias)


# --- pinyin ----------------------------------------------------------------------------------------------


def typed_initials(q: str) -> str:
    """Initials of what was typed, reading greedily syllable by syllable: nuanqbr → nqbr, dtkunren → dtkr."""
    out: list[str] = []
    i = 0
    while i < len(q):
        step = 1
        if q[i].isalpha():
            for length in range(min(MAX_SYLLABLE_LEN, len(q) - i), 0, -1):
                if q[i : i + length] in SYLLABLE_PREFIXES:
                    step = length
                    break
        out.append(q[i])
        i += step
    return "".join(out)


def _may_stop_inside(syllable: str, typed: int) -> bool:
    """A syllable followed by more typing is written out in full or abbreviated to its initial."""
    return typed == len(syllable) or typed == 1 or (typed == 2 and syllable[:2] in ("zh", "ch", "sh"))


def consumes(q: str, syllables: Sequence[str], start: int) -> int:
    """How many of ``syllables[start:]`` ``q`` spells, IME style, or 0 if it does not fit.

    Each syllable is typed in full or as its initial (nqbr, nuanqbr, nuanqibure); only the last one
    typed may be cut anywhere (nuanqibu). So ``qianxi`` reads 欠薪 but not 抢修 (qiang·xiu).
    """
    seen: set[tuple[int, int]] = set()
    stack = [(0, start)]
    while stack:
        qi, j = stack.pop()
        if qi == len(q):
            return j - start
        if j >= len(syllables) or (qi, j) in seen:
            continue
        seen.add((qi, j))
        syl = syllables[j]
        common = 0
        while common < len(syl) and qi + common < len(q) and q[qi + common] == syl[common]:
            common += 1
        # pushed shortest first, so the longest reading is tried first
        stack.extend(
            (qi + n, j + 1) for n in range(1, common + 1) if qi + n == len(q) or _may_stop_inside(syl, n)
        )
    return 0


@dataclass(frozen=True, slots=True)
class PinyinMatch:
    tier: float  # PREFIX_TIER or SUBSTRING_TIER
    start: int  # first character of the alias that the query spells
    length: int  # how many characters it spells


def pinyin_match(q: str, idx: SearchIndex, alias: int, *, substrings: bool = True) -> PinyinMatch | None:
    """Where ``q`` (letters) matches the alias: at its start (prefix tier) or inside it (substring tier)."""
    full, initials, syllables = idx.alias_full[alias], idx.alias_initials[alias], idx.alias_syllables[alias]
    if syllables:
        if initials.startswith(q):  # fast path: one letter per syllable
            return PinyinMatch(PREFIX_TIER, 0, len(q))
        n = consumes(q, syllables, 0) if initials[:1] == q[:1] else 0
        if n:
            return PinyinMatch(PREFIX_TIER, 0, n)
        if substrings and q[0] in initials[1:]:
            first = q[0]
            for j in range(1, len(syllables)):
                if syllables[j][0] == first:
                    n = consumes(q, syllables, j)
                    if n:
                        return PinyinMatch(SUBSTRING_TIER, j, n)
        return None
    # Latin letters or digits in the alias (ETC, 12345): plain key matching on the whole alias
    if initials.startswith(q) or full.startswith(q):
        return PinyinMatch(PREFIX_TIER, 0, len(idx.alias_text[alias]))
    if substrings and (q in initials or q in full):
        return PinyinMatch(SUBSTRING_TIER, 0, len(idx.alias_text[alias]))
    return None


def span_count(idx: SearchIndex, span: str) -> int:
    """How many aliases contain ``span``: how much of a word it is (IMEs rank by word frequency)."""
    known = idx.span_counts.get(span)
    if known is not None:
        return known
    if len(span) == 1:
        count = len(idx.char_unigrams.get(span, ()))
    elif len(span) == 2:
        count = len(idx.char_bigrams.get(span, ()))
    else:
        grams = [idx.char_bigrams.get(g, []) for g in char_bigrams(span)]
        rarest = min(grams, key=len)
        count = sum(1 for a in rarest if span in idx.alias_text[a])
    if len(idx.span_counts) > 50_000:  # a memo, not a second index: keep it bounded
        idx.span_counts.clear()
    idx.span_counts[span] = count
    return count


WORD_BONUS = 0.3  # at most, for spelling a common word (search.py scales pinyin scores by it)
_WORD_SATURATION = math.log2(1 + 64)


def _pinyin_score(idx: SearchIndex, alias: int, match: PinyinMatch) -> float:
    """Tier, plus up to 0.3 for how common the spelled characters are, minus 0.01 per syllable."""
    span = idx.alias_text[alias][match.start : match.start + match.length]
    word = min(1.0, math.log2(1 + span_count(idx, span)) / _WORD_SATURATION)
    return match.tier + WORD_BONUS * word - 0.01 * len(idx.alias_initials[alias])


def pinyin_tier(q: str, idx: SearchIndex, alias: int) -> float | None:
    """The score of one alias for a letters query, or None if it neither starts with nor contains it."""
    match = pinyin_match(q, idx, alias)
    return None if match is None else _pinyin_score(idx, alias, match)


SubstringMemo = dict[tuple[str, str], tuple[list[int], bool]]


def pinyin_scores(
    idx: SearchIndex,
    q: str,
    limits: ScorerLimits,
    want_leaves: int,
    memo: SubstringMemo | None = None,
    *,
    substrings: bool = True,
) -> LeafHits:
    """Letters only: tiered matching over initials, full keys and syllable prefixes.

    Prefix candidates come from bisection over the sorted keys (initials of what was typed, full
    keys); substring scans of the key blobs run only when the prefix tier leaves room, and reuse the
    scan of the query one keystroke shorter from ``memo`` (a key holding ``nqbr`` holds ``nqb``);
    fuzzy matching only for near-misses.
    """
    if not q:
        return {}
    pool = limits.pinyin_pool
    guessed = typed_initials(q)
    candidates = dict.fromkeys(idx.initials_prefix.find(q, pool))
    candidates.update(dict.fromkeys(idx.full_prefix.find(q, pool)))
    if guessed != q:
        candidates.update(dict.fromkeys(idx.initials_prefix.find(guessed, pool)))
    hits: LeafHits = {}
    _verified(hits, idx, q, candidates, substrings=False)
    if substrings and len(hits) < limits.substring_below:
        memo = {} if memo is None else memo
        found: dict[int, None] = {}
        for name, blob, keys in (
            ("i", idx.initials_blob, idx.alias_initials),
            ("f", idx.full_blob, idx.alias_full),
        ):
            found.update(dict.fromkeys(_substring(name, blob, keys, q, pool, memo)))
        _verified(hits, idx, q, (a for a in found if a not in candidates), substrings=True)
    if substrings and len(hits) < want_leaves and len(q) >= 3:
        _fuzzy_pinyin(idx, q, limits, hits)
    return hits


def _substring(
    name: str, blob: KeyBlob, keys: list[str], needle: str, cap: int, memo: SubstringMemo
) -> list[int]:
    shorter = memo.get((name, needle[:-1]))
    if shorter is not None and shorter[1]:
        found = [a for a in shorter[0] if needle in keys[a]]
        complete = True
    else:
        found = blob.find(needle, prefix_only=False, cap=cap + 1)
        complete = len(found) <= cap
    if len(memo) > 1024:  # bounded: an operator's last few hundred keystrokes
        memo.clear()
    memo[(name, needle)] = (found, complete)
    return found[:cap]


def _verified(hits: LeafHits, idx: SearchIndex, q: str, aliases: Iterable[int], *, substrings: bool) -> None:
    for alias in aliases:
        match = pinyin_match(q, idx, alias, substrings=substrings)
        if match is not None:
            _keep(hits, idx, alias, _pinyin_score(idx, alias, match))


def _fuzzy_pinyin(idx: SearchIndex, q: str, limits: ScorerLimits, hits: LeafHits) -> None:
    """A typo in the pinyin: partial_ratio over keys that share the first letter (shortest first)."""
    pool = idx.initials_prefix.find(q[0], limits.fuzzy_pool)
    if not pool:
        return
    for keys in (idx.alias_full, idx.alias_initials):
        choices = {a: keys[a] for a in pool}
        for _key, score, alias in process.extract(
            q, choices, scorer=fuzz.partial_ratio, limit=None, score_cutoff=limits.fuzzy_cutoff
        ):
            leaf = idx.alias_leaf[alias]
            if leaf not in hits:
                _keep(hits, idx, alias, float(score) - 0.01 * len(idx.alias_initials[alias]))


# --- Chinese ---------------------------------------------------------------------------------------------


def _char_cov(alias_text: str, qchars: set[str]) -> float:
    return sum(1 for c in alias_text if c in qchars) / len(alias_text)


def _idf(postings: dict[str, list[int]], unit: str, total: int) -> float:
    return math.log(1.0 + total / len(postings[unit]))


def _count_hits(
    postings: dict[str, list[int]],
    units: Iterable[str],
    cap: int,
    contains: Callable[[int, str], bool],
    total: int,
) -> tuple[Counter[int], dict[int, float], float]:
    """How many of the query's units each alias holds, the same weighted by rarity (idf), and the idf
    of all the query's known units. Rare units first; a unit with a long posting list counts only its
    first ``cap`` (shortest) aliases plus the candidates already found."""
    counts: Counter[int] = Counter()
    weighted: defaultdict[int, float] = defaultdict(float)
    units = list(units)
    known = sorted((u for u in units if u in postings), key=lambda u: (len(postings[u]), u))
    # a unit no alias holds (a typo, a filler word) is as rare as can be: it still counts as query
    # that no alias explains, so a two-character alias cannot claim a whole sentence
    query_idf = math.log(1.0 + total) * (len(units) - len(known))
    for unit in known:
        posting = postings[unit]
        idf = _idf(postings, unit, total)
        query_idf += idf
        if len(posting) <= cap:
            chosen: Iterable[int] = posting
        else:
            head = posting[:cap]
            in_head = set(head)
            chosen = [*head, *(a for a in list(counts) if a not in in_head and contains(a, unit))]
        counts.update(chosen)
        for alias in chosen:
            weighted[alias] += idf
    return counts, weighted, query_idf


def _best_per_leaf(
    idx: SearchIndex,
    counts: Counter[int],
    score: Callable[[int, int], float],
    refine: Callable[[int], float],
    limits: ScorerLimits,
) -> tuple[LeafHits, list[int]]:
    """Score every counted alias cheaply, refine the best, keep the best alias of the top leaves."""
    rough = sorted((-score(a, n), a) for a, n in counts.items())[: 2 * limits.rerank_pool]
    fine = sorted((neg - refine(a), a) for neg, a in rough)
    hits: LeafHits = {}
    for neg, alias in fine:
        leaf = idx.alias_leaf[alias]
        if leaf not in hits:
            hits[leaf] = Hit(-neg, alias)
            if len(hits) >= limits.depth:
                break
    return hits, [a for _, a in fine[: limits.rerank_pool]]


def bigram_scores(idx: SearchIndex, runs: Sequence[str], limits: ScorerLimits) -> tuple[LeafHits, list[int]]:
    """Character-bigram coverage over names and keywords; also returns the candidate aliases (best first).

    Per alias: 0.6 × share of its bigrams found in the query + 0.25 × share of the query's bigrams it
    explains + 0.15 × share of its characters in the query.
    """
    qgrams = {g for r in runs for g in char_bigrams(r)}
    qchars = {c for r in runs for c in r}
    texts, sizes = idx.alias_text, idx.alias_bigram_count
    counts, weighted, query_idf = _count_hits(
        idx.char_bigrams, qgrams, limits.posting_cap, lambda a, g: g in texts[a], idx.alias_count
    )
    if not counts:
        return _unigram_fallback(idx, runs, qchars, limits)
    return _best_per_leaf(
        idx,
        counts,
        lambda a, n: 0.6 * n / sizes[a] + 0.25 * weighted[a] / query_idf,
        lambda a: 0.15 * _char_cov(texts[a], qchars),
        limits,
    )


def _unigram_fallback(
    idx: SearchIndex, runs: Sequence[str], qchars: set[str], limits: ScorerLimits
) -> tuple[LeafHits, list[int]]:
    """One character typed (or no bigram known): aliases holding the characters, shortest first."""
    chars = list(dict.fromkeys(c for r in runs for c in r))
    share = max(1, limits.unigram_pool // max(1, len(chars)))
    counts: Counter[int] = Counter()
    for ch in chars:
        counts.update(idx.char_unigrams.get(ch, ())[:share])
    texts = idx.alias_text
    return _best_per_leaf(
        idx,
        counts,
        lambda a, n: 0.5 * _char_cov(texts[a], qchars),
        lambda a: 0.1 if texts[a][0] in qchars else 0.0,
        limits,
    )


def syllable_scores(
    idx: SearchIndex, runs_syllables: Sequence[Sequence[str]], limits: ScorerLimits
) -> tuple[LeafHits, list[int]]:
    """The same coverage over pinyin-syllable bigrams: 暖起不热 finds 暖气不热, 暖氣 finds 暖气."""
    qpairs = {p for syls in runs_syllables for p in syllable_bigrams(syls)}
    if not qpairs:
        return {}, []
    qsyls = {FUZZY_SYLLABLE.get(s, s) for syls in runs_syllables for s in syls}
    syllables = idx.alias_syllables

    def holds(alias: int, pair: str) -> bool:
        return pair in syllable_bigrams(syllables[alias] or ())

    counts, weighted, query_idf = _count_hits(
        idx.syllable_bigrams, qpairs, limits.posting_cap, holds, idx.alias_count
    )
    return _best_per_leaf(
        idx,
        counts,
        lambda a, n: 0.6 * n / max(1, len(syllables[a] or ()) - 1) + 0.25 * weighted[a] / query_idf,
        lambda a: (
            0.15
            * sum(1 for s in syllables[a] or () if FUZZY_SYLLABLE.get(s, s) in qsyls)
            / max(1, len(syllables[a] or ()))
        ),
        limits,
    )


def partial_ratio_scores(
    idx: SearchIndex, text: str, aliases: Iterable[int], limits: ScorerLimits
) -> LeafHits:
    """``partial_ratio`` over candidate aliases (+ up to 1 for a similar length); aliases of ≤ 2 characters
    count × 0.85 unless they are the whole query (they fit anywhere)."""
    choices = {a: idx.alias_text[a] for a in aliases}
    hits: LeafHits = {}
    if not choices or not text:
        return hits
    for alias_text, score, alias in process.extract(
        text, choices, scorer=fuzz.partial_ratio, limit=None, score_cutoff=limits.partial_cutoff
    ):
        short = 0.85 if len(alias_text) <= 2 and alias_text != text else 1.0
        # equal partial scores: the alias closest in length to the query first
        closeness = min(len(text), len(alias_text)) / max(len(text), len(alias_text))
        _keep(hits, idx, alias, float(score) * short + closeness)
    return hits


def qratio_scores(idx: SearchIndex, text: str, leaves: Iterable[int]) -> LeafHits:
    """``QRatio`` of the query against the candidate leaves' names (robust to one wrong character)."""
    choices = {leaf: idx.leaves[leaf].name for leaf in leaves}
    if not choices or not text:
        return {}
    return {
        leaf: Hit(float(score), -1)
        for _name, score, leaf in process.extract(
            text, choices, scorer=fuzz.QRatio, limit=None, score_cutoff=1
        )
    }


def domain_scores(idx: SearchIndex, text: str) -> dict[int, float]:
    """Domains whose name or keyword occurs in the query, scored by the length of that alias."""
    found: dict[int, float] = {}
    for alias, domain in idx.domain_aliases:
        if len(alias) >= 2 and alias in text:
            found[domain] = max(found.get(domain, 0.0), float(len(alias)))
    return found

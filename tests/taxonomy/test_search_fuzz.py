"""Hypothesis fuzzing of the query path: any text gives a bounded, sorted list and never an exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_search import small_taxonomy

from taxonomy.search import Searcher
from taxonomy.search_query import parse_query

_SEARCHER = Searcher(small_taxonomy())

# Text that looks like what reaches the box: CJK (incl. traditional and extension A), ASCII,
# full-width forms, digits, control and format characters, emoji and surrogate-free odd planes.
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
    st.characters(min_codepoint=0x0, max_codepoint=0x1F),
    st.sampled_from(
        ["\u200b", "\u202e", "\ufeff", "\u3000", "😀", "🔥", "\U0001f3fb", "\U000e0001", "ü", "ǖ", "'"]
    ),
    st.characters(blacklist_categories=("Cs",)),
)
QUERIES = st.text(alphabet=_ALPHABET, max_size=60) | st.text(alphabet=_ALPHABET, min_size=500, max_size=2000)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(query=QUERIES, limit=st.integers(min_value=-1, max_value=30))
def test_search_is_total(query: str, limit: int) -> None:
    results = _SEARCHER.search(query, limit=limit)
    assert len(results) <= max(limit, 0)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert len({r.code for r in results}) == len(results)
    for r in results:
        assert len(r.path) == 3 and r.matched


@FUZZ
@given(text=QUERIES)
def test_suggest_is_total(text: str) -> None:
    assert len(_SEARCHER.suggest(text, limit=5)) <= 5


@FUZZ
@given(query=QUERIES)
def test_router_output_is_clean(query: str) -> None:
    q = parse_query(query)
    assert len(q.text) <= 48
    assert all((ch.isascii() and ch.isalnum()) or "\u3400" <= ch <= "\ufaff" for ch in q.text)


@pytest.mark.parametrize("seed_query", ["暖气不热", "nqbr", "dt困人", "103"])
@FUZZ
@given(noise=st.text(alphabet=st.sampled_from(" \t\n\x00\u200b😀！，。"), max_size=6))
def test_noise_around_a_query_does_not_change_its_top_result(seed_query: str, noise: str) -> None:
    clean = [r.code for r in _SEARCHER.search(seed_query, limit=1)]
    noisy = [r.code for r in _SEARCHER.search(noise + seed_query + noise, limit=1)]
    assert noisy == clean

"""The taxonomy search: router, every scorer, fusion, boosts, suggest, bad input, determinism.

Runs against a small tree in the authoring format (test_search_tree.txt) built with the real build
step and pinyin converter, so the tests do not move when the shipped data grows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taxonomy.build import build_nodes, parse_source
from taxonomy.model import Taxonomy, TimeLimit, load_departments
from taxonomy.pinyin import default_converter
from taxonomy.search import Result, SearchConfig, Searcher, prior_from_choices
from taxonomy.search_index import KeyBlob, build_index, codes_with_prefix, split_syllables, syllable_bigrams
from taxonomy.search_query import Mode, parse_query
from taxonomy.search_scorers import (
    PinyinMatch,
    ScorerLimits,
    bigram_scores,
    consumes,
    domain_scores,
    partial_ratio_scores,
    pinyin_match,
    pinyin_scores,
    pinyin_tier,
    qratio_scores,
    span_count,
    syllable_scores,
    typed_initials,
)

TREE = Path(__file__).with_name("test_search_tree.txt")


def small_taxonomy() -> Taxonomy:
    sources = parse_source(TREE.read_text(encoding="utf-8"), TREE.name)
    nodes = build_nodes(sources, load_departments().keys(), default_converter())
    return Taxonomy(version="test-tree", nodes=tuple(nodes))


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return small_taxonomy()


@pytest.fixture(scope="module")
def searcher(taxonomy: Taxonomy) -> Searcher:
    return Searcher(taxonomy)


def top(searcher: Searcher, query: str, n: int = 1) -> list[str]:
    return [r.code for r in searcher.search(query, limit=n)]


# --- router ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "clean"),
    [
        ("", Mode.EMPTY, ""),
        ("   \t\n", Mode.EMPTY, ""),
        ("😀🎉", Mode.EMPTY, ""),
        ("101", Mode.CODE, "101"),
        ("nqbr", Mode.PINYIN, "nqbr"),
        ("NuanQi BuRe", Mode.PINYIN, "nuanqibure"),
        ("ｎｑ", Mode.PINYIN, "nq"),
        ("xi'an", Mode.PINYIN, "xian"),
        ("暖气不热", Mode.CHINESE, "暖气不热"),
        ("暖氣", Mode.CHINESE, "暖气"),
        ("110报警", Mode.CHINESE, "110报警"),
        ("dt困人", Mode.MIXED, "dt困人"),
        ("暖\x00气\u200b不热\x1b", Mode.CHINESE, "暖气不热"),
    ],
)
def test_router(text: str, mode: Mode, clean: str) -> None:
    q = parse_query(text)
    assert q.mode is mode
    assert q.text == clean


def test_router_truncates_long_queries() -> None:
    q = parse_query("漏水" * 1000)
    assert q.mode is Mode.CHINESE
    assert len(q.text) <= 48


# --- index pieces ----------------------------------------------------------------------------------------


def test_split_syllables_uses_initials_to_disambiguate() -> None:
    assert split_syllables("nuanqibure", "nqbr") == ("nuan", "qi", "bu", "re")
    assert split_syllables("xian", "xa") == ("xi", "an")
    assert split_syllables("xian", "x") == ("xian",)
    assert split_syllables("5gxinhao", "5gxh") is None
    assert split_syllables("", "") is None


def test_key_blob_finds_prefix_and_substring_shortest_first() -> None:
    blob = KeyBlob.build([("nqbr", 0), ("nq", 1), ("xnq", 2), ("ab", 3)])
    assert blob.find("nq", prefix_only=True, cap=10) == [1, 0]
    assert blob.find("nq", prefix_only=False, cap=10) == [1, 2, 0]
    assert blob.find("nq", prefix_only=False, cap=1) == [1]
    assert blob.find("zz", prefix_only=False, cap=10) == []
    assert blob.find("", prefix_only=True, cap=10) == []


def test_code_prefix(searcher: Searcher) -> None:
    assert codes_with_prefix(searcher.index, "1030", 10) == ["103001", "103002"]
    assert top(searcher, "103001") == ["103001"]
    assert top(searcher, "103", 5) == ["103001", "103002"]
    assert searcher.search("999") == []


def test_retired_leaves_are_not_searched(taxonomy: Taxonomy) -> None:
    import dataclasses

    nodes = tuple(dataclasses.replace(n, active=False) if n.code == "102001" else n for n in taxonomy.nodes)
    s = Searcher(Taxonomy(version="t2", nodes=nodes))
    assert "102001" not in [r.code for r in s.search("停水")]
    assert s.leaf("102001") is None


# --- pinyin scorer ---------------------------------------------------------------------------------------


def test_typed_initials_reads_syllables_greedily() -> None:
    assert typed_initials("nqbr") == "nqbr"
    assert typed_initials("nuanqbr") == "nqbr"
    assert typed_initials("nuanqibure") == "nqbr"
    assert typed_initials("dtkunren") == "dtkr"


def test_consumes_syllables_in_full_or_by_initial() -> None:
    syl = ("nuan", "qi", "bu", "re")
    for q in ("nqbr", "nuanqi", "nuanqbr", "nuanqibure", "nqb", "n", "nuanqib"):
        assert consumes(q, syl, 0), q
    assert consumes("nqbr", syl, 0) == 4
    assert consumes("nua", syl, 0) == 1
    assert consumes("bure", syl, 2) == 2
    assert not consumes("nqbrx", syl, 0)
    assert not consumes("qbr", syl, 0)
    assert not consumes("nuaqi", syl, 0)  # only the last syllable typed may be cut short
    assert not consumes("qianxi", ("qiang", "xiu"), 0)  # 抢修 is not 欠薪
    assert consumes("qianxi", ("qian", "xin"), 0) == 2
    assert consumes("zhf", ("zhu", "fang"), 0) == 2  # zh/ch/sh may stand for their syllable


def test_pinyin_tiers(searcher: Searcher) -> None:
    idx = searcher.index
    alias = idx.alias_text.index("暖气不热")
    prefix = pinyin_tier("nqbr", idx, alias)
    inside = pinyin_tier("bure", idx, alias)  # inside, not at the start
    assert prefix is not None and inside is not None
    assert 102 - 0.04 <= prefix <= 102.3 - 0.04  # the tier, a word bonus, minus 0.01 per syllable
    assert 101 - 0.04 <= inside <= 101.3 - 0.04
    assert pinyin_tier("zzz", idx, alias) is None
    assert pinyin_match("nuanqbr", idx, alias) == PinyinMatch(102.0, 0, 4)
    assert pinyin_match("qibu", idx, alias) == PinyinMatch(101.0, 1, 2)
    assert pinyin_match("qibu", idx, alias, substrings=False) is None


def test_common_words_rank_first_among_equal_prefixes(searcher: Searcher) -> None:
    idx = searcher.index
    assert span_count(idx, "暖气") > span_count(idx, "暖气不热") >= 1
    assert span_count(idx, "没有这个词") == 0


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("nqbr", "101001"),
        ("nuanqibure", "101001"),
        ("nuanqbr", "101001"),
        ("dtkr", "103001"),
        ("tingshui", "102001"),
        ("zhuangxiu", "104001"),
        ("gcw", "104002"),
        ("rqxl", "106001"),
        ("NQBR", "101001"),
        ("ｎｑｂｒ", "101001"),
    ],
)
def test_pinyin_queries(searcher: Searcher, query: str, code: str) -> None:
    assert top(searcher, query) == [code]


def test_pinyin_shorter_alias_wins_ties(searcher: Searcher) -> None:
    hits = pinyin_scores(searcher.index, "ts", ScorerLimits(), want_leaves=1)
    best = max(hits.values(), key=lambda h: h.score)
    assert searcher.index.alias_text[best.alias] == "停水"


def test_pinyin_typo_falls_back_to_fuzzy(searcher: Searcher) -> None:
    assert "101001" in top(searcher, "nuanqiburr", 3)


# --- Chinese scorers -------------------------------------------------------------------------------------


def test_bigram_coverage_prefers_the_alias_explaining_the_query(searcher: Searcher) -> None:
    hits, pool = bigram_scores(searcher.index, ["楼上往下滴水"], ScorerLimits())
    best = max(hits, key=lambda leaf: hits[leaf].score)
    assert searcher.index.leaves[best].code == "105001"
    assert pool  # the candidates handed to the rapidfuzz scorers


def test_bigram_single_character_uses_unigrams(searcher: Searcher) -> None:
    hits, _ = bigram_scores(searcher.index, ["梯"], ScorerLimits())
    assert {searcher.index.leaves[leaf].code for leaf in hits} == {"103001", "103002"}


def test_syllable_coverage_catches_homophones(searcher: Searcher) -> None:
    hits, _ = syllable_scores(searcher.index, [["nuan", "qi", "bu", "re"]], ScorerLimits())
    best = max(hits, key=lambda leaf: hits[leaf].score)
    assert searcher.index.leaves[best].code == "101001"
    assert syllable_scores(searcher.index, [["nuan"]], ScorerLimits()) == ({}, [])


def test_partial_ratio_and_qratio_scorers(searcher: Searcher) -> None:
    idx = searcher.index
    pool = range(idx.alias_count)
    partial = partial_ratio_scores(idx, "家里暖气不热乎", pool, ScorerLimits())
    assert idx.leaves[max(partial, key=lambda leaf: partial[leaf].score)].code == "101001"
    short = idx.alias_text.index("停水")
    exact = partial_ratio_scores(idx, "停水", [short], ScorerLimits())[idx.alias_leaf[short]].score
    inside = partial_ratio_scores(idx, "小区停水了", [short], ScorerLimits())[idx.alias_leaf[short]].score
    assert exact == 101.0  # the whole query: full score plus the same-length bonus
    assert inside == pytest.approx(85.0 + 2 / 5)  # a two-character alias inside a sentence counts × 0.85
    names = qratio_scores(idx, "电梯困住人", range(len(idx.leaves)))
    assert idx.leaves[max(names, key=lambda leaf: names[leaf].score)].code == "103001"
    assert qratio_scores(idx, "", range(3)) == {}


def test_domain_scorer(searcher: Searcher) -> None:
    idx = searcher.index
    found = domain_scores(idx, "小区自来水有问题")
    assert [idx.domain_codes[d] for d in found] == ["102"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("暖气不热", "101001"),
        ("暖起不热", "101001"),  # IME homophone
        ("暖氣不熱", "101001"),  # traditional characters
        ("煤气味", "106001"),
        ("电梯困人", "103001"),
        ("装修", "104001"),
        ("健身房跑路了", "301001"),
        ("包工头欠工资", "201001"),
        ("漏睡", "105001"),
    ],
)
def test_chinese_queries(searcher: Searcher, query: str, code: str) -> None:
    assert top(searcher, query) == [code]


def test_mixed_input(searcher: Searcher) -> None:
    assert top(searcher, "dt困人") == ["103001"]
    assert top(searcher, "暖qbr") == ["101001"]
    assert top(searcher, "dt不走") == ["103002"]  # both parts must fit: 电梯 + 不走
    assert top(searcher, "电梯bz") == ["103002"]


def test_fuzzy_syllables_for_ime_slips() -> None:
    # 模糊音: in/ing, en/eng, an/ang, z/zh, c/ch, s/sh are one syllable for the homophone signal
    assert syllable_bigrams(["yang", "lao", "jing"]) == syllable_bigrams(["yang", "lao", "jin"])
    assert syllable_bigrams(["zhuang", "xiu"]) == syllable_bigrams(["zuan", "xiu"])
    assert syllable_bigrams(["nuan", "qi"]) != syllable_bigrams(["nan", "qi"])


def test_a_typo_does_not_let_a_short_alias_claim_the_query(searcher: Searcher) -> None:
    # 电题 is no bigram of any alias: it still counts as query nobody explains
    assert top(searcher, "电题坏了") == ["103002"]
    assert top(searcher, "燃气泄露") == ["106001"]


def test_praise_only_leaves_need_praise_in_the_query(searcher: Searcher) -> None:
    praise = {r.code: r.score for r in searcher.search("供热服务表扬", limit=3)}
    plain = {r.code: r.score for r in searcher.search("供热服务", limit=3)}
    assert next(iter(praise)) == "101099"
    assert plain["101099"] < praise["101099"]


def test_leaf_position_in_its_domain(searcher: Searcher) -> None:
    positions = {leaf.code: leaf.position for leaf in searcher.index.leaves if leaf.domain == "101"}
    assert positions["101001"] == 0.0 and positions["101099"] == 1.0
    assert 0 < positions["101002"] < positions["101090"] < 1


def test_exclude_keywords_push_a_leaf_down(searcher: Searcher) -> None:
    plain = {r.code: r.score for r in searcher.search("水发黄", limit=10)}
    excluded = {r.code: r.score for r in searcher.search("暖气水发黄", limit=10)}
    assert "102002" in plain and plain["102002"] == max(plain.values())
    assert excluded.get("102002", 0) < max(excluded.values())


# --- results, boosts, suggest ----------------------------------------------------------------------------


def test_result_carries_path_alias_department_limit_urgency(searcher: Searcher) -> None:
    r = searcher.search("困电梯里", limit=1)[0]
    assert isinstance(r, Result)
    assert r.code == "103001"
    assert r.path == ("城市建设与管理", "电梯", "电梯困人")
    assert r.matched == "困电梯里"
    assert r.department == "zjj"
    assert r.time_limit == TimeLimit(2, "hours")
    assert r.urgency == "critical"
    assert r.to_dict() == {
        "code": "103001",
        "path": ["城市建设与管理", "电梯", "电梯困人"],
        "score": r.score,
        "matched": "困电梯里",
        "department": "zjj",
        "time_limit": {"value": 2, "unit": "hours"},
        "urgency": "critical",
    }


def test_scores_are_sorted_and_bounded(searcher: Searcher) -> None:
    for q in ("暖气", "nq", "dt困人", "水"):
        scores = [r.score for r in searcher.search(q, limit=10)]
        assert scores == sorted(scores, reverse=True)
        assert all(0 < s <= 1.0 for s in scores)


def test_user_prior_reorders_near_ties_but_adds_nothing(searcher: Searcher) -> None:
    plain = top(searcher, "电梯", 2)
    assert len(plain) == 2
    preferred = plain[1]
    boosted = [r.code for r in searcher.search("电梯", limit=2, user_prior={preferred: 5.0})]
    assert boosted[0] == preferred
    # a prior on a leaf that does not match never makes it appear
    assert "301002" not in [r.code for r in searcher.search("电梯", limit=10, user_prior={"301002": 100})]
    # junk priors are ignored
    junk = {"x": -1, plain[0]: float("nan"), plain[1]: float("inf"), "y": "high", "z": True}
    assert top(searcher, "电梯", 2) == [r.code for r in searcher.search("电梯", 2, user_prior=junk)]  # type: ignore[dict-item]


def test_popularity_prior(taxonomy: Taxonomy) -> None:
    plain = Searcher(taxonomy)
    first, second = top(plain, "电梯", 2)
    popular = Searcher(taxonomy, popularity={second: 10.0, first: 1.0})
    assert top(popular, "电梯", 2) == [second, first]
    popular.set_popularity(None)
    assert top(popular, "电梯", 2) == [first, second]


def test_with_config_shares_the_index_not_the_priors(taxonomy: Taxonomy) -> None:
    base = Searcher(taxonomy, popularity={"x": 1.0})
    first, second = top(base, "电梯", 2)
    other = base.with_config(SearchConfig(popularity_boost=5.0))
    assert other.index is base.index and other.config.popularity_boost == 5.0
    assert base.config.popularity_boost == SearchConfig().popularity_boost
    other.set_popularity({second: 1.0})
    assert top(other, "电梯", 2) == [second, first]
    assert top(base, "电梯", 2) == [first, second]  # its popularity and its results memo are its own


def test_prior_from_choices_mixes_recency_and_frequency() -> None:
    prior = prior_from_choices(["a", "b", "b", "b"], half_life=10.0)
    assert prior["a"] == 1.0
    assert prior["b"] > prior["a"]
    assert prior_from_choices([]) == {}


def test_suggest_ranks_leaves_for_a_caller_sentence(searcher: Searcher) -> None:
    assert searcher.suggest("楼上天天漏水到我家，天花板都湿了", limit=1)[0].code == "105001"
    assert searcher.suggest("我家暖气一点都不热乎，屋里冷得不行", limit=1)[0].code == "101001"
    assert searcher.suggest("在饭店吃完饭回家上吐下泻，怀疑食物中毒", limit=1)[0].code == "301002"
    assert searcher.suggest("nqbr", limit=1)[0].code == "101001"  # not Chinese: same as search
    assert searcher.suggest("", limit=3) == []


def test_choice_log_receives_pairs_for_known_leaves(taxonomy: Taxonomy) -> None:
    logged: list[tuple[str, str, int | None]] = []
    s = Searcher(taxonomy, choice_log=lambda q, code, rank: logged.append((q, code, rank)))
    s.record_choice("nqbr", "101001", 1)
    s.record_choice("nqbr", "999999", 1)  # unknown: not logged
    assert logged == [("nqbr", "101001", 1)]
    Searcher(taxonomy).record_choice("x", "101001")  # no log: a no-op


# --- bad input and determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        " ",
        "\x00\x01\x02",
        "😀",
        "🚒🔥",
        "a" * 2000,
        "漏" * 2000,
        "暖气" + "\u202e" * 50,
        "!!!???",
        "ｎｑ",
        "暖氣",
    ],
)
def test_bad_input_never_raises(searcher: Searcher, query: str) -> None:
    results = searcher.search(query, limit=5)
    assert len(results) <= 5
    assert searcher.suggest(query, limit=5) is not None


def test_non_positive_limit_and_non_string(searcher: Searcher) -> None:
    assert searcher.search("暖气", limit=0) == []
    assert searcher.search(None, limit=5) == []  # type: ignore[arg-type]


def test_cache_returns_the_same_answer(taxonomy: Taxonomy) -> None:
    s = Searcher(taxonomy, config=SearchConfig(cache_size=2))
    first = s.search("暖气")
    for q in ("电梯", "水", "停水", "暖气"):
        s.search(q)
    assert s.search("暖气") == first


def test_index_uses_the_precomputed_pinyin(taxonomy: Taxonomy) -> None:
    def refuse(text: str) -> tuple[str, str]:
        raise AssertionError(f"pypinyin called for {text!r}")

    index = build_index(taxonomy, refuse)
    assert index.alias_count > len(index.leaves)


_ORDER_SCRIPT = """
import json
from test_search import small_taxonomy
from taxonomy.search import Searcher
s = Searcher(small_taxonomy())
out = {{q: [(r.code, r.score) for r in s.search(q, 10)] for q in ["水", "暖气", "nq", "dt困人", "s", "电梯"]}}
print(json.dumps(out, sort_keys=True))
"""


def test_order_does_not_depend_on_the_hash_seed() -> None:
    script = _ORDER_SCRIPT.format()
    outputs = set()
    for seed in ("1", "2", "3"):
        # PYTHONPATH: the script imports this module by name
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parent)}
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=True
        )
        outputs.add(proc.stdout.strip().splitlines()[-1])  # the last line is the JSON
    assert len(outputs) == 1

"""Keyword mining from (text, leaf) pairs."""

from __future__ import annotations

from test_search import small_taxonomy

from taxonomy.learn import Candidate, mine_keywords

TAXONOMY = small_taxonomy()


def _pairs() -> list[tuple[str, str]]:
    return [
        ("家里暖气片冰凉，物业也不管", "101001"),
        ("暖气片冰凉好几天了", "101001"),
        ("我家暖气片冰凉，孩子冻感冒了", "101001"),
        ("楼上往下滴水，天花板渗水", "105001"),
        ("楼上往下滴水，请物业处理", "105001"),
        ("物业不管楼上滴水", "105001"),
        ("电梯坏了物业不管", "103002"),
        ("电梯停了物业不管", "103002"),
        ("", "101001"),
        ("暖气片冰凉", "999999"),  # unknown leaf: ignored
    ]


def test_mines_frequent_ngrams_that_are_specific_to_a_leaf() -> None:
    found = mine_keywords(_pairs(), TAXONOMY, min_support=3)
    assert Candidate("101001", "暖气片冰凉", 3, 1.0, 3.0) in found
    keywords = {c.keyword for c in found}
    # spread over several leaves: not specific, never a candidate
    assert "物业不管" not in keywords and "物业" not in keywords
    # a sub-string of the kept longer n-gram with the same support is dropped
    assert "片冰凉" not in keywords and "暖气片" not in keywords


def test_existing_aliases_are_not_proposed() -> None:
    found = mine_keywords(_pairs(), TAXONOMY, min_support=2)
    assert all(c.keyword not in ("楼上往下滴水", "往下滴水", "电梯坏了") for c in found)


def test_output_is_sorted_and_deterministic() -> None:
    a = mine_keywords(_pairs(), TAXONOMY, min_support=2)
    b = mine_keywords(list(reversed(_pairs())), TAXONOMY, min_support=2)
    assert a == b
    assert [c.leaf_code for c in a] == sorted(c.leaf_code for c in a)


def test_thresholds_and_limits() -> None:
    assert mine_keywords(_pairs(), TAXONOMY, min_support=10) == []
    assert mine_keywords([], TAXONOMY) == []
    one = mine_keywords(_pairs(), TAXONOMY, min_support=2, per_leaf=1)
    assert len([c for c in one if c.leaf_code == "101001"]) == 1

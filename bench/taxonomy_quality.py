"""Search quality: our search against two baselines, on the development set and on 495 real messages.

    .venv/bin/python bench/taxonomy_quality.py [--taxonomy FILE] [--devset FILE] [--tipdm FILE] [--misses N]

Methods, all in the same run:
- ``search``: ``Searcher.search`` (``suggest`` for the real messages, which are whole sentences);
- ``dropdown``: a filtered drop-down, i.e. leaf names containing the typed text, in list (code) order
  (for a sentence also names contained in it, else it would show nothing at all);
- ``wratio``: rapidfuzz ``WRatio`` of the text against every leaf name.

Figures: hit@1, hit@5 and the mean keystrokes until an expected leaf is in the top 3 (one keystroke
per letter or committed character; a query that never gets there counts its length + 3, the cost of
scrolling on) plus the share that got there at all. The development set expects leaf codes; the
real messages (../shared/taxonomy/tipdm2020_message_titles_l1.csv, read in place, never copied) are
scored at their top level through ``TIPDM_LABELS`` (our domain → their 一级 label).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from taxonomy.model import Taxonomy, load_taxonomy  # noqa: E402
from taxonomy.search import Searcher  # noqa: E402

DEVSET = Path(__file__).with_name("taxonomy_devset.jsonl")
TIPDM = ROOT.parent / "shared" / "taxonomy" / "tipdm2020_message_titles_l1.csv"
TOP_FOR_KEYSTROKES = 3
NEVER_PENALTY = 3

# Our domains (level 2) → the TipDM 2020 一级 labels that cover them. Several labels where their own
# system files the topic twice (住房公积金 under 城乡建设 and 劳动和社会保障; 公共汽车 under 城乡建设).
# Domains of labels that do not occur in the 495 messages (民政, 政法, 国土资源, 农村农业, 党务政务,
# 经济管理, 科技与信息产业 ...) are left out: a message predicted there counts as wrong.
_CITY, _LABOUR, _EDU, _HEALTH, _TRAFFIC, _TRADE, _ENV = (
    "城乡建设",
    "劳动和社会保障",
    "教育文体",
    "卫生计生",
    "交通运输",
    "商贸旅游",
    "环境保护",
)
TIPDM_LABELS: Mapping[str, tuple[str, ...]] = {
    **{
        code: (_CITY,)
        for code in (
            "101",
            "102",
            "103",
            "104",
            "105",
            "106",
            "107",
            "108",
            "109",
            "110",
            "111",
            "113",
            "114",
            "115",
            "116",
            "121",
            "122",
            "123",
            "124",
            "125",
            "126",
            "127",
            "128",
            "129",
            "132",
            "133",
            "134",
            "135",
            "232",
            "319",
        )
    },
    "112": (_ENV, _CITY),  # noise: 环境污染/噪音污染, and construction noise filed under 城乡建设
    "117": (_TRAFFIC,),
    "118": (_TRAFFIC, _CITY),
    "119": (_CITY, _TRAFFIC),
    "120": (_TRAFFIC,),
    "131": (_TRAFFIC,),
    "317": (_TRAFFIC,),  # 邮政快递: their 交通运输 holds 邮政管理
    **{code: (_LABOUR,) for code in ("201", "202", "203", "204", "205", "206", "207", "236", "243")},
    "233": (_LABOUR, _CITY),
    **{code: (_EDU,) for code in ("210", "211", "212", "213", "222", "224")},
    **{code: (_HEALTH,) for code in ("208", "209", "235", "301", "302", "310")},
    **{
        code: (_TRADE,)
        for code in ("223", "303", "304", "305", "306", "307", "308", "309", "314", "318", "320", "322")
    },
    **{code: (_ENV,) for code in ("226", "227")},
}
_PLACE = re.compile(r"[A-Z][0-9]*(市|区|县|镇|乡|村)|西地省")


@dataclass(frozen=True)
class Case:
    query: str
    kind: str
    gold: frozenset[str]  # leaf codes (dev set) or labels (real messages)


Ranker = Callable[[str, int], list[str]]  # (text, limit) -> leaf codes, best first


def load_devset(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            expected = row["expected"]
            gold = frozenset(expected if isinstance(expected, list) else [expected])
            cases.append(Case(row["query"], row["kind"], gold))
    return cases


def load_tipdm(path: Path) -> list[Case]:
    with path.open(encoding="utf-8") as fh:
        return [
            Case(_PLACE.sub("", row["title"]), "message", frozenset([row["label_l1"]]))
            for row in csv.DictReader(fh)
        ]


def rankers(taxonomy: Taxonomy, sentence: bool) -> dict[str, Ranker]:
    searcher = Searcher(taxonomy)
    leaves = taxonomy.leaves()
    names = [n.name for n in leaves]
    codes = [n.code for n in leaves]

    def ours(text: str, limit: int) -> list[str]:
        found = searcher.suggest(text, limit) if sentence else searcher.search(text, limit)
        return [r.code for r in found]

    def dropdown(text: str, limit: int) -> list[str]:
        text = text.strip()
        if not text:
            return []
        hits = [c for c, name in zip(codes, names, strict=True) if text in name]
        if not hits and sentence:
            hits = [c for c, name in zip(codes, names, strict=True) if name in text]
        return hits[:limit]

    def wratio(text: str, limit: int) -> list[str]:
        if not text.strip():
            return []
        return [codes[i] for _, _, i in process.extract(text, names, scorer=fuzz.WRatio, limit=limit)]

    return {"search": ours, "dropdown": dropdown, "wratio": wratio}


def units(query: str) -> list[str]:
    """What the operator typed, keystroke by keystroke: each letter or committed character is one."""
    return [query[:n] for n in range(1, len(query) + 1)]


@dataclass
class Score:
    n: int = 0
    hit1: int = 0
    hit5: int = 0
    keystrokes: float = 0.0
    reached: int = 0

    def line(self, name: str) -> str:
        n = max(self.n, 1)
        return (
            f"  {name:<10} n={self.n:<4} hit@1 {100 * self.hit1 / n:5.1f}%  hit@5 {100 * self.hit5 / n:5.1f}%  "
            f"keystrokes→top3 {self.keystrokes / n:5.2f}  (top 3 reached {100 * self.reached / n:5.1f}%)"
        )


def evaluate(
    cases: Sequence[Case],
    rank: Ranker,
    judge: Callable[[Iterable[str], frozenset[str]], bool],
    keystrokes: bool = True,
) -> tuple[Score, dict[str, Score], list[tuple[Case, list[str]]]]:
    total, by_kind, misses = Score(), defaultdict(Score), []
    for case in cases:
        top = rank(case.query, 5)
        for s in (total, by_kind[case.kind]):
            s.n += 1
            s.hit1 += judge(top[:1], case.gold)
            s.hit5 += judge(top[:5], case.gold)
        if not judge(top[:1], case.gold):
            misses.append((case, top))
        if keystrokes:
            cost = len(case.query) + NEVER_PENALTY
            for typed in units(case.query):
                if judge(rank(typed, TOP_FOR_KEYSTROKES), case.gold):
                    cost = len(typed)
                    break
            for s in (total, by_kind[case.kind]):
                s.keystrokes += cost
                s.reached += cost <= len(case.query)
    return total, dict(by_kind), misses


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxonomy", type=Path, default=None)
    ap.add_argument("--devset", type=Path, default=DEVSET)
    ap.add_argument("--tipdm", type=Path, default=TIPDM)
    ap.add_argument("--misses", type=int, default=0, help="print this many dev-set misses of our search")
    ap.add_argument("--no-keystrokes-real", action="store_true", help="skip keystrokes on the real messages")
    args = ap.parse_args(argv)

    taxonomy = load_taxonomy(args.taxonomy)
    print(f"taxonomy {taxonomy.version}: {taxonomy.level_counts()}")
    t0 = time.perf_counter()
    dev = load_devset(args.devset)
    print(f"\ndevelopment set {args.devset.name}: {len(dev)} queries {dict(Counter(c.kind for c in dev))}")
    for name, rank in rankers(taxonomy, sentence=False).items():
        total, by_kind, misses = evaluate(dev, rank, lambda top, gold: bool(set(top) & gold))
        print(total.line(name))
        for kind in sorted(by_kind):
            print("    " + by_kind[kind].line(kind).strip())
        if name == "search" and args.misses:
            for case, top in misses[: args.misses]:
                got = [f"{c}:{taxonomy.get(c).name}" for c in top[:3]]  # type: ignore[union-attr]
                want = [f"{c}:{taxonomy.get(c).name}" for c in sorted(case.gold)][:3]  # type: ignore[union-attr]
                print(f"      MISS {case.kind:<11} {case.query!r:<24} got {got} want {want}")

    if args.tipdm.exists():
        real = load_tipdm(args.tipdm)
        label_of = {n.code: TIPDM_LABELS.get(n.parent or "", ()) for n in taxonomy.leaves()}
        unmapped = sorted({n.parent for n in taxonomy.leaves() if n.parent not in TIPDM_LABELS})
        print(
            f"\nreal messages {args.tipdm.name}: {len(real)} titles {dict(Counter(next(iter(c.gold)) for c in real))}"
        )
        print(f"  domains outside the 7 labels (count as wrong): {', '.join(map(str, unmapped))}")

        def judge(top: Iterable[str], gold: frozenset[str]) -> bool:
            return any(set(label_of.get(code, ())) & gold for code in top)

        for name, rank in rankers(taxonomy, sentence=True).items():
            total, _, _ = evaluate(real, rank, judge, keystrokes=not args.no_keystrokes_real)
            print(total.line(name))
        majority = Counter(next(iter(c.gold)) for c in real).most_common(1)[0][1] / len(real)
        print(f"  (majority-class baseline hit@1 {100 * majority:.1f}%)")
    else:
        print(f"\nreal messages: {args.tipdm} not found, skipped")
    print(
        f"\n({time.perf_counter() - t0:.0f} s; median query length {statistics.median(len(c.query) for c in dev)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

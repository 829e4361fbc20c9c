"""Query clean-up and routing: what kind of text did the operator type?

Committed IME text, pinyin, initials, a mix (``dt困人``) or a code. The router only looks at the
characters; the scorers in ``search_scorers`` do the matching. Everything here is total: any
string (control characters, emoji, 2,000 characters of noise) gives a ``Query``, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from taxonomy.pinyin import normalize_query

# CJK Unified Ideographs, Extension A and the compatibility block (NFKC folds most of the latter).
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = CJK_CLASS
_RUN = re.compile(f"[{_CJK}]+|[a-z]+|[0-9]+")
_IS_CJK = re.compile(f"[{_CJK}]")

SEARCH_MAX_CHARS = 48  # an operator's query; anything longer is a pasted sentence
SUGGEST_MAX_CHARS = 400  # a whole description for suggest()


class Mode(StrEnum):
    EMPTY = "empty"
    CODE = "code"
    PINYIN = "pinyin"
    CHINESE = "chinese"
    MIXED = "mixed"


class RunKind(StrEnum):
    CJK = "cjk"
    ALPHA = "alpha"
    DIGIT = "digit"


@dataclass(frozen=True, slots=True)
class Run:
    kind: RunKind
    text: str


@dataclass(frozen=True, slots=True)
class Query:
    """A cleaned query: ``text`` is the runs joined without separators."""

    text: str
    runs: tuple[Run, ...]
    mode: Mode

    @property
    def cjk(self) -> str:
        """The Chinese part with other runs removed (digits inside Chinese text are kept)."""
        return "".join(r.text for r in self.runs if r.kind is not RunKind.ALPHA)

    @property
    def letters(self) -> str:
        return "".join(r.text for r in self.runs if r.kind is RunKind.ALPHA)


def is_cjk(ch: str) -> bool:
    return bool(_IS_CJK.match(ch))


def split_runs(text: str) -> tuple[Run, ...]:
    """Runs of Chinese, ASCII letters and digits; everything else (spaces, punctuation, emoji) separates."""
    runs = []
    for m in _RUN.finditer(text):
        s = m.group()
        kind = RunKind.CJK if is_cjk(s[0]) else RunKind.DIGIT if s[0].isdigit() else RunKind.ALPHA
        runs.append(Run(kind, s))
    return tuple(runs)


def clean(text: str, max_chars: int) -> str:
    """``normalize_query`` (ｎｑ → nq, 暖氣 → 暖气, no emoji), then only Chinese/letters/digits kept."""
    if not text:
        return ""
    # Cut before normalising so a pasted novel costs nothing; NFKC can only grow text a little.
    text = normalize_query(text[: max_chars * 4])
    kept = " ".join(m.group() for m in _RUN.finditer(text))
    return kept[:max_chars].strip()


def route(runs: tuple[Run, ...]) -> Mode:
    kinds = {r.kind for r in runs}
    if not kinds:
        return Mode.EMPTY
    if kinds == {RunKind.DIGIT}:
        return Mode.CODE
    if RunKind.CJK not in kinds:
        return Mode.PINYIN
    if RunKind.ALPHA in kinds:
        return Mode.MIXED
    return Mode.CHINESE


def parse_query(text: str, max_chars: int = SEARCH_MAX_CHARS) -> Query:
    runs = split_runs(clean(text, max_chars))
    return Query("".join(r.text for r in runs), runs, route(runs))

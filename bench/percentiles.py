"""The one percentile of the benchmarks: nearest rank on the sorted samples (no interpolation, so a
printed p99 is a time that was measured)."""

from __future__ import annotations

from collections.abc import Sequence


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0–100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

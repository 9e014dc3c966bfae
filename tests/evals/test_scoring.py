from __future__ import annotations

from math import comb

import pytest

from aperto.evals.scoring import bootstrap_ci, pass_at_k, summarise


@pytest.mark.parametrize(("n", "c", "k"), [(200, 37, 1), (200, 37, 10), (200, 37, 100), (10, 3, 5), (5, 0, 1),
                                           (5, 5, 1), (20, 1, 20), (7, 2, 3)])
def test_pass_at_k_matches_exact_binomials(n, c, k):
    exact = 1 - comb(n - c, k) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_1_is_the_fraction_correct():
    assert pass_at_k(20, 7, 1) == pytest.approx(7 / 20)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, 1, 6), (5, 1, 0), (3, -1, 1)])
def test_pass_at_k_rejects_impossible_inputs(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_problems():
    small = [1.0] * 5 + [0.0] * 5
    large = small * 20
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < 0.5 < hi_s and lo_l < 0.5 < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s)
    # about 1.96 * sqrt(p(1-p)/n) for 200 problems: +-0.069
    assert hi_l - lo_l == pytest.approx(2 * 1.96 * (0.25 / 200) ** 0.5, abs=0.02)


def test_summarise_reports_only_k_that_every_problem_supports():
    counts = {"a": (10, 3), "b": (10, 0), "c": (5, 5)}
    out = summarise(counts, (1, 5, 10))
    assert set(out) == {"pass@1", "pass@5"}
    assert out["pass@1"]["value"] == pytest.approx((0.3 + 0 + 1) / 3)
    lo, hi = out["pass@1"]["ci95"]
    assert lo <= out["pass@1"]["value"] <= hi

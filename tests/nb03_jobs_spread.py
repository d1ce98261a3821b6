"""The spread behind notebook 03's in-memory n_jobs cell (section 4): fit_gmm(X, 3, init=start, n_jobs=j) for
j = 1, 2, 3 from the same start, over 8 starts and at three sizes, printed.

    .venv/bin/python tests/nb03_jobs_spread.py          # about 2 CPU-minutes

Not a test (nothing is asserted). The data: notebook 03's two million points (8 blocks of 250,000, each drawn
from its own seed of SeedSequence(1), as its dask cell draws them), their first 1,000,000 and first 310,000
rows (a last block of 10,000 rows, not 20,000). The starts: as the notebook's, a fit on a uniform subsample of
100,000 rows from a k-means++ start, each from its own seed (1 to 8). For each: the largest relative
difference of θ between n_jobs = 1 and 2 (the notebook's measure: max |a - b| / max |b| over π, μ, Σ), of
L(θ_t) over every t, whether the iteration counts are equal, and whether n_jobs = 3 gives n_jobs = 2's bits.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")


def largest_relative_difference(a, b):
    return max(
        np.abs(getattr(a, n) - getattr(b, n)).max() / np.abs(getattr(b, n)).max()
        for n in ("weights", "means", "covariances")
    )


def same_bits(a, b):
    return np.array_equal(a.log_likelihoods, b.log_likelihoods) and all(
        np.array_equal(getattr(a.params, n), getattr(b.params, n)) for n in ("weights", "means", "covariances")
    )


X_all = np.concatenate(
    [em.sample_gmm(TRUTH, 250_000, np.random.default_rng(s))[0] for s in np.random.SeedSequence(1).spawn(8)]
)
for n in (2_000_000, 1_000_000, 310_000):
    X = X_all[:n]
    theta_gaps, ll_gaps, iterations, equal_iterations, three_is_two = [], [], [], True, True
    for seed in range(1, 9):
        rng = np.random.default_rng(seed)
        subsample = X[np.sort(rng.choice(n, size=100_000, replace=False))]
        start = em.fit_gmm(subsample, 3, init=em.init_params(subsample, 3, seed=rng)).params
        fits = {j: em.fit_gmm(X, 3, init=start, n_jobs=j) for j in (1, 2, 3)}
        theta_gaps.append(largest_relative_difference(fits[2].params, fits[1].params))
        ll_gaps.append(
            np.abs(fits[1].log_likelihoods - fits[2].log_likelihoods).max() / abs(fits[1].log_likelihood)
            if fits[1].n_iter == fits[2].n_iter
            else np.nan
        )
        iterations.append(fits[1].n_iter)
        equal_iterations &= fits[1].n_iter == fits[2].n_iter == fits[3].n_iter
        three_is_two &= same_bits(fits[2], fits[3])
    print(
        f"N = {n:>9,}: θ gap 1 vs 2 median {np.median(theta_gaps):.1e}, worst {max(theta_gaps):.1e}; "
        f"L gap median {np.nanmedian(ll_gaps):.1e}, worst {np.nanmax(ll_gaps):.1e}; "
        f"iterations {min(iterations)} to {max(iterations)}, equal for 1, 2, 3 in all 8: {equal_iterations}; "
        f"3 == 2 bit for bit in all 8: {three_is_two}",
        flush=True,
    )

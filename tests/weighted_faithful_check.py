"""Old Faithful with integer weights: the weighted chunked fit against fit_gmm on the rows repeated.

    .venv/bin/python tests/weighted_faithful_check.py        # 32 fits, a few seconds

Not a test (nothing asserted): the real-data check of fit_gmm_chunked(sample_weight=...). Two sets of
integer weights on data/faithful.csv: its duplicate rows collapsed (the 256 distinct rows, w = how
often each occurs) and random weights 0..4 on the 272 rows (seed 0). For K = 2, 3 and each covariance
model, both fits start from one k-means++ start on the repeated rows (seed 1), chunks of 37 rows, and
run to tol=1e-10; the largest relative difference in the parameters and in L is printed per fit.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
import em_helpers as em  # noqa: E402
import em_scale as es  # noqa: E402


def relative_difference(a, b):
    return max(
        np.abs(getattr(a, name) - getattr(b, name)).max() / np.abs(getattr(b, name)).max()
        for name in ("weights", "means", "covariances")
    )


def main():
    X = np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)
    distinct, counts = np.unique(X, axis=0, return_counts=True)
    cases = {
        "duplicates collapsed (w = counts)": (distinct, counts),
        "random integer weights 0..4": (X, np.random.default_rng(0).integers(0, 5, len(X))),
    }
    print(f"N = {len(X)}, distinct rows = {len(distinct)}, largest count = {counts.max()}")
    worst = 0.0
    for name, (rows, w) in cases.items():
        repeated = np.repeat(rows, w, axis=0)
        for K in (2, 3):
            for covariance_type in em.COVARIANCE_TYPES:
                start = em.init_params(repeated, K, seed=1, covariance_type=covariance_type)
                options = {"init": start, "covariance_type": covariance_type, "tol": 1e-10, "max_iter": 1_000}
                chunked = es.fit_gmm_chunked(rows, K, sample_weight=w, chunk_size=37, **options)
                by_rows = em.fit_gmm(repeated, K, **options)
                params = relative_difference(chunked.params, by_rows.params)
                log_lik = np.abs(chunked.log_likelihoods - by_rows.log_likelihoods).max() / abs(by_rows.log_likelihood)
                worst = max(worst, params, log_lik)
                print(
                    f"{name:34s} K={K} {covariance_type:9s} iterations {chunked.n_iter:3d} / {by_rows.n_iter:3d}  "
                    f"parameters {'below 1e-14' if params < 1e-14 else f'{params:.1e}'}  "
                    f"L {'below 1e-14' if log_lik < 1e-14 else f'{log_lik:.1e}'}"
                )
    print(f"largest relative difference over every fit: {worst:.1e}")


if __name__ == "__main__":
    main()

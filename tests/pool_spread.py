"""How far fit_gmm and fit_bayesian_gmm with n_jobs = 2 (blocks of MEMORY_BLOCK rows, statistics about θ's
means) end from n_jobs = 1 (one block, statistics about the γ-weighted means): the largest relative
difference of L (or the ELBO) and of θ (weights, means, covariances; max |a - b| / max |a|) over 8 seeds and
the 4 covariance models, and that n_jobs = 3 gives n_jobs = 2's bits.

    .venv/bin/python tests/pool_spread.py
"""

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_bayes as eb
import em_helpers as em

warnings.simplefilter("ignore")


def relative(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300))


def theta(params):
    return params.weights, params.means, params.covariances


def data(seed, missing):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50_000, 3)) + 3.0 * rng.integers(0, 4, size=(50_000, 1))
    w = rng.uniform(0.5, 2.0, size=X.shape[0])
    if missing:
        X[rng.random(X.shape) < 0.1] = np.nan
    return X, w


worst, same = {}, True
for kind in ("complete", "weighted", "missing", "bayes"):
    for covariance_type in em.COVARIANCE_TYPES:
        for seed in range(8):
            X, w = data(seed, kind == "missing")
            if kind == "bayes":
                fits = [
                    eb.fit_bayesian_gmm(X, 4, covariance_type=covariance_type, seed=seed, n_jobs=j) for j in (1, 2, 3)
                ]
                objective = [fit.elbos[-1] for fit in fits]
            else:
                options = {"sample_weight": w} if kind == "weighted" else {"allow_missing": kind == "missing"}
                fits = [
                    em.fit_gmm(X, 4, covariance_type=covariance_type, seed=seed, n_jobs=j, **options) for j in (1, 2, 3)
                ]
                objective = [fit.log_likelihoods[-1] for fit in fits]
            same &= objective[1] == objective[2] and all(
                np.array_equal(a, b) for a, b in zip(theta(fits[1].params), theta(fits[2].params), strict=True)
            )
            L = abs(objective[0] - objective[1]) / abs(objective[0])
            t = max(relative(a, b) for a, b in zip(theta(fits[0].params), theta(fits[1].params), strict=True))
            old = worst.get((kind, covariance_type), (0.0, 0.0))
            worst[(kind, covariance_type)] = (max(old[0], L), max(old[1], t))
for (kind, covariance_type), (L, t) in worst.items():
    print(f"{kind:9s} {covariance_type:9s} L: {L:.1e}  θ: {t:.1e}")
print("n_jobs 3 == n_jobs 2, bit for bit, in every case:", same)

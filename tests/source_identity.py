"""Are two source trees' fits the same, bit for bit? The check of a refactoring that must not change a number.

    .venv/bin/python tests/source_identity.py BEFORE_DIR AFTER_DIR

Each tree runs in its own interpreter (its directory first on sys.path) and fits the same cases: fit_gmm
(complete, weighted, with missing values, weighted with missing values, with the default prior), fit_gmm_chunked
(with and without weights, n_jobs 1 and 2), the online fit (with and without weights) and fit_bayesian_gmm, over
several seeds and the four covariance models, and fit_gmm with missing values on 40,000 rows (patterns of
more rows than one block of columns). The final L (or ELBO), the means, covariances and weights are
compared with ``==``; the script prints how many cases agree exactly and, for the others, the largest relative
difference.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np

CHILD = r"""
import pickle, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import em_helpers as em, em_scale as es, em_bayes as eb
warnings.simplefilter("ignore")
out = {}
for seed in range(3):
    rng = np.random.default_rng(100 + seed)
    K, D, N = 3, 3, 1200
    centres = rng.normal(scale=4.0, size=(K, D))
    X = centres[rng.integers(K, size=N)] + rng.normal(size=(N, D))
    w = rng.uniform(0.0, 2.0, size=N)
    Xm = X.copy()
    Xm[rng.random(X.shape) < 0.15] = np.nan
    for model in ("full", "diag", "spherical", "tied"):
        common = dict(seed=seed, covariance_type=model, max_iter=30)
        cases = {
            "fit_gmm": lambda: em.fit_gmm(X, K, **common),
            "fit_gmm weighted": lambda: em.fit_gmm(X, K, sample_weight=w, **common),
            "fit_gmm default prior": lambda: em.fit_gmm(X, K, prior="default", **common),
            "fit_gmm weighted default prior": lambda: em.fit_gmm(X, K, prior="default", sample_weight=w, **common),
            "fit_gmm random n_init=2": lambda: em.fit_gmm(X, K, init="random", n_init=2, **common),
            "fit_gmm missing": lambda: em.fit_gmm(Xm, K, allow_missing=True, **common),
            "fit_gmm missing weighted": lambda: em.fit_gmm(Xm, K, allow_missing=True, sample_weight=w, **common),
            "fit_gmm missing default prior": lambda: em.fit_gmm(Xm, K, allow_missing=True, prior="default", **common),
            "chunked": lambda: es.fit_gmm_chunked(X, K, chunk_size=250, **common),
            "chunked weighted": lambda: es.fit_gmm_chunked(X, K, chunk_size=250, sample_weight=w, **common),
            "chunked n_jobs=2": lambda: es.fit_gmm_chunked(X, K, chunk_size=250, n_jobs=2, **common),
            "online": lambda: es.fit_gmm_online(np.split(X, 12), K, init_points=300, seed=seed,
                                                covariance_type=model),
            "online weighted": lambda: es.fit_gmm_online(list(zip(np.split(X, 12), np.split(w, 12))), K,
                                                         init_points=300, seed=seed, covariance_type=model,
                                                         weighted=True),
            "online default prior": lambda: es.fit_gmm_online(np.split(X, 12), K, init_points=300, seed=seed,
                                                              covariance_type=model, prior="default"),
            "bayesian": lambda: eb.fit_bayesian_gmm(X, K, **common),
        }
        for name, fit in cases.items():
            result = fit()
            if hasattr(result, "log_likelihoods"):
                final = result.log_likelihoods[-1]
            elif hasattr(result, "elbos"):
                final = result.elbos[-1]
            else:
                final = result.log_likelihood_trace[-1]
            p = result.params
            out[(name, model, seed)] = (final, p.means, p.covariances, p.weights)
# Patterns of more rows than one block of columns (2^17 / (K D) = 14,563 here): L sums its blocks per pattern
rng = np.random.default_rng(7)
X = rng.normal(scale=4.0, size=(3, 3))[rng.integers(3, size=40_000)] + rng.normal(size=(40_000, 3))
X[rng.random(X.shape) < 0.15] = np.nan
for model in ("full", "diag"):
    fit = em.fit_gmm(X, 3, allow_missing=True, seed=0, covariance_type=model, max_iter=10)
    p = fit.params
    out[("fit_gmm missing, 40,000 rows", model, 0)] = (fit.log_likelihoods[-1], p.means, p.covariances, p.weights)
sys.stdout.buffer.write(pickle.dumps(out))
"""


def run(tree):
    done = subprocess.run([sys.executable, "-c", CHILD, tree], capture_output=True)
    if done.returncode:
        sys.exit(f"{tree}:\n{done.stderr.decode()}")
    return pickle.loads(done.stdout)


def main():
    before, after = (run(tree) for tree in sys.argv[1:3])
    same, differ = 0, []
    for key, values in before.items():
        if all(np.array_equal(a, b) for a, b in zip(values, after[key], strict=True)):
            same += 1
        else:
            rel = max(
                float(np.max(np.abs(np.asarray(a) - b) / np.maximum(np.abs(a), 1e-300)))
                for a, b in zip(values, after[key], strict=True)
            )
            differ.append((key, rel))
    print(f"{same} of {len(before)} cases bit-identical (final objective, means, covariances, weights)")
    for key, rel in differ:
        print(f"  differs: {key}: largest relative difference {rel:.1e}")


if __name__ == "__main__":
    main()

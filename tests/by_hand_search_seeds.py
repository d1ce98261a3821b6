"""Notebook 05 §4's search by hand, over seeds: how often it chooses a degenerate fit.

    .venv/bin/python tests/by_hand_search_seeds.py [SEEDS]     (SEEDS: default 0-7, e.g. 0,3,5)

The search a reader writes without select_model: for every (covariance type, K = 1..9) pair on Old
Faithful, ``fit_gmm`` with ``n_init`` k-means++ restarts (each keeps its highest likelihood; the search's
reg_covar, max_iter = 1000), then the lowest BIC. Per n_init in (1, 3, 10) and per seed: the pair
chosen, its BIC, whether it is degenerate (``em_select.degenerate_components``) and how many of the
36 kept fits are. Also 300 Poisson(3) counts (8 draws): the pair select_model chooses. About 2 min.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import em_helpers as em  # noqa: E402
import em_select as sel  # noqa: E402

seeds = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else list(range(8))
X = np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)
reg_covar = sel.select_model(X, seed=0).reg_covar
for n_init in (1, 3, 10):
    chosen_bad, n_bad = 0, []
    for seed in seeds:
        fits = {
            (t, K): em.fit_gmm(X, K, covariance_type=t, n_init=n_init, seed=seed, reg_covar=reg_covar, max_iter=1000)
            for t in em.COVARIANCE_TYPES
            for K in range(1, 10)
        }
        pair = min(fits, key=lambda key: em.bic(X, fits[key].params))
        bad = [key for key, fit in fits.items() if len(sel.degenerate_components(fit.params, X))]
        chosen_bad += pair in bad
        n_bad.append(len(bad))
        print(
            f"n_init = {n_init:2d}, seed {seed}: lowest BIC {pair[0]}, K = {pair[1]}, "
            f"BIC {em.bic(X, fits[pair].params):.1f}"
            f" ({'degenerate' if pair in bad else 'healthy'}); degenerate kept fits {len(bad)} of 36",
            flush=True,
        )
    print(f"n_init = {n_init}: degenerate choice at {chosen_bad} of {len(seeds)} seeds; degenerate kept fits {n_bad}")
for draw in range(8):
    x = np.random.default_rng(draw).poisson(3, 300).astype(float).reshape(-1, 1)
    best = sel.select_model(x, seed=0).best_row
    print(
        f"Poisson(3), 300 counts, draw {draw}: {len(np.unique(x))} distinct values; chosen "
        f"{best.covariance_type}, K = {best.n_components}",
        flush=True,
    )

"""Spreads behind notebook 05's paragraphs on yes/no columns and on de-rounding counts, over 8 draws.

    .venv/bin/python tests/nb05_cold2_spread.py

(1) A table of N = 400 rows, 4 continuous columns and one 0/1 column, 2 true clusters (the first two
columns shifted by 3 in cluster 2): the 0/1 column independent of the clusters, or equal to the
cluster. select_model's choice, its adjusted Rand index against the truth and how many of the 36
pairs are marked degenerate, per draw; and the same table with the 0/1 column de-rounded.
(2) 300 Poisson(3) counts: select_model's choice plain, with prior="default", and with the counts
de-rounded (uniform noise on (-1/2, 1/2)).
(3) Old Faithful de-rounded (waiting +- 1/2 minute, eruption +- 1/2 s): select_model's choice and
whether it is degenerate; and the search by hand of §4 (fit_gmm, 10 k-means++ starts per pair,
lowest BIC, no rule), which on the rounded data chooses the 14-point spike. About 3 to 5 minutes;
`--by-hand` runs only that last part.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import em_helpers as em  # noqa: E402
import em_select as sel  # noqa: E402


def pair(s):
    r = s.best_row
    return f"{r.covariance_type} K = {r.n_components}"


BY_HAND_ONLY = "--by-hand" in sys.argv
for case in ("independent", "aligned") if not BY_HAND_ONLY else ():
    for draw in range(8):
        rng = np.random.default_rng(draw)
        z = rng.integers(2, size=400)
        cont = rng.normal(size=(400, 4)) + 3 * z[:, None] * np.array([1, 1, 0, 0])
        b = rng.integers(2, size=400) if case == "independent" else z
        X = np.column_stack([cont, b]).astype(float)
        s = sel.select_model(X, seed=0)
        marked = sum(row.degenerate for row in s.table)
        Xj = X + np.column_stack([np.zeros((400, 4)), rng.uniform(-0.5, 0.5, 400)])
        sj = sel.select_model(Xj, seed=0)
        print(
            f"0/1 column {case}, draw {draw}: {pair(s)}, ARI {adjusted_rand_score(z, s.best.predict(X)):.2f}, "
            f"{marked} of {len(s.table)} pairs marked d; de-rounded: {pair(sj)}, "
            f"ARI {adjusted_rand_score(z, sj.best.predict(Xj)):.2f}",
            flush=True,
        )

for draw in range(8 if not BY_HAND_ONLY else 0):
    rng = np.random.default_rng(draw)
    x = rng.poisson(3, size=300).astype(float)[:, None]
    plain = sel.select_model(x, seed=0)
    prior = sel.select_model(x, seed=0, prior="default")
    jit = sel.select_model(x + rng.uniform(-0.5, 0.5, x.shape), seed=0)
    print(
        f"Poisson(3) draw {draw}: plain {pair(plain)}; prior='default' {pair(prior)} "
        f"(ratio {prior.best_row.min_spread_ratio:.1g}); de-rounded {pair(jit)}",
        flush=True,
    )

X0 = np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)
for draw in range(8):
    rng = np.random.default_rng(draw)
    X = X0 + rng.uniform(-0.5, 0.5, X0.shape) * np.array([1 / 60, 1])
    if not BY_HAND_ONLY:
        off = sel.select_model(X, seed=0, min_spread_ratio=0)
        bad = len(sel.degenerate_components(off.best.params, X)) > 0
        print(f"Old Faithful de-rounded, draw {draw}: rule off: {pair(off)}, degenerate: {bad}", flush=True)
    rc = sel.select_model(X, seed=0).reg_covar
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {
            (t, K): em.fit_gmm(X, K, covariance_type=t, n_init=10, seed=0, reg_covar=rc, max_iter=1000)
            for t in em.COVARIANCE_TYPES
            for K in range(1, 10)
        }
    t, K = min(fits, key=lambda k: em.bic(X, fits[k].params))
    bad = len(sel.degenerate_components(fits[t, K].params, X)) > 0
    print(f"Old Faithful de-rounded, draw {draw}: by hand chooses {t} K = {K}, degenerate: {bad}", flush=True)

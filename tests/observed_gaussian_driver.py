"""Could em_incomplete's ``observed_gaussian`` (the default prior's moments on incomplete data) be a K = 1
fit through em_driver's loop? How far the driver's stopping rule leaves the moments from its fixed point.

    .venv/bin/python tests/observed_gaussian_driver.py

Over 8 data sets (N = 1,000, D = 3, 30% of the entries missing at random), fit_gmm(X, 1, allow_missing=True,
reg_covar=0) at three values of tol, against observed_gaussian (stopped when no entry moves by more than 1e-13
of the largest variance or its square root): the largest difference in those units, the iterations and the time.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em

warnings.simplefilter("ignore", em.ConvergenceWarning)
worst = {}
for seed in range(8):
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal([0, 1, 2], [[1, 0.6, 0.2], [0.6, 1, 0.3], [0.2, 0.3, 2]], size=1000)
    X[rng.random(X.shape) < 0.3] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    started = time.perf_counter()
    mean, cov = em.observed_gaussian(em.group_patterns(X))
    own = time.perf_counter() - started
    scale = np.diag(cov).max()
    for tol in (1e-10, 1e-14, 1e-300):
        started = time.perf_counter()
        fit = em.fit_gmm(X, 1, allow_missing=True, reg_covar=0.0, tol=tol, max_iter=1000)
        through_driver = time.perf_counter() - started
        moved = max(
            np.abs(fit.params.means[0] - mean).max() / np.sqrt(scale),
            np.abs(fit.params.covariances[0] - cov).max() / scale,
        )
        row = worst.setdefault(tol, [0.0, 0, 0.0, 0.0])
        row[0], row[1] = max(row[0], moved), max(row[1], fit.n_iter)
        row[2], row[3] = row[2] + through_driver, row[3] + own
for tol, (moved, n_iter, through_driver, own) in worst.items():
    print(
        f"tol={tol:g}: largest difference from observed_gaussian {moved:.1e} (units of the largest variance), "
        f"up to {n_iter} iterations, {through_driver / own:.1f}x observed_gaussian's time (all 8)"
    )

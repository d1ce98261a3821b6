"""Why em_select's stacked E-step stays beside the core's: one E-step of many starts at once
against the same starts one by one through the core's E-step (``em._e_step``, each start's
GMMParams made beforehand, so that only the E-step is timed).

    .venv/bin/python tests/select_stacked_speedup.py

Old Faithful (N = 272, D = 2); S starts of K components (every covariance type, init_params from
seeds 0 ..), both ways interleaved, best of 7; prints the load average and the ratio per size, and
the largest difference in L between the two ways (relative).
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import em_helpers as em
import em_select as sel

ROOT = Path(__file__).resolve().parent.parent
X = np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)


def main():
    print("load average before:", os.getloadavg())
    centre = X.mean(axis=0)
    source = em.DataSource(X - centre)
    squares = sel._squares(source.Xt)
    Xt = np.ascontiguousarray(X.T)
    for S, K in ((24, 3), (108, 9), (216, 5)):
        starts = [
            em.init_params(X, K, seed=s, covariance_type=em.COVARIANCE_TYPES[s % 4], reg_covar=1e-6) for s in range(S)
        ]
        weights = np.array([p.weights for p in starts])
        means = np.array([p.means - centre for p in starts])
        covariances = np.array([p.covariances for p in starts])
        best = {"stacked": np.inf, "one by one": np.inf}
        with em.one_blas_thread():
            for _ in range(7):
                t = time.perf_counter()
                _, stacked = sel._stacked_e_step(source, squares, weights, means, covariances, 1e-6)
                best["stacked"] = min(best["stacked"], time.perf_counter() - t)
                t = time.perf_counter()
                single = [em._e_step(Xt, p)[1] for p in starts]
                best["one by one"] = min(best["one by one"], time.perf_counter() - t)
        gap = np.max(np.abs(stacked - single) / np.abs(single))
        print(
            f"S = {S:3d} starts of K = {K} (S·K = {S * K:4d}): stacked {1e3 * best['stacked']:.2f} ms, "
            f"one by one {1e3 * best['one by one']:.2f} ms, ratio {best['one by one'] / best['stacked']:.1f}; "
            f"largest relative difference in L {gap:.1e}"
        )
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()

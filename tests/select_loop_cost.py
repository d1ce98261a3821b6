"""Why em_select's stacked EM loop does not run through em_driver's run_fit: the search's short
stage, every start of Old Faithful's first round (4 covariance types x K = 1..9: mclust's
hierarchy, its near-tie branches and 4 k-means++ starts per K; 10 iterations each), run stacked
(``_fits``, grouped by K) against one fit_gmm (one ``run_fit``) per start; interleaved, best of 5,
wall and CPU seconds, the load average printed.

    .venv/bin/python tests/select_loop_cost.py
"""

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import em_helpers as em  # noqa: E402
import em_select as sel  # noqa: E402


def first_round_starts(X, rng):
    """(name, θ_0) of every start of select_model(X)'s first round, and its reg_covar."""
    ks, types = list(range(1, 10)), ("spherical", "diag", "tied", "full")
    cuts = dict(zip(range(1, 11), sel.model_based_labels(X, range(1, 11)), strict=True))
    labels = {K: [("mclust hc", cuts[K])] for K in ks}
    for K, branches in sel._hc_branches(X, cuts, ks).items():
        labels[K] += branches
    Xt = np.ascontiguousarray(X.T)
    for K in ks:
        for _ in range(4 if K > 1 else 0):
            seeded = em.seed_responsibilities(Xt, K, "kmeans++", rng.spawn(1)[0])
            labels[K].append(("kmeans++", seeded.argmax(axis=0)))
    partitions = [(n, t, em.hard_responsibilities(c, K).T) for t in types for K in ks for n, c in labels[K]]
    reg_covar = sel.REG_COVAR_FRACTION * float(X.var(axis=0).min())
    settings = dict(tol=1e-6, reg_covar=reg_covar, prior=None)
    return sel._m_steps(X, partitions, settings)[0], settings


def main():
    X = np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)
    starts, settings = first_round_starts(X, np.random.default_rng(0))
    params = [sel._as_params(theta) for _, theta in starts]
    print(f"{len(starts)} starts; load average before: {os.getloadavg()}")

    def stacked():
        return sel._fits(X, [theta for _, theta in starts], settings, 10, by_k=True)

    def one_by_one():
        with warnings.catch_warnings(), em.one_blas_thread():
            warnings.simplefilter("ignore")
            return [
                em.fit_gmm(
                    X, p.n_components, init=p, covariance_type=p.covariance_type, max_iter=10, tol=0,
                    reg_covar=settings["reg_covar"],
                )
                for p in params
            ]  # fmt: skip

    best, ends = {}, {}
    for _ in range(5):
        for name, run in (("stacked", stacked), ("run_fit per start", one_by_one)):
            wall, cpu = time.perf_counter(), time.process_time()
            fits = run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            b = best.setdefault(name, [np.inf, np.inf])
            b[0], b[1] = min(b[0], wall), min(b[1], cpu)
            ends[name] = np.array([fit.log_likelihood for fit in fits])
    for name, (wall, cpu) in best.items():
        print(f"{name:18s} wall {wall:.3f} s, CPU {cpu:.3f} s")
    (w0, c0), (w1, c1) = best["stacked"], best["run_fit per start"]
    print(f"run_fit per start / stacked: wall {w1 / w0:.2f}, CPU {c1 / c0:.2f}")
    a, b = ends["stacked"], ends["run_fit per start"]
    print(f"largest relative difference in the final L: {np.max(np.abs(a - b) / np.abs(b)):.1e}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

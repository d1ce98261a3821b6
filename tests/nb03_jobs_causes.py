"""The causes behind notebook 03's in-memory n_jobs text (section 4), each over 8 seeds, printed.

    .venv/bin/python tests/nb03_jobs_causes.py          # about 3 CPU-minutes, Linux (it forks)

Not a test (nothing is asserted). Three questions:
1. Why n_jobs = 1 and 2 differ: one E-pass and M-step from a k-means++ start, on the notebook's mixture at
   N = 20,000 (one block of em.MEMORY_BLOCK rows) and 2,000,000, as n_jobs = 1 computes it (one block, statistics
   about the γ-weighted means), as one block about θ's means, against n_jobs > 1's blocks about θ's means (BLAS on
   one thread, as the workers hold it).
2. How the difference scales with the data's distance from the origin: fit_gmm n_jobs = 1 against 2 to
   convergence on notebook 01's mixture (45,678 points) shifted by 0, 10^3 and 10^6.
3. Why a 1-process fit right after a 2-process one is slower: fit_gmm(n_jobs=1) at N = 2,000,000 (three passes)
   after another 1-process fit, after a 2-process fit, and after a 2-process fit and gc.collect(), in turn; its
   wall, user and system seconds and this process's minor page faults. (Before DataSource.close dropped its
   ``_pool_made_for``, which held its bound ``memory_block``, the 2-process fit's source sat in a reference cycle
   and, with its copy of X, Xᵀ and the shared γ, waited for the cycle collector, which freed it during the next
   fit: 0.56-0.70 s against 0.46 s. Now the three take about as long: 0.47, 0.46, 0.46 s.)
4. Data with missing values: fit_gmm(allow_missing=True) with n_jobs = 1 and 2 on notebook 01's mixture, 10% of
   the coordinates missing, whether every parameter is equal bit for bit.
5. The copy of the shared (K, N) γ into the fit's γ that n_jobs > 1 makes each pass, at N = 2,000,000.
The measure of θ's difference is the notebook's: max |a - b| / max |b| over π, μ and Σ, the largest of the three.
"""

import gc
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em
from em_driver import combine_passes

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")
B = em.MEMORY_BLOCK


def gap(a, b):
    return max(
        np.abs(getattr(a, n) - getattr(b, n)).max() / np.abs(getattr(b, n)).max()
        for n in ("weights", "means", "covariances")
    )


def spread(values):
    v = np.array(values)
    return f"median {np.median(v):.1e}, worst {v.max():.1e}, equal bits {np.sum(v == 0)}/{len(v)}"


print("1. one E-pass and M-step, against n_jobs > 1's (blocks about θ's means), 8 seeds:")
for N in (20_000, 2_000_000):
    gaps = {"n_jobs = 1 (one block, γ-weighted means)": [], "one block about θ's means": []}
    for seed in range(1, 9):
        X = em.sample_gmm(TRUTH, N, np.random.default_rng(seed))[0]
        Xt = np.ascontiguousarray(X.T)
        theta = em.init_params(X[:20_000], 3, seed=np.random.default_rng(seed + 100))
        m_step = lambda p: em.m_step_with_prior(p.statistics, None, 1e-6, "full")  # noqa: E731
        with em.one_blas_thread():
            blocks = combine_passes(
                em.block_pass(np.ascontiguousarray(Xt[:, s : s + B]), theta, shift=theta.means).summary()
                for s in range(0, N, B)
            )
            one = {
                name: em.DataSource.pass_of(Xt, None, theta, shift, None, None, None, N)
                for name, shift in zip(gaps, (None, theta.means), strict=True)
            }
        for name, p in one.items():
            gaps[name].append(gap(m_step(p), m_step(blocks)))
    for name, g in gaps.items():
        print(f"   N = {N:>9,}, {name:42s} θ {spread(g)}")

print("2. fit_gmm n_jobs = 1 against 2, notebook 01's mixture shifted, 8 seeds:")
for offset in (0.0, 1e3, 1e6):
    gaps = []
    for seed in range(1, 9):
        X = em.sample_gmm(TRUTH, 45_678, np.random.default_rng(seed))[0] + offset
        start = em.init_params(X, 3, seed=np.random.default_rng(1000 + seed))
        f1, f2 = (em.fit_gmm(X, 3, init=start, n_jobs=j) for j in (1, 2))
        gaps.append(gap(f2.params, f1.params))
    print(f"   shifted by {offset:7g}: θ {spread(gaps)}")

print("3. fit_gmm(n_jobs=1), N = 2,000,000, three passes, 8 rounds in turn:")
X = em.sample_gmm(TRUTH, 2_000_000, np.random.default_rng(1))[0]
start = em.init_params(X[:50_000], 3, seed=np.random.default_rng(2))
fit = lambda j: em.fit_gmm(X, 3, init=start, max_iter=2, tol=0, n_jobs=j)  # noqa: E731
before = {
    "after a 1-process fit": lambda: fit(1),
    "after a 2-process fit": lambda: fit(2),
    "after a 2-process fit and gc.collect()": lambda: (fit(2), gc.collect()),
}
runs = {name: [] for name in before}
fit(1)
for _ in range(8):
    for name, run_before in before.items():
        run_before()
        t0, f0 = os.times(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        fit(1)
        t1, f1 = os.times(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        runs[name].append((t1.elapsed - t0.elapsed, t1.user - t0.user, t1.system - t0.system, f1 - f0))
for name, r in runs.items():
    a = np.median(np.array(r), axis=0)
    w = np.array(r)[:, 0]
    print(
        f"   {name:40s} wall median {a[0]:.2f} s ({w.min():.2f} to {w.max():.2f}), user {a[1]:.2f} s, "
        f"system {a[2]:.2f} s, minor page faults {a[3]:,.0f}"
    )
print(f"   load average {os.getloadavg()[0]:.1f}")

print("4. fit_gmm(allow_missing=True), n_jobs = 1 against 2, 10% of coordinates missing, 8 seeds:")
equal = 0
for seed in range(1, 9):
    rng = np.random.default_rng(seed)
    X = em.sample_gmm(TRUTH, 54_321, rng)[0]
    X[rng.random(X.shape) < 0.1] = np.nan
    start = em.init_params(X[~np.isnan(X).any(axis=1)], 3, seed=np.random.default_rng(1000 + seed))
    f1, f2 = (em.fit_gmm(X, 3, init=start, allow_missing=True, n_jobs=j) for j in (1, 2))
    equal += np.array_equal(f1.log_likelihoods, f2.log_likelihoods) and all(
        np.array_equal(getattr(f1.params, n), getattr(f2.params, n)) for n in ("weights", "means", "covariances")
    )
print(f"   every parameter and every L(θ_t) equal, bit for bit: {equal}/8")

print("5. copying the shared (K, N) γ into the fit's γ, as n_jobs > 1 does each pass, K = 3, N = 2,000,000:")
shared, kept, seconds = np.random.default_rng(0).random((3, 2_000_000)), np.empty((3, 2_000_000)), []
for _ in range(20):
    t0 = time.perf_counter()
    np.copyto(kept, shared)
    seconds.append(time.perf_counter() - t0)
print(f"   median {1e3 * np.median(seconds):.1f} ms over 20 copies")

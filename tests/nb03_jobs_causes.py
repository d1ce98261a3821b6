"""The causes behind notebook 03's in-memory n_jobs text (section 4), each over 8 seeds, printed.

    .venv/bin/python tests/nb03_jobs_causes.py          # about 3 CPU-minutes, Linux (it forks)
    .venv/bin/python tests/nb03_jobs_causes.py 2 3      # the questions named only

Not a test (nothing is asserted). Five questions:
1. Why n_jobs = 1 and 2 differ: one E-pass and M-step from a k-means++ start, on the notebook's mixture at
   N = 20,000 (one block of em.MEMORY_BLOCK rows) and 2,000,000, as n_jobs = 1 computes it (one block, statistics
   about the γ-weighted means), as one block about θ's means, against n_jobs > 1's blocks about θ's means (BLAS on
   one thread, as the workers hold it).
2. How the difference scales with the data's distance from the origin: fit_gmm n_jobs = 1 against 2 to
   convergence on notebook 01's mixture (45,678 points) shifted by 0, 10^3 and 10^6, over two sets of 8 seeds,
   beside ε|x|/σ (|x| the largest |coordinate|, σ the smallest component standard deviation, √λ_min(Σ_k)).
3. Whether a fit's timing depends on the fit before it: a 1-process fit at N = 2,000,000 (three passes), in memory
   (fit_gmm) and chunked (fit_gmm_chunked), after another 1-process fit, after a 2-process fit, after a 2-process
   fit and a pause of 0.5 s, and after a 2-process fit and a 1-pass 1-process fit, in turn; its wall seconds, and
   the CPU seconds of this process (all its threads) and its ended children per wall second.
4. Data with missing values: fit_gmm(allow_missing=True) with n_jobs = 1 and 2 on notebook 01's mixture, 10% of
   the coordinates missing, whether every parameter is equal bit for bit.
5. The copy of the shared (K, N) γ into the fit's γ that n_jobs > 1 makes each pass, at N = 2,000,000.
The measure of θ's difference is the notebook's: max |a - b| / max |b| over π, μ and Σ, the largest of the three.
"""

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em
import em_scale
from em_driver import combine_passes

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")
B = em.MEMORY_BLOCK
PARTS = {int(a) for a in sys.argv[1:]} or {1, 2, 3, 4, 5}


def gap(a, b):
    return max(
        np.abs(getattr(a, n) - getattr(b, n)).max() / np.abs(getattr(b, n)).max()
        for n in ("weights", "means", "covariances")
    )


def spread(values):
    v = np.array(values)
    return f"median {np.median(v):.1e}, worst {v.max():.1e}, equal bits {np.sum(v == 0)}/{len(v)}"


if 1 in PARTS:
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

if 2 in PARTS:
    print("2. fit_gmm n_jobs = 1 against 2, notebook 01's mixture shifted, two sets of 8 seeds:")
    sigma = np.sqrt(np.linalg.eigvalsh(TRUTH.covariances).min())
    for offset in (0.0, 1e3, 1e6):
        largest = offset + np.abs(TRUTH.means).max()
        for seeds in (range(1, 9), range(11, 19)):
            gaps = []
            for seed in seeds:
                X = em.sample_gmm(TRUTH, 45_678, np.random.default_rng(seed))[0] + offset
                start = em.init_params(X, 3, seed=np.random.default_rng(1000 + seed))
                f1, f2 = (em.fit_gmm(X, 3, init=start, n_jobs=j) for j in (1, 2))
                gaps.append(gap(f2.params, f1.params))
            print(
                f"   shifted by {offset:7g}, seeds {seeds.start}-{seeds.stop - 1}: θ {spread(gaps)}; "
                f"ε|x|/σ {np.finfo(float).eps * largest / sigma:.1e}"
            )

if 3 in PARTS:
    print("3. a 1-process fit, N = 2,000,000, three passes, after another fit, 8 rounds in turn:")
    X = em.sample_gmm(TRUTH, 2_000_000, np.random.default_rng(1))[0]
    start = em.init_params(X[:50_000], 3, seed=np.random.default_rng(2))
    for fit_name, fit_of in (("fit_gmm", em.fit_gmm), ("fit_gmm_chunked", em_scale.fit_gmm_chunked)):
        fit = lambda j, fit_of=fit_of: fit_of(X, 3, init=start, max_iter=2, tol=0, n_jobs=j)  # noqa: E731
        before = {
            "after a 1-process fit": lambda fit=fit: fit(1),
            "after a 2-process fit": lambda fit=fit: fit(2),
            "after a 2-process fit and 0.5 s": lambda fit=fit: (fit(2), time.sleep(0.5)),
            "after a 2-process fit and a 1-pass fit": lambda fit=fit, fit_of=fit_of: (
                fit(2),
                fit_of(X, 3, init=start, max_iter=0, tol=0),
            ),
        }
        runs = {name: [] for name in before}
        fit(1)
        for _ in range(8):
            for name, run_before in before.items():
                run_before()
                t0 = os.times()
                fit(1)
                t1 = os.times()
                wall = t1.elapsed - t0.elapsed
                cpu = sum(
                    getattr(t1, f) - getattr(t0, f) for f in ("user", "system", "children_user", "children_system")
                )
                runs[name].append((wall, cpu / wall))
        for name, r in runs.items():
            w, c = np.array(r).T
            print(
                f"   {fit_name:16s} {name:34s} wall median {np.median(w):.2f} s ({w.min():.2f} to {w.max():.2f}), "
                f"CPU s per wall s median {np.median(c):.2f} ({c.min():.2f} to {c.max():.2f})"
            )
    print(f"   load average {os.getloadavg()[0]:.1f}")

if 4 in PARTS:
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

if 5 in PARTS:
    print("5. copying the shared (K, N) γ into the fit's γ, as n_jobs > 1 does each pass, K = 3, N = 2,000,000:")
    shared, kept, seconds = np.random.default_rng(0).random((3, 2_000_000)), np.empty((3, 2_000_000)), []
    for _ in range(20):
        t0 = time.perf_counter()
        np.copyto(kept, shared)
        seconds.append(time.perf_counter() - t0)
    print(f"   median {1e3 * np.median(seconds):.1f} ms over 20 copies")

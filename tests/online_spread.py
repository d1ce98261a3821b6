"""How far one pass of online EM ends from batch EM's optimum, over 20 starts x 2 stream orders (40 runs).

    .venv/bin/python tests/online_spread.py            # both mixtures, every rule (3.5 min of CPU time)
    .venv/bin/python tests/online_spread.py notebook   # notebook 01's mixture only

Not a test (nothing is timed or asserted): the measurement behind fit_gmm_online's defaults and
issue 20's target, printed as a table. Two mixtures, 1,000,000 points each, in batches of 1,000:

* notebook 01's three Gaussians (data/true_parameters.json), the points drawn with seed 1;
* the bench's harder mixture (tests/bench.py's make_problem at N = 1,000,000, D = 2, K = 3, seed 0:
  overlapping components, where batch EM needs hundreds of iterations).

Each stream order is a permutation of the same points (seeds 100 and 101); each start seed s = 0..19
drives the start. The gap of a run is (L(θ*) - L(θ)) / |L(θ*)| per point, θ* the best batch EM optimum
found: EM to tol=1e-10 from the best online answer and from 2 k-means++ starts (the largest L kept).
A rule is a set of fit_gmm_online arguments:

* "old rule": one k-means++ start on the first batch (init=em.init_params(first batch, seed=s)), no
  averaging: what fit_gmm_online did before issue 20;
* "old rule, 3 passes": the same, reading the points three times;
* "start on the first 10,000": the default start (best of 5 batch fits on the first 10,000 points),
  no averaging;
* "defaults": that start and Polyak-Ruppert averaging after it.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import em_helpers as em
import em_scale

ROOT = Path(__file__).resolve().parent.parent

N_POINTS, BATCH, N_STARTS, ORDER_SEEDS = 1_000_000, 1_000, 20, (100, 101)


def notebook_points():
    saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
    truth = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
    return em.sample_gmm(truth, N_POINTS, seed=1)[0]


def bench_points():
    import bench

    return bench.make_problem(N_POINTS, 2, 3)[0]


RULES = {
    "old rule: k-means++ on the first batch": lambda batches, s: em_scale.fit_gmm_online(
        batches, 3, init=em.init_params(batches[0], 3, seed=s), average_after=None
    ),
    "old rule, 3 passes": lambda batches, s: em_scale.fit_gmm_online(
        batches, 3, init=em.init_params(batches[0], 3, seed=s), average_after=None, n_passes=3
    ),
    "start on the first 10,000, no averaging": lambda batches, s: em_scale.fit_gmm_online(
        batches, 3, seed=s, average_after=None
    ),
    "defaults (that start, then averaging)": lambda batches, s: em_scale.fit_gmm_online(batches, 3, seed=s),
}


def optimum(X, candidates):
    """The largest L/N batch EM reaches from the best candidate and from 2 k-means++ starts."""
    best = max(candidates, key=lambda params: em.log_likelihood(X, params))
    fits = [em.fit_gmm(X, 3, init=best, tol=1e-10, max_iter=5_000)]
    fits += [em.fit_gmm(X, 3, seed=s, tol=1e-10, max_iter=5_000) for s in range(2)]
    return max(fit.log_likelihood for fit in fits) / len(X)


def spread(name, X):
    orders = [X[np.random.default_rng(seed).permutation(len(X))] for seed in ORDER_SEEDS]
    results = {}
    for rule, run in RULES.items():
        t0 = time.perf_counter()
        fits = [run(np.split(Xo, len(Xo) // BATCH), s) for Xo in orders for s in range(N_STARTS)]
        results[rule] = ([em.log_likelihood(X, fit.params) / len(X) for fit in fits], fits)
        results[rule] += ((time.perf_counter() - t0) / len(fits),)
        print(f"  {name}: {rule} done", file=sys.stderr, flush=True)
    best = optimum(X, [fit.params for _, fits, _ in results.values() for fit in fits])
    rows = []
    for rule, (scores, _, seconds) in results.items():
        gaps = (best - np.array(scores)) / abs(best)
        rows.append(
            f"| {name} | {rule} | {np.median(gaps):.1e} | {gaps.max():.1e} | {(gaps <= 1e-3).sum()} of {len(gaps)} "
            f"| {(gaps <= 1e-4).sum()} of {len(gaps)} | {gaps.min():.1e} | {seconds:.2f} |"
        )
    return rows


def main(which):
    mixtures = {"notebook 01's mixture": notebook_points, "bench's harder mixture": bench_points}
    if which == "notebook":
        mixtures.pop("bench's harder mixture")
    rows = []
    for name, points in mixtures.items():
        rows += spread(name, points())
    print(
        f"One pass over {N_POINTS:,} points in batches of {BATCH:,}; {N_STARTS} starts x {len(ORDER_SEEDS)} "
        "orders; gap = (L* - L) / |L*| per point against batch EM's optimum L*\n"
    )
    print("| mixture | rule | median gap | worst gap | within 1e-3 | within 1e-4 | smallest gap | seconds per run |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "both")

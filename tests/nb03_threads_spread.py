"""The spread behind notebook 03's threads-against-processes sentence (section 4), 8 rounds, printed.

    .venv/bin/python tests/nb03_threads_spread.py          # about 1 CPU-minute, Linux (it forks)

Not a test (nothing is asserted). Each round, on the notebook's mixture at N = 2,000,000: 2 threads / 1 thread
(one pass of em.block_pass over 20,000-row chunks of Xᵀ, BLAS on one thread, as the notebook's threads cell)
and 2 processes / 1 process (fit_gmm_chunked, three passes, as its processes cell), each a ratio of throughputs,
and the CPU seconds 2 processes spent against 1;
after each 2-process fit one 1-process pass is run and discarded, so that the next round's timings do not
follow a forked fit directly (what a fit right after a forked one measures: tests/nb03_jobs_causes.py 3).
Run it beside other work to see a busy machine.
"""

import json
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em
import em_scale

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")

X = em.sample_gmm(TRUTH, 2_000_000, np.random.default_rng(1))[0]
theta = em.fit_gmm(X[:100_000], 3, init=em.init_params(X[:100_000], 3, seed=np.random.default_rng(2))).params
chunks_t = [np.ascontiguousarray(c.T) for c in np.array_split(X, len(X) // 20_000)]


def threads(n):
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda Xt: em.block_pass(Xt, theta, shift=theta.means).summary(), chunks_t))
    return time.perf_counter() - t0


def cpu_seconds():
    """This process's CPU seconds and its ended children's (a fit's worker ends with the fit)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def processes(n):
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    em_scale.fit_gmm_chunked(X, 3, init=theta, max_iter=2, tol=0, n_jobs=n)
    return time.perf_counter() - t0, cpu_seconds() - cpu0


ratios, loads, extra_cpu = {"threads": [], "processes": []}, [], []
for _ in range(8):
    with em.one_blas_thread():
        t1, t2 = threads(1), threads(2)
    (p1, c1), (p2, c2) = processes(1), processes(2)
    em_scale.fit_gmm_chunked(X, 3, init=theta, max_iter=0, tol=0)  # discarded: it pays the post-fork faults
    ratios["threads"].append(t1 / t2)
    ratios["processes"].append(p1 / p2)
    extra_cpu.append(c2 / c1 - 1)
    loads.append(os.getloadavg()[0])
for name, r in ratios.items():
    print(f"2 {name} / 1: median {np.median(r):.2f}, {min(r):.2f} to {max(r):.2f} over 8 rounds")
print(
    f"CPU seconds of 2 processes against 1: {100 * np.median(extra_cpu):+.0f}% median, "
    f"{100 * min(extra_cpu):+.0f}% to {100 * max(extra_cpu):+.0f}%"
)
print(f"load average {min(loads):.1f} to {max(loads):.1f}")

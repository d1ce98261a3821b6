"""fit_gmm in memory with n_jobs = 1 against n_jobs = 2 (the E-pass in blocks of MEMORY_BLOCK rows over
two processes): bench.py's problems at (1,000,000, 2, 3) and (200,000, 8, 6), 20 iterations from the same
start, rounds interleaved, best of 5 wall times, CPU seconds per wall second (children included), load
printed. Nothing is required of the ratio; it is reported.

    .venv/bin/python tests/pool_ab.py
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import N_ITER, REG_COVAR, THREAD_SIZES, cpu_seconds, make_problem

import em_helpers as em

REPEATS = 5


def fit(X, start, n_jobs):
    return em.fit_gmm(X, start.n_components, init=start, max_iter=N_ITER, tol=0, reg_covar=REG_COVAR, n_jobs=n_jobs)


print(f"fit_gmm(n_jobs=1) vs fit_gmm(n_jobs=2), {N_ITER} iterations, best of {REPEATS} interleaved rounds")
print(f"({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start)\n")
print("| N | D | K | n_jobs=1 ms | n_jobs=2 ms | 1 / 2 (throughput) | CPU s per wall s, 1 | CPU s per wall s, 2 |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for size in THREAD_SIZES:
    X, start = make_problem(*size)
    for n_jobs in (1, 2):
        fit(X, start, n_jobs)  # warm up
    best = {1: (np.inf, 0.0), 2: (np.inf, 0.0)}
    for _ in range(REPEATS):
        for n_jobs in (1, 2):
            cpu, wall = cpu_seconds(), time.perf_counter()
            fit(X, start, n_jobs)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
            best[n_jobs] = min(best[n_jobs], (wall, cpu / wall))
    print(
        f"| {size[0]:,} | {size[1]} | {size[2]} | {best[1][0] * 1e3:,.0f} | {best[2][0] * 1e3:,.0f} "
        f"| **{best[1][0] / best[2][0]:.2f}** | {best[1][1]:.2f} | {best[2][1]:.2f} |",
        flush=True,
    )
print(f"\nload average {os.getloadavg()[0]:.1f} at the end")

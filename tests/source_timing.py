"""Time fit_gmm and fit_gmm_chunked of two source trees, interleaved: the A/B of a refactoring.

    .venv/bin/python tests/source_timing.py BEFORE_DIR AFTER_DIR [--repeats 5]

Each repeat runs, for each tree in turn, one fresh interpreter with that tree first on sys.path,
which times every case once (after one untimed warm-up fit per case); the table gives, per case and
tree, the best wall and CPU time over the repeats and the ratio after/before. The same seeds and
data in every run. Run it with the same directory twice to see the noise of this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

# (label, fitter, N, D, K, weighted, iterations, fits per timing)
CASES = [
    ("fit_gmm (500, 2, 3)", "memory", 500, 2, 3, False, 20, 50),
    ("fit_gmm (200k, 8, 6)", "memory", 200_000, 8, 6, False, 10, 1),
    ("fit_gmm (1M, 2, 3)", "memory", 1_000_000, 2, 3, False, 10, 1),
    ("fit_gmm weighted (200k, 8, 6)", "memory", 200_000, 8, 6, True, 10, 1),
    ("chunked (500, 2, 3)", "chunked", 500, 2, 3, False, 20, 50),
    ("chunked (200k, 8, 6)", "chunked", 200_000, 8, 6, False, 10, 1),
    ("chunked (1M, 2, 3)", "chunked", 1_000_000, 2, 3, False, 10, 1),
    ("chunked weighted (200k, 8, 6)", "chunked", 200_000, 8, 6, True, 10, 1),
    ("chunked n_jobs=2 (1M, 2, 3)", "threads", 1_000_000, 2, 3, False, 10, 1),
]

CHILD = r"""
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import em_helpers as em, em_scale as es
warnings.simplefilter("ignore")
cases = json.loads(sys.argv[2])
out = {}
for label, fitter, N, D, K, weighted, n_iter, n_fits in cases:
    rng = np.random.default_rng(N + D + K)
    centres = rng.normal(scale=6.0, size=(K, D))
    X = centres[rng.integers(K, size=N)] + rng.normal(size=(N, D))
    w = rng.uniform(0.5, 2.0, size=N) if weighted else None
    if fitter == "memory":
        fit = lambda: em.fit_gmm(X, K, seed=0, max_iter=n_iter, tol=0, sample_weight=w)
    elif fitter == "chunked":
        fit = lambda: es.fit_gmm_chunked(X, K, seed=0, max_iter=n_iter, tol=0, sample_weight=w)
    else:
        fit = lambda: es.fit_gmm_chunked(X, K, seed=0, max_iter=n_iter, tol=0, n_jobs=2)
    fit()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n_fits):
        result = fit()
    out[label] = ((time.perf_counter() - wall) / n_fits, (time.process_time() - cpu) / n_fits,
                  float(result.log_likelihoods[-1]))
print(json.dumps(out))
"""


def main():
    before, after = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 5
    best = {tree: {} for tree in ("before", "after")}
    finals = {tree: {} for tree in ("before", "after")}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for repeat in range(repeats):
        order = [("before", before), ("after", after)] if repeat % 2 == 0 else [("after", after), ("before", before)]
        for tree, path in order:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, path, json.dumps(CASES)], capture_output=True, text=True, check=True
            )
            for label, (wall, cpu, final) in json.loads(done.stdout).items():
                old = best[tree].get(label, (float("inf"), float("inf")))
                best[tree][label] = (min(old[0], wall), min(old[1], cpu))
                finals[tree][label] = final
        print(f"repeat {repeat + 1}/{repeats} done at {time.strftime('%H:%M:%S')}, load {os.getloadavg()}", flush=True)
    print(f"\nbest of {repeats}, interleaved; wall and CPU time per fit")
    print(
        f"{'case':32s} {'before wall':>12s} {'after wall':>11s} {'ratio':>6s} {'before CPU':>11s} {'after CPU':>10s} {'ratio':>6s}  final L"
    )
    for label, *_ in CASES:
        bw, bc = best["before"][label]
        aw, ac = best["after"][label]
        same = (
            "same"
            if finals["before"][label] == finals["after"][label]
            else (f"rel. diff {abs(finals['after'][label] / finals['before'][label] - 1):.1e}")
        )
        print(
            f"{label:32s} {bw * 1e3:10.2f}ms {aw * 1e3:9.2f}ms {aw / bw:6.3f} {bc * 1e3:9.2f}ms {ac * 1e3:8.2f}ms {ac / bc:6.3f}  {same}"
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

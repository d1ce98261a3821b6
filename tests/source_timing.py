"""Time fit_gmm, fit_gmm_chunked, the online and the variational fit of two source trees, interleaved:
the A/B of a refactoring.

    .venv/bin/python tests/source_timing.py BEFORE_DIR AFTER_DIR [--repeats 5] [--only TEXT]

Two interpreters stay up, one per tree (each with its tree first on sys.path), and are asked in
turn to time one fit: for each case, the repeats alternate between the trees (before, after, after,
before, ...), after one untimed warm-up fit in each. The table gives, per case and tree, the best
wall and CPU time over the repeats and the ratio after/before, and whether the final log-likelihoods
are the same. The same seeds and data in every run. Pass the same directory twice to see the noise.
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
    ("fit_gmm 20% missing (100k, 5, 4)", "missing", 100_000, 5, 4, False, 10, 1),
    ("online weighted (200k, 2, 3)", "online", 200_000, 2, 3, True, 0, 1),
    ("fit_bayesian_gmm (500, 2, 3)", "bayesian", 500, 2, 3, False, 20, 20),
    ("one in-memory E-pass (500, 2, 3)", "e_pass", 500, 2, 3, False, 0, 2000),
    ("one weighted E-pass (500, 2, 3)", "e_pass", 500, 2, 3, True, 0, 2000),
]

CHILD = r"""
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import em_helpers as em, em_scale as es, em_bayes as eb
warnings.simplefilter("ignore")
fits = {}
for line in sys.stdin:
    label, fitter, N, D, K, weighted, n_iter, n_fits = json.loads(line)
    if label not in fits:
        fits.clear()  # one case's data at a time
        rng = np.random.default_rng(N + D + K)
        centres = rng.normal(scale=6.0, size=(K, D))
        X = centres[rng.integers(K, size=N)] + rng.normal(size=(N, D))
        w = rng.uniform(0.5, 2.0, size=N) if weighted else None
        if fitter == "memory":
            fit = lambda X=X, w=w: em.fit_gmm(X, K, seed=0, max_iter=n_iter, tol=0, sample_weight=w)
        elif fitter == "chunked":
            fit = lambda X=X, w=w: es.fit_gmm_chunked(X, K, seed=0, max_iter=n_iter, tol=0, sample_weight=w)
        elif fitter == "threads":
            fit = lambda X=X: es.fit_gmm_chunked(X, K, seed=0, max_iter=n_iter, tol=0, n_jobs=2)
        elif fitter == "missing":
            X[rng.random(X.shape) < 0.2] = np.nan
            fit = lambda X=X: em.fit_gmm(X, K, seed=0, max_iter=n_iter, tol=0, allow_missing=True)
        elif fitter == "e_pass":  # what the source adds to each E-step: its fixed cost per pass, at small N
            source, theta = em.DataSource(X, w), em.init_params(X, K, seed=0)
            fit = lambda source=source, theta=theta: source.e_pass(theta)
        elif fitter == "bayesian":
            fit = lambda X=X: eb.fit_bayesian_gmm(X, K, seed=0, max_iter=n_iter, tol=0)
        else:  # one pass of the online fit over batches of 1,000 pairs (X_b, w_b)
            pairs = list(zip(np.split(X, N // 1_000), np.split(w, N // 1_000)))
            fit = lambda pairs=pairs: es.fit_gmm_online(pairs, K, seed=0, weighted=True)
        fit()
        fits[label] = fit
    fit = fits[label]
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n_fits):
        result = fit()
    wall, cpu = (time.perf_counter() - wall) / n_fits, (time.process_time() - cpu) / n_fits
    if hasattr(result, "log_likelihoods"):
        final = result.log_likelihoods[-1]
    else:
        final = result.elbos[-1] if hasattr(result, "elbos") else getattr(result, "log_likelihood_trace", [None])[-1]
        final = result.log_likelihood if final is None else final
    print(json.dumps([wall, cpu, float(final)]), flush=True)
"""


def main():
    trees = {"before": sys.argv[1], "after": sys.argv[2]}
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 5
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""  # cases whose label has it
    cases = [case for case in CASES if only in case[0]]
    children = {
        tree: subprocess.Popen(
            [sys.executable, "-c", CHILD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for tree, path in trees.items()
    }
    best = {tree: {} for tree in trees}
    finals = {tree: {} for tree in trees}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for case in cases:
        label = case[0]
        for repeat in range(repeats):
            order = ("before", "after") if repeat % 2 == 0 else ("after", "before")
            for tree in order:
                children[tree].stdin.write(json.dumps(case) + "\n")
                children[tree].stdin.flush()
                wall, cpu, final = json.loads(children[tree].stdout.readline())
                old = best[tree].get(label, (float("inf"), float("inf")))
                best[tree][label] = (min(old[0], wall), min(old[1], cpu))
                finals[tree][label] = final
        print(f"{label} done at {time.strftime('%H:%M:%S')}, load {os.getloadavg()}", flush=True)
    for child in children.values():
        child.stdin.close()
        child.wait()
    print(f"\nbest of {repeats}, interleaved; wall and CPU time per fit")
    print(f"{'case':32s} {'before wall':>12s} {'after wall':>11s} {'ratio':>6s}", end=" ")
    print(f"{'before CPU':>11s} {'after CPU':>10s} {'ratio':>6s}  final L")
    for label, *_ in cases:
        (bw, bc), (aw, ac) = best["before"][label], best["after"][label]
        before, after = finals["before"][label], finals["after"][label]
        same = "same" if before == after else f"rel. diff {abs(after / before - 1):.1e}"
        print(f"{label:32s} {bw * 1e3:10.3f}ms {aw * 1e3:9.3f}ms {aw / bw:6.3f}", end=" ")
        print(f"{bc * 1e3:9.3f}ms {ac * 1e3:8.3f}ms {ac / bc:6.3f}  {same}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

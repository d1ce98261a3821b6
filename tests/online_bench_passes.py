"""The bench's harder mixture: where one, two and three online passes end, with and without averaging.

    .venv/bin/python tests/online_bench_passes.py        # 48 online fits (about 2 min of CPU time)

Not a test (nothing is timed or asserted): the spread behind notebook 03's paragraph on the harder
mixture. tests/bench.py's make_problem at N = 1,000,000, D = 2, K = 3, seed 0 (three overlapping
components, where batch EM needs hundreds of iterations); 8 stream orders (permutation seeds 300 to
307), each with its own start seed (40 to 47), batches of 1,000. The gap of a run is
(L(θ*) - L(θ)) / |L(θ*)| per point, θ* batch EM to tol=1e-10 from the best online answer.
"""

import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import bench  # noqa: E402

import em_helpers as em  # noqa: E402
import em_scale  # noqa: E402

warnings.simplefilter("ignore")
X = bench.make_problem(1_000_000, 2, 3, seed=0)[0]
rules = {
    f"{n} pass{'es' if n > 1 else ''}, {a}": (n, avg)
    for n in (1, 2, 3)
    for a, avg in (("averaging (default)", 10_000), ("last iterate", None))
}
fits = {name: [] for name in rules}
for k in range(8):
    batches = np.split(X[np.random.default_rng(300 + k).permutation(len(X))], 1_000)
    for name, (n_passes, average_after) in rules.items():
        fits[name].append(
            em_scale.fit_gmm_online(batches, 3, seed=40 + k, n_passes=n_passes, average_after=average_after).params
        )
scores = {name: np.array([em.log_likelihood(X, p) for p in ps]) / len(X) for name, ps in fits.items()}
best = max((p for ps in fits.values() for p in ps), key=lambda p: em.log_likelihood(X, p))
optimum = em.fit_gmm(X, 3, init=best, tol=1e-10, max_iter=3_000).log_likelihood / len(X)
print("| rule | median gap | worst gap | gaps, orders 300 to 307 |\n|---|---:|---:|---|")
for name, s in scores.items():
    g = (optimum - s) / abs(optimum)
    print(f"| {name} | {np.median(g):.1e} | {g.max():.1e} | {np.array2string(g, precision=1)} |")

"""`make bench`: em_helpers.fit_gmm against scikit-learn and a textbook scipy.stats loop.

All three start from the same parameters and run the same number of EM iterations
(tol=0), on the same data, in this one run, so the ratios compare like with like on
whatever machine runs it. Time is the best of a few repeats; peak memory is what
tracemalloc sees allocated during one fit (NumPy reports its buffers to it), X excluded.
"""

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import sklearn
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em

SIZES = [(500, 2, 3), (200_000, 8, 6), (1_000_000, 2, 3)]
N_ITER = 20
REG_COVAR = 1e-6
TIME_BAR, AIM = 0.67, 0.5


def make_problem(n_samples, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n_components, n_features, n_features))
    truth = em.GMMParams(
        rng.dirichlet(np.full(n_components, 5.0)),
        rng.normal(0.0, 3.0, size=(n_components, n_features)),
        A @ A.transpose(0, 2, 1) / n_features + 0.5 * np.eye(n_features),
    )
    X, _ = em.sample_gmm(truth, n_samples, seed=rng)
    return X, em.init_params(X, n_components, seed=rng)


def run_em_helpers(X, start):
    return em.fit_gmm(X, start.n_components, init=start, max_iter=N_ITER, tol=0, reg_covar=REG_COVAR).params


def run_sklearn(X, start):
    gm = GaussianMixture(
        start.n_components,
        covariance_type="full",
        weights_init=start.weights,
        means_init=start.means,
        precisions_init=np.linalg.inv(start.covariances),
        max_iter=N_ITER,
        tol=0,
        reg_covar=REG_COVAR,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    return em.GMMParams(gm.weights_, gm.means_, gm.covariances_)


def run_scipy_loop(X, start):
    """The E- and M-steps most tutorials write: raw densities from scipy.stats, per component."""
    weights, means, covariances = start.weights.copy(), start.means.copy(), start.covariances.copy()
    n_samples, n_features = X.shape
    for _ in range(N_ITER):
        dens = np.column_stack(
            [w * multivariate_normal.pdf(X, m, c) for w, m, c in zip(weights, means, covariances, strict=True)]
        )
        resp = dens / dens.sum(axis=1, keepdims=True)
        counts = resp.sum(axis=0)
        weights = counts / n_samples
        means = resp.T @ X / counts[:, None]
        for k in range(len(weights)):
            diff = X - means[k]
            covariances[k] = (resp[:, k, None] * diff).T @ diff / counts[k] + REG_COVAR * np.eye(n_features)
    return em.GMMParams(weights, means, covariances)


def best_time(fn, X, start, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(X, start)
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_memory(fn, X, start):
    tracemalloc.start()
    fn(X, start)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    print(f"EM benchmark: {N_ITER} iterations from the same start, reg_covar={REG_COVAR}")
    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, python {sys.version.split()[0]}\n")
    runners = {"em_helpers": run_em_helpers, "scikit-learn": run_sklearn, "scipy loop": run_scipy_loop}
    rows, ok = [], True
    for n_samples, n_features, n_components in SIZES:
        X, start = make_problem(n_samples, n_features, n_components)
        repeats = 50 if n_samples < 10_000 else 3
        results = {name: fn(X, start) for name, fn in runners.items()}  # also warms up
        seconds = {name: best_time(fn, X, start, repeats) for name, fn in runners.items()}
        memory = {name: peak_memory(fn, X, start) for name, fn in runners.items()}
        diff = max(
            np.abs(getattr(results["em_helpers"], a) - getattr(results["scikit-learn"], a)).max()
            / np.abs(getattr(results["scikit-learn"], a)).max()
            for a in ("weights", "means", "covariances")
        )
        ratio = seconds["em_helpers"] / seconds["scikit-learn"]
        mem_ratio = memory["em_helpers"] / memory["scikit-learn"]
        ok &= ratio <= TIME_BAR and mem_ratio <= 1.0
        rows.append(
            f"| {n_samples:,} | {n_features} | {n_components} "
            f"| {seconds['em_helpers'] * 1e3:,.0f} | {seconds['scikit-learn'] * 1e3:,.0f} "
            f"| {seconds['scipy loop'] * 1e3:,.0f} | **{ratio:.2f}** "
            f"| {seconds['em_helpers'] / seconds['scipy loop']:.2f} "
            f"| {memory['em_helpers'] / 2**20:,.1f} | {memory['scikit-learn'] / 2**20:,.1f} "
            f"| {memory['scipy loop'] / 2**20:,.1f} | {mem_ratio:.2f} | {diff:.1e} |"
        )
        print(f"measured N={n_samples:,}", flush=True)
    header = (
        "| N | D | K | em_helpers ms | scikit-learn ms | scipy loop ms | time ratio vs sklearn "
        "| time ratio vs loop | em_helpers MiB | scikit-learn MiB | scipy loop MiB "
        "| memory ratio vs sklearn | max rel. difference vs sklearn |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    print("\n" + header)
    print("\n".join(rows))
    print(
        f"\nBar: time ratio <= {TIME_BAR} (aim {AIM}) and memory ratio <= 1 at every size: "
        + ("met." if ok else "NOT met.")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

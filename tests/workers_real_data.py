"""fit_gmm_chunked with worker processes on real data (Old Faithful from data/, and mclust's diabetes,
banknote and thyroid read through Rscript): chunks of 25 rows (6 to 11 per pass), 100 iterations from
fit_gmm's start, against fit_gmm and scikit-learn from the same start; n_jobs 1 and 2 bit-identical.
Run: .venv/bin/python tests/workers_real_data.py (needs R with mclust)."""

import io
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
from sklearn.mixture import GaussianMixture

import em_helpers as em
import em_scale as es

sets = {
    "faithful": np.loadtxt(
        Path(__file__).resolve().parents[1] / "data" / "faithful.csv", delimiter=",", skiprows=1, usecols=(-2, -1)
    )
}
for name in ("diabetes", "banknote", "thyroid"):
    out = subprocess.run(
        [
            "Rscript",
            "-e",
            f"library(mclust); data({name}); x <- {name}[sapply({name}, is.numeric)]; write.csv(x, row.names=FALSE)",
        ],
        capture_output=True,
        text=True,
    ).stdout
    sets[name] = np.loadtxt(io.StringIO(out), delimiter=",", skiprows=1)
for name, X in sets.items():
    for K in (2, 3):
        start = em.init_params(X, K, seed=0)
        ref = em.fit_gmm(X, K, init=start, tol=0, max_iter=100)
        fits = [
            es.fit_gmm_chunked(X, K, init=start, tol=0, max_iter=100, chunk_size=25, n_jobs=n_jobs) for n_jobs in (1, 2)
        ]
        gaps = [
            max(
                np.abs(getattr(fit.params, a) - getattr(ref.params, a)).max() / np.abs(getattr(ref.params, a)).max()
                for a in ("weights", "means", "covariances")
            )
            for fit in fits
        ]
        identical = np.array_equal(fits[0].log_likelihoods, fits[1].log_likelihoods) and np.array_equal(
            fits[0].params.covariances, fits[1].params.covariances
        )
        sk = GaussianMixture(
            K,
            weights_init=start.weights,
            means_init=start.means,
            precisions_init=np.linalg.inv(start.covariances),
            tol=0,
            max_iter=100,
            reg_covar=1e-6,
        ).fit(X)
        sk_gap = np.abs(sk.means_ - ref.params.means).max() / np.abs(ref.params.means).max()
        print(
            f"{name} N={len(X)} D={X.shape[1]} K={K}: chunked vs fit_gmm, largest relative difference "
            f"n_jobs=1 {gaps[0]:.1e}, n_jobs=2 {gaps[1]:.1e}; n_jobs 1 and 2 bit-identical: {identical}; "
            f"L {fits[1].log_likelihood:.4f} vs fit_gmm {ref.log_likelihood:.4f}; scikit-learn's means {sk_gap:.1e}"
        )

"""The evidence behind em_select's degenerate rule (MIN_SPREAD_RATIO = 1e-6), re-runnable.

    .venv/bin/python tests/degenerate_rule_evidence.py      (needs Rscript with mclust; a minute or two)

On Old Faithful (data/faithful.csv) and four of the data sets R's mclust ships (diabetes, banknote,
thyroid, wreath; label columns dropped), fit every covariance type and K = 1..9 with fit_gmm's
defaults from six k-means++ starts (seeds 0..5), and for each fit find the component and direction
with the smallest ratio of variance to the data's variance there (uᵀΣ_k u / uᵀ S u, u an eigenvector
of Σ_k). Prints how many fits fall below 1e-6, between 1e-6 and 1e-4, and above, with the effective
counts N_k of those thin components. Notebook 05 §4 quotes the result.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import em_helpers as em  # noqa: E402


def mclust_data(name):
    drop = "" if name == "wreath" else "[, -1]"
    script = f"suppressMessages(library(mclust)); write.csv({name}{drop}, stdout(), row.names = FALSE)"
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    return np.loadtxt(out.splitlines()[1:], delimiter=",")


def thinnest(params, X):
    """(smallest variance ratio over components and eigen-directions, N_k of that component)."""
    S = np.atleast_2d(np.cov(X.T, bias=True))
    eigenvalues, vectors = np.linalg.eigh(params.covariances)
    ratio = eigenvalues / np.einsum("kdj,de,kej->kj", vectors, S, vectors)
    k = int(np.argmin(ratio.min(axis=1)))
    return ratio.min(), params.weights[k] * len(X)


def main():
    sets = {"faithful": np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)}
    sets.update({name: mclust_data(name) for name in ("diabetes", "banknote", "thyroid", "wreath")})
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)
        for X in sets.values():
            for covariance_type in em.COVARIANCE_TYPES:
                for K in range(1, 10):
                    for seed in range(6):
                        try:
                            fit = em.fit_gmm(X, K, covariance_type=covariance_type, seed=seed, max_iter=1000)
                        except ValueError:
                            continue
                        found.append(thinnest(fit.params, X))
    ratios, counts = np.array(found).T
    print(f"{len(found)} fits")
    for low, high in ((0, 1e-6), (1e-6, 1e-4), (1e-4, np.inf)):
        inside = (ratios >= low) & (ratios < high)
        print(
            f"ratio in [{low:g}, {high:g}): {inside.sum()} fits; N_k of the thin component from "
            f"{counts[inside].min():.1f} to {counts[inside].max():.1f}, "
            f"{(counts[inside] <= 5.5).sum()} of them on at most 5 points"
        )


if __name__ == "__main__":
    main()

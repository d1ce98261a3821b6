"""The evidence behind em_select's degenerate rule (MIN_SPREAD_RATIO = 1e-6), re-runnable.

    .venv/bin/python tests/degenerate_rule_evidence.py      (needs Rscript with mclust; about 10 s)

On Old Faithful (data/faithful.csv) and four of the data sets R's mclust ships (diabetes, banknote,
thyroid, wreath; label columns dropped), fit every covariance type and K = 1..9 with fit_gmm from
six k-means++ starts (seeds 0..5), with select_model's default reg_covar (1e-8 of the smallest
column variance), and for each fit take the rule's own statistic: the thinnest component by
em_select.spread_ratios. Prints how many fits fall below 1e-6, between 1e-6 and 1e-4, and above,
with the effective counts N_k of those thinnest components. Notebook 05 §4 and em_select's
docstring quote the result.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import em_helpers as em  # noqa: E402
import em_select  # noqa: E402


def mclust_data(name):
    drop = "" if name == "wreath" else "[, -1]"
    script = f"suppressMessages(library(mclust)); write.csv({name}{drop}, stdout(), row.names = FALSE)"
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    return np.loadtxt(out.splitlines()[1:], delimiter=",")


def thinnest(fit, X):
    """(the smallest spread ratio over components, N_k of that component)."""
    ratios = em_select.spread_ratios(fit.params, X, fit.responsibilities)
    k = int(np.argmin(ratios))
    return ratios[k], fit.responsibilities[:, k].sum()


def main():
    sets = {"faithful": np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)}
    sets.update({name: mclust_data(name) for name in ("diabetes", "banknote", "thyroid", "wreath")})
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)
        for X in sets.values():
            reg_covar = em_select.REG_COVAR_FRACTION * X.var(axis=0).min()
            for covariance_type in em.COVARIANCE_TYPES:
                for K in range(1, 10):
                    for seed in range(6):
                        try:
                            fit = em.fit_gmm(
                                X, K, covariance_type=covariance_type, seed=seed, max_iter=1000, reg_covar=reg_covar
                            )
                        except ValueError:
                            found.append((np.nan, np.nan))  # EM raised: counted, not binned
                            continue
                        found.append(thinnest(fit, X))
    ratios, counts = np.array(found).T
    print(f"{len(found)} fits, of which {np.isnan(ratios).sum()} raised an error")
    for low, high in ((-np.inf, 1e-6), (1e-6, 1e-4), (1e-4, np.inf)):  # an exact collapse can round below 0
        inside = (ratios >= low) & (ratios < high)
        print(
            f"ratio in [{low:g}, {high:g}): {inside.sum()} fits; N_k of the thin component from "
            f"{counts[inside].min():.1f} to {counts[inside].max():.1f}, "
            f"{(counts[inside] <= 5.5).sum()} of them on at most 5 points"
        )


if __name__ == "__main__":
    main()

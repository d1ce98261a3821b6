"""select_model against mclust's stored search (data/mclust_search_reference.json), over seeds.

    .venv/bin/python tests/mclust_search_seeds.py [SEEDS]     (SEEDS: default 0-7, e.g. 0,3,5)

For Old Faithful and, where R's mclust is installed (it ships them), diabetes, banknote, thyroid
and wreath: per seed, the pairs that are not degenerate whose log-likelihood is below mclust's by
more than mclust's tolerance (relative 1e-5), the worst such gap, the pair chosen (and at how
many seeds its BIC is worse than mclust's choice's) and the search's time (wall clock). About
1 s per search (wreath, N = 1,000: 2 to 3 s).
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import em_select as sel  # noqa: E402

REFERENCE = json.loads((ROOT / "data" / "mclust_search_reference.json").read_text())
DROP = {"diabetes": "[, -1]", "banknote": "[, -1]", "thyroid": "[, -1]", "wreath": ""}


def data(name):
    if name == "faithful":
        return np.loadtxt(ROOT / "data" / "faithful.csv", delimiter=",", skiprows=1)
    code = f"suppressMessages(library(mclust)); write.csv({name}{DROP[name]}, stdout(), row.names = FALSE)"
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True).stdout
    return np.loadtxt(out.splitlines()[1:], delimiter=",")


def below_mclust(search, ref):
    rows = {(row.covariance_type, row.n_components): row for row in search.table}
    short, checked = [], 0
    for pair in ref["pairs"]:
        row = rows[(pair["covariance_type"], pair["n_components"])]
        if pair["log_likelihood"] is None or row.status != "ok":
            continue
        checked += 1
        gap = pair["log_likelihood"] - row.log_likelihood
        if gap > 1e-5 * abs(pair["log_likelihood"]):
            short.append((row.covariance_type, row.n_components, round(gap, 2)))
    return short, checked


def main():
    seeds = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else list(range(8))
    for name in REFERENCE:
        if name == "mclust_version":
            continue
        try:
            X = data(name)
        except (FileNotFoundError, subprocess.CalledProcessError):
            print(f"{name}: R's mclust is not installed, skipped")
            continue
        ref, counts, worst, chosen, seconds, worse = REFERENCE[name], [], [], [], [], 0
        mclust_best = -max(pair["bic_mclust"] for pair in ref["pairs"] if pair["bic_mclust"] is not None)
        for seed in seeds:
            t0 = time.perf_counter()
            search = sel.select_model(X, seed=seed)
            seconds.append(time.perf_counter() - t0)
            short, checked = below_mclust(search, ref)
            counts.append(len(short))
            worst.append(max((gap for *_, gap in short), default=0.0))
            chosen.append(f"{search.best_row.covariance_type} {search.best_row.n_components}")
            worse += search.best_row.bic > mclust_best + 1e-6 * abs(mclust_best)
            if short:
                print(f"  {name}, seed {seed}: below mclust (type, K, nats): {short}")
        m = ref["chosen"]
        print(
            f"{name}: {checked} pairs compared; pairs below mclust per seed {counts}, worst gap per seed {worst}; "
            f"chosen per seed {chosen} (mclust: {m['covariance_type']} {m['n_components']}), with a higher "
            f"BIC than mclust's choice at {worse} seeds; "
            f"{min(seconds):.2f} to {max(seconds):.2f} s"
        )


if __name__ == "__main__":
    main()

"""select_model before and after a change: the tables compared entry by entry, and the time.

    git archive REV | tar -x -C /tmp/before          (the tree to compare with, e.g. main's)
    .venv/bin/python tests/select_ab.py /tmp/before [repeats]

Two interpreters stay up, one per tree (each with its tree first on sys.path); the calls alternate
(before, after; then after, before) per case; best of ``repeats`` (default 5) wall and CPU seconds;
the load average printed. Cases: Old Faithful (data/) and mclust's diabetes, banknote, thyroid and
wreath (read through Rscript, their label column dropped), select_model(X, seed=0); Old Faithful
with second_round=True and with criterion="icl", banknote with "icl". Per case: the chosen pair,
whether every row's status, start and n_iter are equal, the largest relative difference of the
log-likelihood, BIC, ICL and spread-ratio columns, and whether summary() is the same text.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import em_select as sel
for line in sys.stdin:
    path, mode = line.split()
    X = np.loadtxt(path, delimiter=",", skiprows=1)
    wall, cpu = time.perf_counter(), time.process_time()
    s = sel.select_model(X, seed=0, second_round=mode == "second_round", criterion="icl" if mode == "icl" else "bic")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = [[r.covariance_type, r.n_components, r.status, r.start, r.n_iter,
             r.log_likelihood, r.bic, r.icl, r.min_spread_ratio] for r in s.table]
    best = [s.best_row.covariance_type, s.best_row.n_components]
    print(json.dumps(dict(wall=wall, cpu=cpu, rows=rows, best=best, summary=s.summary())), flush=True)
"""


def mclust_csv(name, folder):
    """One of mclust's data sets (label column dropped) written to a CSV in ``folder``."""
    drop = "" if name == "wreath" else "[, -1]"
    path = Path(folder) / f"{name}.csv"
    script = f"suppressMessages(library(mclust)); write.csv({name}{drop}, '{path}', row.names = FALSE)"
    subprocess.run(["Rscript", "-e", script], check=True)
    return str(path)


def compare(a, b):
    """Whether the rows' status/start/n_iter agree, and the largest relative difference per number column."""
    same, worst = True, np.zeros(4)
    for ra, rb in zip(a["rows"], b["rows"], strict=True):
        same &= ra[:5] == rb[:5]
        x, y = np.array(ra[5:], dtype=float), np.array(rb[5:], dtype=float)
        with np.errstate(invalid="ignore"):
            gap = np.where(x == y, 0.0, np.abs(x - y) / np.maximum(np.abs(x), np.abs(y)))
        worst = np.maximum(worst, np.nan_to_num(gap))
    return same, worst


def main():
    before, repeats = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as folder:
        faithful = str(ROOT / "data" / "faithful.csv")
        paths = {name: mclust_csv(name, folder) for name in ("diabetes", "banknote", "thyroid", "wreath")}
        cases = [("faithful", faithful, "bic")] + [(name, path, "bic") for name, path in paths.items()]
        cases += [("faithful", faithful, "second_round"), ("faithful", faithful, "icl")]
        cases += [("banknote", paths["banknote"], "icl")]
        sides = {"before": before, "after": str(ROOT)}
        procs = {
            side: subprocess.Popen(
                [sys.executable, "-c", CHILD, tree], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for side, tree in sides.items()
        }
        print(f"load average before: {os.getloadavg()}")
        best, last = {}, {}
        for r in range(repeats):
            for name, path, mode in cases:
                for side in list(sides)[:: 1 if r % 2 == 0 else -1]:
                    procs[side].stdin.write(f"{path} {mode}\n")
                    procs[side].stdin.flush()
                    out = json.loads(procs[side].stdout.readline())
                    b = best.setdefault((name, mode, side), [np.inf, np.inf])
                    b[0], b[1] = min(b[0], out["wall"]), min(b[1], out["cpu"])
                    last[(name, mode, side)] = out
        print(f"load average after: {os.getloadavg()}")
        for name, _, mode in cases:
            a, b = last[(name, mode, "before")], last[(name, mode, "after")]
            same, worst = compare(a, b)
            (w0, c0), (w1, c1) = best[(name, mode, "before")], best[(name, mode, "after")]
            print(
                f"{name} {mode}: chosen {a['best']} -> {b['best']}; status/start/n_iter equal: {same}; "
                f"largest relative difference L/BIC/ICL/spread: {'/'.join(f'{g:.1g}' for g in worst)}; "
                f"summary equal: {a['summary'] == b['summary']}\n"
                f"    best of {repeats}: wall {w0:.3f} -> {w1:.3f} s ({w1 / w0:.2f}), "
                f"CPU {c0:.3f} -> {c1:.3f} s ({c1 / c0:.2f})"
            )
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()


if __name__ == "__main__":
    main()

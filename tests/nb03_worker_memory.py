"""The memory behind notebook 03's sentence on the in-memory fit's worker (section 4), printed.

    .venv/bin/python tests/nb03_worker_memory.py          # about 20 CPU-seconds, Linux (it forks, reads /proc)
    .venv/bin/python tests/nb03_worker_memory.py chunked  # the same for fit_gmm_chunked

Not a test (nothing is asserted). fit_gmm(X, 3, n_jobs=2, max_iter=5, tol=0) on the notebook's mixture at
N = 2,000,000 (or fit_gmm_chunked, with ``chunked``), three times in one process: while each runs, a thread
reads the worker's /proc/<pid>/smaps every 5 ms and keeps the reading with the largest Private_Dirty (the pages
only the worker maps): the peak over the whole fit, the total of every mapping. Printed per fit: that peak, and
each mapping holding 1 MiB or more of it, with whether this process mapped the same range at the fork and
still does after the fit (a range this process held at the fork and unmapped during the fit is left to the
worker alone: counted as the worker's though the worker never allocated it).
"""

import json
import multiprocessing
import os
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em
import em_scale

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")
N = 2_000_000
X = em.sample_gmm(TRUTH, N, np.random.default_rng(1))[0]
start = em.init_params(X[:50_000], 3, seed=np.random.default_rng(2))
fit_of = em_scale.fit_gmm_chunked if sys.argv[1:] == ["chunked"] else em.fit_gmm


def ranges(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return {tuple(int(v, 16) for v in line.split()[0].split("-")) for line in maps}


def private_dirty(pid):
    """[(low, high, name, Private_Dirty MiB)] of each mapping of process ``pid``."""
    out = []
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            f = line.split()
            if "-" in f[0] and ":" not in f[0]:
                low, high = (int(v, 16) for v in f[0].split("-"))
                out.append([low, high, " ".join(f[5:]) or "[anonymous]", 0.0])
            elif f[0] == "Private_Dirty:":
                out[-1][3] = int(f[1]) / 1024
    return out


at_fork = []
os.register_at_fork(before=lambda: at_fork.append(ranges("self")))
for fit in range(1, 4):
    peak, stop = [0.0, []], threading.Event()

    def watch(peak=peak, stop=stop):
        while not stop.is_set():
            for worker in multiprocessing.active_children():
                try:
                    mappings = private_dirty(worker.pid)
                except (OSError, IndexError):
                    continue
                total = sum(m[3] for m in mappings)
                if total > peak[0]:
                    peak[:] = total, [m for m in mappings if m[3] >= 1]
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    fit_of(X, 3, init=start, n_jobs=2, max_iter=5, tol=0)
    stop.set()
    watcher.join()
    after = ranges("self")
    print(
        f"{fit_of.__name__} {fit} in this process: the worker's Private_Dirty at its peak {peak[0]:.1f} MiB, of which"
    )
    for low, high, name, mib in peak[1]:
        held = (low, high) in at_fork[-1]
        print(
            f"   {mib:5.1f} MiB of a {(high - low) / 2**20:5.1f} MiB mapping {name}: this process mapped it "
            f"at the fork: {held}, after the fit: {(low, high) in after}"
        )
print(f"γ (K, N) float64: {3 * N * 8 / 2**20:.1f} MiB; X and Xᵀ: {X.nbytes / 2**20:.1f} MiB each")

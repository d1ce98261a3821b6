"""What a fit with n_jobs > 1 pays once for its workers: forking one worker from a process that holds
X in memory and ending it (em_workers.BlockMap entered and left, no pass), best of 5, at X of
16 MB (N = 1,000,000, D = 2) and 4 GiB (N = 268,435,456, D = 2). Fork copies the page tables, not the
pages: the cost grows with the memory mapped. Run: .venv/bin/python tests/workers_fork_cost.py
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em


def fork_and_end_ms(repeats=5):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        with em.BlockMap(lambda params, index: index, 2, 2):
            pass
        best = min(best, time.perf_counter() - t)
    return best * 1e3


for n_samples in (1_000_000, 2**28):
    X = np.ones((n_samples, 2))  # every page touched: mapped in this process
    print(
        f"X of {X.nbytes / 2**20:,.0f} MiB: fork + end of one worker {fork_and_end_ms():.1f} ms "
        f"(load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    del X

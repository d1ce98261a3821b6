"""What the core's E-step and em_incomplete's share: the column blocks and the normalisation over K;
a room below both (em_helpers re-exports its names; it imports only NumPy).

Both lay their hot arrays out (K, N), points along the long axis, and loop over cache-sized blocks
of columns: ``block_columns`` is how many; ``responsibilities_in_place`` turns log π_k p(x_i | k)
into γ_ik over the short axis K and returns log p(x_i) (``normalize_rows_in_place`` is its
log-sum-exp). Nothing here sees a sample weight: w_i and every computation with it are
em_weights'.
"""

from __future__ import annotations

import numpy as np

# Numbers in each (K, D, block) temporary of the E-step and the statistics: 2^17, 1 MiB (in L3, not
# in this machine's 512 KiB of L2). Chosen when em_scale's n_jobs ran threads (it runs worker
# processes now, each with its own GIL: em_workers): each NumPy call then works for about 0.1 ms or
# more with the GIL released, long enough for a second thread to take the GIL and work too; with
# 2^15 (256 KiB) the calls took 10-30 µs, and two threads mostly waited for each other: 10
# iterations of fit_gmm_chunked(n_jobs=2) on threads at N = 1M, D = 2, K = 3 made about 20 GIL waits
# (voluntary context switches) per chunk and took 0.94-0.97 s, against 8 and 0.73-0.75 s with 2^17.
# One thread is no slower: fit_gmm's 20 iterations at 200k x 8 x 6 took 1.25 s against 1.39 s, at
# 1M x 2 x 3 1.65 s against 1.80 s (best of 3, interleaved, a loaded machine; all measured). 2^19
# is too many: each C_k⁻¹ @ block at D = 8 is then large enough for OpenBLAS to thread it, and
# fit_gmm took 1.53 s there (OpenBLAS's threads cost more than they gain on these thin products).
_BLOCK_NUMBERS = 2**17


def block_columns(n_components, n_features):
    """Columns of Xᵀ per block in the E-step and the statistics (at least 1,024)."""
    return max(1024, _BLOCK_NUMBERS // (n_components * n_features))


def normalize_rows_in_place(log_prob):
    """Turn log π_k p(x_i | k), shape (K, N), into γ_ik in place; return ``peak`` and
    ``total``, shapes (N,), with log p(x_i) = peak_i + log total_i.

    log-sum-exp by hand, over the short axis K of the (K, N) layout: scipy.special.logsumexp
    along the short axis of an (N, K) array is about 9x slower (167 ms against 18 ms at
    N = 1e6, K = 3). The reductions over axis 0 add the K rows in order, as a loop over
    them would, in a third fewer NumPy calls (19 -> 14 µs at N = 500, measured).
    """
    peak = np.maximum.reduce(log_prob, axis=0)  # .max(axis=0) without its Python wrapper
    log_prob -= peak
    # exp of anything below -708 underflows, and NumPy's exp takes a slow path
    # there (3x slower, measured); clamping changes γ by < 1e-300.
    np.maximum(log_prob, -700.0, out=log_prob)
    np.exp(log_prob, out=log_prob)
    total = np.add.reduce(log_prob, axis=0)  # >= 1: the largest term is exp(0)
    log_prob /= total
    return peak, total


def responsibilities_in_place(log_prob, weights=None):
    """Turn log π_k p(x_i | k), shape (K, N), into γ_ik in place; return log p(x_i) = peak_i +
    log total_i, shape (N,). With ``weights`` (π_k, shape (K,)), γ_ik = 0 exactly where π_k = 0
    (not the exp(-700) of the clamp)."""
    peak, total = normalize_rows_in_place(log_prob)
    log_density = np.log(total, out=total)
    log_density += peak
    if weights is not None and np.count_nonzero(weights) < weights.size:  # (the masked store costs more)
        log_prob[weights == 0] = 0.0
    return log_density

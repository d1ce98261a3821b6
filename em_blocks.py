"""What the core's E-step and em_incomplete's share: the column blocks, the normalisation over K, and
the three sample-weight primitives; a room below both (em_helpers re-exports its names; it imports only
NumPy).

Both lay their hot arrays out (K, N), points along the long axis, and loop over cache-sized blocks
of columns: ``block_columns`` is how many; ``responsibilities_in_place`` turns log π_k p(x_i | k)
into γ_ik over the short axis K and returns log p(x_i) (``normalize_rows_in_place`` is its
log-sum-exp).

The weight primitives are the only functions that compute with a sample weight w_i (a product,
a sum or a draw; tests/test_contract.py traces w through a weighted fit with missing values):
``weigh`` (w_i γ_ik), ``weighted_total`` (Σ_i w_i v_i, or Σ_i w_i) and ``draw_probabilities``
(p_i ∝ w_i v_i, the seeds' law). Their callers: em_helpers' ``DataSource`` (the E-pass, N = Σ_i
w_i), the seeding it hands w to (``seed_responsibilities``), and em_incomplete with the weights
the source grouped by pattern (each pattern's N, the E-pass, the imputed start, the default
prior's moments). After ``weigh`` the statistics are sums over r_ik = w_i γ_ik (em_helpers'
``statistics_of``, em_incomplete's ``pattern_statistics``), which see no w; where a total weight
is needed again it is mostly read: the source's ``n_points``, a pattern's ``total_weight``, a
statistics' ``n_samples``; it is added up again over patterns (``group_patterns``' total,
``observed_gaussian``) and over the online fit's first-pass batches (``_Stepwise``), and each
start sums its rows' w once (the DataSource docstring lists every place weights enter). Each
keeps the NumPy operation of the code it replaced (np.add.reduce, einsum), so the fits kept their
bits (tests/source_identity.py).
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


# --------------------------------------------------------------------------- the weight primitives


def weigh(resp, sample_weight):
    """w_i γ_ik, shape (K, N), from γ (K, N) and w (N,); γ itself when w is None (no product by
    ones: the unweighted fits keep their bits and their time)."""
    return resp if sample_weight is None else resp * sample_weight


def weighted_total(sample_weight, values=None):
    """Σ_i w_i v_i over the last axis (N) of ``values`` (a float for v of shape (N,), an array of
    shape (...) for (..., N)); without ``values``, Σ_i w_i; with w None, Σ_i v_i.

    By einsum, not a BLAS dot: OpenBLAS threads 1-D dots from a few thousand points on, and on a
    busy 2-core machine that took 20 ms at N = 20,000 against 11 µs (measured)."""
    if values is None:
        return float(np.add.reduce(sample_weight))
    if values.ndim == 1:
        return float(np.add.reduce(values) if sample_weight is None else np.einsum("i,i->", sample_weight, values))
    return np.add.reduce(values, axis=-1) if sample_weight is None else np.einsum("...i,i->...", values, sample_weight)


def draw_probabilities(sample_weight, values=None):
    """p_i ∝ w_i v_i, shape (N,), the law of a draw of rows (``rng.choice(N, p=...)``): ∝ w_i
    without ``values``, ∝ v_i with w None; None when there is nothing to be proportional to: w
    None and no ``values`` (the caller draws uniformly), or Σ_i w_i v_i = 0 (the caller decides).
    The sum by np.add.reduce (pairwise), as k-means++ and the random start had it."""
    if values is None:
        return None if sample_weight is None else sample_weight / np.add.reduce(sample_weight)
    mass = values if sample_weight is None else values * sample_weight
    total = np.add.reduce(mass)
    return mass / total if total > 0 else None

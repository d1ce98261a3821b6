"""The diag and spherical models' kernels, O(N·K·D) where the general ones are O(N·K·D²): the
E-step's log-densities (``_diagonal_log_densities``) and the statistics with the diagonals of the
second moments (``_diagonal_statistics``), each by one (K, 2D) product per block of columns about
one common centre, with the rounding that keeps derived in its docstring, and the exact differences
x_i - μ_k (``_centred_log_densities``, ``_centred_statistics``) for a component where that bound
would not hold. Notebook 01 fits the full model, whose kernels stay in em_helpers; its
``log_weighted_densities`` and ``statistics_of`` call these for the other two. A room below
em_helpers (which re-exports ``_DIAGONAL_TOLERANCE``); it imports NumPy, em_blocks and
em_statistics.
"""

from __future__ import annotations

import numpy as np

from em_blocks import block_columns
from em_statistics import SufficientStatistics

_EPS = np.finfo(np.float64).eps
# τ, the largest rounding error the diag and spherical E-step accepts in log π_k N(x_i | μ_k, Σ_k)
# before it takes the exact differences (see _diagonal_log_densities): it moves γ_ik by a relative τ
# and log p(x_i | θ) by τ, 1000 times below fit_gmm's default tol (1e-6 gain per point) and 10
# times below the 1e-8 at which the tests hold fit_gmm to scikit-learn.
_DIAGONAL_TOLERANCE = 1e-9
# The largest cond_kd (see _diagonal_statistics) at which the diag and spherical statistics move
# moments taken about one common centre to each component's shift: the variance the M-step makes
# from them then carries at most about 2·LIMIT·(e + 4 eps) relative rounding (e that of the sums
# themselves). Measured on two clusters offset by 1e6 (D = 5, N = 20,000, against sums in extended
# precision): 1.5e-15 at cond 6, 1.5e-14 at cond 51, 7.6e-14 at cond 326, so about 1e-13 at the
# limit; the data of ``make bench``'s per-model table reach cond_kd = 85.
_RECENTRING_LIMIT = 256.0


def _diagonal_log_densities(Xt, means, covariances, const, centre, out):
    """const_k - ½ d_ik into ``out`` (K, N), d_ik = Σ_d (x_id - μ_kd)² / σ²_kd, for diagonal Σ_k (the
    diag and spherical models): O(N·K·D), by two products with one common centre c (D,).

    With y_i = x_i - c and v_k = μ_k - c, so that x_i - μ_k = y_i - v_k:
        d_ik = Σ_d (y_id - v_kd)² / σ²_kd
             = Σ_d y_id² P_kd - 2 Σ_d y_id Q_kd + Σ_d v_kd² P_kd,   P_kd = 1/σ²_kd, Q_kd = v_kd P_kd
             = A_ik - 2 B_ik + C_k,
    so const_k - ½ d_ik = (const_k - ½ C_k) + [-½ P_k, Q_k] · [y_i², y_i]: one (K, 2D) @ (2D, block)
    product per block of columns, after D·block subtractions (x - c) where the exact difference
    x - μ_k takes K·D·block; c depends on θ only, so every block and chunk computes the same numbers.

    Rounding (first order in eps, besides adding const_k, which every way of computing has): the
    2D products each carry <= 4 eps from y, y², P and Q, and their sum <= 2D eps of Σ|terms|, with
        Σ|terms| = ½ A_ik + Σ_d |y_id| |Q_kd| <= ½ A_ik + √(A_ik C_k) <= A_ik + ½ C_k   (Cauchy–Schwarz),
    and C_k carries <= (D + 3) eps; so |error| <= κ eps (A_ik + C_k), κ = 2D + 4, which cancellation
    makes large against d_ik when μ_k is far from c in units of σ_k. Bound A by d and C:
        √A_ik = ‖y_i‖_P <= ‖y_i - v_k‖_P + ‖v_k‖_P = √d_ik + √C_k,  so  A_ik + C_k <= 2 d_ik + 3 C_k.
    Take every component with C_k <= τ / (6 κ eps) (τ = ``_DIAGONAL_TOLERANCE``) this way. For such
    k, a point with d_ik < 1.5 C_k has A_ik + C_k < 6 C_k <= τ / (κ eps): error < τ; a point with
    d_ik >= 1.5 C_k has A_ik + C_k <= 4 d_ik: error <= 4 κ eps d_ik, a relative error in d_ik of the
    order the exact difference has (about (D + 4)/2 eps, from x - μ, the squares and the sum).
    Every other component (far from c in units of its σ: rare, e.g. a tight cluster far from the
    others) takes the exact difference x - μ_k (``_centred_log_densities``).
    """
    D, N = Xt.shape
    precisions = 1.0 / np.diagonal(covariances, axis1=1, axis2=2)  # P_kd = 1/σ²_kd, (K, D)
    offsets = means - centre  # v_k = μ_k - c
    products = offsets * precisions  # Q_kd = v_kd / σ²_kd
    distances = np.einsum("kd,kd->k", offsets, products)  # C_k = Σ_d v_kd² / σ²_kd
    expanded = distances <= _DIAGONAL_TOLERANCE / (6 * (2 * D + 4) * _EPS)
    coefficients = np.concatenate([-0.5 * precisions, products], axis=1)[expanded]  # [-½ P_k, Q_k], (K', 2D)
    shifted_const = (const - 0.5 * distances[:, None])[expanded]  # const_k - ½ C_k, (K', 1)
    block = _diagonal_block(len(coefficients), D)
    stacked = np.empty((2 * D, min(block, N)))  # [y², y] of one block, reused
    for start in range(0, N if expanded.any() else 0, block):
        log_density = out[:, start : start + block]
        z = stacked[:, : log_density.shape[1]]
        np.subtract(Xt[:, start : start + block], centre[:, None], out=z[D:])  # y = x - c
        np.square(z[D:], out=z[:D])
        if expanded.all():  # (the usual case: written in place, no gather)
            np.matmul(coefficients, z, out=log_density)
            log_density += shifted_const
        else:
            log_density[expanded] = coefficients @ z + shifted_const
    for k in np.flatnonzero(~expanded):  # row k of out is contiguous: written in place
        _centred_log_densities(Xt, means[k : k + 1], precisions[k : k + 1], const[k : k + 1], out[k : k + 1])


def _centred_log_densities(Xt, means, precisions, const, out):
    """const_k - ½ Σ_d (x_id - μ_kd)² / σ²_kd into ``out`` (K, N) from the exact differences
    x_id - μ_kd (K·D·N of them), which keep every digit of data far from 0; the sum over d weighted
    by -½ / σ²_kd is one (1, D) @ (D, block) product per component. ``precisions``: 1/σ²_kd, (K, D)."""
    (K, D), N = means.shape, Xt.shape[1]
    weights = (-0.5 * precisions)[:, None, :]  # (K, 1, D)
    block = block_columns(K, D)
    squares = np.empty((K, D, min(block, N)))
    centre = means[:, :, None]
    for start in range(0, N, block):
        log_density = out[:, start : start + block]
        sq = squares[:, :, : log_density.shape[1]]
        sq[...] = Xt[:, start : start + block]
        sq -= centre
        np.square(sq, out=sq)
        np.matmul(weights, sq, out=log_density[:, None, :])
        log_density += const


def _diagonal_block(K, D):
    """Columns per block for the diagonal kernels' (K, 2D) @ (2D, block) products: K·2D·block below
    2^19, under which OpenBLAS runs a product on one thread (at K, D = 5, 50, block 1024 took 33 ms
    of CPU per E-step at N = 200,000 and block 1536, on two threads, 145 to 780 ms on this busy
    2-core machine, measured), between 256 (the per-call cost) and 8192 columns."""
    return max(256, min(8192, (2**18 - 1) // max(1, K * D)))


def _diagonal_statistics(Xt, resp, shift, counts):
    """The diag and spherical models' SufficientStatistics (second moments as their diagonals,
    Σ_i γ_ik (x_i - c_k)², (K, D)) from Xᵀ (D, N), γ laid out (K, N) and N_k (K,), about the shifts
    c_k (K, D), or with ``shift`` None about the γ-weighted means: by one product per block about a
    common centre c̄ (D,), then moved to each c_k.

    c̄ is the count-weighted mean of the c_k, or without them the mean of at most 128 points spread
    evenly over the data. With y_i = x_i - c̄ (D·N subtractions, where x_i - c_k takes K·D·N):
        F_k = Σ_i γ_ik y_i,  S_k = Σ_i γ_ik y_i²:  γ (K, block) @ [y², y]ᵀ (block, 2D), per block;
    the γ-weighted mean is x̄_k = c̄ + F_k / N_k (0 where N_k = 0, as ``_weighted_means``); and
    with δ_k = c̄ - c_k, since x_i - c_k = y_i + δ_k (``SufficientStatistics.recentred``):
        Σ_i γ_ik (x_i - c_k)  = F_k + N_k δ_k,
        Σ_i γ_ik (x_i - c_k)² = S_k + 2 F_k δ_k + N_k δ_k².
    Rounding: S_k and F_k carry what the exact differences' sums carry (a relative e on S_k, e on
    Σ_i γ_ik |y_i| for F_k), and each term of the sum is at most S_k + N_k δ_k² in size, since
        |2 F_kd δ_kd| <= 2 √(N_k S_kd) |δ_kd| <= S_kd + N_k δ_kd²   (Cauchy–Schwarz, then AM–GM);
    so the second moment's absolute error is at most about 2 (e + 4 eps) (S_kd + N_k δ_kd²), and
    the first's (e + 2 eps) (Σ_i γ_ik |y_id| + N_k |δ_kd|) <= (e + 2 eps) √(2 N_k (S_kd + N_k δ_kd²)).
    Against W_kd = Σ_i γ_ik (x_id - x̄_kd)², the scatter about the γ-weighted mean that the M-step
    makes the variance from, with
        cond_kd = (S_kd + N_k δ_kd²) / W_kd    (about 1 + (|c_kd - c̄_d| / spread of k)²),
    the variance N_k σ²_kd = W_kd carries a relative 2 (e + 4 eps) cond_kd, and the mean
    c_kd + first_kd / N_k (e + 2 eps) √(2 cond_kd) spreads of component k. A component with some
    cond_kd above ``_RECENTRING_LIMIT`` (a tight cluster far from the others) is summed from the
    exact differences x_i - c_k instead (``_centred_statistics``).
    """
    (K, N), D = resp.shape, Xt.shape[0]
    total = counts.sum()
    if shift is not None and total > 0:
        centre = counts @ shift / total  # c̄
    else:
        centre = Xt[:, :: max(1, N // 64)].mean(axis=1) if N else np.zeros(D)
    block = _diagonal_block(K, D)
    stacked = np.empty((2 * D, min(block, N)))  # [y², y] of one block, reused
    moments = np.zeros((K, 2 * D))  # [S_k, F_k]
    for start in range(0, N, block):
        r = resp[:, start : start + block]
        z = stacked[:, : r.shape[1]]
        np.subtract(Xt[:, start : start + block], centre[:, None], out=z[D:])  # y = x - c̄
        np.square(z[D:], out=z[:D])
        moments += r @ z.T
    squares, sums = moments[:, :D], moments[:, D:]
    if shift is None:  # x̄_k = c̄ + F_k / N_k
        nonzero = counts[:, None] > 0
        shift = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=nonzero)
        np.add(shift, centre, out=shift, where=nonzero)
    stats = SufficientStatistics(counts, np.broadcast_to(centre, shift.shape), sums, squares, N).recentred(shift)
    delta = centre - shift
    spread = squares + counts[:, None] * (delta * delta)  # S_k + N_k δ_k²
    offset = np.divide(stats.first, counts[:, None], out=np.zeros_like(delta), where=counts[:, None] > 0)
    scatter = stats.second - stats.first * offset  # W_k = second - first² / N_k
    far = (spread > _RECENTRING_LIMIT * scatter).any(axis=1)  # (W_kd <= 0 with a spread > 0 too)
    if not far.any():
        return stats
    first, second = stats.first.copy(), stats.second.copy()
    for k in np.flatnonzero(far):
        first[k], second[k] = _centred_statistics(Xt, resp[k : k + 1], shift[k : k + 1])
    return SufficientStatistics(counts, shift, first, second, N)


def _centred_statistics(Xt, resp, shift):
    """Σ_i γ_ik (x_i - c_k) and Σ_i γ_ik (x_i - c_k)², shapes (K, D), from the exact differences
    x_i - c_k (K·D·N of them), which keep every digit of data far from 0: one (D, block) @ (block,)
    product per component and block for each."""
    (K, N), D = resp.shape, Xt.shape[0]
    block = block_columns(K, D)
    centred = np.empty((K, D, min(block, N)))  # reused
    first, second = np.zeros((K, D)), np.zeros((K, D))
    for start in range(0, N, block):
        r = resp[:, start : start + block, None]
        c = centred[:, :, : r.shape[1]]
        c[...] = Xt[:, start : start + block]
        c -= shift[:, :, None]  # x_i - c_k
        first += (c @ r)[:, :, 0]
        np.square(c, out=c)
        second += (c @ r)[:, :, 0]
    return first, second

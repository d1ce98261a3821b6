"""Sample weights: what a weight w_i is, the one function that makes w, and every computation with w.

A room below em_helpers and em_incomplete (it imports only NumPy; em_helpers re-exports its names).
A change of what weights mean (normalising them, say) goes here, in ``check_sample_weight``, and
every fitter follows: no other code makes, re-checks or rescales w (tests/test_contract.py makes
it return 2·w and checks that each weighted fitter, fit_gmm complete, with missing values, MAP, at
n_jobs = 2, fit_gmm_chunked in memory, at n_jobs = 2 and on dask, the online fit, then returns its
fit of 2·w bit for bit). What the function sees is one source's w: all the rows of fit_gmm's and
fit_gmm_chunked's data, but one batch of the online fit's stream at a time (the later batches are
not read yet). So a change row by row, or one that uses the whole data's Σ_i w_i, reaches every
batch fitter; in the online fit the latter becomes per batch (a cold reader's check: weights
normalised to sum to the number of rows gave fit_gmm's and fit_gmm_chunked's fits of those weights
bit for bit, while the online fit normalised each batch to its own size).

**What a weight is.** w_i >= 0 is how many times row i counts: the log-likelihood is
L(θ) = Σ_i w_i log p(x_i | θ), the sufficient statistics are sums of r_ik = w_i γ_ik (N_k = Σ_i
w_i γ_ik, Σ_i w_i γ_ik (x_i - c_k), ...), and N = Σ_i w_i. Integer weights give the fit of the data
with row i repeated w_i times; a row with w_i = 0 is absent from the fit (it neither seeds nor
counts). Without ``sample_weight`` w is None (every w_i = 1, and nothing is multiplied by ones).

**The one producer**, ``check_sample_weight``: w as float64 (N,), finite, >= 0, not all 0. Its
only caller is em_helpers' ``DataSource``, when a source is made from a reader's weights
(``DataSource(X, w)``: fit_gmm's, each batch of em_scale's online fit, so a batch arrives checked
by this function; ``DataSource.rows``: fit_gmm_chunked's). A source re-made from checked weights
takes them as they are, without a second check: ``DataSource.part`` (a dask block, its slice of the
source's w) and ``DataSource.concatenate`` (the online fit's start: its batches' w joined), and
the online start's batch fit runs on that joined source through em_helpers' ``SourceFit.fit_gmm_on``
(fit_gmm's variant on a source already made), not through fit_gmm, which would check its w again.
Past it w is only handed on, sliced, copied, or set to 0 on rows that must be absent
(``without_rows``: on incomplete data the rows with every value missing).

**The primitives**, the only functions that compute with w (tests/test_contract.py traces w at
runtime through fit_gmm, complete and with missing values, with and without a prior,
fit_gmm_chunked and the online fit, and allows arithmetic on it only in this module):
``weigh`` (w_i γ_ik), ``weighted_total`` (Σ_i w_i v_i, or Σ_i w_i), ``draw_probabilities``
(p_i ∝ w_i v_i, the seeds' law) and ``carrying_weight`` (the rows with w_i > 0: a subsample's
candidates in ``DataSource.start_rows``, k-means++'s fallback pool in ``_kmeans_plusplus``, and
the count of them ``DataSource._check_positive_rows`` compares with K). Each keeps the NumPy
operation of the code it replaced (np.add.reduce, einsum, np.flatnonzero(w > 0)), so the fits
kept their bits (tests/source_identity.py). Their callers: the DataSource's methods, the seeding
it hands w to (``seed_responsibilities``), and em_incomplete with the weights the source grouped
by pattern (``group_patterns``, ``mean_imputed``, ``pattern_statistics``, ``observed_gaussian``).

**The consumers of N = Σ_i w_i**: they read N (or N_k = Σ_i w_i γ_ik) and never see w.

1. Where N is summed from w (by ``weighted_total``, all in em_helpers' DataSource and
   em_incomplete): ``DataSource._setup``, the source's ``n_points`` (a dask ``part`` sums its
   block's too, which nothing reads); ``DataSource._statistics``, a pass's N when its caller holds
   none: each block of rows, each block of memory at n_jobs > 1, and a start's rows (the one-block
   pass in memory is handed ``n_points``); ``group_patterns``, each pattern's ``total_weight``.
2. Where N is added up again, from the N's of 1, never from w, by Python's ``+`` in order:
   em_statistics' ``SufficientStatistics.__add__`` (``combine_passes``: the blocks' N, the patterns'
   N) and ``scaled``; ``group_patterns``' data total (the patterns' ``total_weight``; 0, no
   observed row carrying weight, is an error), the source's ``n_points`` on incomplete data;
   ``observed_gaussian``'s per-coordinate totals (the ``total_weight`` of the patterns observing
   that coordinate); em_scale's ``_Stepwise.first_pass_weight`` (its start's and first pass's
   batches' ``n_points``). Read, not re-summed through ``weighted_total``: np.add.reduce adds 8 or
   more numbers pairwise, which rounds apart from a sum in order (7,961 of 20,000 random vectors of
   8 totals differed, numpy 2.4), so a fit with 8 or more missingness patterns would change its bits.
3. Where N is read: em_driver's ``run_fit`` (``tol`` per unit of weight: the ``n_points`` that
   fit_gmm and fit_gmm_chunked hand it); the M-steps, π_k = N_k / N from the
   statistics' ``n_samples`` (em_helpers' ``_m_step_from_statistics``, em_priors'
   ``map_m_step_from_statistics``); ``DataSource.per_point`` (the online fit's L and statistics ÷
   N); ``_Stepwise.m_step`` (the statistics times the first pass's N, for a prior);
   ``DataSource.resolve_prior`` ("default": N > 1 required, the covariance times N / (N - 1), and
   ``prior_from_moments`` reads N against D for the form of the prior's scale);
   ``DataSource.pattern_pass`` (a pattern's N in its statistics).
"""

from __future__ import annotations

import numpy as np


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` as a float64 array of shape (n_samples,): finite, >= 0, not all 0; the
    one producer of w (see the module docstring).

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,)
    n_samples : int

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    try:
        w = np.array(sample_weight)
    except ValueError as err:  # ragged
        raise ValueError(f"sample_weight must be a 1-D array of numbers: {err}") from None
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must contain real numbers; got an array of dtype {w.dtype}.")
    w = w.astype(np.float64)
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape (n_samples,) = ({n_samples},), one per row of X; got {w.shape}."
        )
    if not np.isfinite(w).all():
        raise ValueError(
            f"sample_weight contains {np.count_nonzero(~np.isfinite(w))} NaN or inf values; weights must be finite."
        )
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"sample_weight must be >= 0; sample_weight[{i}] = {w[i]:g}.")
    if not w.any():
        raise ValueError("sample_weight is 0 for every row: at least one point must carry weight.")
    return w


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


def carrying_weight(sample_weight):
    """The indices of the rows with w_i > 0, ascending, shape (n,): the rows that may seed (a
    weight-0 row is absent from the fit). ``sample_weight``: w (N,), not None."""
    return np.flatnonzero(sample_weight > 0)


def without_rows(sample_weight, rows, n_samples):
    """w with w_i = 0 on ``rows`` (absent from the fit: they neither seed nor count), in place on
    the given w (the source's own, made by ``check_sample_weight``); with w None, 1 on every other
    row of ``n_samples``."""
    w = np.ones(n_samples) if sample_weight is None else sample_weight
    w[rows] = 0.0
    return w

"""EM on incomplete data: missing coordinates and weighted points (notebook 06).

Dempster, Laird and Rubin (1977) named EM for incomplete data. Here two things are
incomplete: the labels z_i (as everywhere in the tutorial) and some coordinates of some
points, missing at random and written as NaN. The E-step then needs, per point i and
component k, with o the coordinates observed in x_i and m the missing ones:

* the density of the observed part, N(x_o | μ_ko, Σ_koo): the marginal of a Gaussian is
  the Gaussian of its sub-vector and sub-matrix, so γ_ik ∝ π_k N(x_o | μ_ko, Σ_koo);
* the conditional mean of the missing part, E[x_m | x_o, z_i = k] = μ_km + Σ_kmo Σ_koo⁻¹ (x_o - μ_ko);
* the conditional covariance, Σ_kmm - Σ_kmo Σ_koo⁻¹ Σ_kom, which the expected second moment
  E[x xᵀ | x_o, k] carries besides the outer product of the conditional mean (imputing the
  conditional mean and forgetting it biases Σ_k low).

Points are grouped by missingness pattern (which coordinates are observed), so everything is a
NumPy operation over the points of one pattern and all K components at once; the Python loops
are over patterns and column blocks, never over points. The M-step is the core's, unchanged: it
reads only the sufficient statistics, and these are their expectations.

Weighted points: a weight w_i >= 0 multiplies point i's responsibilities in the statistics
(N_k = Σ_i w_i γ_ik, ...) and its term in the log-likelihood, Σ_i w_i log p(x_i | θ). Integer
weights give exactly the fit of the data with each row repeated w_i times. The weights come from
em_helpers' ``DataSource``, checked by em_weights' ``check_sample_weight`` (grouped here by pattern,
each pattern's Σ_i w_i summed once: ``Pattern.total_weight``), and every product or sum with them is
one of em_weights' primitives, ``weigh`` and ``weighted_total``; past ``weigh``, the statistics are
sums over r_ik = w_i γ_ik. The data's N and ``observed_gaussian``'s per-coordinate totals add the
patterns' ``total_weight`` (em_weights' docstring lists every reader of N).

This module sits below ``em_helpers`` (it imports only NumPy; em_blocks, the column blocks and
the log-sum-exp it shares with the core; em_params, the Cholesky factoring, log π_k and the
densities' constants it shares with the core and em_select's stacked E-step; em_statistics, the
moment sums of a block; and em_weights): it returns plain arrays, which the core wraps into its
``SufficientStatistics``. Layout as in the core: the hot arrays are (K, n) with the points along
the long axis, and a pattern's observed values are stored (|o|, n).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from em_blocks import block_columns, responsibilities_in_place
from em_params import cholesky_factors, log_component_constants, log_mixing_weights
from em_statistics import block_moments
from em_weights import weigh, weighted_total

__all__ = [
    "IncompleteData",
    "Pattern",
    "conditional_expectation",
    "expected_statistics",
    "group_patterns",
    "mean_imputed",
    "observed_gaussian",
    "pattern_statistics",
]


class Pattern(NamedTuple):
    """The points that share one missingness pattern.

    observed : ndarray of shape (n_features,), bool
        o: True where the coordinate is observed (the same for every point of the pattern).
    rows : ndarray of shape (n,), int
        Their row numbers in X, ascending.
    values : ndarray of shape (|o|, n)
        Their observed coordinates, one point per column (C-contiguous).
    weights : ndarray of shape (n,)
        Their weights w_i (ones when the fit has no ``sample_weight``).
    total_weight : float
        Σ_i w_i over them (``weighted_total``, once): the pattern's N in its statistics.
    """

    observed: np.ndarray
    rows: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    total_weight: float


class IncompleteData(NamedTuple):
    """X grouped by missingness pattern, once per fit (see ``group_patterns``).

    n_samples, n_features : int
        N (every row, empty ones included) and D.
    patterns : tuple of Pattern
        Every pattern with at least one observed coordinate, by decreasing number of observed
        coordinates (the complete rows first).
    empty_rows : ndarray of shape (n_empty,), int
        Rows with every coordinate missing: they carry no information about θ (their term in
        L is log 1 = 0 whatever θ is), so they take no part in the statistics; their γ_ik is π_k.
    total_weight : float
        Σ_i w_i over the rows that are not empty: the N of π_k = N_k / N.
    sorted_rows : ndarray of shape (n_samples - n_empty,), int
        The patterns' rows one after another (the order of the E-pass's γ before it goes back
        to the order of X).
    weighted : bool
        Whether the fit has weights (without them the E-pass skips the products by w_i = 1).
    """

    n_samples: int
    n_features: int
    patterns: tuple
    empty_rows: np.ndarray
    total_weight: float
    sorted_rows: np.ndarray
    weighted: bool


def _pattern_rows(observed):
    """The missingness patterns of the rows of ``observed`` (N, D) (True where a value is
    observed): the patterns, a bool array (P, D), and the rows of each, ascending (a list of P index
    arrays). One integer per row names its pattern: the observed flags as bytes, read as one number
    per row when they fit in 8 bytes (np.unique over the rows of a bool array took 490 ms at
    N = 100,000, D = 5; over these codes it takes a few, measured)."""
    N = observed.shape[0]
    packed = np.packbits(observed, axis=1)
    if packed.shape[1] <= 8:
        codes = np.zeros((N, 8), dtype=np.uint8)
        codes[:, : packed.shape[1]] = packed
        _, first_row, inverse = np.unique(codes.view(np.uint64)[:, 0], return_index=True, return_inverse=True)
    else:
        _, first_row, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    keys = observed[first_row]
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")  # rows of each pattern, ascending
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    return keys, [order[bounds[p] : bounds[p + 1]] for p in range(len(keys))]


def group_patterns(X, sample_weight=None):
    """Group the rows of X by which coordinates are observed (not NaN).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float64, NaN where a value is missing; every other value finite (the caller checks).
    sample_weight : ndarray of shape (n_samples,), optional
        w_i (a DataSource's, checked by ``em_weights.check_sample_weight``); default 1 for every row.

    Returns
    -------
    IncompleteData

    Raises
    ------
    ValueError
        When a column is missing in every row (nothing informs its mean or variance), or every
        point with an observed value has weight 0.
    """
    N, D = X.shape
    observed = ~np.isnan(X)
    never = np.flatnonzero(~observed.any(axis=0))
    if never.size:
        raise ValueError(
            f"column{'s' if never.size > 1 else ''} {', '.join(map(str, never))} of X "
            f"{'are' if never.size > 1 else 'is'} missing in every row: the data say nothing about "
            f"{'their' if never.size > 1 else 'its'} mean or variance. Drop {'them' if never.size > 1 else 'it'}."
        )
    weights = np.ones(N) if sample_weight is None else sample_weight
    keys, rows_of = _pattern_rows(observed)
    patterns, empty = [], np.empty(0, dtype=np.intp)
    for p in np.argsort(-keys.sum(axis=1), kind="stable"):
        rows = rows_of[p]
        if not keys[p].any():
            empty = rows
            continue
        values = np.ascontiguousarray(X[np.ix_(rows, np.flatnonzero(keys[p]))].T)
        pattern_weights = np.ascontiguousarray(weights[rows])
        patterns.append(Pattern(keys[p], rows, values, pattern_weights, weighted_total(pattern_weights)))
    # N: the patterns' N added in order, not Σ_i w_i again (em_weights' docstring: why not weighted_total)
    total = float(sum(p.total_weight for p in patterns))
    if total == 0:
        raise ValueError("every point with an observed value has sample_weight 0: nothing is left to fit.")
    sorted_rows = np.concatenate([p.rows for p in patterns])
    return IncompleteData(N, D, tuple(patterns), empty, total, sorted_rows, sample_weight is not None)


def mean_imputed(X, sample_weight=None):
    """X with each NaN replaced by its column's (weighted) mean over the observed values.

    Only for the start: the k-means++ seeds, the nearest-seed labels and the one M-step on them
    that makes θ_0. As an estimate it is biased (notebook 06 measures by how much).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), NaN where missing
    sample_weight : ndarray of shape (n_samples,), optional

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    observed = ~np.isnan(X)
    totals = weighted_total(sample_weight, observed.T)  # Σ_i w_i over the rows where column d is observed
    means = weighted_total(sample_weight, np.where(observed, X, 0.0).T) / np.where(totals > 0, totals, 1.0)
    return np.where(observed, X, means)


class _PatternFactors(NamedTuple):
    """What the observed-coordinate Gaussians of one missingness pattern need, per component k:
    the coordinates in the order (o, m), so that a completed point is two slices (no scatter over
    points; sums go back to the order of X at the end, on (K, D) and (K, D, D) arrays); C_k⁻¹, the
    inverse Cholesky factor of Σ_koo; const_k = log π_k - |o|/2 log 2π - Σ log diag C_k; A_k =
    Σ_kmo C_k⁻ᵀ (K, |m|, |o|); V_k = Σ_kmm - A_k A_kᵀ; and C_k⁻¹ (μ_ko - c_ko) (None when μ_k = c_k)."""

    o: np.ndarray
    m: np.ndarray
    order: np.ndarray
    lower_inv: np.ndarray
    const: np.ndarray
    regression: np.ndarray
    conditional: np.ndarray
    whitened_offset: np.ndarray | None

    @classmethod
    def of(cls, observed, log_weights, covariances, offset):
        """From the pattern's observed flags (D,), log π_k (K,), Σ_k (K, D, D) and μ_k - c_k (K, D)."""
        o, m = np.flatnonzero(observed), np.flatnonzero(~observed)
        n_o = o.size
        order = np.concatenate([o, m])
        cov = covariances[:, order[:, None], order]
        _, lower_inv, half_log_det = cholesky_factors(cov[:, :n_o, :n_o])  # C_k⁻¹ (K, |o|, |o|), ½ log|Σ_koo|
        const = log_component_constants(log_weights, half_log_det, n_o)
        regression = cov[:, n_o:, :n_o] @ lower_inv.transpose(0, 2, 1)
        conditional = cov[:, n_o:, n_o:] - regression @ regression.transpose(0, 2, 1)
        whitened_offset = (lower_inv @ offset[:, o, None])[:, :, 0] if offset.any() else None
        return cls(o, m, order, lower_inv, const, regression, conditional, whitened_offset)

    def log_densities(self, x, shift, offset, completed, out):
        """log π_k N(x_io | μ_ko, Σ_koo) of a block of the pattern's points x (|o|, b) into ``out``
        (K, b), and x̂_ik - c_k into ``completed`` (K, D, b), coordinates in the order (o, m): x_io on
        o, the conditional mean μ_km + A_k u_ik on m, with u_ik = C_k⁻¹ (x_io - μ_ko).

        Not the core's whitening (em_helpers' ``_whitened_log_densities``, C_k⁻¹ x_i - C_k⁻¹ μ_k
        summed by a product with -½): this one starts from x_io - c_ko, which the statistics need
        anyway (``completed``), and keeps u_ik, which the conditional mean needs; the core keeps
        neither. Its factors and constant are the core's (``cholesky_factors``,
        ``log_component_constants``)."""
        n_o = self.o.size
        np.subtract(x, shift[:, self.o, None], out=completed[:, :n_o])  # x_io - c_ko
        u = self.lower_inv @ completed[:, :n_o]  # u_ik, (K, |o|, b)
        if self.whitened_offset is not None:
            u -= self.whitened_offset[:, :, None]
        if self.m.size:
            np.matmul(self.regression, u, out=completed[:, n_o:])  # conditional mean - μ_km
            if self.whitened_offset is not None:
                completed[:, n_o:] += offset[:, self.m, None]  # ... - c_km
        np.square(u, out=u)
        np.sum(u, axis=1, out=out)
        out *= -0.5
        out += self.const[:, None]


def expected_statistics(data, weights, means, covariances, shift):
    """The E-step on incomplete, weighted data, and the expected sufficient statistics.

    Per pattern (observed coordinates o, missing m) and component k, with C_k the Cholesky
    factor of Σ_koo and u_ik = C_k⁻¹ (x_io - μ_ko):

    * log π_k N(x_io | μ_ko, Σ_koo) = log π_k - |o|/2 log 2π - Σ log diag C_k - ½ ‖u_ik‖²,
      normalised over k to γ_ik, and log p(x_io | θ), weighted by w_i, summed into L;
    * the completed point x̂_ik: x_io on o, and on m the conditional mean
      μ_km + A_k u_ik with A_k = Σ_kmo C_k⁻ᵀ (so that Σ_kmo Σ_koo⁻¹ (x_io - μ_ko) = A_k u_ik);
    * the conditional covariance of x_m, V_k = Σ_kmm - A_k A_kᵀ, the same for every point of
      the pattern.

    Then, with r_ik = w_i γ_ik and about the shift c_k:
    N_k = Σ_i r_ik, first_k = Σ_i r_ik (x̂_ik - c_k), and
    second_k = Σ_i r_ik (x̂_ik - c_k)(x̂_ik - c_k)ᵀ + (Σ_i r_ik over the pattern) V_k on the m×m block.

    Parameters
    ----------
    data : IncompleteData
    weights : ndarray of shape (n_components,)
        π_k (a weight of exactly 0 gives γ_ik = 0 exactly, as in the core).
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Symmetric positive definite (so every Σ_koo is).
    shift : ndarray of shape (n_components, n_features)
        c_k, the points the moments are taken about; the current means μ_k keep them exact for
        data far from 0 (on m, x̂_ik - μ_k = A_k u_ik needs no subtraction at all).

    Returns
    -------
    responsibilities : ndarray of shape (n_components, n_samples)
        γ_ik laid out (K, N); an empty row gets π_k.
    log_likelihood : float
        Σ_i w_i log p(x_io | θ), the observed-data log-likelihood (empty rows add 0).
    counts : ndarray of shape (n_components,)
    first : ndarray of shape (n_components, n_features)
    second : ndarray of shape (n_components, n_features, n_features)

    The plain loop over the patterns (for ``observed_gaussian`` here, and readers); a fit's E-pass on
    incomplete data is em_helpers' ``DataSource._incomplete_pass``, the same ``pattern_statistics``
    mapped over the patterns through the source's pool.
    """
    K, D = means.shape
    resp = np.empty((K, data.n_samples))
    resp[:, data.empty_rows] = weights[:, None]
    counts, first, second = np.zeros(K), np.zeros((K, D)), np.zeros((K, D, D))
    log_lik = 0.0
    for pattern in data.patterns:
        gamma = np.empty((K, pattern.rows.size))
        terms = pattern_statistics(pattern, data.weighted, weights, means, covariances, shift, gamma)
        resp[:, pattern.rows] = gamma
        log_lik += terms[0]
        counts += terms[1]
        first += terms[2]
        second += terms[3]
    return resp, log_lik, counts, first, second


def pattern_statistics(pattern, weighted, weights, means, covariances, shift, out):
    """``expected_statistics`` of one missingness pattern's points: γ of its points into ``out``
    (K, n), and its terms, Σ_i w_i log p(x_io | θ), N_k, first (K, D) and second (K, D, D) (in the
    coordinates' order of X, zero where no point of the pattern adds). ``weighted``: whether to
    read the pattern's w_i (``IncompleteData.weighted``); the other arguments as there."""
    K, D = means.shape
    log_weights = log_mixing_weights(weights)  # -inf for a weight of exactly 0
    offset = means - shift  # μ_k - c_k
    factors = _PatternFactors.of(pattern.observed, log_weights, covariances, offset)
    n_o, order = factors.o.size, factors.order
    block = block_columns(K, D)  # the core's blocks of columns
    completed = np.empty((K, D, min(block, pattern.rows.size)))
    log_lik, p_counts, p_first, p_second = 0.0, np.zeros(K), np.zeros((K, D)), np.zeros((K, D, D))
    for start in range(0, pattern.rows.size, block):
        x = pattern.values[:, start : start + block]  # (|o|, b)
        b = x.shape[1]
        y = completed[:, :, :b]
        gamma = out[:, start : start + b]
        factors.log_densities(x, shift, offset, y, gamma)
        log_p = responsibilities_in_place(gamma, weights)  # gamma now holds γ; log p(x_io | θ)
        w = pattern.weights[start : start + block] if weighted else None
        log_lik += weighted_total(w, log_p)  # Σ_i w_i log p(x_io | θ)
        r = weigh(gamma, w)  # r_ik = w_i γ_ik, (K, b)
        p_counts += r.sum(axis=1)
        block_first, block_second = block_moments(y, r)  # Σ_i r_ik (x̂_ik - c_k), and its outer products
        p_first += block_first
        p_second += block_second
    p_second[:, n_o:, n_o:] += p_counts[:, None, None] * factors.conditional
    first, second = np.zeros((K, D)), np.zeros((K, D, D))  # back to the order of X
    first[:, order] = p_first
    second[:, order[:, None], order] = p_second
    return log_lik, p_counts, first, second


def conditional_expectation(X, weights, means, covariances):
    """X with every missing value replaced by its expectation under θ given the point's observed
    values: E[x_m | x_o, θ] = Σ_k γ_ik (μ_km + Σ_kmo Σ_koo⁻¹ (x_o - μ_ko)), γ_ik from x_o alone.

    The best single guess for each missing value under the fitted mixture, and what "impute the
    conditional mean" means; its completed points are less spread than the data (they lack the
    conditional covariance), so a covariance computed from them is too small (notebook 06, §1).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), NaN where missing
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        X itself where observed; a row with every value missing gets the mixture's mean Σ_k π_k μ_k.
    """
    X = np.array(X, dtype=np.float64)
    observed = ~np.isnan(X)
    X[~observed.any(axis=1)] = weights @ means
    log_weights = log_mixing_weights(weights)  # -inf for a weight of exactly 0
    no_offset = np.zeros_like(means)  # the completed points about c_k = μ_k
    for pattern, rows in zip(*_pattern_rows(observed), strict=True):  # (group_patterns' grouping)
        if pattern.all() or not pattern.any():
            continue  # nothing missing, or nothing observed (the mixture's mean, above)
        factors = _PatternFactors.of(pattern, log_weights, covariances, no_offset)
        completed, gamma = np.empty((len(weights), X.shape[1], rows.size)), np.empty((len(weights), rows.size))
        factors.log_densities(np.ascontiguousarray(X[np.ix_(rows, factors.o)].T), means, no_offset, completed, gamma)
        responsibilities_in_place(gamma, weights)  # γ_ik
        conditional = means[:, factors.m, None] + completed[:, factors.o.size :]  # (K, |m|, n)
        X[np.ix_(rows, factors.m)] = np.einsum("kn,kmn->nm", gamma, conditional)
    return X


def observed_gaussian(data, max_iter=1000, tol=1e-13):
    """Maximum-likelihood mean and covariance of one Gaussian (K = 1) fitted to incomplete,
    weighted data by EM: what "the data's mean and covariance" are when values are missing
    at random (for the default prior on incomplete data). Stops when an iteration moves no
    mean or covariance entry by more than ``tol`` times the largest variance's square root
    (the mean) or the largest variance (the covariance), or after ``max_iter`` iterations.

    Parameters
    ----------
    data : IncompleteData
    max_iter : int
    tol : float

    Returns
    -------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
        With divisor Σ_i w_i (maximum likelihood).

    Its own loop, not a K = 1 fit through em_driver: the driver stops on the log-likelihood's gain
    per point, which near the fixed point is of the order of the square of the parameters' move, so
    even at tol = 1e-300 (the gain at rounding) fit_gmm(X, 1, allow_missing=True, reg_covar=0) stopped
    up to 1.3e-8 (in units of the largest variance) from this fixed point, against 1e-13 here, on 8
    data sets with 30% missing (tests/observed_gaussian_driver.py); the default prior would move by as
    much.
    """
    D = data.n_features
    observed_values = [(p.observed, p.values, p.weights) for p in data.patterns]
    sums, totals = np.zeros(D), np.zeros(D)
    for p in data.patterns:
        sums[p.observed] += weighted_total(p.weights, p.values)
        totals[p.observed] += p.total_weight  # the patterns' N read, not Σ_i w_i again
    mean = sums / np.where(totals > 0, totals, 1.0)  # start: observed means, unit-free diagonal
    variances = np.zeros(D)
    for observed, values, w in observed_values:
        variances[observed] += weighted_total(w, (values - mean[observed, None]) ** 2)
    covariance = np.diag(np.maximum(variances / np.where(totals > 0, totals, 1.0), np.finfo(float).tiny))
    for _ in range(max_iter):
        _, _, counts, first, second = expected_statistics(data, np.ones(1), mean[None], covariance[None], mean[None])
        step = first[0] / counts[0]
        mean = mean + step
        new = second[0] / counts[0] - np.outer(step, step)
        new = (new + new.T) / 2
        scale = np.abs(np.diag(new)).max()
        moved = max(np.abs(step).max() / np.sqrt(scale), np.abs(new - covariance).max() / scale)
        covariance = new
        if moved < tol:
            break
    return mean, covariance

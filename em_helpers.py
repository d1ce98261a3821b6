"""EM for Gaussian mixture models, small enough to read against the equations.

The notebooks in ``notebooks/`` derive every formula used here; the names follow the
notation table of the tutorial (N, D, K = ``n_samples``, ``n_features``,
``n_components``; π_k, μ_k, Σ_k = ``weights``, ``means``, ``covariances``;
γ_ik = ``responsibilities[i, k]``; N_k = ``counts[k]``).

Numerics, in one place:

* Log space throughout. log N(x | μ_k, Σ_k) comes from the Cholesky factor C_k of Σ_k
  (Σ_k = C_k C_kᵀ), and responsibilities are normalised with a log-sum-exp, so a point
  far from every component cannot underflow to 0/0.
* ``reg_covar`` is added to every covariance diagonal in the M-step and nowhere else.
* The M-step reads the data only through sufficient statistics (N_k and the first two
  moments of each component, taken about a fixed shift c_k near the data, never about the
  origin), so the same M-step serves data in memory, in chunks, on a cluster or a stream.
* MAP-EM (``fit_gmm(..., prior=...)``) is the same loop with the M-step of a conjugate
  prior (em_priors): its pseudo-observations are added to the sufficient statistics.
* Internally the hot arrays are laid out (K, N) and X as Xᵀ (D, N), so that every
  reduction runs along the long, contiguous axis N; the Python loops are over the K
  components and, in the E-step, over cache-sized blocks of columns, never over points
  (``make bench`` measures what this buys against scikit-learn).
* A component whose responsibilities vanish keeps N_k = Σ_i γ_ik + 10·eps (the floor
  scikit-learn uses): its weight π_k = N_k / N stays positive (10·eps / N, 4.4e-18 at N = 500,
  if it holds nothing), its covariance is ``reg_covar``·I plus what spread is left, and its mean
  the γ-weighted mean of what it still holds. If it holds nothing at all (every γ_ik = 0, as
  under π_k = 0), fit_gmm on complete data at n_jobs = 1 and ``m_step`` put its mean at 0 (their
  statistics are about the γ-weighted means, 0 there); fit_gmm with missing values or with
  n_jobs > 1, em_scale's fit_gmm_chunked and its online fit leave it where it was (their
  statistics are about θ's means). It stays finite and can win points back; it is never
  silently dropped.
* Σ_k = S_k + reg_covar·I has every eigenvalue >= reg_covar in exact arithmetic. If rounding
  breaks that (a component spanning a point 1e8 away, cond(Σ_k) ~ 1e19), the M-step floors
  that Σ_k's eigenvalues at reg_covar instead of failing; with reg_covar = 0 it raises.

The house: the rooms below this one (em_checks, em_params, em_statistics, em_diagonal, em_priors,
em_geometry, em_blocks, em_weights, em_incomplete, em_workers, em_driver) import nothing above them, and this
module re-exports their public names, so ``em.<name>`` reaches all of them; above it em_plots,
em_scale, em_bayes and em_select import em_helpers only. README's "What's where" says what each
room holds and imports; tests/test_contract.py checks that every arrow points down.

The internal layer: what the rooms above use beyond ``__all__`` (test_contract checks that they use
nothing else): ``DataSource``, ``SourceFit``, ``run_fit``, ``EPass``, ``combine_passes``,
``gain_below_tol``, ``StreamError``, ``fit_settings``, ``check_init``, ``init_error``,
``rows_as_Xt``, the ``check_*`` functions, ``is_finite_real``, ``is_symmetric_positive_definite``,
``seed_responsibilities``, ``hard_responsibilities``, ``point_e_step``, ``Predicts``,
``block_pass``, ``log_weighted_densities``, ``log_component_constants``, ``log_mixing_weights``,
``cholesky_factors``, ``LOG_2PI``, ``normalize_rows_in_place``, ``responsibilities_in_place``,
``weigh``, ``weighted_total``, ``block_columns``, ``statistics_of``, ``centred_scatter``,
``add_to_diagonals``, ``constrain_covariances``, ``floor_eigenvalues``, ``m_step_with_prior``,
``map_m_step_from_statistics``, ``sample_covariance``, ``data_covariance``,
``directional_variances``, ``bic_value``, ``one_blas_thread``, ``BlockMap``, ``GMMParams.trusted``,
``MAX_ABS``, ``COUNT_FLOOR``, ``floored_counts``, ``START_METHODS``. They take the points as Xᵀ,
shape (D, N), and responsibilities and log-densities laid out (K, N); the public functions take and
return scikit-learn's (N, D) and (N, K).
"""

from __future__ import annotations

import dataclasses
import mmap
import threading

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import entr

import em_incomplete
import em_weights

# The rooms below the core, re-exported so that ``em.<name>`` resolves for notebooks, the README
# and the rooms above (``name as name`` marks a re-export for ruff; some of those are used here too).
from em_blocks import block_columns, responsibilities_in_place
from em_blocks import normalize_rows_in_place as normalize_rows_in_place
from em_checks import COVARIANCE_TYPES as COVARIANCE_TYPES
from em_checks import MAX_ABS as MAX_ABS
from em_checks import (
    START_METHODS,
    as_float_array,
    check_covariance_type,
    check_data,
    check_int,
    check_new_points,
    check_reg_covar,
    check_responsibilities,
    check_two_points,
    check_X,
    fit_settings,
    init_error,
    rows_as_Xt,
)
from em_checks import FitSettings as FitSettings
from em_checks import check_bool as check_bool
from em_checks import check_covariance_structure as check_covariance_structure
from em_checks import check_n_components as check_n_components
from em_checks import check_rows as check_rows
from em_checks import check_tol as check_tol
from em_checks import is_finite_real as is_finite_real
from em_checks import is_symmetric_positive_definite as is_symmetric_positive_definite
from em_diagonal import _DIAGONAL_TOLERANCE as _DIAGONAL_TOLERANCE
from em_diagonal import _diagonal_log_densities, _diagonal_statistics
from em_driver import CollapseError as CollapseError
from em_driver import ConvergenceWarning as ConvergenceWarning
from em_driver import DataError, EPass, StreamError, combine_passes, run_fit
from em_driver import Run as Run
from em_driver import gain_below_tol as gain_below_tol
from em_driver import gain_per_point as gain_per_point
from em_geometry import ellipse_geometry as ellipse_geometry
from em_incomplete import IncompleteData as IncompleteData
from em_incomplete import Pattern as Pattern
from em_incomplete import conditional_expectation as conditional_expectation
from em_incomplete import expected_statistics as expected_statistics
from em_incomplete import group_patterns as group_patterns
from em_incomplete import mean_imputed as mean_imputed
from em_incomplete import observed_gaussian as observed_gaussian
from em_incomplete import pattern_statistics as pattern_statistics
from em_params import (
    _EPS,
    CholeskyFactors,
    GMMParams,
    _check_params_match,
    _check_resolved,
    _data_covariance,
    _diagonals,
    add_to_diagonals,
    check_start,
    log_component_constants,
    log_mixing_weights,
)
from em_params import LOG_2PI as LOG_2PI
from em_params import check_params as check_params
from em_params import cholesky_factors as cholesky_factors
from em_params import directional_variances as directional_variances
from em_params import floor_eigenvalues as floor_eigenvalues
from em_priors import ConjugatePrior, log_prior, map_m_step_from_statistics, resolve_prior
from em_priors import default_prior as default_prior
from em_priors import prior_from_moments as prior_from_moments
from em_priors import sample_covariance as sample_covariance
from em_statistics import COUNT_FLOOR as COUNT_FLOOR
from em_statistics import SufficientStatistics, block_moments, centred_scatter
from em_statistics import floored_counts as floored_counts
from em_weights import carrying_weight, draw_probabilities, weigh, weighted_total, without_rows
from em_weights import check_sample_weight as check_sample_weight
from em_workers import BlockMap as BlockMap
from em_workers import one_blas_thread as one_blas_thread

__all__ = [
    "COVARIANCE_TYPES",
    "CholeskyFactors",
    "ConjugatePrior",
    "ConvergenceWarning",
    "GMMFit",
    "GMMParams",
    "SufficientStatistics",
    "aic",
    "bic",
    "default_prior",
    "e_step",
    "ellipse_geometry",
    "expected_complete_log_likelihood",
    "fit_gmm",
    "init_params",
    "log_likelihood",
    "log_prior",
    "m_step",
    "m_step_from_statistics",
    "match_components",
    "n_parameters",
    "predict",
    "predict_proba",
    "responsibility_entropy",
    "sample_gmm",
    "score_samples",
    "sufficient_statistics",
]

# --------------------------------------------------------------------------- parameters


class Predicts:
    """scikit-learn's three verbs on new points, for every fit: each applies the fit's E-step on new
    points, ``new_points_e_step(X)`` -> γ laid out (K, N) and log p(x_i), shape (N,), which the fit
    defines (GMMFit: θ_T's; em_bayes' BayesianGMMFit: its posterior's, log ρ_ik in place of
    log π_k N(x_i | μ_k, Σ_k)). X : array-like of shape (n_samples, n_features), or (n_samples,)
    when n_features = 1."""

    def new_points_e_step(self, X):
        raise NotImplementedError

    def predict_proba(self, X) -> np.ndarray:
        """γ_ik of new points, shape (n_samples, n_components): scikit-learn's ``predict_proba``."""
        return self.new_points_e_step(X)[0].T

    def predict(self, X) -> np.ndarray:
        """argmax_k γ_ik of new points (the lowest k among equal γ_ik), shape (n_samples,):
        scikit-learn's ``predict``."""
        return self.new_points_e_step(X)[0].argmax(axis=0)

    def score_samples(self, X) -> np.ndarray:
        """log Σ_k of the fit's weighted densities at each new point, shape (n_samples,):
        scikit-learn's ``score_samples``."""
        return self.new_points_e_step(X)[1]


class _OfParams(Predicts):
    """θ alone, checked, as a ``Predicts``: what ``predict``, ``predict_proba`` and
    ``score_samples`` (the functions) and GMMFit's methods apply."""

    def __init__(self, params):
        check_params(params)
        self.params = params

    def new_points_e_step(self, X):
        """γ laid out (K, N) and log p(x_i | θ), shape (N,), of new points: the E-step, kept per point."""
        return point_e_step(check_new_points(X, self.params.n_features), self.params)


@dataclasses.dataclass(frozen=True, eq=False)
class GMMFit(Predicts):
    """What ``fit_gmm`` returns.

    Attributes
    ----------
    params : GMMParams
        The final parameters θ_T.
    responsibilities : ndarray of shape (n_samples, n_components) or None
        γ_ik under the final parameters; None from ``em_scale.fit_gmm_chunked`` (an (N, K)
        array is what it exists to avoid holding) and in a ``StreamError``'s fit so far.
    log_likelihoods : ndarray of shape (n_iter + 1,)
        log p(X | θ_t) for t = 0 .. n_iter: the initial parameters first, the final last. With
        missing values, the observed-data log-likelihood Σ_i log p(x_io | θ_t); with weights,
        Σ_i w_i log p(x_i | θ_t).
    n_iter : int
        Number of M-steps done.
    converged : bool
        Whether the gain per point (in L, or with a prior in L + log p(θ)) fell below ``tol``.
    tol : float
        The stopping threshold the fit used (gain in log-likelihood per point).
    stop_reason : {"converged", "max_iter"}
        Why the loop ended: the gain per point fell below ``tol``, or ``max_iter`` M-steps
        were done (always so with ``tol=0``).
    params_history : tuple of GMMParams or None
        θ_0 .. θ_T when the fit was asked for them (``keep_params=True``), else None.
    log_posteriors : ndarray of shape (n_iter + 1,) or None
        With a prior: log p(X | θ_t) + log p(θ_t), the objective MAP-EM climbs (never
        decreasing; ``tol`` applies to it); None without one.
    prior : ConjugatePrior or None
        The prior the fit used (``"default"`` resolved for the data), or None.
    n_failed_starts : int
        Of the ``n_init`` starts, how many collapsed (raised the collapse error, possible only
        with reg_covar=0) and were skipped; the fit is the best of the others. 0 by default.

    Methods ``predict``, ``predict_proba`` and ``score_samples`` (``Predicts``') apply θ_T to new
    points, as the functions of the same names do.
    """

    params: GMMParams
    responsibilities: np.ndarray | None
    log_likelihoods: np.ndarray
    n_iter: int
    converged: bool
    tol: float = 0.0
    params_history: tuple | None = dataclasses.field(default=None, repr=False)
    log_posteriors: np.ndarray | None = None
    prior: ConjugatePrior | None = None
    n_failed_starts: int = 0

    def new_points_e_step(self, X):
        """γ laid out (K, N) and log p(x_i | θ_T) of new points (``Predicts``' methods apply it)."""
        return _OfParams(self.params).new_points_e_step(X)

    @property
    def stop_reason(self) -> str:
        """ "converged" or "max_iter"."""
        return "converged" if self.converged else "max_iter"

    @property
    def log_likelihood(self) -> float:
        """log p(X | θ_T), the final log-likelihood."""
        return float(self.log_likelihoods[-1])

    @property
    def objective(self) -> float:
        """What the fit climbed, at θ_T: L(θ_T), or with a prior L(θ_T) + log p(θ_T)."""
        return self.log_likelihood if self.log_posteriors is None else float(self.log_posteriors[-1])


# --------------------------------------------------------------------------- the E-step


def log_weighted_densities(Xt, params, out=None, log_weights=None):
    """log π_k + log N(x_i | μ_k, Σ_k), laid out (K, N) (written into ``out`` if given).

    ``log_weights`` (K,), when given, replaces log π_k: 0 gives the log-densities alone, and
    the variational fit passes its E[log π_k] plus its per-component constants.

    With Σ_k = C_k C_kᵀ (C_k the Cholesky factor, cached in GMMParams with its inverse and
    ½ log|Σ_k| = Σ_d log (C_k)_dd): (x - μ)ᵀ Σ_k⁻¹ (x - μ) = ‖C_k⁻¹ (x - μ)‖², so neither
    Σ_k⁻¹ nor |Σ_k| is ever formed. For the diag and spherical models C_k⁻¹ is the diagonal
    1/σ_kd, and the squared distances are one (K, 2D) @ (2D, block) product per block of points
    about a common centre c = Σ_k π_k μ_k (``_diagonal_log_densities``): O(N·K·D) instead of
    O(N·K·D²).
    """
    D, N = Xt.shape
    K = params.n_components
    if out is None:
        out = np.empty((K, N))
    if log_weights is None:
        log_weights = log_mixing_weights(params.weights)  # -inf where π_k = 0
    const = log_component_constants(log_weights, params.cholesky.half_log_det, D)[:, None]
    if params.covariance_type in ("diag", "spherical"):  # the common centre c = Σ_k π_k μ_k
        _diagonal_log_densities(Xt, params.means, params.covariances, const, params.weights @ params.means, out)
        return out
    # All K components go through each step at once, (K, D, D) @ (D, block): at N = 500 an
    # iteration spends its time in the fixed cost of each NumPy call, not in arithmetic, and a loop
    # over k made this step 37 µs there against 18-21 µs (measured; at N = 200k and 1M no slower).
    block = block_columns(K, D)
    whitened = np.empty((K, D, min(block, N)))
    _whitened_log_densities(Xt, params.means, params.cholesky.lower_inv, const, whitened, block, out)
    return out


def _whitened_log_densities(Xt, means, lower_inv, const, whitened, block, out):
    """const_k - ½ (x_i - μ_k)ᵀ Σ_k⁻¹ (x_i - μ_k) into ``out`` (K, N), block by block, with the
    squared distance ‖C_k⁻¹ x_i - C_k⁻¹ μ_k‖²: O(N·K·D²), any Σ_k."""
    shift = lower_inv @ means[:, :, None]  # C_k⁻¹ μ_k, shape (K, D, 1)
    # -½ Σ_d w_d² as (1, D) @ (D, block) for every k: one call where a sum over the middle axis and
    # a scaling were two, and faster at every size (12 against 20 µs at K, D, block = 3, 2, 500;
    # 40 against 83 at 6, 8, 1024, measured)
    neg_half = np.empty((1, Xt.shape[0]))
    neg_half.fill(-0.5)
    for start in range(0, Xt.shape[1], block):
        log_density = out[:, start : start + block]
        w = whitened[:, :, : log_density.shape[1]]
        np.matmul(lower_inv, Xt[:, start : start + block], out=w)
        w -= shift
        np.square(w, out=w)
        np.matmul(neg_half, w, out=log_density[:, None, :])
        log_density += const


def point_e_step(Xt, params, out=None, log_weights=None):
    """γ laid out (K, N) and log p(x_i | θ), shape (N,), from Xᵀ (D, N): the E-step, kept per point
    (a DataSource sums the log p(x_i), weighted or not). Zero-weight components get γ = 0 exactly.
    ``out``: memory for γ; ``log_weights``: see log_weighted_densities."""
    resp = log_weighted_densities(Xt, params, out, log_weights)
    return resp, responsibilities_in_place(resp, params.weights)


def _e_step(Xt, params, out=None, log_weights=None):
    """γ laid out (K, N) and log p(X | θ) from Xᵀ (D, N) (``point_e_step``, summed)."""
    resp, log_density = point_e_step(Xt, params, out, log_weights)
    return resp, float(np.add.reduce(log_density))


def e_step(X, params):
    """E-step: responsibilities γ_ik = p(z_i = k | x_i, θ) and log p(X | θ).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    params : GMMParams

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
        Rows sum to 1.
    log_likelihood : float
        Σ_i log Σ_k π_k N(x_i | μ_k, Σ_k), the total (not the mean) over points.
    """
    X = check_X(X)
    _check_params_match(params, X.shape[1])
    resp, log_lik = _e_step(np.ascontiguousarray(X.T), params)
    return resp.T, log_lik


def log_likelihood(X, params) -> float:
    """log p(X | θ) = Σ_i log Σ_k π_k N(x_i | μ_k, Σ_k), a float."""
    return e_step(X, params)[1]


# --------------------------------------------------------------------------- new points


def predict_proba(params, X) -> np.ndarray:
    """Responsibilities γ_ik = p(z_i = k | x_i, θ) of new points (scikit-learn's ``predict_proba``).

    Parameters
    ----------
    params : GMMParams
        θ, e.g. ``fit.params`` (ML or MAP).
    X : array-like of shape (n_samples, n_features), or (n_samples,) when n_features = 1
        One point of a D > 1 fit is ``x.reshape(1, -1)`` or ``[x]``: a 1-D array is refused there.

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
        Rows sum to 1.
    """
    return _OfParams(params).predict_proba(X)


def predict(params, X) -> np.ndarray:
    """The most probable component of each new point, argmax_k γ_ik (scikit-learn's ``predict``).

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features), or (n_samples,) when n_features = 1

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Integers in 0 .. n_components - 1 (the lowest k among equal γ_ik).
    """
    return _OfParams(params).predict(X)


def score_samples(params, X) -> np.ndarray:
    """log p(x_i | θ) = log Σ_k π_k N(x_i | μ_k, Σ_k) of each new point (scikit-learn's ``score_samples``).

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features), or (n_samples,) when n_features = 1

    Returns
    -------
    log_densities : ndarray of shape (n_samples,)
        Their sum is ``log_likelihood(X, params)`` (to rounding).
    """
    return _OfParams(params).score_samples(X)


# --------------------------------------------------------------------------- sufficient statistics


def _weighted_means(Xt, resp, counts=None):
    """Σ_i γ_ik x_i / N_k, shape (K, D), from Xᵀ (D, N) and γ laid out (K, N); 0 where N_k = 0.
    ``counts``: N_k = Σ_i γ_ik, if the caller has them.

    Exact, without the count floor: used as the shift, it makes Σ_i γ_ik (x_i - c_k) vanish,
    so μ_k = c_k is the weighted mean of what component k holds, however little (with the
    floor here too, a component holding 1e-20 of a point at 1 got μ_k = 9e-6, not 1).
    """
    counts = (np.add.reduce(resp, axis=1) if counts is None else counts)[:, None]
    sums = (Xt @ resp.T).T
    if np.count_nonzero(counts) == len(counts):  # the usual case, in one division
        return sums / counts
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def _sufficient_statistics(Xt, resp, shift, covariance_type="full", counts=None):
    """Sufficient statistics from Xᵀ (D, N) and γ laid out (K, N), about ``shift`` (K, D), which
    they keep (pass a copy of an array that may change): with full second moments, (K, D, D), or
    for the diag and spherical models only their diagonals, (K, D), O(N·K·D) instead of
    O(N·K·D²) (``_diagonal_statistics``). ``counts``: N_k = Σ_i γ_ik, if the caller has them."""
    (K, N), D = resp.shape, Xt.shape[0]
    counts = np.add.reduce(resp, axis=1) if counts is None else counts
    if covariance_type in ("diag", "spherical"):
        return _diagonal_statistics(Xt, resp, shift, counts)
    # As in the E-step, all K components at once over blocks of columns (``block_columns``):
    # 25 µs at N = 500 where a loop over k took 32, and at N = 200k, D = 8, K = 6 55 ms where
    # whole-array passes took 92 (measured).
    block = block_columns(K, D)
    centred, sqrt_resp = np.empty((K, D, min(block, N))), np.empty((K, min(block, N)))  # reused
    for start in range(0, N, block):
        r = resp[:, start : start + block]
        c = centred[:, :, : r.shape[1]]
        c[...] = Xt[:, start : start + block]
        c -= shift[:, :, None]  # x_i - c_k, exact for data far from 0
        # Σ_i γ_ik (x_i - c_k) and Σ_i γ_ik (x_i - c_k)(x_i - c_k)ᵀ
        block_first, block_second = block_moments(c, r, sqrt_resp[:, : r.shape[1]])
        if start == 0:  # the first block's sums are the totals so far (no zeros to add them to)
            first, second = block_first, block_second
        else:
            first += block_first
            second += block_second
    return SufficientStatistics(counts, shift, first, second, N)


def statistics_of(Xt, resp, shift=None, covariance_type="full"):
    """``sufficient_statistics`` in the internal layout: from Xᵀ (D, N) and γ laid out (K, N),
    about ``shift`` (K, D), by default the γ-weighted means (exact, see ``_weighted_means``);
    for the diag and spherical models only the diagonals of the second moments, and the γ-weighted
    means from the same pass over the data (``_diagonal_statistics``)."""
    counts = np.add.reduce(resp, axis=1)  # N_k, summed once for the means and the statistics
    if covariance_type in ("diag", "spherical"):  # the γ-weighted means from the same pass
        return _diagonal_statistics(Xt, resp, None if shift is None else np.array(shift, dtype=np.float64), counts)
    shift = _weighted_means(Xt, resp, counts) if shift is None else np.array(shift, dtype=np.float64)
    return _sufficient_statistics(Xt, resp, shift, covariance_type, counts)


def sufficient_statistics(X, responsibilities, *, shift=None):
    """The M-step's sufficient statistics of X under responsibilities γ.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    responsibilities : array-like of shape (n_samples, n_components)
    shift : array-like of shape (n_components, n_features), optional
        The points c_k the moments are taken about. Default: the γ-weighted means of X,
        the most accurate choice for one chunk. Chunks of one dataset may use any shift
        near the data (EM over chunks uses the current means); ``+`` re-centres.

    Returns
    -------
    SufficientStatistics
        Statistics of different chunks add: ``sufficient_statistics(X1, γ1) +
        sufficient_statistics(X2, γ2)`` are those of the stacked data.
    """
    X = check_X(X)
    resp = check_responsibilities(responsibilities, X.shape[0])
    Xt = np.ascontiguousarray(X.T)
    if shift is None:
        shift = _weighted_means(Xt, resp)
    shift = as_float_array(shift, "shift")
    if shift.shape != (resp.shape[0], X.shape[1]) or not np.isfinite(shift).all():
        raise ValueError(f"shift must be finite with shape (K, D) = {(resp.shape[0], X.shape[1])}; got {shift.shape}.")
    return _sufficient_statistics(Xt, resp, shift)


# --------------------------------------------------------------------------- the M-step


def _m_step_from_statistics(stats, reg_covar, covariance_type, floor=None):
    """π_k, μ_k, Σ_k from sufficient statistics (see m_step for the formulas); ``floor``, eps·tr S
    for the covariance S of the data if the caller has it, spares the collapse check recomputing
    it (see ``_check_resolved``)."""
    counts, offset, scatter = centred_scatter(stats)  # μ_k = c_k + o_k
    covariances = constrain_covariances(
        scatter / (counts[:, None, None] if scatter.ndim == 3 else counts[:, None]), counts, covariance_type
    )
    add_to_diagonals(covariances, reg_covar)
    params = GMMParams.trusted(
        counts / stats.n_samples, stats.shift + offset, covariances, covariance_type, reg_covar
    )  # π_k = N_k / N; a CollapseError if reg_covar = 0 and some Σ_k is singular to rounding
    if reg_covar == 0:  # a positive reg_covar, however small, is the floor the user chose
        _check_resolved(params, stats, floor)
    return params


def _m_step(Xt, resp, reg_covar, covariance_type, prior=None):
    """The M-step from Xᵀ (D, N) and γ laid out (K, N), from statistics about the new means:
    maximum likelihood, or with a prior the MAP one."""
    stats = statistics_of(Xt, resp, None, covariance_type)
    if prior is None:
        return _m_step_from_statistics(stats, reg_covar, covariance_type)
    return map_m_step_from_statistics(stats, prior, reg_covar, covariance_type)


def constrain_covariances(scatter, counts, covariance_type):
    """The maximum of Q over each covariance model, from the weighted scatters S_k, shape
    (K, D, D) (or, for diag and spherical, their diagonals, (K, D)) and the counts N_k (K,);
    returns (K, D, D). A stack of them, (..., K, D, D) or (..., K, D) with counts (..., K),
    is constrained fit by fit (em_select's stacked M-step).

    diag keeps the diagonal of S_k; spherical its mean, σ_k² = tr(S_k) / D; tied pools
    the components, Σ = Σ_k N_k S_k / N. (Each follows from ∂Q/∂Σ = 0 under the model.)
    """
    if covariance_type == "full":
        return scatter
    D = scatter.shape[-1]
    if scatter.ndim == counts.ndim + 1:  # diagonals only (diag, spherical)
        if covariance_type == "diag":
            variances = scatter
        else:
            variances = np.broadcast_to(scatter.sum(axis=-1)[..., None] / D, scatter.shape)
        covariances = np.zeros((*scatter.shape, D))
        _diagonals(covariances)[...] = variances
        return covariances
    if covariance_type == "diag":
        return scatter * np.eye(D)
    if covariance_type == "spherical":
        return np.trace(scatter, axis1=-2, axis2=-1)[..., None, None] / D * np.eye(D)
    pooled = np.einsum("...k,...kde->...de", counts, scatter) / counts.sum(axis=-1)[..., None, None]  # tied
    return np.repeat(pooled[..., None, :, :], counts.shape[-1], axis=-3)


def m_step_from_statistics(stats, *, reg_covar=1e-6, covariance_type="full"):
    """M-step from sufficient statistics: the same π_k, μ_k, Σ_k as ``m_step``.

    With o_k = first_k / N_k: μ_k = c_k + o_k, π_k = N_k / N and
    Σ_k = (second_k - first_k o_kᵀ - o_k first_kᵀ + N_k o_k o_kᵀ) / N_k + reg_covar·I.

    Parameters
    ----------
    stats : SufficientStatistics
        Of one chunk, or summed over many.
    reg_covar : float, default 1e-6
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"

    Returns
    -------
    GMMParams
    """
    if not isinstance(stats, SufficientStatistics):
        raise TypeError(f"stats must be a SufficientStatistics; got {type(stats).__name__}.")
    check_reg_covar(reg_covar)
    check_covariance_type(covariance_type)
    return _m_step_from_statistics(stats, reg_covar, covariance_type)


def m_step(X, responsibilities, *, reg_covar=1e-6, covariance_type="full"):
    """M-step: the weighted maximum-likelihood parameters given responsibilities.

    π_k = N_k / N, μ_k = Σ_i γ_ik x_i / N_k, Σ_k = Σ_i γ_ik (x_i - μ_k)(x_i - μ_k)ᵀ / N_k
    + reg_covar·I, with N_k = Σ_i γ_ik (+ 10·eps, see the module docstring). It is
    ``m_step_from_statistics(sufficient_statistics(X, responsibilities))``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    responsibilities : array-like of shape (n_samples, n_components)
        Non-negative, rows summing to 1 (hard labels as one-hot rows work too).
    reg_covar : float, default 1e-6
        Added to each covariance diagonal; 0 gives the exact maximum-likelihood step.
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
        Σ_k as above ("full"), its diagonal ("diag"), tr(Σ_k)/D · I ("spherical"), or one
        Σ = Σ_k N_k Σ_k / N shared by all components ("tied").

    Returns
    -------
    GMMParams
    """
    X = check_X(X)
    check_reg_covar(reg_covar)
    check_covariance_type(covariance_type)
    resp = check_responsibilities(responsibilities, X.shape[0])
    return _m_step(np.ascontiguousarray(X.T), resp, reg_covar, covariance_type)


# --------------------------------------------------------------------------- sampling


def sample_gmm(params, n_samples, seed=None):
    """Draw ``n_samples`` points from the mixture.

    Parameters
    ----------
    params : GMMParams
    n_samples : int
    seed : int, numpy.random.Generator or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        The component z_i each point was drawn from.
    """
    check_params(params)
    check_int(n_samples, "n_samples", 1)
    rng = np.random.default_rng(seed)
    labels = rng.choice(params.n_components, size=n_samples, p=params.weights)
    X = np.empty((n_samples, params.n_features))
    for k in range(params.n_components):
        members = labels == k
        noise = rng.standard_normal((members.sum(), params.n_features))
        X[members] = params.means[k] + noise @ params.cholesky.lower[k].T  # μ + C z ~ N(μ, C Cᵀ)
    return X, labels


# --------------------------------------------------------------------------- initialisation


def _squared_distances(Xt, center):
    """‖x_i - center‖² for every column of Xᵀ (D, N): shape (N,)."""
    diff = Xt - center[:, None]
    return np.einsum("dn,dn->n", diff, diff)


def _kmeans_plusplus(Xt, n_components, rng, sample_weight=None):
    """Indices of k-means++ seeds: each next seed drawn with probability ∝ D(x)² (∝ w_i D(x_i)²
    with weights w: the law of the seeds on the data with each row repeated w_i times)."""
    n_samples, w = Xt.shape[1], sample_weight
    first = draw_probabilities(w)  # ∝ w_i; None: uniform
    chosen = [int(rng.integers(n_samples))] if first is None else [int(rng.choice(n_samples, p=first))]
    closest = _squared_distances(Xt, Xt[:, chosen[0]])
    for _ in range(1, n_components):
        law = draw_probabilities(w, closest)  # ∝ w_i D(x_i)²
        if law is not None:
            pick = rng.choice(n_samples, p=law)
        else:  # every (weighted) point coincides with a seed already: any unused one will do
            pool = np.arange(n_samples) if w is None else carrying_weight(w)
            pick = rng.choice(np.setdiff1d(pool, chosen))
        chosen.append(int(pick))
        np.minimum(closest, _squared_distances(Xt, Xt[:, pick]), out=closest)
    return np.array(chosen)


def seed_responsibilities(Xt, n_components, method, rng, sample_weight=None):
    """Hard γ laid out (K, N) from K seed points (k-means++ or uniform), every point to its
    nearest seed: the start every fitter takes one M-step (ML, MAP or variational) from. With
    ``sample_weight`` (N,) the seeds are drawn ∝ w_i (k-means++: ∝ w_i D(x_i)²): never a weight-0 row.

    Parameters
    ----------
    Xt : ndarray of shape (n_features, n_samples)
        Xᵀ, the layout of the internal layer.
    n_components : int
    method : {"kmeans++", "random"}
        Checked by the caller (``check_init``).
    rng : numpy.random.Generator
    sample_weight : ndarray of shape (n_samples,) or None
        The draw factor w_i: passed only by ``DataSource.seed_pass`` (every other caller seeds
        unweighted points).
    """
    n_samples = Xt.shape[1]
    if method == "kmeans++":
        seeds = _kmeans_plusplus(Xt, n_components, rng, sample_weight)
    else:  # "random": K distinct rows, ∝ w_i (uniformly without weights: p None)
        seeds = rng.choice(n_samples, size=n_components, replace=False, p=draw_probabilities(sample_weight))
    # Hard-assign every point to its nearest seed (ties to the seed drawn first: strict <).
    labels = np.zeros(n_samples, dtype=np.intp)
    best = _squared_distances(Xt, Xt[:, seeds[0]])
    for k in range(1, n_components):
        dist = _squared_distances(Xt, Xt[:, seeds[k]])
        nearer = dist < best
        labels[nearer] = k
        best[nearer] = dist[nearer]
    labels[seeds] = np.arange(n_components)  # each seed owns itself, even among duplicates
    return hard_responsibilities(labels, n_components)


def hard_responsibilities(labels, n_components) -> np.ndarray:
    """γ laid out (K, N) from labels z_i in 0 .. K - 1 (N,): γ_ik = 1 where k = z_i, else 0."""
    resp = np.zeros((n_components, len(labels)))
    resp[labels, np.arange(len(labels))] = 1.0
    return resp


def init_params(X, n_components, *, method="kmeans++", seed=None, reg_covar=1e-6, covariance_type="full"):
    """Starting parameters θ_0: pick K seed points, assign every point to its nearest seed
    (a point equally near several goes to the one drawn first, which becomes component k = 0
    before k = 1), and take one M-step from those hard labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    n_components : int
    method : {"kmeans++", "random"}
        "kmeans++" draws each next seed with probability proportional to its squared
        distance from the nearest seed so far (Arthur and Vassilvitskii 2007);
        "random" draws K distinct points uniformly.
    seed : int, numpy.random.Generator or None
    reg_covar : float, default 1e-6
        Added to each covariance diagonal in that M-step (a seed alone in its cluster
        then starts as a small round Gaussian).
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"

    Returns
    -------
    GMMParams
    """
    X = check_data(X, n_components, covariance_type)
    check_reg_covar(reg_covar)
    if method not in START_METHODS:
        raise ValueError(f'method must be "kmeans++" or "random"; got {method!r}.')
    Xt = np.ascontiguousarray(X.T)
    resp = seed_responsibilities(Xt, n_components, method, np.random.default_rng(seed))
    return _m_step(Xt, resp, reg_covar, covariance_type)


# --------------------------------------------------------------------------- the E-pass of every fit, and fit_gmm


def check_init(init, forms, n_samples, n_features, settings):
    """``init`` checked against what the fitter accepts (``forms``, a tuple of "methods",
    "params", "responsibilities"): a method name, a GMMParams for this D, K and covariance
    model, or responsibilities returned laid out (K, N)."""
    if isinstance(init, str):
        if init in START_METHODS and "methods" in forms:
            return init
    elif isinstance(init, GMMParams) and "params" in forms:
        check_start(init, n_features, settings.n_components, settings.covariance_type)
        return init
    elif isinstance(init, (np.ndarray, list, tuple)) and "responsibilities" in forms:
        resp = check_responsibilities(init, n_samples)
        if resp.shape[0] != settings.n_components:
            raise ValueError(
                f"init has {resp.shape[0]} columns of responsibilities but n_components={settings.n_components}."
            )
        return resp
    raise init_error(forms, init)


def block_pass(Xt, params, *, shift=None, out=None, log_weights=None, statistics_type=None):
    """The E-pass of one block of points without weights: ``DataSource.pass_of`` with w None (see
    there for the arguments); what notebook 03's comparison of threads maps over its chunks."""
    return DataSource.pass_of(Xt, None, params, shift, out, log_weights, statistics_type)


def m_step_with_prior(stats, prior, reg_covar, covariance_type, floor=None):
    """The M-step of fit_gmm, the chunked and the online fit from statistics: maximum likelihood, or
    with a ConjugatePrior the MAP one (its pseudo-observations added to the statistics). ``floor``:
    see ``_m_step_from_statistics``."""
    if prior is None:
        return _m_step_from_statistics(stats, reg_covar, covariance_type, floor=floor)
    return map_m_step_from_statistics(stats, prior, reg_covar, covariance_type)


# Rows per block of an in-memory E-pass with n_jobs > 1 (fixed, so the blocks, their sum and the fit do not
# depend on n_jobs): em_scale's default chunk, whose γ and Xᵀ stay in cache.
MEMORY_BLOCK = 20_000


class DataSource:
    """The points a fit reads and their sample weights w_i: the one place where weights meet a
    fitter, and the one place where the blocks of an E-pass are mapped (``map_blocks``).

    It holds the rows X, in memory as Xᵀ (D, N) (``DataSource(X, ...)``: fit_gmm's, each batch of
    em_scale's online fit, em_bayes' variational fit) or as any array that slices by rows, read
    ``chunk_size`` rows at a time (``DataSource.rows``: a NumPy array, a memory map, an h5py or zarr
    dataset; em_scale's chunked fit; ``DataSource.part``: a dask block of it), and w (N,) or None.

    **Every E-pass of every fitter** is ``e_pass``, a map of one function over blocks
    (``map_blocks``) and their sum in block order (``combine_passes``): from rows, the blocks of
    ``chunk_size`` rows (``block_summary``); in memory with n_jobs = 1 one block, all N points (γ
    kept for the fit's result; the statistics about the γ-weighted means, computed only if an
    M-step reads them); in memory with n_jobs > 1 blocks of ``MEMORY_BLOCK`` rows
    (``memory_block``: statistics about θ's means, so that blocks add; each block writes its γ
    into one (K, N) array of shared memory made before the fork, copied out for the fit's result);
    on incomplete data one block per missingness pattern (``pattern_pass``, statistics about θ's
    means, γ gathered back into the order of X), whatever n_jobs.

    **The pool** is this class's: a fitter asks for one by passing ``n_jobs`` to its source and
    nothing else. ``map_blocks`` maps the blocks over n_jobs processes (em_workers' ``BlockMap``),
    forked at its first map with n_jobs > 1, after BLAS is held to one thread (em_workers'
    ``one_blas_thread``; the workers inherit the limit); a source of rows holds that limit from
    the fit's start whatever n_jobs. em_driver's ``run_fit`` opens the fit's source (``with``) and
    ``close`` ends the workers and gives BLAS its threads back, normally or on an exception. The
    blocks and the order of the sum do not depend on n_jobs, so for n_jobs > 1 neither does the
    result, bit for bit; in memory n_jobs = 1 is the one-block pass, which rounds apart from
    n_jobs > 1 (tests/pool_spread.py, 50,000 points, D = 3, K = 4, 8 seeds, the 4 models: L within
    1.6e-15 relative and θ within 3.7e-14 of its largest entry, fit_gmm complete and weighted and
    fit_bayesian_gmm; with missing values the same bits, the blocks being the patterns either way).
    Left at one process: em_scale's online fit (each batch is a source of its own, so a pool would
    be forked per batch, 5-20 ms a fork and end (tests/workers_fork_cost.py) against an in-memory
    E-pass of 53 µs at N = 500 (tests/source_timing.py)) and em_select's model search (its stacked
    E-step's block function closes over each iteration's π, so the workers would be forked again
    every iteration, and its M-steps and screen read all N points in this process).

    **Every place a weight w_i enters.** What a weight is, the one function that makes w and every
    computation with it are em_weights' (its docstring lists every reader of N = Σ_i w_i): every
    product, sum and draw with w is one of its primitives, ``weigh`` (w_i γ_ik), ``weighted_total``
    (Σ_i w_i v_i, Σ_i w_i) and ``draw_probabilities`` (p_i ∝ w_i v_i), every test of w_i > 0 is its
    ``carrying_weight``, and this class is the only code that hands w to them (or to the functions
    that call them; em_scale hands w only to sources: each online batch's, the online start's, a
    dask block's ``part``). The M-steps and the driver see no weights: the statistics carry them.
    Besides those, w is only sliced and copied:

    1. checked when a source is made from a reader's weights, ``DataSource(X, w)`` and
       ``DataSource.rows``, by em_weights' ``check_sample_weight`` (its only caller is this class;
       the online fit makes a source per batch, so each batch arrives checked by it), and at least
       K rows with w_i > 0 (``_check_positive_rows``). A source made from checked weights takes
       them as they are: ``part`` (a dask block and its slice of the checked w) and ``concatenate``
       (the online fit's start: its batches' checked w, joined, fitted through
       ``SourceFit.fit_gmm_on``, fit_gmm's variant on a source already made);
    2. N = Σ_i w_i, ``n_points`` (``_setup``, by ``weighted_total``; on incomplete data the
       patterns' ``total_weight``): what ``tol`` is per (``run_fit``), and what ``per_point``
       divides by (the online fit's statistics and log-likelihood per unit of weight; its
       ``_Stepwise`` adds the first pass's batches' N to scale them back for a prior): read, not
       summed again from w;
    3. the start: ``start_rows`` draws a subsample among the rows with w_i > 0 (``carrying_weight``)
       and slices w;
       ``seed_pass`` hands that w to ``seed_responsibilities`` (this class is its only caller that
       passes weights), whose seeds are drawn by ``draw_probabilities`` (∝ w_i; k-means++ ∝ w_i
       D(x_i)², or when every such mass is 0 uniformly among the unused rows with w_i > 0,
       ``carrying_weight``); the
       start's statistics are those of w_i γ_ik (``_statistics``: ``weigh``, and the start rows'
       Σ_i w_i by ``weighted_total``, once per start: a subsample's own, and on incomplete data the
       sum of the start's w, which rounds apart from the patterns' ``total_weight``);
    4. the E-pass: ``pass_of`` sums Σ_i w_i log p(x_i) (``weighted_total``) and its statistics
       are those of w_i γ_ik (``weigh``) with N = Σ_i w_i: in memory in one block ``n_points``,
       read; a block of rows (from rows, or in memory with n_jobs > 1) sums its own
       (``weighted_total``); each block of rows with its slice of w (``block_summary``; a dask
       array's blocks get theirs from em_scale as a dask array chunked like the rows, and are
       ``part``s of this source);
    5. missing values (``allow_missing``): the rows grouped by pattern with their weights and each
       pattern's Σ_i w_i (``em_incomplete.group_patterns``, by ``weighted_total``; all of them 0 is
       an error, read from their N); w for the start, 0 on the rows with every value missing
       (em_weights' ``without_rows``); the start seeded
       on X with each NaN replaced by its column's weighted mean (``mean_imputed``, by
       ``weighted_total``); the E-pass, ``pattern_pass``, through ``pattern_statistics`` (``weigh``
       and ``weighted_total`` per block of the pattern), its N the pattern's ``total_weight``;
    6. the default prior (``resolve_prior``): the data's weighted mean and covariance, of one
       Gaussian fitted to the grouped rows (``em_incomplete.observed_gaussian``, by
       ``weighted_total``), times N / (N - 1) with N their ``total_weight``;
    7. the collapse floor of the exact M-step (``floor``): only for data without weights.

    Without ``sample_weight`` w is None and nothing is multiplied by ones, with one exception: with
    ``allow_missing`` and a NaN in X, w is 1 on every row with an observed value and 0 on the rows
    with every value missing (these must neither seed nor count in the start's M-step). Then the
    start multiplies γ by those 0s and 1s and draws its seeds with p ∝ them (``rng.choice`` with
    ``p``, another stream of draws than the complete data's ``rng.integers``), the imputed means
    and the default prior's moments are sums by einsum over them and over the patterns' ones, and
    only the E-pass skips the products (``IncompleteData.weighted`` is False). Kept so: a w of
    None there would change those fits' seeds (and their bits) against the fits made so far.
    """

    def __init__(self, X, sample_weight=None, n_components=None, *, allow_missing=False, n_jobs=1):
        """In memory. X: (N, D) checked by ``check_X`` (NaN where missing with ``allow_missing``);
        ``n_components``: K, to check that K rows have a positive weight (None: not checked);
        ``n_jobs`` processes (> 1: the E-pass in blocks of ``MEMORY_BLOCK`` rows, see the class)."""
        weights = None if sample_weight is None else em_weights.check_sample_weight(sample_weight, X.shape[0])
        self._setup(X, weights, n_jobs=n_jobs)
        if allow_missing and np.isnan(X).any():
            self.incomplete = em_incomplete.group_patterns(X, self.weights)
            # empty rows never seed nor weigh in the start (w is this source's own: check_sample_weight's copy)
            self.weights = without_rows(weights, self.incomplete.empty_rows, self.n_samples)
            self.X, self.n_points = em_incomplete.mean_imputed(X, self.weights), self.incomplete.total_weight
        self.Xt = np.ascontiguousarray(self.X.T)
        self._check_positive_rows(n_components)

    @classmethod
    def rows(cls, X, sample_weight=None, n_components=None, *, chunk_size, start_size, n_jobs=1):
        """Rows read ``chunk_size`` at a time from X, anything that slices by rows with a checked
        ``.shape`` (``check_rows``); a start on at most ``start_size`` of them; ``n_jobs`` processes."""
        source = cls.__new__(cls)
        weights = None if sample_weight is None else em_weights.check_sample_weight(sample_weight, X.shape[0])
        source._setup(X, weights, chunk_size, start_size, n_jobs)
        source._check_positive_rows(n_components)
        source._one_blas_thread = True  # thin blocks: BLAS's own threads cost more than they gain
        return source

    @classmethod
    def part(cls, X, weights, chunk_size, first_row, block):
        """Rows ``first_row`` .. of a source already made (a dask block, in its worker), with their
        weights as that source checked them; ``block`` names it in error messages."""
        source = cls.__new__(cls)
        source._setup(X, weights, chunk_size)
        source.first_row, source.block = first_row, block
        return source

    @classmethod
    def concatenate(cls, sources, n_components=None):
        """One source in memory holding the rows (and weights) of ``sources`` (in memory, complete)
        one after the other: the online fit's start. Their weights were checked when each was made
        (``check_sample_weight``), and are joined, not checked again; ``n_components``: K, to check
        that K rows have a positive weight (None: not checked)."""
        source = cls.__new__(cls)
        X = np.concatenate([part.Xt for part in sources], axis=1).T
        source._setup(X, None if sources[0].weights is None else np.concatenate([part.weights for part in sources]))
        source.Xt = np.ascontiguousarray(X.T)
        source._check_positive_rows(n_components)
        return source

    def _setup(self, X, weights, chunk_size=None, start_size=None, n_jobs=1):
        self.X, self.Xt, self.weights, self.incomplete = X, None, weights, None
        self.n_samples, self.n_features = (int(n) for n in X.shape)
        self.n_points = self.n_samples if weights is None else weighted_total(weights)
        self.chunk_size, self.start_size, self.n_jobs = chunk_size, start_size, n_jobs
        self.first_row, self.block, self._pool = 0, None, None
        self._scratch = threading.local()  # the blocks' γ buffer (_block_rows): one per thread (and per process)
        self._pool_made_for = None  # (one_block, n_blocks) the workers were forked with
        self._one_blas_thread, self._blas_limit = False, None  # BLAS held to one thread while open?
        self._shared_gamma = None  # in memory with n_jobs > 1: γ (K, N) in memory the workers share

    def _check_positive_rows(self, n_components):
        """At least K = ``n_components`` rows with a positive weight (rows with every value missing
        weigh 0 here): the seeds are drawn among them. None: not checked."""
        if n_components is None or self.weights is None:
            return
        n_carrying = carrying_weight(self.weights).size
        if n_carrying < n_components:
            raise ValueError(
                f"n_components={n_components} but only {n_carrying} rows have an observed "
                "value and a positive weight: EM needs at least K of them."
            )

    def __enter__(self):
        """The fit's source (em_driver's ``run_fit`` opens it for the fit): a source of rows holds
        BLAS to one thread from here to ``close``, whatever n_jobs."""
        if self._one_blas_thread:
            self._hold_one_blas_thread()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(wait=exc_type is None)

    def _hold_one_blas_thread(self):
        if self._blas_limit is None:
            self._blas_limit = one_blas_thread()  # threadpoolctl's limit holds from here

    def close(self, wait=True):
        """End the worker processes, if ``map_blocks`` forked them (``wait``: let each finish its
        block; else, on the way out of an exception, terminate them), and give BLAS its threads
        back if this source held it to one."""
        if self._pool is not None:
            self._pool.close(wait)
            # _pool_made_for holds a bound method of this source: kept, it would make a reference
            # cycle, and X, Xᵀ and the shared γ would wait for Python's cycle collector (107 MiB at
            # N = 2,000,000, D = 2, K = 3, freed during the next fit, which it slowed from 0.46 to
            # 0.56-0.70 s: tests/nb03_jobs_causes.py)
            self._pool, self._pool_made_for = None, None
        if self._blas_limit is not None:
            self._blas_limit.restore_original_limits()
            self._blas_limit = None

    def per_point(self, e_pass):
        """L and the statistics of ``e_pass`` per point, or with weights per unit of weight (÷ N, or
        ÷ Σ_i w_i): the online fit's trace and its s(batch)."""
        return e_pass.log_likelihood / self.n_points, e_pass.statistics.scaled(1.0 / self.n_points)

    # ------------------------------------------------------------------ the start and the prior

    def start_rows(self, rng):
        """The rows a start is seeded on, as Xᵀ (D, S), and their weights (S,) or None. In memory:
        all N rows. From rows: all of them if there are at most ``start_size`` (then the start is
        fit_gmm's for the same seed), else ``start_size`` rows drawn uniformly without replacement,
        in file order, among those with w_i > 0 (all of them if no more than ``start_size``): a
        weight-0 row is absent from the fit, so the start of X with weight-0 rows is the start of X
        without them, seed for seed. A bad row raises ``DataError`` (the fit then raises StreamError)."""
        if self.Xt is not None:
            return self.Xt, self.weights
        w, index = self.weights, None
        if self.n_samples > self.start_size:
            candidates = None if w is None else carrying_weight(w)
            n_candidates = self.n_samples if candidates is None else candidates.size
            if n_candidates <= self.start_size:
                index = candidates
            else:
                index = np.sort(rng.choice(n_candidates, size=self.start_size, replace=False))
                index = index if candidates is None else candidates[index]
        rows = self.X[: self.n_samples] if index is None else self.X[index]
        try:
            Xt = rows_as_Xt(rows, self.n_features, "the sample of rows read for the k-means++ start", 0, index)
        except ValueError as err:
            raise DataError(str(err), 0) from None
        return Xt, w if w is None or index is None else w[index]

    def seed_pass(self, n_components, method, rng, statistics_type):
        """The pass a seeded start takes its one M-step from: K seeds drawn among the start rows
        (∝ w_i; k-means++: ∝ w_i D(x_i)², so never a weight-0 row), each of those rows given to its
        nearest seed (hard γ), and the statistics of w_i γ_ik."""
        Xt, w = self.start_rows(rng)
        return self._given(Xt, w, seed_responsibilities(Xt, n_components, method, rng, w), statistics_type)

    def given_pass(self, resp, statistics_type):
        """The pass of given responsibilities γ (K, N) (in memory; a start from responsibilities takes
        its one M-step from it): the statistics of w_i γ_ik, about the γ-weighted means."""
        return self._given(self.Xt, self.weights, resp, statistics_type)

    @staticmethod
    def _given(Xt, w, resp, statistics_type):
        """The pass of γ given for the rows Xᵀ with weights w (no L): its statistics, computed only
        if the start's M-step reads them."""

        def statistics():
            return DataSource._statistics(Xt, resp, w, None, statistics_type)

        return EPass(np.nan, responsibilities=resp, statistics_from=statistics)

    def resolve_prior(self, prior, n_components, covariance_type):
        """None, a ConjugatePrior checked against D and the covariance model, or "default" made from
        the data's mean and covariance (``default_prior``): in memory, of all the rows (weighted, or
        with missing values: of one Gaussian fitted by EM to the rows grouped by pattern with their
        weights, ``em_incomplete.observed_gaussian``, its covariance with divisor Σ_i w_i - 1); from
        rows, of the start rows drawn with a fixed seed (all of them up to ``start_size``: then
        fit_gmm's "default"; else to about 1/√start_size of the data's spread)."""
        if not (isinstance(prior, str) and prior == "default"):
            return resolve_prior(prior, np.empty((0, self.n_features)), n_components, covariance_type)
        summary = self.incomplete
        if self.Xt is not None:
            X, w = self.X, self.weights
        else:
            try:
                Xt, w = self.start_rows(np.random.default_rng(0))
            except DataError as err:
                raise StreamError(str(err), points_consumed=0, fit=None) from None
            X = Xt.T
        moments = None
        if w is not None:
            summary = em_incomplete.group_patterns(X, w) if summary is None else summary
            n_points = summary.total_weight
            check_two_points(n_points, "default_prior", "pass more points or a ConjugatePrior of your own")
            mean, covariance = em_incomplete.observed_gaussian(summary)
            moments = mean, covariance * n_points / (n_points - 1), n_points
        return resolve_prior(prior, X, n_components, covariance_type, moments)

    def floor(self):
        """eps·tr S, S the covariance of the points, when they are the data (in memory, complete, no
        weights), for the collapse check of the exact M-step (reg_covar = 0), the same at every
        iteration (11 of an iteration's ~120 µs at N = 500, measured, when each iteration's
        statistics gave it); None otherwise (then it comes from each iteration's statistics, and
        only when the check's screen fails, rarely)."""
        if self.Xt is None or self.weights is not None or self.incomplete is not None:
            return None
        return _EPS * self.Xt.var(axis=1).sum()

    # ------------------------------------------------------------------ the E-pass

    def e_pass(self, params, spent=None, shift=None, log_weights=None, statistics_type=None):
        """The E-pass under θ (see the class docstring): ``map_blocks`` over the blocks, summed.
        ``spent``: a pass whose γ memory may be reused; ``shift``: the c_k of an in-memory pass's
        statistics (None: the γ-weighted means; from rows they are always about θ's means, so that
        blocks add); ``log_weights`` and ``statistics_type``: see ``pass_of`` (the variational
        fit's). ``spent``, ``shift``, ``log_weights`` and ``statistics_type`` are read in memory
        only: a source of rows or of incomplete data ignores them (none of its fitters passes them)."""
        if self.incomplete is not None:
            return self._incomplete_pass(params)
        if self.Xt is None:
            n_blocks = -(-self.n_samples // self.chunk_size)
            return combine_passes(self.map_blocks(self.block_summary, params, n_blocks))
        if self.n_jobs == 1:
            (whole,) = self.map_blocks(self._memory_pass, (params, spent, shift, log_weights, statistics_type), 1)
            return whole
        return self._blocked_pass(params, spent, log_weights, statistics_type)

    def _blocked_pass(self, params, spent, log_weights, statistics_type):
        """The E-pass in memory with n_jobs > 1: blocks of ``MEMORY_BLOCK`` rows (``memory_block``),
        statistics about θ's means, summed in block order; each block writes its γ into a (K, N)
        array in shared memory, made before the workers are forked (they inherit it), copied into
        the spent pass's γ (or a new array) for the fit's result."""
        K, N = params.n_components, self.n_samples
        if self._shared_gamma is None or self._shared_gamma.shape[0] != K:
            self.close()  # workers forked with another γ array would write into that one
            self._shared_gamma = np.frombuffer(mmap.mmap(-1, K * N * 8), dtype=float).reshape(K, N)
        n_blocks = -(-N // MEMORY_BLOCK)
        total = combine_passes(self.map_blocks(self.memory_block, (params, log_weights, statistics_type), n_blocks))
        resp = np.empty((K, N)) if spent is None else spent.responsibilities
        np.copyto(resp, self._shared_gamma)
        return EPass(total.log_likelihood, total.statistics, responsibilities=resp)

    def memory_block(self, task, index):
        """Block ``index`` of a source in memory with n_jobs > 1 (rows index·MEMORY_BLOCK ..., with
        their slice of w): its γ written into the shared (K, N) array, its summary (statistics
        about θ's means) returned."""
        params, log_weights, statistics_type = task
        start, stop, w, gamma = self._block_rows(index, MEMORY_BLOCK, params.n_components)
        Xt = np.ascontiguousarray(self.Xt[:, start:stop])
        e_pass = self.pass_of(Xt, w, params, params.means, gamma, log_weights, statistics_type)
        summary = e_pass.summary()
        self._shared_gamma[:, start:stop] = e_pass.responsibilities
        return summary

    def _memory_pass(self, task, index):
        """The one block of a source in memory: all N points (``pass_of``), γ kept."""
        params, spent, shift, log_weights, statistics_type = task
        out = None if spent is None else spent.responsibilities
        return self.pass_of(self.Xt, self.weights, params, shift, out, log_weights, statistics_type, self.n_points)

    def _incomplete_pass(self, params):
        """The E-pass on data with missing values (and weights): the map of ``pattern_pass`` over the
        missingness patterns, summed in pattern order, with γ gathered into the order of X (an empty
        row gets γ_ik = π_k). The same EPass as the complete data's: the driver and the M-steps do not
        change (see em_incomplete).

        The same sum as em_incomplete's ``expected_statistics``, kept apart: this one maps the
        patterns through ``map_blocks`` (worker processes with n_jobs > 1) and adds their
        SufficientStatistics as they arrive; that one, a plain loop below the core, returns arrays
        for ``observed_gaussian``'s one-Gaussian fit, which has no DataSource. Both call
        ``pattern_statistics`` per pattern; tests/test_contract.py pins their results together."""
        data = self.incomplete
        resp = np.empty((params.n_components, data.n_samples))
        resp[:, data.empty_rows] = params.weights[:, None]

        def gathered():  # each pattern's γ into resp as its pass goes by: one pattern's pass held at a time
            parts = self.map_blocks(self.pattern_pass, params, len(data.patterns))
            for pattern, part in zip(data.patterns, parts, strict=True):
                resp[:, pattern.rows] = part.responsibilities
                yield part

        total = combine_passes(gathered())
        return EPass(total.log_likelihood, total.statistics, responsibilities=resp)

    def pattern_pass(self, params, index):
        """Pattern ``index``'s E-pass (missing values): γ from each point's observed coordinates,
        Σ_i w_i log p(x_io | θ), and the expected sufficient statistics (the conditional mean and
        covariance of the missing coordinates), about θ's means (em_incomplete's
        ``pattern_statistics``). For the diag and spherical models the second moments are kept as
        their diagonals, as ``statistics_of`` keeps them."""
        pattern, weighted = self.incomplete.patterns[index], self.incomplete.weighted
        gamma = np.empty((params.n_components, pattern.rows.size))
        log_lik, counts, first, second = em_incomplete.pattern_statistics(
            pattern, weighted, params.weights, params.means, params.covariances, params.means, gamma
        )
        if params.covariance_type in ("diag", "spherical"):
            second = np.ascontiguousarray(np.diagonal(second, axis1=1, axis2=2))
        statistics = SufficientStatistics(counts, params.means, first, second, pattern.total_weight)
        return EPass(log_lik, statistics, responsibilities=gamma)

    def block_summary(self, params, index):
        """Block ``index``'s E-pass (rows index·chunk_size ..., with their slice of w), statistics
        about θ's means, as it crosses from a worker (``EPass.summary``: no γ). A bad block raises
        ``DataError`` naming its rows."""
        start, stop, w, gamma = self._block_rows(index, self.chunk_size, params.n_components)
        where = f"chunk {index}" + ("" if self.block is None else f" of dask block {self.block}")
        where += f" (rows {self.first_row + start:,} to {self.first_row + stop - 1:,})"
        try:
            Xt = rows_as_Xt(self.X[start:stop], self.n_features, where, self.first_row + start)
        except ValueError as err:
            raise DataError(str(err), self.first_row + start) from None
        return self.pass_of(Xt, w, params, params.means, gamma).summary()

    def _block_rows(self, index, size, n_components):
        """Block ``index`` of blocks of ``size`` rows (``memory_block``'s, ``block_summary``'s): its
        first row, the row after its last, their slice of w (None without weights), and memory for
        their γ, (K, rows): this thread's one (K, size) buffer, reused by each of its blocks (a
        block's summary holds no γ; ``memory_block`` copies it out): a fresh one per block cost 0.55 ms
        of page faults in a block's 1.8 ms at 20,000 rows, K = 3, D = 2 (measured). Per thread
        (threading.local), not per source, so that the map may run blocks in threads as well as in
        forked processes (each its own copy)."""
        start = index * size
        stop = min(start + size, self.n_samples)
        gamma = getattr(self._scratch, "gamma", None)
        if gamma is None or gamma.shape != (n_components, min(size, self.n_samples)):
            gamma = self._scratch.gamma = np.empty((n_components, min(size, self.n_samples)))
        return start, stop, None if self.weights is None else self.weights[start:stop], gamma[:, : stop - start]

    def map_blocks(self, one_block, task, n_blocks):
        """``one_block(task, index)`` for index 0 .. n_blocks - 1, in block order: the one place
        blocks are mapped (``task``: θ, or what a block reads besides its index). With n_jobs = 1
        one after the other, lazily: its callers sum the blocks as they come (``combine_passes``), so
        memory holds one block's pass at a time (on incomplete data, besides the (K, N) γ that each
        pattern's γ is copied into);
        else by up to n_jobs processes (em_workers' ``BlockMap``: this one and min(n_jobs,
        n_blocks) - 1 workers forked on first use, after BLAS is held to one thread, which
        inherit ``one_block``, the rows and the limit, and end with ``close``, which also lifts
        the limit), each taking
        the next block not yet taken and handing back the summaries in block order, so their sum
        is the one-process sum, bit for bit. Processes, not threads: see em_workers' docstring; a
        thread pool made here instead (the one line ``BlockMap(...)``) gives the same fits, since each
        block keeps its buffers per thread (tests/test_contract.py swaps it in).
        The workers hold the ``one_block`` and ``n_blocks`` they were forked with: a call with
        another function or another number of blocks ends them and forks new ones (only ``task``
        crosses on each call)."""
        if self.n_jobs == 1 and n_blocks == 1:  # no generator: 1 µs of a 53 µs E-pass at N = 500
            return (one_block(task, 0),)  # (tests/source_timing.py, measured)
        if self.n_jobs == 1:
            return (one_block(task, index) for index in range(n_blocks))
        if self._pool is not None and self._pool_made_for != (one_block, n_blocks):
            self.close()  # forked for another block function: it would run that one
        if self._pool is None:
            self._hold_one_blas_thread()  # before the fork: the workers inherit it; until close()
            self._pool = BlockMap(one_block, n_blocks, self.n_jobs)
            self._pool.__enter__()  # forks the workers; close() ends them
            self._pool_made_for = (one_block, n_blocks)
        return self._pool(task)

    @staticmethod
    def pass_of(Xt, sample_weight, params, shift=None, out=None, log_weights=None, statistics_type=None, n_points=None):
        """The E-pass of one block of points under θ, with the statistics it feeds: where every fit's
        responsibilities meet the points (but on incomplete data: ``pattern_pass``), and where the
        points' weights multiply them.

        Parameters
        ----------
        Xt : ndarray of shape (n_features, n_samples)
            Xᵀ of the block, C-contiguous.
        sample_weight : ndarray of shape (n_samples,) or None
            w_i >= 0: the statistics are those of w_i γ_ik (N = Σ_i w_i) and the log-likelihood is
            Σ_i w_i log p(x_i | θ); γ itself is unchanged.
        params : GMMParams
        shift : ndarray of shape (n_components, n_features) or None
            The c_k of the statistics; None: the γ-weighted means (exact, for data in memory).
        out : ndarray of shape (n_components, n_samples) or None
            Memory for γ (a spent pass's).
        log_weights : ndarray of shape (n_components,) or None
            Replaces log π_k (see ``log_weighted_densities``): the variational fit's E[log π_k] etc.
        statistics_type : {"full", "diag", "spherical", "tied"} or None
            The covariance model the statistics serve (diag and spherical keep only the second
            moments' diagonals); None: ``params.covariance_type``.
        n_points : float or None
            Σ_i w_i of these points when the caller holds it (the source's N, read by the pass of all
            its points in memory); None: summed here (``weighted_total``; a block's own).

        Returns
        -------
        EPass
        """
        statistics_type = params.covariance_type if statistics_type is None else statistics_type
        resp, log_density = point_e_step(Xt, params, out, log_weights)
        return EPass(
            weighted_total(sample_weight, log_density),
            responsibilities=resp,
            statistics_from=lambda: DataSource._statistics(Xt, resp, sample_weight, shift, statistics_type, n_points),
        )

    @staticmethod
    def _statistics(Xt, resp, sample_weight, shift, statistics_type, n_points=None):
        """The statistics of w_i γ_ik (of γ without weights) from Xᵀ (D, N) and γ (K, N), with
        N = Σ_i w_i (``n_points`` when given, else summed)."""
        stats = statistics_of(Xt, weigh(resp, sample_weight), shift, statistics_type)
        if sample_weight is None:
            return stats
        return dataclasses.replace(stats, n_samples=weighted_total(sample_weight) if n_points is None else n_points)


class SourceFit:
    """The variant of ``run_fit`` (em_driver) for fit_gmm and em_scale's fit_gmm_chunked: the
    DataSource's E-pass (or ``e_pass``, a function (θ, spent) -> EPass that replaces it: the
    chunked fit's dask task graph), the ML or MAP M-step (``m_step_with_prior``), and L(θ), or with
    a prior L(θ) + log p(θ), as the objective."""

    def __init__(self, name, source, settings, prior, e_pass=None):
        self.name, self.source, self.settings, self.prior = name, source, settings, prior
        self.objective_name = "log-likelihood" if prior is None else "log-posterior"
        self._e_pass = source.e_pass if e_pass is None else e_pass
        self.floor = source.floor() if settings.reg_covar == 0 and prior is None else None  # eps·tr S

    @classmethod
    def fit_gmm_on(cls, source, settings, init, prior):
        """fit_gmm's variant on a DataSource already made (its weights checked when it was made, and
        not again) and its ``init`` checked, for ``run_fit``: ``settings`` from ``fit_settings``,
        ``init`` and ``prior`` as fit_gmm takes them. fit_gmm's, and em_scale's online start on its
        joined batches (``DataSource.concatenate``)."""
        forms = ("methods", "params", "responsibilities")
        init = check_init(init, forms, source.n_samples, source.n_features, settings)
        prior = source.resolve_prior(prior, settings.n_components, settings.covariance_type)
        return cls("fit_gmm", source, settings, prior), init

    def start(self, method, rng):
        settings = self.settings
        return self.m_step(self.source.seed_pass(settings.n_components, method, rng, settings.covariance_type))

    def given_start(self, init):
        """A GMMParams as given; responsibilities (K, N) by one M-step from them."""
        if isinstance(init, GMMParams):
            return init
        return self.m_step(self.source.given_pass(init, self.settings.covariance_type))

    def e_pass(self, params, spent):
        return self._e_pass(params, spent)

    def m_step(self, e_pass):
        return m_step_with_prior(
            e_pass.statistics, self.prior, self.settings.reg_covar, self.settings.covariance_type, self.floor
        )

    def objective(self, previous, params, e_pass):
        """L(θ), or with a prior L(θ) + log p(θ)."""
        if self.prior is None:
            return e_pass.log_likelihood
        return e_pass.log_likelihood + log_prior(params, self.prior)

    def result(self, run, n_failed_starts):
        last = None if run.last is None else run.last.responsibilities  # None from blocks: no (N, K) array
        return GMMFit(
            params=run.state,
            responsibilities=None if last is None else last.T,
            log_likelihoods=np.array(run.log_likelihoods),
            n_iter=len(run.objectives) - 1,
            converged=run.converged,
            tol=self.settings.tol,
            params_history=run.kept,
            log_posteriors=None if self.prior is None else np.array(run.objectives),
            prior=self.prior,
            n_failed_starts=n_failed_starts,
        )


def fit_gmm(
    X,
    n_components,
    *,
    init="kmeans++",
    n_init=1,
    max_iter=200,
    tol=1e-6,
    reg_covar=1e-6,
    covariance_type="full",
    seed=None,
    keep_params=False,
    prior=None,
    allow_missing=False,
    sample_weight=None,
    n_jobs=1,
):
    """Fit a Gaussian mixture with K = ``n_components`` components by EM (MAP-EM with a prior).

    Each iteration is one M-step (from the current γ) then one E-step (new γ, L(θ_t)). The
    loop stops when the gain per point, (L(θ_t) - L(θ_{t-1})) / N, falls below ``tol`` (a
    negative gain too: with reg_covar > 0 the M-step is not an exact maximiser, and a tiny
    drop means what a tiny gain means, that EM has stopped moving), or after ``max_iter``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    n_components : int
    init : {"kmeans++", "random"}, GMMParams or array-like of shape (n_samples, n_components)
        How θ_0 is chosen (see ``init_params``); a GMMParams is used as given, responsibilities
        by one M-step from them (with the prior, if any); then ``n_init`` is ignored.
    n_init : int, default 1
        Number of starts; the fit with the highest final objective is returned. A start that
        collapses (reg_covar=0) is skipped and counted in ``n_failed_starts``; only when every
        start collapses is the first one's error raised.
    max_iter : int, default 200
        0 returns the start, evaluated.
    tol : float, default 1e-6
        0 runs all ``max_iter`` iterations. With tol > 0, a fit that reaches ``max_iter``
        before its gain per point falls below tol issues a ``ConvergenceWarning``.
    reg_covar : float, default 1e-6
        Added to each covariance diagonal in the M-step. With 0 (the exact step), a
        component that collapses onto too few points raises a ValueError naming the fix.
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
        The covariance model (see ``m_step``), with scikit-learn's names and definitions.
    seed : int, numpy.random.Generator or None
        The same seed gives the same result.
    keep_params : bool, default False
        Also return θ_0 .. θ_T as ``params_history`` (K·D² numbers per iteration).
    prior : None, "default" or ConjugatePrior
        MAP-EM with this prior ("default": mclust's, see ``default_prior``), climbing L(θ) +
        log p(θ) (``log_posteriors``; ``tol`` applies to it). reg_covar=0 is then safe.
    allow_missing : bool, default False
        Treat NaN in X as missing at random (em_incomplete, notebook 06): the E-step uses the
        density of each point's observed coordinates and the expected statistics of its missing
        ones (conditional mean and conditional covariance), and L is the observed-data
        log-likelihood Σ_i log p(x_io | θ). Rows with every value missing carry no information:
        they take no part in the fit (N counts the others) and get γ_ik = π_k. A column missing
        in every row is an error. Along a direction that no point of component k observes, EM
        leaves μ_k and Σ_k where the start put them, widened by reg_covar each iteration (L does
        not depend on them there). Starts are chosen on the data with each NaN replaced by its
        column's mean (responsibilities as ``init``: one M-step on those data); "default" prior
        takes the data's mean and covariance from one Gaussian fitted by EM to the incomplete
        data. Without this option a NaN in X is an error, so an accidental NaN never becomes a
        silent model.
    sample_weight : array-like of shape (n_samples,), optional
        w_i >= 0, finite, not all 0: point i counts w_i times, in the statistics (w_i γ_ik) and in
        L = Σ_i w_i log p(x_i | θ); integer weights give the fit of the data with row i repeated
        w_i times (from the same start), π_k = N_k / Σ_i w_i, and ``tol`` is per unit of weight.
        Seeds are drawn ∝ w_i (k-means++: ∝ w_i D(x_i)²), so a weight-0 row is never a seed.
        Combines with ``allow_missing``. For BIC, N = Σ_i w_i (notebook 06, §4); ``bic`` and ``aic``
        take no weights (they count rows): compute -2 L + p log Σ_i w_i from the fit.
    n_jobs : int, default 1
        Processes for each E-pass: this one and n_jobs - 1 workers forked from it once per fit (no
        more than the blocks: at N <= ``MEMORY_BLOCK`` none, but the pass is still cut as below),
        sharing X (nothing copied), with BLAS held to one thread, ended with the fit (``DataSource``,
        em_workers). With n_jobs > 1 the pass runs in blocks of ``MEMORY_BLOCK`` rows whatever
        n_jobs, so every n_jobs > 1 gives n_jobs = 2's result bit for bit, and n_jobs = 1's to
        rounding (tests/pool_spread.py, 8 seeds, the 4 models: L within 1.6e-15 relative, θ within
        3.7e-14 of its largest entry; with ``allow_missing`` the blocks are the missingness
        patterns and the bits are n_jobs = 1's). Speed: tests/pool_ab.py prints n_jobs = 2 against
        1; on this 2-core machine at a load average of 2.6 to 2.8 (other work on one core) it gave
        0.95 and 1.07x one process's throughput at N = 1,000,000, D = 2, K = 3 and 0.86 and 0.90x at
        200,000, 8, 6 (two runs, 2026-12-07): no gain without a free core; at a load average of 0.9
        (idle cores) 1.94x and 1.58x (one run, 2026-12-07, 06:52 UTC). Linux only
        (elsewhere n_jobs > 1 raises; em_workers says why).

    Returns
    -------
    GMMFit

    Warns
    -----
    ConvergenceWarning
        When tol > 0 and the returned fit stopped at ``max_iter`` (not with max_iter=0).
    """
    check_bool(allow_missing, "allow_missing")
    check_int(n_jobs, "n_jobs", 1)
    X = check_X(X, allow_missing=allow_missing)
    settings = fit_settings(
        X.shape[0], n_components, n_init=n_init, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
        covariance_type=covariance_type, keep_params=keep_params,
    )  # fmt: skip
    source = DataSource(X, sample_weight, n_components, allow_missing=allow_missing, n_jobs=n_jobs)
    variant, init = SourceFit.fit_gmm_on(source, settings, init, prior)
    return run_fit(variant, settings, init, seed, source.n_points)


# --------------------------------------------------------------------------- after the fit


def match_components(estimate, reference):
    """The permutation that lines fitted components up with reference ones.

    EM's component order is arbitrary (label switching). This solves the assignment
    problem on the squared distances between means with scipy's linear_sum_assignment.

    Parameters
    ----------
    estimate, reference : GMMParams with the same K and D

    Returns
    -------
    order : ndarray of shape (n_components,)
        ``order[j]`` is the estimated component that matches reference component j, so
        ``estimate.permute(order)`` is aligned with ``reference`` and
        ``responsibilities[:, order]`` has its columns in the reference's order.
    """
    check_params(estimate, "estimate")
    check_params(reference, "reference")
    if (estimate.n_components, estimate.n_features) != (reference.n_components, reference.n_features):
        raise ValueError(
            f"estimate has K={estimate.n_components}, D={estimate.n_features} but reference has "
            f"K={reference.n_components}, D={reference.n_features}; they must agree."
        )
    diff = reference.means[:, None, :] - estimate.means[None, :, :]
    _, order = linear_sum_assignment(np.einsum("jkd,jkd->jk", diff, diff))
    return order


def n_parameters(params) -> int:
    """Free parameters: (K-1) weights + K·D means + the covariances' own, which are
    K·D(D+1)/2 ("full"), K·D ("diag"), K ("spherical") or D(D+1)/2 ("tied")."""
    K, D = params.n_components, params.n_features
    covariance = {"full": K * D * (D + 1) // 2, "diag": K * D, "spherical": K, "tied": D * (D + 1) // 2}
    return (K - 1) + K * D + covariance[params.covariance_type]


def bic(X, params) -> float:
    """Bayesian information criterion, -2 log p(X | θ) + p log N: lower is better
    (scikit-learn's sign; R's mclust reports the negative)."""
    X = check_X(X)
    return bic_value(log_likelihood(X, params), n_parameters(params), X.shape[0])


def bic_value(log_likelihood, n_params, n_samples) -> float:
    """BIC from its parts, -2 L + p log N (``bic`` computes L = log p(X | θ) first; a model
    search that has L from its fits calls this)."""
    return -2.0 * log_likelihood + n_params * np.log(n_samples)


def data_covariance(X) -> np.ndarray:
    """S, the covariance of the points of X (N, D) with divisor N, shape (D, D): the statistics of
    one component holding every point, through the collapse check's ``_data_covariance``."""
    Xt = np.ascontiguousarray(np.asarray(X, dtype=float).reshape(len(X), -1).T)
    return _data_covariance(statistics_of(Xt, np.ones((1, Xt.shape[1]))))


def aic(X, params) -> float:
    """Akaike information criterion, -2 log p(X | θ) + 2p: lower is better."""
    X = check_X(X)
    return -2.0 * log_likelihood(X, params) + 2.0 * n_parameters(params)


def expected_complete_log_likelihood(X, params, responsibilities) -> float:
    """Q(θ | θ_t) = Σ_i Σ_k γ_ik [log π_k + log N(x_i | μ_k, Σ_k)].

    ``responsibilities`` are γ computed under θ_t; ``params`` is θ. At θ = θ_t,
    Q(θ_t | θ_t) + H(γ) = log p(X | θ_t) exactly.
    """
    X = check_X(X)
    _check_params_match(params, X.shape[1])
    resp = check_responsibilities(responsibilities, X.shape[0])
    if resp.shape[0] != params.n_components:
        raise ValueError(f"responsibilities have {resp.shape[0]} columns but params have K={params.n_components}.")
    log_prob = log_weighted_densities(np.ascontiguousarray(X.T), params)
    held = resp > 0  # terms with γ_ik = 0 are 0, even where log π_k = -inf
    return float((resp[held] * log_prob[held]).sum())


def responsibility_entropy(responsibilities) -> float:
    """H(γ) = -Σ_i Σ_k γ_ik log γ_ik (with 0 log 0 = 0), in nats."""
    resp = as_float_array(responsibilities, "responsibilities")
    check_responsibilities(resp, resp.shape[0] if resp.ndim else 0)
    return float(entr(resp).sum())

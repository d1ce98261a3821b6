"""Checks of what a reader passes in, one wording for every fitter; a room below em_helpers.

The checks the fitters share live here, and run before any arithmetic, with an error that says
what was expected and what was given (an array's values only when it is short: a message is
read, not scrolled). Checks that belong to one room (GMMParams' own, a prior's, the search's,
the variational and the online fit's options) sit in that room and call these functions or keep
their wording. The loop settings of fit_gmm, fit_gmm_chunked and fit_bayesian_gmm are checked
once, by ``fit_settings``, into a ``FitSettings`` (the online fit and the search check theirs
with the functions here, as their options differ: the search's n_init may be 0): integers are
not bools nor floats like 2.0, numbers are finite and not bools (True is not a tolerance).
The sample weights' check is em_weights' ``check_sample_weight``, with what a weight means.
em_helpers re-exports every name here, so ``em.check_X`` and the rest resolve as they did; this
module imports nothing of the project.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

# The covariance models, with scikit-learn's names (see m_step).
COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")


# How init_params and fit_gmm may choose the K seed points.
START_METHODS = ("kmeans++", "random")


# Largest |value| accepted in X and in means (covariances: its square): squared distances
# must stay far from float64's overflow at 1.8e308.
MAX_ABS = 1e100


def check_covariance_structure(covariances, covariance_type):
    """Covariances (K, D, D) must have the form their covariance_type says (diagonal, σ²I, shared)."""
    check_covariance_type(covariance_type)
    D = covariances.shape[1]
    scale = np.abs(covariances).max() + np.finfo(float).tiny
    off_diagonal = covariances * (1 - np.eye(D))
    diagonals = np.diagonal(covariances, axis1=1, axis2=2)
    if covariance_type in ("diag", "spherical") and np.abs(off_diagonal).max() > 1e-12 * scale:
        raise ValueError(f'"{covariance_type}" covariances must be diagonal.')
    if covariance_type == "spherical" and np.ptp(diagonals, axis=1).max() > 1e-12 * scale:
        raise ValueError('"spherical" covariances must be multiples of the identity, σ_k²·I.')
    if covariance_type == "tied" and np.abs(covariances - covariances[0]).max() > 1e-12 * scale:
        raise ValueError('"tied" covariances must be the same for every component.')


def as_float_array(values, name):
    """``values`` as a float64 array, or a ValueError (ragged) / TypeError (not real numbers)."""
    try:
        arr = np.array(values)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers; got an array of dtype {arr.dtype}.")
    return arr.astype(np.float64)


def check_X(X, allow_missing=None):
    """X as a C-contiguous float64 array of shape (n_samples, n_features). ``allow_missing``: None
    (the default) refuses NaN; fit_gmm passes its option: True keeps NaN (a missing value; inf is
    still refused), False refuses NaN and its error names the option."""
    arr = as_float_array(X, "X")
    if arr.ndim == 1:
        arr = arr[:, None]  # N one-dimensional points
    if arr.ndim != 2:
        raise ValueError(
            f"X must have shape (n_samples, n_features), or (n_samples,) for 1-D points; "
            f"got {arr.ndim} dimensions with shape {arr.shape}."
        )
    if arr.size == 0:
        raise ValueError(f"X is empty (shape {arr.shape}); EM needs at least one point and one feature.")
    finite = np.isfinite(arr)
    if allow_missing:
        finite |= np.isnan(arr)
    if not finite.all():
        only_nan = allow_missing is False and not np.isinf(arr).any()
        fix = ", or let fit_gmm(..., allow_missing=True) treat NaN as missing at random" if only_nan else ""
        raise _not_finite(arr, finite, "X", lambda row: row, fix)
    if allow_missing:  # NaN only here
        peak = np.max(np.abs(arr), initial=0.0, where=~np.isnan(arr))
    else:  # no mask: with the NaN test skipped too, check_X takes 11 µs at N = 500, not 19 (measured)
        peak = np.abs(arr).max()
    _check_within_max_abs(peak, "X")
    return np.ascontiguousarray(arr)


def _not_finite(arr, finite, name, row_number, fix=""):
    """The one error for NaN or inf values, in X (``check_X``) or in a chunk or batch of rows
    (``rows_as_Xt``): how many, in how many rows, and the first such row as ``row_number`` numbers it
    (its row in X, in the file or in the batch)."""
    bad_rows = np.flatnonzero(~finite.all(axis=1))
    return ValueError(
        f"{name} contains {np.isnan(arr).sum()} NaN and {np.isinf(arr).sum()} inf values (in {bad_rows.size} "
        f"rows, the first is row {row_number(bad_rows[0]):,}); EM needs finite numbers: drop those rows first{fix}."
    )


def _check_within_max_abs(peak, name):
    """The one error for values beyond ±MAX_ABS (``peak``, the largest |value|), in X or in rows read."""
    if peak > MAX_ABS:
        raise ValueError(
            f"{name} has values up to {peak:.3g}; beyond ±{MAX_ABS:g} their squares leave no headroom in "
            "float64: rescale the data (divide each column by its standard deviation, say) first."
        )


def check_int(value, name, low):
    """An integer (not a bool, not a float like 2.0) >= low (if given), or a TypeError/ValueError saying so."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")


def check_bool(value, name, true_means=None):
    """True or False (not 0, 1 or a string), or a TypeError saying so; ``true_means``: what True
    asks for, named in the message."""
    if not isinstance(value, bool):
        meaning = "" if true_means is None else f" ({true_means})"
        raise TypeError(f"{name} must be True{meaning} or False; got {value!r}.")


def check_rows(X):
    """(n_samples, n_features) of anything that slices by rows and has ``.shape``."""
    shape = getattr(X, "shape", None)
    if shape is None or not hasattr(X, "__getitem__"):
        raise TypeError(
            f"X must slice by rows and have .shape (a NumPy array, np.memmap, h5py or zarr dataset, "
            f"dask array); got {type(X).__name__}. Wrap a list with np.asarray first."
        )
    if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"X must have shape (n_samples, n_features) with both >= 1; got {tuple(shape)}.")
    return int(shape[0]), int(shape[1])


def rows_as_Xt(rows, n_features, where, first_row=0, row_numbers=None):
    """A chunk or batch as a contiguous float64 Xᵀ of shape (D, B), or a ValueError naming ``where``
    (its rows are numbered from ``first_row``, or by ``row_numbers`` when they were drawn).

    Not ``check_X``: rows read in the middle of a fit, whose D the data's shape fixed, whose error
    becomes a StreamError that keeps the fit so far, and where NaN is never a missing value; a
    non-number is a ValueError here (the stream's), a TypeError there. Their values get the same
    checks and words (``_not_finite``, ``_check_within_max_abs``)."""
    try:
        arr = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is not an array of real numbers ({err}).") from None
    if arr.ndim == 1 and n_features == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != n_features:
        raise ValueError(
            f"{where} has shape {arr.shape}; expected (B, {n_features}) with B >= 1, the shape of "
            "every other batch: give every batch the same columns, in the same order."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        raise _not_finite(arr, finite, where, lambda row: first_row + row if row_numbers is None else row_numbers[row])
    _check_within_max_abs(np.abs(arr).max(), where)
    return np.ascontiguousarray(arr.T)


def check_two_points(n_points, what, fix):
    """At least 2 points, or with sample weights a total weight Σ_i w_i above 1: what the data's
    covariance with divisor N - 1 needs (``sample_covariance``; the default priors of MAP-EM and of
    the variational fit, and the model search, which scale from it). Else the one ValueError,
    naming ``what`` needs it and the ``fix``."""
    if n_points > 1:
        return
    raise ValueError(
        f"{what} needs at least 2 points (with sample_weight, a total weight above 1) to estimate the data's "
        f"covariance; got {n_points:g}: {fix}."
    )


def check_n_components(n_components, n_samples):
    """K must be an integer in 1..N."""
    check_int(n_components, "n_components", None)
    if not 1 <= n_components <= n_samples:
        raise ValueError(f"n_components must be between 1 and the number of points N={n_samples}; got {n_components}.")


def check_data(X, n_components, covariance_type):
    """X checked (see check_X) for a model of K = ``n_components`` components (in 1..N) and a
    known ``covariance_type``: what every function that builds a mixture from data checks first."""
    X = check_X(X)
    check_n_components(n_components, X.shape[0])
    check_covariance_type(covariance_type)
    return X


def check_covariance_type(covariance_type):
    """One of COVARIANCE_TYPES."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {covariance_type!r}.")


def is_finite_real(value):
    """A real number (not a bool: True is not a tolerance) that is finite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))


def check_reg_covar(reg_covar):
    """A finite real number >= 0."""
    if not is_finite_real(reg_covar) or reg_covar < 0:
        raise ValueError(f"reg_covar must be a finite number >= 0; got {reg_covar!r}.")


def check_tol(tol):
    """The stopping threshold: a finite number >= 0 (0 runs every iteration)."""
    if not is_finite_real(tol) or not tol >= 0:
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}.")


def is_symmetric_positive_definite(matrix):
    """Whether a finite (D, D) matrix is symmetric (to 1e-10 of its largest entry) and positive definite."""
    if np.abs(matrix - matrix.T).max() > 1e-10 * np.abs(matrix).max():
        return False
    return bool(np.linalg.eigvalsh(matrix)[0] > 0)


def check_responsibilities(responsibilities, n_samples):
    """γ as (N, K), finite, non-negative, rows summing to 1; returned laid out (K, N)."""
    resp = as_float_array(responsibilities, "responsibilities")
    if resp.ndim != 2 or resp.shape[0] != n_samples or resp.shape[1] == 0:
        raise ValueError(
            f"responsibilities must have shape (n_samples, n_components) = ({n_samples}, K); got {resp.shape}."
        )
    if not np.isfinite(resp).all() or (resp < 0).any():
        raise ValueError("responsibilities must be finite and non-negative.")
    row_sums = resp.sum(axis=1)
    if np.abs(row_sums - 1.0).max() > 1e-6:
        i = int(np.argmax(np.abs(row_sums - 1.0)))
        raise ValueError(f"each row of responsibilities must sum to 1; row {i} sums to {row_sums[i]:.6g}.")
    return np.ascontiguousarray(resp.T)  # (K, N)


def check_new_points(X, n_features):
    """New points as Xᵀ (D, N) for a fit with D = ``n_features``; a 1-D X is N points only when D = 1."""
    arr = as_float_array(X, "X")
    if arr.ndim == 1 and n_features > 1:
        raise ValueError(
            f"X is 1-D (shape {arr.shape}) but the fit has D={n_features} features: pass one point as "
            f"X.reshape(1, -1) or [x], and several as an array of shape (n_samples, {n_features}). "
            "(A 1-D X is read as n_samples one-dimensional points only when D=1.)"
        )
    arr = check_X(arr)
    if arr.shape[1] != n_features:
        raise ValueError(f"X has {arr.shape[1]} columns but the fit has D={n_features} features.")
    return np.ascontiguousarray(arr.T)


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """The loop's settings, checked once by ``fit_settings`` (the same checks and wording for
    every fitter)."""

    n_components: int
    n_init: int = 1
    max_iter: int = 200
    tol: float = 1e-6
    reg_covar: float = 1e-6
    covariance_type: str = "full"
    keep_params: bool = False


def fit_settings(n_samples, n_components, *, n_init, max_iter, tol, reg_covar, covariance_type, keep_params=False):
    """``FitSettings`` checked for N = ``n_samples`` points: K in 1..N, integers that are not bools,
    finite non-negative numbers that are not bools, a known covariance model."""
    check_n_components(n_components, n_samples)
    check_reg_covar(reg_covar)
    check_covariance_type(covariance_type)
    check_int(n_init, "n_init", 1)
    check_int(max_iter, "max_iter", 0)
    check_tol(tol)
    check_bool(keep_params, "keep_params")
    return FitSettings(n_components, n_init, max_iter, float(tol), float(reg_covar), covariance_type, keep_params)


_INIT_FORMS = {
    "methods": '"kmeans++", "random"',
    "params": "a GMMParams",
    "responsibilities": "an (N, K) array of responsibilities",
    "none": "None",
}


def init_error(forms, init):
    """The one wording of a bad ``init`` for every fitter: ``forms`` are the keys of what it
    accepts, in order. It names a bad string and the type of anything else, never an array's
    values (an (N, K) array would fill the screen). A ValueError for an unknown method name,
    else a TypeError."""
    words = [_INIT_FORMS[form] for form in forms]
    wanted = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    if isinstance(init, str) and "methods" in forms:
        return ValueError(f"init must be {wanted}; got {init!r}.")
    return TypeError(f"init must be {wanted}; got {type(init).__name__}.")

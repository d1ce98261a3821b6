"""θ = (π, μ, Σ) as one validated, read-only value: ``GMMParams``, with the Cholesky factors of its
covariances (``CholeskyFactors``, made by ``cholesky_factors``, the one factoring every E-step's
covariances go through); a room below em_helpers, which re-exports its public names, so
``em.GMMParams`` reaches it as before.

A GMMParams is checked once, on construction (shapes, finiteness, the probability vector, symmetry,
the structure its covariance model demands), and factored once (Σ_k = C_k C_kᵀ), so the E-step and
sampling never check or factor again. ``GMMParams.trusted`` is the M-step's way in: no checks, and
where rounding broke a factorisation the eigenvalues floored at reg_covar (``floor_eigenvalues``),
or with reg_covar = 0 the one collapse error (``_collapse_error``, em_driver's ``CollapseError``).
The exact M-step's other way to that error is here too: ``_check_resolved``, a component narrower
than float64 resolves against the data's spread (``_data_covariance``, ``directional_variances``).
``add_to_diagonals`` is where every M-step adds reg_covar. ``check_start`` and
``_check_params_match`` check a GMMParams a reader passes in against the data.
Imports NumPy, em_checks and em_driver.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from em_checks import MAX_ABS, as_float_array, check_covariance_structure
from em_driver import CollapseError

_EPS = np.finfo(np.float64).eps
# log 2π, of every Gaussian density's constant (``log_component_constants``)
LOG_2PI = np.log(2.0 * np.pi)


class CholeskyFactors(NamedTuple):
    """Σ_k = C_k C_kᵀ for every k, cached in ``GMMParams.cholesky``.

    lower : ndarray of shape (n_components, n_features, n_features)
        C_k, lower triangular (or V_k √Λ_k when eigenvalues had to be floored, see m_step).
    lower_inv : ndarray of shape (n_components, n_features, n_features)
        C_k⁻¹: (x - μ_k)ᵀ Σ_k⁻¹ (x - μ_k) = ‖C_k⁻¹ (x - μ_k)‖².
    half_log_det : ndarray of shape (n_components,)
        ½ log|Σ_k| = Σ_d log (C_k)_dd.
    """

    lower: np.ndarray
    lower_inv: np.ndarray
    half_log_det: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class GMMParams:
    """Parameters θ = (π, μ, Σ) of a Gaussian mixture; validated and read-only.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
        Mixing weights π_k: non-negative, summing to 1.
    means : array-like of shape (n_components, n_features)
        Component means μ_k.
    covariances : array-like of shape (n_components, n_features, n_features)
        Component covariances Σ_k: symmetric positive definite, always stored in full.
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
        The covariance model the parameters belong to (scikit-learn's names): "diag"
        covariances are diagonal, "spherical" ones σ_k²·I, and "tied" ones all equal.
        It decides ``n_parameters`` (and so BIC and AIC) and is checked on construction.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"
    # Σ_k = C_k C_kᵀ, factored once on construction: the E-step and sampling read it here.
    cholesky: CholeskyFactors = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        """Validate shapes, finiteness, the probability vector, symmetry and structure; factor."""
        weights = as_float_array(self.weights, "weights")
        means = as_float_array(self.means, "means")
        covariances = as_float_array(self.covariances, "covariances")
        if weights.ndim != 1 or means.ndim != 2 or covariances.ndim != 3:
            raise ValueError(
                "GMMParams expects weights of shape (K,), means of shape (K, D) and "
                f"covariances of shape (K, D, D); got {weights.shape}, {means.shape} "
                f"and {covariances.shape}."
            )
        K, D = means.shape
        if weights.shape != (K,) or covariances.shape != (K, D, D) or K == 0 or D == 0:
            raise ValueError(
                f"GMMParams shapes disagree: means {means.shape} means K={K}, D={D}, so "
                f"weights must be ({K},) and covariances ({K}, {D}, {D}); got "
                f"{weights.shape} and {covariances.shape}."
            )
        for name, arr, bound in (
            ("weights", weights, np.inf),
            ("means", means, MAX_ABS),
            ("covariances", covariances, MAX_ABS**2),
        ):
            if not np.isfinite(arr).all():
                raise ValueError(f"GMMParams {name} contain NaN or inf.")
            if np.abs(arr).max() > bound:
                raise ValueError(f"GMMParams {name} have values beyond ±{bound:g}: rescale the data and parameters.")
        if (weights < 0).any() or abs(weights.sum() - 1.0) > 1e-6:
            raise ValueError(
                "weights must be a probability vector (non-negative, summing to 1); got "
                f"{_short(weights)} with sum {weights.sum():.6g}."
            )
        scale = np.abs(covariances).max(axis=(1, 2))
        asym = np.abs(covariances - covariances.transpose(0, 2, 1)).max(axis=(1, 2))
        for k in np.flatnonzero(asym > 1e-10 * scale):
            raise ValueError(f"covariances[{k}] is not symmetric (largest |Σ - Σᵀ| is {asym[k]:.3g}).")
        check_covariance_structure(covariances, self.covariance_type)
        self._freeze(weights, means, covariances)

    @classmethod
    def trusted(cls, weights, means, covariances, covariance_type, reg_covar):
        """For the M-step's output, correct by construction: skip all checks but the
        factorisation, which the E-step needs anyway (0.50 -> 0.45 ms per iteration at
        N = 500, K = 4, measured).

        Σ_k = S_k + reg_covar·I with S_k ⪰ 0, so in exact arithmetic every eigenvalue is at
        least reg_covar. When a component stretches over 1e8 with 1e-3 across it, rounding
        of order eps·‖S_k‖ exceeds reg_covar and Cholesky fails on a valid Σ_k; then (and
        only then) its eigenvalues are floored at reg_covar, the bound they have exactly. With
        reg_covar = 0 a Σ_k that cannot be factorised collapsed: ``CollapseError``, which
        ``run_fit`` skips among several starts (every M-step, the variational one too).
        """
        params = object.__new__(cls)
        object.__setattr__(params, "covariance_type", covariance_type)
        try:
            params._freeze(weights, means, covariances, eigenvalue_floor=reg_covar)
        except ValueError:  # only with reg_covar = 0: some Σ_k is singular to rounding
            raise _collapse_error(_first_unfactorable(covariances)) from None
        return params

    def _freeze(self, weights, means, covariances, eigenvalue_floor=0.0):
        """Store the arrays read-only, with the Cholesky factors of each Σ_k."""
        try:
            factors = cholesky_factors(covariances)  # all K at once
        except np.linalg.LinAlgError:
            covariances, factors = _factor_each(covariances, eigenvalue_floor)
        for arr in (weights, means, covariances, *factors):
            arr.setflags(write=False)
        for name, value in (("weights", weights), ("means", means), ("covariances", covariances)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "cholesky", factors)

    @property
    def n_components(self) -> int:
        """K, the number of components."""
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        """D, the dimension of each point."""
        return self.means.shape[1]

    def permute(self, order) -> GMMParams:
        """The same mixture with its components listed in ``order``.

        ``params.permute(match_components(params, reference))`` lines component k up
        with component k of ``reference`` (undoing label switching).
        """
        order = np.asarray(order)
        if order.dtype.kind not in "iu" or sorted(order.tolist()) != list(range(self.n_components)):
            raise ValueError(f"order must be a permutation of 0..{self.n_components - 1}; got {_short(order)}.")
        return GMMParams(self.weights[order], self.means[order], self.covariances[order], self.covariance_type)

    def __repr__(self):
        return (
            f"GMMParams(K={self.n_components}, D={self.n_features}, covariance_type={self.covariance_type!r},\n"
            f"  weights={self.weights!r},\n  means={self.means!r},\n"
            f"  covariances={self.covariances!r})"
        )


def cholesky_factors(covariances):
    """C = chol(Σ), C⁻¹ and ½ log|Σ| = Σ_d log C_dd of each Σ of a stack (..., D, D), as a
    CholeskyFactors: the one factoring of every E-step's covariances (a GMMParams' K, em_select's
    stacked S·K, each missingness pattern's Σ_koo in em_incomplete). Raises numpy's LinAlgError
    where some Σ is not positive definite: each caller has its own way out (``_factor_each``,
    em_select's floor of the stack)."""
    lower = np.linalg.cholesky(covariances)
    half_log_det = np.add.reduce(np.log(_diagonals(lower)), axis=-1)  # Σ_d log C_dd
    return CholeskyFactors(lower, np.linalg.inv(lower), half_log_det)


def log_mixing_weights(weights):
    """log π_k of weights of any shape, -inf where π_k = 0 exactly, without a warning (such a
    component then gets γ_ik = 0): every E-step's (the core's, em_incomplete's per pattern,
    em_select's stacked one, whose padding has π_k = 0)."""
    if np.count_nonzero(weights) == weights.size:  # (errstate costs more than this test at N = 500)
        return np.log(weights)
    with np.errstate(divide="ignore"):
        return np.log(weights)


def log_component_constants(log_weights, half_log_det, n_features):
    """log π_k - ½ D log 2π - ½ log|Σ_k|, the part of log π_k N(x | μ_k, Σ_k) that does not depend
    on x, from log π_k and ½ log|Σ_k| of any shape (K,) or a stack (S, K), D = ``n_features``: the
    E-step's (``log_weighted_densities``), em_select's stacked one's, and em_incomplete's per
    pattern (D = |o|, the observed coordinates)."""
    return log_weights - 0.5 * n_features * LOG_2PI - half_log_det


def _factor_each(covariances, eigenvalue_floor):
    """Factor each Σ_k: Cholesky where it succeeds; else, with a positive floor, from its
    eigenvalues floored there (C_k = V √Λ); else a clear error."""
    covariances = covariances.copy()
    root, root_inv = np.empty_like(covariances), np.empty_like(covariances)
    half_log_det = np.empty(len(covariances))
    for k, sigma in enumerate(covariances):
        try:
            root[k] = np.linalg.cholesky(sigma)
            root_inv[k] = np.linalg.inv(root[k])
            half_log_det[k] = np.log(np.diag(root[k])).sum()
            continue
        except np.linalg.LinAlgError:
            if eigenvalue_floor <= 0:
                raise ValueError(
                    f"covariances[{k}] is not positive definite (its Cholesky factorisation "
                    f"failed). If it came from a fit, component {k} collapsed onto too few "
                    "points: increase reg_covar, decrease n_components, or scale the data."
                ) from None
        covariances[k], eigenvalues, vectors = floor_eigenvalues(sigma, eigenvalue_floor)
        root[k] = vectors * np.sqrt(eigenvalues)
        root_inv[k] = vectors.T / np.sqrt(eigenvalues)[:, None]
        half_log_det[k] = 0.5 * np.log(eigenvalues).sum()
    return covariances, CholeskyFactors(root, root_inv, half_log_det)


def floor_eigenvalues(covariances, floor):
    """Each Σ of ``covariances`` (..., D, D) rebuilt as V max(Λ, floor) Vᵀ from its eigenvalues Λ
    and eigenvectors V: the one floor for a Σ_k = S_k + reg_covar·I whose Cholesky factorisation
    rounding broke (``floor`` = reg_covar, the bound its eigenvalues have exactly). Returns the
    rebuilt matrices, max(Λ, floor) (..., D) and V (..., D, D)."""
    eigenvalues, vectors = np.linalg.eigh(covariances)
    eigenvalues = np.maximum(eigenvalues, floor)
    return (vectors * eigenvalues[..., None, :]) @ np.swapaxes(vectors, -1, -2), eigenvalues, vectors


def _diagonals(matrices):
    """The diagonal of each (D, D) matrix of ``matrices`` (..., D, D), as a writable (..., D) view."""
    D = matrices.shape[-1]
    if matrices.flags.c_contiguous:  # every (D + 1)-th number of each matrix: 1 µs where np.diagonal takes 2
        return matrices.reshape(*matrices.shape[:-2], D * D)[..., :: D + 1]
    return np.einsum("...dd->...d", matrices)


def add_to_diagonals(matrices, value):
    """``value`` added in place to the diagonal of each (D, D) matrix of ``matrices`` (K, D, D), or
    a stack of them (..., K, D, D): reg_covar, the one place it is added (the ML, MAP and
    variational M-steps and em_select's stacked M-step call this)."""
    if value:
        _diagonals(matrices)[...] += value


def _first_unfactorable(covariances):
    """The index of the first Σ_k whose Cholesky factorisation fails."""
    for k, sigma in enumerate(covariances):
        try:
            np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return k
    raise AssertionError("every covariance factorises")  # only called after one did not


def _collapse_error(k):
    """The one error for a component that collapsed in an exact (reg_covar = 0) M-step, however it
    was detected (Cholesky failing, or _check_resolved): which of the two fires first depends on
    the CPU's rounding, so the message must not. The variance itself is rounding noise (0 on one
    CPU, 1e-72 on another): it states the bound, never the digits."""
    return CollapseError(
        f"component {k} collapsed onto too few points (its variance along one direction is below "
        "float64's resolution, 2^-52, times the spread there): "
        "increase reg_covar, decrease n_components, or scale the data."
    )


def _data_covariance(stats):
    """The covariance of all N points, (D, D), from the statistics (Σ_k γ_ik = 1 for each i)."""
    n_samples = stats.counts.sum()
    mean = (stats.counts @ stats.shift + stats.first.sum(axis=0)) / n_samples
    # recentred() about the mean m, summed over k: with δ_k = c_k - m, x - m = (x - c_k) + δ_k
    delta = stats.shift - mean
    if stats.second.ndim == 2:  # diagonal statistics give the variances: enough for diagonal Σ_k,
        # whose eigenvectors, the axes, are the directions _check_resolved compares along
        cross = (stats.first * delta).sum(axis=0)
        return np.diag((stats.second.sum(axis=0) + cross + cross + stats.counts @ (delta * delta)) / n_samples)
    cross = stats.first.T @ delta  # Σ_k first_k δ_kᵀ
    return (stats.second.sum(axis=0) + cross + cross.T + (delta.T * stats.counts) @ delta) / n_samples


def _check_resolved(params, stats, floor=None):
    """Raise when a component has collapsed below what float64 resolves.

    Collapsed means: along some direction u, Σ_k's variance uᵀΣ_k u is below eps (2.2e-16)
    times the data's variance uᵀ S u there, i.e. the component is narrower than 1.5e-8 of
    the data's spread. Every other point then lies more than 1/√eps = 6.7e7 of its standard
    deviations away, where γ_ik = exp(-d²/2) < exp(-2e15) is not a float64 number, so Σ_k is
    set by rounding alone and log p(X | θ) can go down (it did: a variance of 1e-28 next to
    data of variance 10 lost 2.6e-4 of L). Checked for the exact step (reg_covar = 0) only:
    with reg_covar > 0 such a component is held at reg_covar·I, well defined and finite.

    ``floor``, eps·tr S, when the caller has it: fit_gmm computes it once per fit (it does not
    change between iterations); S itself, needed only past the screens, comes from the statistics.
    """
    data_cov = None
    if floor is None:
        data_cov = _data_covariance(stats)
        floor = _EPS * data_cov.trace()
    # Cheap screens first: λ_min(Σ_k) >= 1 / ‖C_k⁻¹‖²_F, and uᵀ S u <= tr(S). The first one bounds
    # every k at once with the sum over k, Σ_j ‖C_j⁻¹‖²_F >= ‖C_k⁻¹‖²_F: when it passes (every
    # iteration of a healthy fit) no component is looked at singly (one reduction where the
    # per-component screen took four calls: 2 against 8 to 13 µs at N = 500, K = 3, measured).
    lower_inv = params.cholesky.lower_inv
    if np.add.reduce(np.square(lower_inv), axis=None) * floor < 1.0:
        return
    lower_bound = 1.0 / np.einsum("kde,kde->k", lower_inv, lower_inv)
    if data_cov is None:
        data_cov = _data_covariance(stats)
    for k in np.flatnonzero(lower_bound < floor):
        eigenvalues, spread = directional_variances(params.covariances[k], data_cov)  # uᵀ Σ_k u, uᵀ S u
        if (eigenvalues < _EPS * spread).any() and params.weights[k] > 0:
            raise _collapse_error(k)


def directional_variances(covariances, data_cov, covariance_type="full"):
    """The variances of Σ (a matrix (D, D) or a stack (..., D, D)) and of the data's covariance S
    along the directions the covariance model can make thin, as two arrays (..., J): every
    eigenvector u of Σ for full and tied (uᵀ Σ u, the eigenvalue, and uᵀ S u; J = D), each axis for
    diag (J = D), the sum over the axes for spherical (tr Σ and tr S; J = 1). Their ratio is how thin
    Σ is against the data: the collapse check (``_check_resolved``) and em_select's degenerate rule
    compare it with a threshold."""
    if covariance_type == "diag":
        return np.diagonal(covariances, axis1=-2, axis2=-1), np.diag(data_cov)
    if covariance_type == "spherical":
        return np.trace(covariances, axis1=-2, axis2=-1)[..., None], np.trace(data_cov)[None]
    eigenvalues, vectors = np.linalg.eigh(covariances)
    return eigenvalues, np.einsum("...dj,de,...ej->...j", vectors, data_cov, vectors)


def _short(values):
    """An array for an error message: its values when there are at most 10, else its shape, its
    smallest and its largest (a message is read, not scrolled)."""
    values = np.asarray(values)
    if values.size <= 10:
        return np.array2string(values, precision=4)
    return f"an array of shape {values.shape} from {values.min():.4g} to {values.max():.4g}"


def check_params(params, name="params"):
    """A GMMParams, or a TypeError naming what was given."""
    if not isinstance(params, GMMParams):
        raise TypeError(f"{name} must be a GMMParams; got {type(params).__name__}.")


def check_start(init, n_features, n_components, covariance_type):
    """A GMMParams start for this data (D), this K and this covariance model."""
    _check_params_match(init, n_features, n_components)
    if init.covariance_type != covariance_type:
        raise ValueError(
            f'init is a "{init.covariance_type}" GMMParams but covariance_type="{covariance_type}": '
            "build the start for the model you fit."
        )


def _check_params_match(params, n_features, n_components=None):
    """A GMMParams with D = n_features (and K = n_components when given)."""
    check_params(params)
    if params.n_features != n_features:
        raise ValueError(f"params have D={params.n_features} features but X has {n_features} columns.")
    if n_components is not None and params.n_components != n_components:
        raise ValueError(f"init has K={params.n_components} components but n_components={n_components}.")

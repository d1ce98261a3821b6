"""The conjugate prior of MAP-EM (Fraley and Raftery 2007, R mclust's ``priorControl()``): its
hyperparameters, mclust's default for the data, its log-density log p(θ), and the M-step that uses
it (``map_m_step_from_statistics``: pseudo-observations added to the sufficient statistics); a room
below em_helpers.

MAP-EM is fit_gmm's loop (``fit_gmm(..., prior=...)``): em_helpers' ``m_step_with_prior`` calls
the M-step here where the ML one would run. em_helpers re-exports the names here
(``em.ConjugatePrior``, ``em.default_prior``, ``em.log_prior``, ``em.map_m_step_from_statistics``);
this module imports em_checks, em_params and em_statistics of the project.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import gammaln, multigammaln

from em_checks import as_float_array, check_data, check_two_points, is_finite_real, is_symmetric_positive_definite
from em_params import GMMParams, _diagonals, add_to_diagonals
from em_statistics import _outer, centred_scatter


@dataclasses.dataclass(frozen=True, eq=False)
class ConjugatePrior:
    """The conjugate prior of Fraley and Raftery (2007), R mclust's ``priorControl()``.

    For each component, μ_k | Σ_k ~ N(mean, Σ_k / shrinkage) and Σ_k ~ inverse-Wishart
    (degrees_of_freedom, scale), density ∝ |Σ_k|^{-(ν + D + 1)/2} exp(-½ tr(scale Σ_k⁻¹))
    ("full"; "tied": one Σ shared by all). For "diag" and "spherical" each variance σ² has
    an inverse-gamma prior, density ∝ (σ²)^{-(ν/2 + 1)} exp(-scale / (2σ²)), with a number
    as scale. The weights π have a flat prior. ``default_prior`` builds mclust's default.

    Parameters
    ----------
    shrinkage : float
        κ_P >= 0: the prior on each mean is worth κ_P points at ``mean``; 0 leaves the
        means unshrunk (a flat prior on them).
    mean : array-like of shape (n_features,)
        μ_P.
    degrees_of_freedom : float
        ν_P > 0 (mclust's default D + 2).
    scale : float or array-like of shape (n_features, n_features)
        Λ_P: a symmetric positive definite matrix ("full", "tied") or a positive number
        ("diag", "spherical").
    """

    shrinkage: float
    mean: np.ndarray
    degrees_of_freedom: float
    scale: np.ndarray | float

    def __post_init__(self):
        for name in ("shrinkage", "degrees_of_freedom"):
            value = getattr(self, name)
            if not is_finite_real(value) or value < 0:  # a bool is not a number here
                raise ValueError(f"ConjugatePrior {name} must be a finite number >= 0; got {value!r}.")
        if self.degrees_of_freedom == 0:
            raise ValueError("ConjugatePrior degrees_of_freedom must be positive (mclust's default is D + 2).")
        mean = as_float_array(self.mean, "ConjugatePrior mean")
        scale = as_float_array(self.scale, "ConjugatePrior scale")
        if mean.ndim != 1 or not np.isfinite(mean).all() or not np.isfinite(scale).all():
            raise ValueError(f"ConjugatePrior mean must be a finite vector (D,); got shape {mean.shape}.")
        if scale.ndim == 0 and scale <= 0:
            raise ValueError(f"ConjugatePrior scale must be positive; got {float(scale)!r}.")
        if scale.ndim not in (0, 2) or (scale.ndim == 2 and scale.shape != (mean.size, mean.size)):
            raise ValueError(f"ConjugatePrior scale must be a number or a (D, D) = {(mean.size,) * 2} matrix.")
        if scale.ndim == 2 and not is_symmetric_positive_definite(scale):
            raise ValueError("ConjugatePrior scale must be symmetric positive definite.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", float(scale) if scale.ndim == 0 else scale)

    def __repr__(self):
        scale = f"{self.scale:.4g}" if np.ndim(self.scale) == 0 else np.array2string(self.scale, precision=4)
        return (
            f"ConjugatePrior(shrinkage={self.shrinkage:g}, mean={np.array2string(self.mean, precision=4)}, "
            f"degrees_of_freedom={self.degrees_of_freedom:g}, scale={scale})"
        )


def sample_covariance(X):
    """The data's covariance, shape (D, D), with N - 1 in the denominator (R's ``var``, and
    scikit-learn's default covariance prior): what both Bayesian fits' default priors are scaled
    from. X is a checked (N, D) array with N >= 2."""
    return np.atleast_2d(np.cov(X.T))


def default_prior(X, n_components, covariance_type="full"):
    """mclust's ``defaultPrior`` for the data, K and the covariance model: shrinkage 0.01,
    the data mean, D + 2 degrees of freedom, and as scale the data covariance / K^(2/D)
    ("full", "tied"; its diagonal if N <= D) or the mean variance / K^(2/D) ("diag",
    "spherical"). Variances use N - 1, as R's ``var``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    n_components : int
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"

    Returns
    -------
    ConjugatePrior
    """
    X = check_data(X, n_components, covariance_type)
    check_two_points(X.shape[0], "default_prior", "pass more points or a ConjugatePrior of your own")
    return prior_from_moments(X.mean(axis=0), sample_covariance(X), X.shape[0], n_components, covariance_type)


def prior_from_moments(mean, covariance, n_samples, n_components, covariance_type):
    """``default_prior`` from the data's mean (D,), covariance (D, D, divisor N - 1) and N: what
    fit_gmm uses on incomplete or weighted data, whose moments come from em_incomplete."""
    D = mean.size
    factor = (1.0 / n_components) ** (2.0 / D)
    if covariance_type in ("full", "tied"):
        scale = factor * (covariance if n_samples > D else np.diag(np.diag(covariance)))
    else:
        scale = factor * np.trace(covariance) / D
    return ConjugatePrior(0.01, mean, D + 2.0, scale)


def resolve_prior(prior, X, n_components, covariance_type, moments=None):
    """None, or a ConjugatePrior checked against the data and the covariance model. ``moments``,
    (mean, covariance with divisor N - 1, N), replace X's own for "default" (fit_gmm passes them
    for incomplete or weighted data)."""
    if prior is None:
        return None
    if isinstance(prior, str) and prior == "default" and moments is not None:
        return prior_from_moments(*moments, n_components, covariance_type)
    if isinstance(prior, str) and prior == "default":
        return default_prior(X, n_components, covariance_type)
    if not isinstance(prior, ConjugatePrior):
        # its type, as fit_gmm_online's check says it, never its values (an array would fill the screen)
        raise TypeError(f'prior must be None, "default" or a ConjugatePrior; got {type(prior).__name__}.')
    if prior.mean.size != X.shape[1]:
        raise ValueError(f"the prior's mean has {prior.mean.size} values but X has D={X.shape[1]} columns.")
    matrix = covariance_type in ("full", "tied")
    if matrix != (np.ndim(prior.scale) == 2):
        want = "a (D, D) matrix" if matrix else "a number"
        raise ValueError(f'covariance_type="{covariance_type}" needs the prior\'s scale to be {want}.')
    return prior


def log_prior(params, prior) -> float:
    """log p(θ) under a ConjugatePrior, normalised: Σ_k [log N(μ_k | μ_P, Σ_k / κ_P) +
    log W⁻¹(Σ_k | ν_P, Λ_P)] ("full"; "tied" counts its one Σ once), or with inverse-gamma
    densities per variance ("diag", "spherical"), plus log Γ(K), the flat density of π.
    With κ_P = 0 the means' flat prior contributes 0. MAP-EM climbs L(θ) + log p(θ)."""
    if getattr(params, "cholesky", None) is None or not isinstance(prior, ConjugatePrior):  # a GMMParams
        raise TypeError("log_prior takes a GMMParams and a ConjugatePrior.")
    K, D = params.n_components, params.n_features
    kappa, nu = prior.shrinkage, prior.degrees_of_freedom
    diff = params.means - prior.mean
    total = gammaln(K)
    if params.covariance_type in ("diag", "spherical"):
        variances = np.diagonal(params.covariances, axis1=1, axis2=2)  # (K, D)
        per_prior = variances if params.covariance_type == "diag" else variances[:, :1]  # σ_k² once
        a, b = nu / 2, prior.scale / 2  # inverse gamma(a, b)
        total += np.sum(a * np.log(b) - gammaln(a) - (a + 1) * np.log(per_prior) - b / per_prior)
        if kappa > 0:
            total += np.sum(-0.5 * np.log(2 * np.pi * variances / kappa) - 0.5 * kappa * diff**2 / variances)
        return float(total)
    inv, half_log_det = params.cholesky.lower_inv, params.cholesky.half_log_det
    scale_root = np.linalg.cholesky(prior.scale)
    trace = np.einsum("kde,ef->kdf", inv, scale_root)  # tr(Λ_P Σ_k⁻¹) = ‖C_k⁻¹ L_P‖²_F
    log_iw = (
        nu * np.log(np.diag(scale_root)).sum()
        - 0.5 * nu * D * np.log(2.0)
        - multigammaln(nu / 2, D)
        - (nu + D + 1) * half_log_det
        - 0.5 * np.einsum("kdf,kdf->k", trace, trace)
    )
    total += log_iw[0] if params.covariance_type == "tied" else log_iw.sum()
    if kappa > 0:
        whitened = np.einsum("kde,ke->kd", inv, diff)
        total += np.sum(0.5 * D * np.log(kappa / (2 * np.pi)) - half_log_det - 0.5 * kappa * (whitened**2).sum(axis=1))
    return float(total)


def map_m_step_from_statistics(stats, prior, reg_covar, covariance_type):
    """The MAP M-step: the maximum of Q(θ | θ_t) + log p(θ) (Fraley and Raftery 2007, as
    mclust's me() computes it). With x̄_k the γ-weighted mean, W_k the scatter about it,
    d_k = x̄_k - μ_P and b = 1 if κ_P > 0 (the mean prior's ½ log|Σ_k|) else 0:
    μ_k = (N_k x̄_k + κ_P μ_P) / (N_k + κ_P), and with M_k = W_k + κ_P N_k / (N_k + κ_P) d_k d_kᵀ
    full Σ_k = (Λ_P + M_k) / (ν_P + N_k + D + 1 + b); tied Σ = (Λ_P + Σ_k M_k) / (ν_P + N + D + 1 + bK);
    diag σ²_kd = (s_P + (M_k)_dd) / (ν_P + N_k + 2 + b); spherical σ²_k = (s_P + tr M_k) / (ν_P + N_k D + 2 + bD).
    The prior is pseudo-observations added to the statistics; π_k = N_k / N as before."""
    counts, offset, scatter = centred_scatter(stats)  # N_k, x̄_k - c_k, W_k
    kappa, nu = prior.shrinkage, prior.degrees_of_freedom
    diff = stats.shift + offset - prior.mean  # d_k
    means = stats.shift + offset - (kappa / (counts + kappa))[:, None] * diff
    K, D = means.shape
    b = 1.0 if kappa > 0 else 0.0
    if scatter.ndim == 2:  # diagonal statistics (diag, spherical): M_k's diagonal
        spread = scatter + (kappa * counts / (counts + kappa))[:, None] * (diff * diff)
        if covariance_type == "diag":
            variances = (prior.scale + spread) / (nu + counts + 2 + b)[:, None]
        else:
            variances = np.broadcast_to(
                ((prior.scale + spread.sum(axis=1)) / (nu + counts * D + 2 + b * D))[:, None], (K, D)
            )
        covariances = np.zeros((K, D, D))
        _diagonals(covariances)[...] = variances
        add_to_diagonals(covariances, reg_covar)
        return GMMParams.trusted(counts / stats.n_samples, means, covariances, covariance_type, reg_covar)
    spread = scatter + _outer(diff, kappa * counts / (counts + kappa))  # M_k
    if covariance_type == "full":
        covariances = (prior.scale + spread) / (nu + counts + D + 1 + b)[:, None, None]
    elif covariance_type == "tied":
        # Not the ML M-step's pooling (em_helpers' ``constrain_covariances``, Σ_k N_k S_k / N): the prior's
        # scale joins the numerator and its pseudo-observations the denominator, per component (b K).
        pooled = (prior.scale + spread.sum(axis=0)) / (nu + counts.sum() + D + 1 + b * K)
        covariances = np.repeat(pooled[None], K, axis=0)
    elif covariance_type == "diag":
        covariances = (prior.scale + spread * np.eye(D)) / (nu + counts + 2 + b)[:, None, None] * np.eye(D)
    else:  # spherical
        variances = (prior.scale + np.trace(spread, axis1=1, axis2=2)) / (nu + counts * D + 2 + b * D)
        covariances = variances[:, None, None] * np.eye(D)
    add_to_diagonals(covariances, reg_covar)
    return GMMParams.trusted(counts / stats.n_samples, means, covariances, covariance_type, reg_covar)

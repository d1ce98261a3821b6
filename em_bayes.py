"""Variational Bayes for Gaussian mixtures, matching scikit-learn's BayesianGaussianMixture.

Notebook 04 derives it from notebook 01's lower bound F(q, θ): q now covers the parameters
too, q(Z) q(π) Π_k q(μ_k, Λ_k) (mean field), and coordinate ascent alternates

* an E-step: γ_ik ∝ exp(E[log π_k] + E[log N(x_i | μ_k, Λ_k⁻¹)]), the expectations under the
  current q(π, μ, Λ);
* an M-step: the conjugate posterior updates of q(π) (Dirichlet, or the stick-breaking Beta
  factors of a truncated Dirichlet process), q(μ_k | Λ_k) (Gaussian) and q(Λ_k) (Wishart),
  from the same statistics as EM's M-step: N_k, the γ-weighted means x̄_k and scatters S_k.

The priors take scikit-learn's names, defaults and meanings (Bishop 2006, §10.2), and so do
the update order and the lower bound (the ELBO up to an additive constant that does not
depend on q, only on the data, the prior and K: tested against Bishop's eqs. 10.70-10.77),
so that from the same initial responsibilities and the same number of iterations every
posterior quantity equals scikit-learn's to rounding (tested to 1e-8).

The loop's settings are not scikit-learn's. ``tol`` is on the ELBO's gain *per point*
(scikit-learn's is on the total bound, so the same value stops far earlier here: on notebook
01's 500 points with K = 3, tol=1e-3 stopped after 6-42 iterations over seeds 0-7, with the
weights up to 0.003-0.15 from where tol=1e-6 leaves them, 15-51 iterations); the defaults are
``tol=1e-6``, ``max_iter=200`` and a k-means++ start (scikit-learn: 1e-3, 100 and k-means);
and the seed is ``seed``, not ``random_state``. ``max_iter=0`` returns the start (the posterior
of one M-step on the starting responsibilities), as scikit-learn's does and as every fitter here
does: the loop is em_driver's ``run_fit``, the one the batch fitters run (fit_gmm and
fit_gmm_chunked; fit_gmm_online, em_select's stacked search and em_incomplete's
``observed_gaussian`` have loops of their own); this module supplies its E-pass (em_helpers'
``DataSource.e_pass``, the one map of blocks, with log ρ_ik in place of log π_k N(x_i | μ_k, Σ_k)),
its M-step (the conjugate updates) and its objective (the ELBO).
MAP-EM with a conjugate prior, the other Bayesian variant, lives in em_helpers (``fit_gmm``'s
``prior``), because it is an M-step of the ordinary EM loop.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import betaln, digamma, entr, gammaln

import em_helpers as em

__all__ = [
    "WEIGHT_PRIOR_TYPES",
    "BayesianGMMFit",
    "VariationalPosterior",
    "VariationalPrior",
    "fit_bayesian_gmm",
    "full_elbo",
]

# The two priors on the weights, with scikit-learn's names.
WEIGHT_PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")


@dataclasses.dataclass(frozen=True, eq=False)
class VariationalPrior:
    """The prior's hyperparameters, resolved for the data (scikit-learn's defaults filled in),
    as float64 whatever numbers were given.

    Attributes
    ----------
    weight_concentration : float
        α_0 (Dirichlet) or the Dirichlet process's concentration; default 1 / K.
    mean_precision : float
        β_0: μ_k | Λ_k ~ N(m_0, (β_0 Λ_k)⁻¹); default 1.
    mean : ndarray of shape (n_features,)
        m_0; default the data mean.
    degrees_of_freedom : float
        ν_0 of the Wishart prior on Λ_k; default D.
    covariance : ndarray of shape (n_features, n_features)
        Ψ_0 = W_0⁻¹, the Wishart's inverse scale, in full form: the data covariance
        ("full", "tied"), its diagonal ("diag") or its mean variance times I ("spherical").
    """

    weight_concentration: float
    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class VariationalPosterior:
    """The factors of q(π, μ, Λ), scikit-learn's fitted attributes of the same names.

    Attributes
    ----------
    weight_concentration : ndarray of shape (n_components,) or (2, n_components)
        α_k of q(π) = Dir(α) ("dirichlet_distribution"), or the Beta(a_k, b_k) factors of the
        stick-breaking weights ("dirichlet_process"), rows a and b.
    mean_precision : ndarray of shape (n_components,)
        β_k: q(μ_k | Λ_k) = N(m_k, (β_k Λ_k)⁻¹).
    means : ndarray of shape (n_components, n_features)
        m_k.
    degrees_of_freedom : ndarray of shape (n_components,)
        ν_k of q(Λ_k) = Wishart(W_k, ν_k) (one shared value for "tied").
    covariances : ndarray of shape (n_components, n_features, n_features)
        (ν_k W_k)⁻¹ = E[Λ_k]⁻¹, in full form.
    """

    weight_concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray
    covariances: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class BayesianGMMFit(em.Predicts):
    """What ``fit_bayesian_gmm`` returns.

    Attributes
    ----------
    params : GMMParams
        Expected weights E[π_k] (normalised), means m_k and covariances E[Λ_k]⁻¹:
        scikit-learn's ``weights_``, ``means_`` and ``covariances_``.
    posterior : VariationalPosterior
    prior : VariationalPrior
    responsibilities : ndarray of shape (n_samples, n_components)
        γ_ik under the final posterior.
    elbos : ndarray of shape (n_iter,)
        The lower bound after each iteration, up to a constant that does not depend on q
        (scikit-learn's ``lower_bounds_``); never decreases while reg_covar is small against
        the data's variances (scikit-learn adds it to S_k, which makes a large one an inexact
        coordinate-ascent step: its bound falls too).
    n_iter : int
    converged : bool
        Whether the ELBO's gain per point fell below ``tol``.

    Methods ``predict``, ``predict_proba`` and ``score_samples`` (``em.Predicts``') apply the final posterior to
    new points, as scikit-learn's BayesianGaussianMixture does (expected log-weights and
    expected log-densities, not ``params``).
    """

    params: em.GMMParams
    posterior: VariationalPosterior
    prior: VariationalPrior
    responsibilities: np.ndarray
    elbos: np.ndarray
    n_iter: int
    converged: bool

    @property
    def elbo(self) -> float:
        """The final ELBO (up to a constant that does not depend on q); -inf after max_iter=0,
        which returns the start before any bound is computed (as scikit-learn's ``lower_bound_``)."""
        return float(self.elbos[-1]) if len(self.elbos) else -np.inf

    def new_points_e_step(self, X):
        """γ laid out (K, N) of new points under the final posterior, γ_ik ∝ ρ_ik = exp(E[log π_k] +
        E[log N(x_i | μ_k, Λ_k⁻¹)]), and log Σ_k ρ_ik, shape (N,) (``em.Predicts``' methods apply
        it, as scikit-learn's BayesianGaussianMixture's do). ``score_samples`` is not the posterior
        predictive log-density (a mixture of Student t's): by Jensen's inequality
        exp E[log f] <= E[f], so it is a lower bound on it."""
        Xt = em.check_new_points(X, self.params.n_features)
        log_rho = _log_rho(Xt, self.posterior, _gaussians(self.posterior, self.params.covariance_type))
        return log_rho, em.responsibilities_in_place(log_rho)


# --------------------------------------------------------------------------- checks and defaults


def _positive_or_default(value, default, name):
    if value is None:
        return float(default)
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number or None (scikit-learn's default); got {value!r}.")
    return float(value)


def _default_covariance_prior(X, covariance_type):
    """scikit-learn's Ψ_0, shape (n_features, n_features): the data covariance, its diagonal or
    its mean variance times I (N - 1 in the denominator, so at least 2 points)."""
    em.check_two_points(X.shape[0], "the default covariance_prior", "pass covariance_prior, or more points")
    covariance = em.sample_covariance(X)
    if covariance_type in ("full", "tied"):
        return covariance
    variances = np.diag(covariance)
    return np.diag(variances) if covariance_type == "diag" else variances.mean() * np.eye(X.shape[1])


def _covariance_prior(X, covariance_prior, covariance_type):
    """Ψ_0 in full form, from the user's value or scikit-learn's default."""
    if covariance_prior is None:
        return _default_covariance_prior(X, covariance_type)
    D = X.shape[1]
    value = np.asarray(covariance_prior, dtype=np.float64)
    expected = {"full": (D, D), "tied": (D, D), "diag": (D,), "spherical": ()}[covariance_type]
    if value.shape != expected or not np.isfinite(value).all():
        raise ValueError(
            f'covariance_prior for covariance_type="{covariance_type}" must be finite with shape {expected}; '
            f"got shape {value.shape}."
        )
    if covariance_type in ("full", "tied"):
        if not em.is_symmetric_positive_definite(value):
            raise ValueError("covariance_prior must be symmetric positive definite.")
        return value
    if (value <= 0).any():
        raise ValueError("covariance_prior must be positive.")
    return np.diag(value) if covariance_type == "diag" else float(value) * np.eye(D)


def _resolve_prior(X, n_components, covariance_type, priors):
    (weight_concentration, mean_precision, mean, degrees_of_freedom, covariance) = priors
    D = X.shape[1]
    if mean is None:
        mean = X.mean(axis=0)
    mean = np.asarray(mean, dtype=np.float64)
    if mean.shape != (D,) or not np.isfinite(mean).all():
        raise ValueError(f"mean_prior must be a finite array of shape ({D},); got shape {mean.shape}.")
    dof = _positive_or_default(degrees_of_freedom, D, "degrees_of_freedom_prior")
    if dof <= D - 1:
        raise ValueError(f"degrees_of_freedom_prior must be greater than D - 1 = {D - 1}; got {dof:g}.")
    return VariationalPrior(
        _positive_or_default(weight_concentration, 1.0 / n_components, "weight_concentration_prior"),
        _positive_or_default(mean_precision, 1.0, "mean_precision_prior"),
        mean,
        dof,
        _covariance_prior(X, covariance, covariance_type),
    )


# --------------------------------------------------------------------------- the statistics


def _statistics(Xt, resp):
    """N_k (+ the 10·eps floor, as EM's M-step), x̄_k and S_k = W_k / N_k (the γ-weighted sample
    covariances; em_statistics' ``centred_scatter`` gives W_k) of Xᵀ (D, N) under γ laid out (K, N)."""
    return _moments(em.statistics_of(Xt, resp))


def _moments(stats):
    """``_statistics`` from EM's sufficient statistics: shapes (K,), (K, D), (K, D, D)."""
    counts, offset, scatter = em.centred_scatter(stats)
    return counts, stats.shift + offset, scatter / counts[:, None, None]


# --------------------------------------------------------------------------- the M-step


def _weight_posterior(counts, prior, weight_prior_type):
    """q(π): α_0 + N_k (Dirichlet); or the sticks' Beta(1 + N_k, α_0 + Σ_{j>k} N_j) (process)."""
    if weight_prior_type == "dirichlet_distribution":
        return prior.weight_concentration + counts
    beyond = np.hstack((np.cumsum(counts[::-1])[-2::-1], 0.0))  # Σ_{j>k} N_j
    return np.vstack((1.0 + counts, prior.weight_concentration + beyond))


def _posterior(counts, means, sample_covariances, prior, weight_prior_type, covariance_type, reg_covar):
    """The conjugate updates (Bishop eqs. 10.58-10.63, scikit-learn's form and order):
    β_k = β_0 + N_k, m_k = (β_0 m_0 + N_k x̄_k) / β_k, ν_k = ν_0 + N_k and
    ν_k E[Λ_k]⁻¹ = Ψ_0 + N_k (S_k + β_0/β_k (x̄_k - m_0)(x̄_k - m_0)ᵀ), each term reduced to
    the covariance model; "tied" pools them and counts N/K per component."""
    K = len(means)
    beta = prior.mean_precision + counts
    m = (prior.mean_precision * prior.mean + counts[:, None] * means) / beta[:, None]
    diff = means - prior.mean
    spread = sample_covariances + (prior.mean_precision / beta)[:, None, None] * np.einsum("kd,ke->kde", diff, diff)
    spread = em.constrain_covariances(spread, counts, covariance_type)
    em.add_to_diagonals(spread, reg_covar)  # where scikit-learn adds it: to S_k
    n_eff = np.full(K, counts.sum() / K) if covariance_type == "tied" else counts
    dof = prior.degrees_of_freedom + n_eff
    covariances = (prior.covariance + n_eff[:, None, None] * spread) / dof[:, None, None]
    return VariationalPosterior(_weight_posterior(counts, prior, weight_prior_type), beta, m, dof, covariances)


def _expected_weights(posterior):
    """E[π_k], normalised: scikit-learn's ``weights_``."""
    conc = posterior.weight_concentration
    if conc.ndim == 1:
        return conc / conc.sum()
    stick = conc[0] / conc.sum(axis=0)
    rest = conc[1] / conc.sum(axis=0)
    weights = stick * np.hstack((1.0, np.cumprod(rest[:-1])))
    return weights / weights.sum()


# --------------------------------------------------------------------------- the E-step


def _expected_log_weights(conc):
    """E[log π_k] under the Dirichlet, or under the stick-breaking Betas."""
    if conc.ndim == 1:
        return digamma(conc) - digamma(conc.sum())
    digamma_sum = digamma(conc.sum(axis=0))
    log_stick, log_rest = digamma(conc[0]) - digamma_sum, digamma(conc[1]) - digamma_sum
    return log_stick + np.hstack((0.0, np.cumsum(log_rest)[:-1]))


def _log_rho_offsets(posterior, n_features):
    """log ρ_ik = E[log π_k] + E[log N(x_i | μ_k, Λ_k⁻¹)], where
    E[log N(x | μ_k, Λ_k⁻¹)] = log N(x | m_k, (ν_k W_k)⁻¹) + ½ (E[log|Λ_k|] - log|ν_k W_k| - D/β_k)
    (Bishop eq. 10.64-10.65) and E[log|Λ_k|] - log|ν_k W_k| = Σ_d ψ((ν_k - d)/2) + D log 2 - D log ν_k:
    the per-component terms beside log N(x | m_k, (ν_k W_k)⁻¹), shape (K,). Passed as the
    log-weights of em_helpers' E-step on ``_gaussians``, they give scikit-learn's
    ``_estimate_log_weights() + _estimate_log_prob(X)``."""
    D, nu = n_features, posterior.degrees_of_freedom
    log_lambda = D * np.log(2.0) + digamma(0.5 * (nu - np.arange(D)[:, None])).sum(axis=0)
    return (
        _expected_log_weights(posterior.weight_concentration)
        - 0.5 * D * np.log(nu)
        + 0.5 * (log_lambda - D / posterior.mean_precision)
    )


def _log_rho(Xt, posterior, gaussians):
    """log ρ_ik laid out (K, N), from Xᵀ (D, N)."""
    return em.log_weighted_densities(Xt, gaussians, log_weights=_log_rho_offsets(posterior, Xt.shape[0]))


def _gaussians(posterior, covariance_type):
    """N(m_k, E[Λ_k]⁻¹), factorised once for the E-step and the ELBO. Its weights, uniform, are not
    log π_k (the E-step is given E[log π_k] instead): they are read only as positive (no γ_ik is
    zeroed) and, for diag and spherical, as the E-step's common centre c = Σ_k π_k μ_k (see
    em_diagonal's ``_diagonal_log_densities``), an exact re-expression: other positive weights moved
    the fit by rounding only (ELBOs by <= 4e-13 relative, means by <= 7e-11 of the data's spread,
    K = 4, 100 iterations on 2,000 3-D points, 4 seeds, offset by 0 and 1e4; tested on THREE + 1e4)."""
    K = len(posterior.mean_precision)
    return em.GMMParams.trusted(np.full(K, 1.0 / K), posterior.means, posterior.covariances, covariance_type, 0.0)


def _elbo(entropy, posterior, gaussians):
    """scikit-learn's lower bound: H(γ) - Σ_k log B(W_k, ν_k) - log C(α) - (D/2) Σ_k log β_k,
    with B the Wishart and C the Dirichlet (or Beta) normalisers; the other terms of the ELBO
    cancel after the M-step or do not depend on q (the data, the prior and K fix them)."""
    D = posterior.means.shape[1]
    nu = posterior.degrees_of_freedom
    log_det_precision_chol = -gaussians.cholesky.half_log_det - 0.5 * D * np.log(nu)  # ½ log|W_k|
    log_wishart = -(
        nu * log_det_precision_chol
        + nu * D * 0.5 * np.log(2.0)
        + gammaln(0.5 * (nu - np.arange(D)[:, None])).sum(axis=0)
    )
    conc = posterior.weight_concentration
    if conc.ndim == 1:
        log_norm_weight = gammaln(conc.sum()) - gammaln(conc).sum()
    else:
        log_norm_weight = -betaln(conc[0], conc[1]).sum()
    return float(entropy - log_wishart.sum() - log_norm_weight - 0.5 * D * np.log(posterior.mean_precision).sum())


def full_elbo(X, fit):
    """The whole ELBO of a "full" variational fit, every constant kept (Bishop 2006, eqs.
    10.70-10.77): a lower bound on log p(X), the log evidence, where ``fit.elbo`` (scikit-learn's
    ``lower_bounds_``) drops the terms that do not depend on q.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data ``fit`` was fitted on.
    fit : BayesianGMMFit
        With ``covariance_type="full"``; either weight prior.

    Returns
    -------
    float
    """
    from scipy import stats
    from scipy.special import multigammaln

    if fit.params.covariance_type != "full":
        raise ValueError(f"full_elbo is written for covariance_type='full'; got {fit.params.covariance_type!r}.")
    X = np.asarray(X, dtype=float)
    resp = np.ascontiguousarray(fit.responsibilities.T)
    D = X.shape[1]
    counts, means, sample_covariances = _statistics(np.ascontiguousarray(X.T), resp)
    post, prior = fit.posterior, fit.prior
    beta, m, nu = post.mean_precision, post.means, post.degrees_of_freedom
    W = np.linalg.inv(post.covariances * nu[:, None, None])  # the Wishart scales W_k
    d_range = np.arange(1, D + 1)
    e_logdet = np.array([digamma((n + 1 - d_range) / 2).sum() + D * np.log(2) + np.linalg.slogdet(w)[1]
                         for n, w in zip(nu, W, strict=True)])  # fmt: skip
    e_log_pi = _expected_log_weights(post.weight_concentration)
    b0, m0, nu0, psi0 = prior.mean_precision, prior.mean, prior.degrees_of_freedom, prior.covariance
    log_norm_w0 = 0.5 * nu0 * np.linalg.slogdet(psi0)[1] - 0.5 * nu0 * D * np.log(2) - multigammaln(nu0 / 2, D)
    total = (resp * e_log_pi[:, None]).sum() + entr(resp).sum()  # E[log p(Z | π)] + H(q(Z))
    for k in range(len(nu)):
        d, dm = means[k] - m[k], m[k] - m0
        total += 0.5 * counts[k] * (e_logdet[k] - D / beta[k] - nu[k] * np.trace(sample_covariances[k] @ W[k])
                                    - nu[k] * d @ W[k] @ d - D * em.LOG_2PI)  # fmt: skip
        total += 0.5 * (D * np.log(b0 / (2 * np.pi)) + e_logdet[k] - D * b0 / beta[k] - b0 * nu[k] * dm @ W[k] @ dm)
        total += log_norm_w0 + 0.5 * (nu0 - D - 1) * e_logdet[k] - 0.5 * nu[k] * np.trace(psi0 @ W[k])
        total -= 0.5 * e_logdet[k] + 0.5 * D * np.log(beta[k] / (2 * np.pi)) - 0.5 * D  # E[log q(μ_k | Λ_k)]
        total += stats.wishart(df=nu[k], scale=W[k]).entropy()
    conc, a0 = post.weight_concentration, prior.weight_concentration
    if conc.ndim == 1:
        total += gammaln(a0 * len(conc)) - len(conc) * gammaln(a0) + (a0 - 1) * e_log_pi.sum()
        total += stats.dirichlet(conc).entropy()
    else:
        e_log_rest = digamma(conc[1]) - digamma(conc.sum(axis=0))  # E[log(1 - v_k)]
        total += np.sum(np.log(a0) + (a0 - 1) * e_log_rest)  # v_k ~ Beta(1, α_0)
        total += sum(stats.beta(a, b).entropy() for a, b in conc.T)
    return float(total)


# --------------------------------------------------------------------------- the variant


class _State(NamedTuple):
    """q(π, μ, Λ) after an M-step, and its Gaussians N(m_k, E[Λ_k]⁻¹), factorised once."""

    posterior: VariationalPosterior
    gaussians: em.GMMParams


class _Variational:
    """fit_bayesian_gmm's variant for em_driver's ``run_fit``: the E-pass under q (γ from log ρ,
    with H(γ) for the ELBO), the M-step the conjugate updates, the objective the ELBO."""

    name = "fit_bayesian_gmm"
    objective_name = "ELBO"

    def __init__(self, source, prior, weight_prior_type, settings):
        self.source, self.prior, self.weight_prior_type, self.settings = source, prior, weight_prior_type, settings

    # Full statistics whatever the model: the conjugate updates reduce S_k to it themselves.
    def start(self, method, rng):
        return self.m_step(self.source.seed_pass(self.settings.n_components, method, rng, "full"))

    def given_start(self, resp):
        """One M-step on responsibilities (K, N): scikit-learn's initialisation."""
        return self.m_step(self.source.given_pass(resp, "full"))

    def e_pass(self, state, spent):
        """The source's E-pass (em_helpers' ``DataSource``: its one block map) with log ρ_ik in
        place of log π_k N(x_i | μ_k, Σ_k), and H(γ)."""
        offsets = _log_rho_offsets(state.posterior, self.source.n_features)
        e_pass = self.source.e_pass(state.gaussians, spent, log_weights=offsets, statistics_type="full")
        e_pass.entropy = float(entr(e_pass.responsibilities).sum())
        return e_pass

    def m_step(self, e_pass):
        settings = self.settings
        update = (self.prior, self.weight_prior_type, settings.covariance_type, settings.reg_covar)
        posterior = _posterior(*_moments(e_pass.statistics), *update)
        return _State(posterior, _gaussians(posterior, settings.covariance_type))

    def objective(self, previous, state, e_pass):
        """The ELBO of q(Z) = ``previous``'s γ and the q(π, μ, Λ) computed from it; none at the
        start (-inf, as scikit-learn's), so the first iteration never counts as converged."""
        if previous is None:
            return -np.inf
        return _elbo(previous.entropy, state.posterior, state.gaussians)

    def result(self, run, n_failed_starts):
        posterior = run.state.posterior
        params = em.GMMParams.trusted(
            _expected_weights(posterior), posterior.means, posterior.covariances, self.settings.covariance_type, 0.0
        )
        elbos = np.array(run.objectives[1:])  # scikit-learn's lower_bounds_: one per iteration
        resp = run.last.responsibilities.T
        return BayesianGMMFit(params, posterior, self.prior, resp, elbos, len(elbos), run.converged)


def fit_bayesian_gmm(
    X,
    n_components,
    *,
    covariance_type="full",
    weight_concentration_prior_type="dirichlet_process",
    weight_concentration_prior=None,
    mean_precision_prior=None,
    mean_prior=None,
    degrees_of_freedom_prior=None,
    covariance_prior=None,
    init="kmeans++",
    n_init=1,
    max_iter=200,
    tol=1e-6,
    reg_covar=1e-6,
    seed=None,
    n_jobs=1,
):
    """Fit a Bayesian Gaussian mixture with at most K = ``n_components`` components by
    variational Bayes (mean field), as scikit-learn's BayesianGaussianMixture does.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples,)
    n_components : int
        K, an upper bound: components the data do not need get weights near 0.
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
    weight_concentration_prior_type : {"dirichlet_process", "dirichlet_distribution"}
        A truncated Dirichlet process (stick breaking) or a symmetric Dirichlet prior on π.
    weight_concentration_prior, mean_precision_prior : float, default 1 / K and 1
        α_0 (small values favour few components) and β_0 (how firmly μ_k is held to m_0).
    mean_prior, degrees_of_freedom_prior : array-like of shape (n_features,) and float
        m_0 (default the data mean) and ν_0 > D - 1 (default D).
    covariance_prior : float or array-like, default from the data
        Ψ_0: a (D, D) matrix ("full", "tied"), a (D,) vector ("diag") or a number
        ("spherical"); default the data covariance, its diagonal, or its mean variance,
        with N - 1 in the denominator (scikit-learn's): a single point needs a given Ψ_0.
    init : {"kmeans++", "random"} or array-like of shape (n_samples, n_components)
        Seeds as in ``fit_gmm`` (scikit-learn's default is a k-means partition), or
        responsibilities: one M-step on them sets the posterior (scikit-learn's initialisation),
        and ``n_init`` is ignored.
    n_init : int, default 1
        Starts; the fit with the highest final ELBO is returned.
    max_iter, tol : int and float, default 200 and 1e-6
        At most ``max_iter`` E/M iterations after that first M-step (0 returns the start, with
        ``elbos`` empty); stop when the ELBO's gain per point falls below ``tol`` (0 runs them
        all). Not scikit-learn's: its ``tol`` (default 1e-3) is on the gain of the total bound,
        and its ``max_iter`` defaults to 100. With tol > 0, a fit that reaches ``max_iter`` first
        issues ``em_helpers.ConvergenceWarning``.
    reg_covar : float, default 1e-6
        Added to each S_k's diagonal, as scikit-learn does. With 0, a posterior E[Λ_k]⁻¹ that
        is not positive definite (all points identical, say) raises ``fit_gmm``'s collapse error,
        ``CollapseError``: among ``n_init`` starts, that start is skipped.
    seed : int, numpy.random.Generator or None
    n_jobs : int, default 1
        Processes for each E-pass, as ``fit_gmm``'s (em_helpers' ``DataSource``): every n_jobs > 1
        gives n_jobs = 2's fit bit for bit, and n_jobs = 1's to rounding (tests/pool_spread.py, 8
        seeds, the 4 models: ELBO within 1.6e-15 relative, θ within 6.5e-16 of its largest entry).
        H(γ) is summed in this process over the whole γ. Linux only.

    Returns
    -------
    BayesianGMMFit
    """
    em.check_int(n_jobs, "n_jobs", 1)
    X = em.check_X(X)
    n_samples, n_features = X.shape
    settings = em.fit_settings(
        n_samples, n_components, n_init=n_init, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
        covariance_type=covariance_type,
    )  # fmt: skip
    init = em.check_init(init, ("methods", "responsibilities"), n_samples, n_features, settings)
    if weight_concentration_prior_type not in WEIGHT_PRIOR_TYPES:
        raise ValueError(
            f"weight_concentration_prior_type must be one of {WEIGHT_PRIOR_TYPES}; "
            f"got {weight_concentration_prior_type!r}."
        )
    priors = (weight_concentration_prior, mean_precision_prior, mean_prior, degrees_of_freedom_prior, covariance_prior)
    prior = _resolve_prior(X, n_components, covariance_type, priors)
    variant = _Variational(em.DataSource(X, n_jobs=n_jobs), prior, weight_concentration_prior_type, settings)
    return em.run_fit(variant, settings, init, seed, n_samples)

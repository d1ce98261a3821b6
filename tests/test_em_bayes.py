"""Tests of the Bayesian variants: variational Bayes (em_bayes) equals scikit-learn's
BayesianGaussianMixture, MAP-EM (fit_gmm's ``prior``) equals R's mclust, both objectives
climb, and bad input gets a clear error."""

import dataclasses
import json
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.special import betaln, entr, gammaln, logsumexp, multigammaln
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

import em_bayes as eb
import em_helpers as em

ROOT = Path(__file__).resolve().parent.parent
THREE = np.loadtxt(ROOT / "data" / "three_gaussians.csv", delimiter=",", skiprows=1)[:, :2]


class _FromResponsibilities(BayesianGaussianMixture):
    """scikit-learn's model, initialised by its own M-step on given responsibilities."""

    def __init__(self, responsibilities, **kwargs):
        super().__init__(**kwargs)
        self.responsibilities = responsibilities

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.responsibilities)


def _sklearn_covariances_full(gm, n_components, n_features):
    cov = np.asarray(gm.covariances_)
    if gm.covariance_type == "full":
        return cov
    if gm.covariance_type == "tied":
        return np.repeat(cov[None], n_components, axis=0)
    if gm.covariance_type == "diag":
        return cov[:, :, None] * np.eye(n_features)
    return cov[:, None, None] * np.eye(n_features)


# --------------------------------------------------------------------------- variational Bayes


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_variational_fit_equals_sklearn_from_the_same_responsibilities(covariance_type, weight_prior):
    rng = np.random.default_rng(3)
    X, K = THREE[:300], 6
    resp = rng.dirichlet(np.ones(K), size=len(X))
    priors = {} if covariance_type != "diag" else {"mean_precision_prior": 0.5, "degrees_of_freedom_prior": 3.0}
    ours = eb.fit_bayesian_gmm(X, K, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior,
                               init=resp, max_iter=60, tol=0, **priors)  # fmt: skip
    gm = _FromResponsibilities(resp, n_components=K, covariance_type=covariance_type,
                               weight_concentration_prior_type=weight_prior, max_iter=60, tol=0, **priors)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0 never reports convergence
        gm.fit(X)
    post = ours.posterior
    pairs = {
        "weights": (ours.params.weights, gm.weights_),
        "means": (ours.params.means, gm.means_),
        "covariances": (ours.params.covariances, _sklearn_covariances_full(gm, K, X.shape[1])),
        "weight_concentration": (post.weight_concentration, np.asarray(gm.weight_concentration_)),
        "mean_precision": (post.mean_precision, gm.mean_precision_),
        "degrees_of_freedom": (post.degrees_of_freedom, np.broadcast_to(gm.degrees_of_freedom_, (K,))),
        "responsibilities": (ours.responsibilities, gm.predict_proba(X)),
    }
    for name, (a, b) in pairs.items():
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8, err_msg=name)
    assert ours.n_iter == gm.n_iter_ == 60
    # the ELBO too (scikit-learn's tied lower bound is a length-1 array per iteration)
    np.testing.assert_allclose(ours.elbos, np.ravel(gm.lower_bounds_), rtol=1e-12, atol=0)


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_elbo_never_decreases(covariance_type):
    drops = []
    for seed in range(6):
        for weight_prior in eb.WEIGHT_PRIOR_TYPES:
            fit = eb.fit_bayesian_gmm(THREE, 8, covariance_type=covariance_type, init="random", max_iter=150,
                                      weight_concentration_prior_type=weight_prior, tol=0, seed=seed)  # fmt: skip
            step = np.diff(fit.elbos)
            if (step < -1e-10 * np.abs(fit.elbos[1:])).any():
                drops.append((seed, weight_prior, float(step.min())))
    assert not drops, f"the ELBO decreased (seed, weight prior, change): {drops}"


# --------------------------------------------------------------------------- the ELBO against the evidence


def _log_evidence(X, prior):
    """log p(X) of N points from one Gaussian under em_bayes' Normal-Wishart prior: a closed form.

    The model (em_bayes' names): Λ ~ Wishart(W_0, ν_0) with W_0 = Ψ_0⁻¹, μ | Λ ~ N(m_0, (β_0 Λ)⁻¹),
    x_i | μ, Λ ~ N(μ, Λ⁻¹) for i = 1..N. Write the Normal-Wishart density as g / Z with the kernel
    g(μ, Λ; m, β, Ψ, ν) = |Λ|^((ν - D)/2) exp(-½ β (μ - m)ᵀΛ(μ - m) - ½ tr(ΨΛ)) and its integral
    Z(β, Ψ, ν) = (2π/β)^(D/2) 2^(νD/2) |Ψ|^(-ν/2) Γ_D(ν/2) (the normalisers of N(μ | m, (βΛ)⁻¹) and
    of the Wishart, Bishop 2006 eqs. 2.155 and B.78-B.79). The likelihood is
    (2π)^(-ND/2) |Λ|^(N/2) exp(-½ Σ_i (x_i - μ)ᵀΛ(x_i - μ)); completing the square in μ,

        likelihood × g(μ, Λ; m_0, β_0, Ψ_0, ν_0) = (2π)^(-ND/2) g(μ, Λ; m_N, β_N, Ψ_N, ν_N),
        β_N = β_0 + N,  ν_N = ν_0 + N,  m_N = (β_0 m_0 + N x̄) / β_N,
        Ψ_N = Ψ_0 + S + (β_0 N / β_N) (x̄ - m_0)(x̄ - m_0)ᵀ,  S = Σ_i (x_i - x̄)(x_i - x̄)ᵀ.

    Integrating over (μ, Λ), p(X) = (2π)^(-ND/2) Z(β_N, Ψ_N, ν_N) / Z(β_0, Ψ_0, ν_0), that is

        log p(X) = -(ND/2) log π + log Γ_D(ν_N/2) - log Γ_D(ν_0/2)
                   + (ν_0/2) log|Ψ_0| - (ν_N/2) log|Ψ_N| + (D/2) log(β_0/β_N)

    (Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution", eq. 266, there for the
    inverse Wishart on Σ = Λ⁻¹: the same density). log p(∅) = 0 (N = 0 leaves Ψ_N = Ψ_0, ν_N = ν_0).

    X : array of shape (n_samples, n_features); prior : em_bayes.VariationalPrior.
    """
    N, D = X.shape
    beta0, m0, nu0, psi0 = prior.mean_precision, prior.mean, prior.degrees_of_freedom, prior.covariance
    beta_n, nu_n = beta0 + N, nu0 + N
    x_bar = X.mean(axis=0) if N else m0
    psi_n = psi0 + (X - x_bar).T @ (X - x_bar) + beta0 * N / beta_n * np.outer(x_bar - m0, x_bar - m0)
    return float(
        -0.5 * N * D * np.log(np.pi)
        + multigammaln(0.5 * nu_n, D) - multigammaln(0.5 * nu0, D)
        + 0.5 * nu0 * np.linalg.slogdet(psi0)[1] - 0.5 * nu_n * np.linalg.slogdet(psi_n)[1]
        + 0.5 * D * np.log(beta0 / beta_n)
    )  # fmt: skip


def _log_p_labels(counts, weight_concentration, weight_prior):
    """log p(z) of labels with N_k = ``counts[k]`` points in component k, π integrated out.

    Dirichlet(α_0, ..., α_0): the Dirichlet-multinomial Γ(Kα_0)/Γ(N + Kα_0) Π_k Γ(N_k + α_0)/Γ(α_0).
    Stick breaking, π_k = v_k Π_{j<k} (1 - v_j) with v_k ~ Beta(1, α_0), as em_bayes and scikit-learn
    truncate it (the last stick v_K is a Beta too, not 1): the sticks are independent, so
    p(z) = Π_k E[v_k^N_k (1 - v_k)^M_k] = Π_k B(1 + N_k, α_0 + M_k) / B(1, α_0), M_k = Σ_{j>k} N_j.
    At K = 1: 0 (the single weight is 1) and log B(1 + N, α_0) - log B(1, α_0).
    """
    a0, K = weight_concentration, len(counts)
    if weight_prior == "dirichlet_distribution":
        return float(gammaln(K * a0) - gammaln(counts.sum() + K * a0) + (gammaln(counts + a0) - gammaln(a0)).sum())
    beyond = np.cumsum(counts[::-1])[::-1] - counts  # M_k
    return float((betaln(1 + counts, a0 + beyond) - betaln(1, a0)).sum())


def _log_joint_of_labels(X, labels, n_components, prior, weight_prior):
    """log p(X, z) = log p(z) + Σ_k log p(X_k), X_k the points labelled k: given z, the components'
    parameters are independent a priori and each sees only its own points."""
    counts = np.bincount(labels, minlength=n_components).astype(float)
    evidence = sum(_log_evidence(X[labels == k], prior) for k in range(n_components))
    return _log_p_labels(counts, prior.weight_concentration, weight_prior) + evidence


class _Prior(NamedTuple):
    """The fields of em_bayes.VariationalPrior that _log_evidence reads, set by hand."""

    mean_precision: float
    mean: np.ndarray
    degrees_of_freedom: float
    covariance: np.ndarray


def _log_evidence_by_quadrature(x, prior):
    """log p(x) of 1-D points x by quadrature over (μ, λ) of scipy's densities,
    log ∫∫ Π_i N(x_i | μ, 1/λ) N(μ | m_0, 1/(β_0 λ)) Wishart(λ | 1/Ψ_0, ν_0) dμ dλ, and quad's estimated
    relative error: the integrand scaled by its peak, λ = e^u, the inner integral over μ by 400-point
    Gauss-Legendre across 40 standard deviations (the integrand is a Gaussian in μ), the outer one adaptive."""
    b0, m0, nu0, psi0 = prior.mean_precision, prior.mean[0], prior.degrees_of_freedom, prior.covariance[0, 0]

    def log_joint(mu, lam):
        mu = np.asarray(mu)
        return (stats.norm.logpdf(x, mu[..., None], lam**-0.5).sum(axis=-1)
                + stats.norm.logpdf(mu, m0, (b0 * lam) ** -0.5)
                + stats.wishart.logpdf(lam, df=nu0, scale=1 / psi0))  # fmt: skip

    peak = optimize.minimize(lambda t: -log_joint(t[0], np.exp(t[1])), [x.mean(), -np.log(x.var())],
                             method="Nelder-Mead")  # fmt: skip
    (mu_hat, u_hat), top = peak.x, -peak.fun
    width = 40 / np.sqrt(np.exp(u_hat) * len(x))  # 40 standard deviations of μ at the peak's λ

    def over_mu(u):
        inner = integrate.fixed_quad(lambda mu: np.exp(log_joint(mu, np.exp(u)) - top),
                                     mu_hat - width, mu_hat + width, n=400)[0]  # fmt: skip
        return inner * np.exp(u)

    value, error = integrate.quad(over_mu, u_hat - 12, u_hat + 12, epsabs=0, epsrel=1e-12, limit=200)
    return top + np.log(value), error / value


def test_log_evidence_is_the_integral_of_likelihood_times_prior():
    # D = 1: by quadrature, for the default prior (m_0 the mean, Ψ_0 the variance, ν_0 = D, β_0 = 1) and
    # a given one; quad's error estimate is below 1e-12 relative, so log p(x) agrees to 1e-10
    x = THREE[:25, 0]
    for prior in (_Prior(1.0, np.array([x.mean()]), 1.0, np.array([[np.var(x, ddof=1)]])),
                  _Prior(0.05, np.array([-1.0]), 4.5, np.array([[0.3]]))):  # fmt: skip
        by_quadrature, error = _log_evidence_by_quadrature(x, prior)
        assert error < 1e-12
        assert abs(_log_evidence(x[:, None], prior) - by_quadrature) < 1e-10
    # D = 3: p(X) = p(X | θ) p(θ) / p(θ | X) at any θ (Chib 1995), with scipy's densities and the conjugate
    # posterior NW(m_N, β_N, Ψ_N, ν_N); a wrong update or normaliser makes it depend on θ.
    X, prior = load_iris().data[:30, :3], _Prior(0.5, np.array([5.0, 3.0, 1.5]), 4.0, np.diag([0.3, 0.2, 0.1]))
    N = len(X)
    beta_n, nu_n, x_bar = prior.mean_precision + N, prior.degrees_of_freedom + N, X.mean(axis=0)
    m_n = (prior.mean_precision * prior.mean + N * x_bar) / beta_n
    d = x_bar - prior.mean
    psi_n = prior.covariance + (X - x_bar).T @ (X - x_bar) + prior.mean_precision * N / beta_n * np.outer(d, d)
    rng = np.random.default_rng(0)
    for lam in stats.wishart(df=prior.degrees_of_freedom, scale=np.linalg.inv(prior.covariance)).rvs(3, rng):
        mu = rng.multivariate_normal(prior.mean, np.linalg.inv(prior.mean_precision * lam))
        cov = np.linalg.inv(lam)
        chib = (stats.multivariate_normal(mu, cov).logpdf(X).sum()
                + stats.multivariate_normal(prior.mean, cov / prior.mean_precision).logpdf(mu)
                + stats.wishart(df=prior.degrees_of_freedom, scale=np.linalg.inv(prior.covariance)).logpdf(lam)
                - stats.multivariate_normal(m_n, cov / beta_n).logpdf(mu)
                - stats.wishart(df=nu_n, scale=np.linalg.inv(psi_n)).logpdf(lam))  # fmt: skip
        assert abs(_log_evidence(X, prior) - chib) < 1e-10 * abs(chib)


# (data, prior) pairs for the K = 1 oracle: notebook 01's points, one feature of them, the same points
# offset by 1e4, iris with a given prior (α_0 = 0.3 too: the default, 1/K = 1, makes log α_0 vanish), 7 points
_ONE_COMPONENT_CASES = {
    "three_gaussians": (THREE, {}),
    "one_feature": (THREE[:, :1], {}),
    "offset_1e4": (THREE + 1e4, {}),
    "iris_given_prior": (load_iris().data, {"weight_concentration_prior": 0.3, "mean_precision_prior": 0.01,
                                            "degrees_of_freedom_prior": 7.5, "covariance_prior": 0.3 * np.eye(4),
                                            "mean_prior": [5.0, 3.0, 4.0, 1.0]}),
    "seven_points": (THREE[:7], {"mean_precision_prior": 3.0}),
}  # fmt: skip


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
@pytest.mark.parametrize("case", _ONE_COMPONENT_CASES)
def test_whole_elbo_of_one_component_is_the_log_evidence(case, weight_prior):
    """At K = 1 every z_i is 1 and the posterior p(π, μ, Λ | X) is the conjugate one, a product of the
    weight factor and a Normal-Wishart: mean field loses nothing, q is the posterior after one M-step,
    and ELBO = log p(X) - KL(q ‖ posterior) = log p(X) exactly (with reg_covar = 0: reg_covar is added
    to S_k, which moves q off the posterior; at 1e-6 the bound falls 1.6e-11 below log p(X) on notebook
    01's points). ``full_elbo`` is that whole bound; ``fit.elbo`` is it minus a constant (the test above).

    Tolerance 1e-12 relative: both sides add about 20 terms no larger than a few |log p(X)|, each to a
    few ulps (1.1e-16); measured at most 6e-15 relative over these cases. The smallest term of the ELBO,
    D/2 in E[log q(μ | Λ)], is 1e-4 to 1e-1 of |log p(X)| here: dropping any term fails by 1e8 or more."""
    X, priors = _ONE_COMPONENT_CASES[case]
    fit = eb.fit_bayesian_gmm(X, 1, weight_concentration_prior_type=weight_prior, reg_covar=0.0, **priors)
    assert fit.converged and fit.n_iter == 2  # the second iteration repeats the first: q is already exact
    log_evidence = _log_joint_of_labels(X, np.zeros(len(X), dtype=int), 1, fit.prior, weight_prior)
    assert abs(eb.full_elbo(X, fit) - log_evidence) < 1e-12 * abs(log_evidence)


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
def test_whole_elbo_of_separated_clusters_is_log_p_of_the_points_and_their_labels(weight_prior):
    """K = 3 clusters 60 standard deviations apart: γ_ik is 0 or 1 to rounding (the largest other value
    is below 1e-300), so q(Z) is a point mass at the labels ẑ, H(γ) = 0, and given ẑ the posterior of
    (π, μ, Λ) is the product of the weight factor and one Normal-Wishart per component, which q is:
    ELBO = log p(X, ẑ) = log p(ẑ) + Σ_k log p(X_k) exactly. This pins the terms of the weights that K = 1
    leaves out (for the Dirichlet, log Γ(Kα_0) - K log Γ(α_0) + (α_0 - 1) Σ_k E[log π_k] and its entropy).
    Tolerance as at K = 1."""
    rng = np.random.default_rng(0)
    centres, sizes = np.array([[0.0, 0.0], [60.0, 0.0], [0.0, 60.0]]), (40, 25, 10)
    shape = np.array([[1.0, 0.3], [0.0, 0.7]])
    X = np.concatenate([rng.standard_normal((n, 2)) @ shape + c for n, c in zip(sizes, centres, strict=True)])
    priors = {"mean_prior": [20.0, 20.0], "mean_precision_prior": 1e-3, "covariance_prior": np.eye(2),
              "degrees_of_freedom_prior": 3.0}  # fmt: skip
    fit = eb.fit_bayesian_gmm(X, 3, weight_concentration_prior_type=weight_prior, reg_covar=0.0, seed=1, **priors)
    resp = fit.responsibilities
    assert np.minimum(resp, 1 - resp).max() < 1e-300
    labels = resp.argmax(axis=1)
    assert sorted(np.bincount(labels, minlength=3)) == sorted(sizes)
    log_joint = _log_joint_of_labels(X, labels, 3, fit.prior, weight_prior)
    assert abs(eb.full_elbo(X, fit) - log_joint) < 1e-12 * abs(log_joint)


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
def test_whole_elbo_lies_below_the_log_evidence_summed_over_every_labelling(weight_prior):
    # 10 points, K = 2: log p(X) = log Σ_z p(X, z) over all 2^10 labellings, exactly; the ELBO is a lower
    # bound on it for any q (Jensen). Only one side is pinned: the gaps, KL(q ‖ posterior), measured
    # 1.3 to 5.2 over these 8 fits (mean field over 10 points is loose, and q covers one labelling's mode)
    X, K = THREE[::50], 2
    labellings = (np.arange(2 ** len(X))[:, None] >> np.arange(len(X))) & 1
    fits = [eb.fit_bayesian_gmm(X, K, weight_concentration_prior_type=weight_prior, init="random", seed=seed)
            for seed in range(4)]  # fmt: skip
    prior = fits[0].prior  # the data's and K's, the same for every seed
    log_evidence = float(logsumexp([_log_joint_of_labels(X, z, K, prior, weight_prior) for z in labellings]))
    for seed, fit in enumerate(fits):
        whole = eb.full_elbo(X, fit)
        assert whole <= log_evidence, (seed, whole, log_evidence)


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
def test_elbo_is_the_whole_bound_up_to_a_constant(weight_prior):
    # scikit-learn's lower bound keeps only some terms (its issue #8823 asks whether the rest cancel):
    # along two runs from different starts, the whole bound (full_elbo, pinned to log p(X) by the tests
    # above) minus ours must stay one constant.
    X, K = THREE, 5
    Xt = np.ascontiguousarray(X.T)
    differences = []
    for seed in (0, 1):
        fit = eb.fit_bayesian_gmm(X, K, weight_concentration_prior_type=weight_prior, max_iter=1, tol=0, seed=seed)
        update = (fit.prior, weight_prior, "full", 0.0)
        resp = np.random.default_rng(seed).dirichlet(np.ones(K), size=len(X)).T
        posterior = eb._posterior(*eb._statistics(Xt, resp), *update)
        for _ in range(15):
            resp = eb._log_rho(Xt, posterior, eb._gaussians(posterior, "full"))
            em.responsibilities_in_place(resp)  # γ, the E-step
            posterior = eb._posterior(*eb._statistics(Xt, resp), *update)
            ours = eb._elbo(entr(resp).sum(), posterior, eb._gaussians(posterior, "full"))
            whole = eb.full_elbo(X, dataclasses.replace(fit, responsibilities=resp.T, posterior=posterior))
            differences.append(whole - ours)
    assert np.ptp(differences) < 1e-8 * abs(differences[0])


def test_whole_elbo_lies_below_the_log_likelihood_at_its_maximum_and_needs_full_covariances():
    for seed in (0, 1):
        fit = eb.fit_bayesian_gmm(THREE, 5, seed=seed)
        assert eb.full_elbo(THREE, fit) < em.fit_gmm(THREE, 3, seed=seed).log_likelihood  # ELBO <= log p(X) <= sup L
    with pytest.raises(ValueError, match="full_elbo is written for covariance_type='full'"):
        eb.full_elbo(THREE, eb.fit_bayesian_gmm(THREE, 3, covariance_type="diag", seed=0))


def test_variational_fit_switches_off_the_components_it_does_not_need():
    kept = [int((eb.fit_bayesian_gmm(THREE, 10, seed=seed).params.weights > 0.01).sum()) for seed in range(5)]
    assert kept.count(3) >= 3, f"components above 1% weight per seed: {kept}"


def test_variational_result_shapes_convergence_and_best_of_n_init():
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.ConvergenceWarning)  # the best start converged: no warning
        fit = eb.fit_bayesian_gmm(THREE, 5, n_init=3, seed=0)
    with pytest.warns(em.ConvergenceWarning, match="max_iter=200"):  # though one of the three stopped at max_iter
        singles = [eb.fit_bayesian_gmm(THREE, 5, init=r) for r in _starts(3, 5, seed=0)]
    assert fit.elbo == max(f.elbo for f in singles)
    assert fit.converged and fit.n_iter == len(fit.elbos) < 200
    assert fit.responsibilities.shape == (500, 5) and np.allclose(fit.responsibilities.sum(axis=1), 1)
    assert fit.posterior.weight_concentration.shape == (2, 5)  # the Dirichlet process's Beta factors
    assert abs(fit.params.weights.sum() - 1) < 1e-12


def _starts(n_init, n_components, seed):
    """The responsibilities fit_bayesian_gmm starts from, drawn from the same generator."""
    rng = np.random.default_rng(seed)
    Xt = np.ascontiguousarray(THREE.T)
    return [em.seed_responsibilities(Xt, n_components, "kmeans++", rng).T for _ in range(n_init)]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"weight_concentration_prior_type": "dirichlet"}, ValueError, "weight_concentration_prior_type must be"),
        ({"weight_concentration_prior": 0.0}, ValueError, "weight_concentration_prior must be a positive"),
        ({"weight_concentration_prior": True}, ValueError, "^weight_concentration_prior must be a positive"),
        ({"weight_concentration_prior": "1.0"}, ValueError, "^weight_concentration_prior must be a positive"),
        ({"mean_precision_prior": -1.0}, ValueError, "mean_precision_prior must be a positive"),
        ({"mean_prior": [0.0, 0.0, 0.0]}, ValueError, r"mean_prior must be a finite array of shape \(2,\)"),
        ({"degrees_of_freedom_prior": 0.0}, ValueError, "^degrees_of_freedom_prior must be a positive number"),
        ({"degrees_of_freedom_prior": 0.5}, ValueError, "greater than D - 1 = 1"),
        ({"degrees_of_freedom_prior": 1.0}, ValueError, "greater than D - 1 = 1"),  # the bound itself
        ({"covariance_prior": np.eye(3)}, ValueError, r"must be finite with shape \(2, 2\)"),
        ({"covariance_prior": -np.eye(2)}, ValueError, r"^covariance_prior must be symmetric positive definite\.$"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, 0.0]}, ValueError,
         r"^covariance_prior must be positive\.$"),
        ({"init": np.full((500, 2), 0.5)}, ValueError, "2 columns of responsibilities but n_components=3"),
        ({"init": np.full((500, 3), 0.5)}, ValueError, "each row of responsibilities must sum to 1"),
    ],
)  # fmt: skip
def test_variational_bad_input_gets_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        eb.fit_bayesian_gmm(THREE, 3, **kwargs)


def _full_form(value, n_features):
    """A covariance prior given as a (D, D) matrix, a (D,) diagonal or a number, as a (D, D) matrix."""
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 2:
        return value
    return np.diag(value) if value.ndim == 1 else value * np.eye(n_features)


# Ψ_0 for each covariance model: integers where a matrix is given, entries below 1 where not
_GIVEN_COVARIANCE_PRIOR = {"full": [[2, 1], [1, 1]], "tied": [[2, 1], [1, 1]], "diag": [0.5, 2.0], "spherical": 0.5}


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_given_priors_mean_what_they_mean_in_scikit_learn(covariance_type):
    rng = np.random.default_rng(7)
    X, K = THREE[:120], 3
    resp = rng.dirichlet(np.ones(K), size=len(X))
    priors = {"weight_concentration_prior": 0.3, "mean_precision_prior": 2.0, "mean_prior": [0, 1],
              "degrees_of_freedom_prior": 4.0}  # fmt: skip
    priors["covariance_prior"] = _GIVEN_COVARIANCE_PRIOR[covariance_type]
    ours = eb.fit_bayesian_gmm(X, K, covariance_type=covariance_type, init=resp, max_iter=5, tol=0, **priors)
    gm = _FromResponsibilities(resp, n_components=K, covariance_type=covariance_type, max_iter=5, tol=0, **priors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    np.testing.assert_allclose(ours.params.means, gm.means_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.params.covariances, _sklearn_covariances_full(gm, K, 2), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.params.weights, gm.weights_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.elbos, np.ravel(gm.lower_bounds_), rtol=1e-12, atol=0)
    # the resolved prior: Ψ_0 in full form and m_0, as float64 though given as integers
    assert ours.prior.covariance.dtype == ours.prior.mean.dtype == np.float64
    np.testing.assert_array_equal(ours.prior.covariance, _full_form(priors["covariance_prior"], 2))
    np.testing.assert_array_equal(ours.prior.mean, [0.0, 1.0])


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_default_prior_is_scikit_learns_for_two_points_and_for_one_feature(covariance_type):
    for X in (THREE[:2], THREE[:40, :1]):
        ours = eb.fit_bayesian_gmm(X, 1, covariance_type=covariance_type, max_iter=1, tol=0).prior
        gm = BayesianGaussianMixture(n_components=1, covariance_type=covariance_type, max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        D = X.shape[1]
        np.testing.assert_allclose(ours.covariance, _full_form(gm.covariance_prior_, D), rtol=1e-12, atol=0)
        np.testing.assert_allclose(ours.mean, gm.mean_prior_, rtol=1e-12, atol=0)
        assert (ours.degrees_of_freedom, ours.mean_precision) == (
            gm.degrees_of_freedom_prior_,
            gm.mean_precision_prior_,
        )
        assert ours.weight_concentration == gm.weight_concentration_prior_


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_a_single_point_needs_a_given_covariance_prior(covariance_type):
    point = np.array([[1.0, 2.0]])
    # (the wording: tests/test_contract.py's one for every caller of em_checks.check_two_points)
    with pytest.raises(
        ValueError, match=r"^the default covariance_prior needs at least 2 points.*: pass covariance_prior"
    ):
        eb.fit_bayesian_gmm(point, 1, covariance_type=covariance_type)
    psi = _GIVEN_COVARIANCE_PRIOR[covariance_type]
    fit = eb.fit_bayesian_gmm(point, 1, covariance_type=covariance_type, covariance_prior=psi)
    # N_1 = 1, x̄_1 = m_0 = the point, S_1 = 0 (+ reg_covar), ν_1 = ν_0 + 1 = 3 (Bishop eqs. 10.60-10.63)
    np.testing.assert_array_equal(fit.params.means, point)
    np.testing.assert_allclose(fit.params.covariances[0], (_full_form(psi, 2) + 1e-6 * np.eye(2)) / 3, rtol=1e-12)
    assert fit.posterior.degrees_of_freedom[0] == pytest.approx(3.0, rel=1e-12)


def test_identical_points_without_reg_covar_get_the_collapse_error():
    X = np.tile([1.0, 2.0], (5, 1))  # every deviation from the mean is exactly 0: Ψ_0 = S_1 = 0
    collapse = r"component {} collapsed onto too few points .*: increase reg_covar, decrease n_components"
    with pytest.raises(em.CollapseError, match="^" + collapse.format(0)):
        eb.fit_bayesian_gmm(X, 1, reg_covar=0.0)
    # fit_gmm's CollapseError, so run_fit skips the start and tries the others (here all collapse)
    with pytest.raises(em.CollapseError, match=r"^all n_init=2 starts collapsed; the first: " + collapse.format(0)):
        eb.fit_bayesian_gmm(X, 1, reg_covar=0.0, n_init=2)
    # a start with component 1 on one point, the prior's mean (S_1 = 0, x̄_1 = m_0), and Ψ_0 the smallest
    # positive float: E[Λ_1]⁻¹ = Ψ_0 / ν_1 rounds to 0, the error again, not a floored variance (though
    # later steps would mend it)
    one_hot = np.eye(2)[(np.arange(30) == 0).astype(int)]
    tiny = {"covariance_type": "spherical", "covariance_prior": float(np.nextafter(0.0, 1.0)), "init": one_hot,
            "mean_prior": THREE[0]}  # fmt: skip
    with pytest.raises(em.CollapseError, match="^" + collapse.format(1)):
        eb.fit_bayesian_gmm(THREE[:30], 2, reg_covar=0.0, **tiny)
    assert eb.fit_bayesian_gmm(THREE[:30], 2, reg_covar=1e-6, **tiny).converged


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_the_variational_fit_does_not_depend_on_the_centre_its_gaussians_weights_give(covariance_type, monkeypatch):
    # _gaussians' uniform weights serve the diag/spherical E-step only as its centre Σ_k π_k μ_k, an
    # exact re-expression: a centre near μ_0 instead must give the same fit, up to rounding.
    X = THREE + 1e4
    uniform = eb.fit_bayesian_gmm(X, 4, covariance_type=covariance_type, seed=0, tol=0, max_iter=100)

    def skewed(posterior, covariance_type):
        weights = np.array([0.997, 0.001, 0.001, 0.001])
        return em.GMMParams.trusted(weights, posterior.means, posterior.covariances, covariance_type, 0.0)

    monkeypatch.setattr(eb, "_gaussians", skewed)
    near_mu_0 = eb.fit_bayesian_gmm(X, 4, covariance_type=covariance_type, seed=0, tol=0, max_iter=100)
    np.testing.assert_allclose(near_mu_0.elbos, uniform.elbos, rtol=1e-11)
    spread = np.abs(X - X.mean(axis=0)).max()
    np.testing.assert_allclose(near_mu_0.params.means, uniform.params.means, rtol=0, atol=1e-9 * spread)
    np.testing.assert_allclose(near_mu_0.params.covariances, uniform.params.covariances, rtol=1e-8, atol=1e-12)


def test_expected_log_weights_are_the_integrals():
    # π ~ Dir(2, 1), π_1 ~ Beta(2, 1) with density 2p: E[log π_1] = ∫ 2p log p dp = -1/2,
    # E[log π_2] = ∫ 2p log(1 - p) dp = -3/2
    np.testing.assert_allclose(eb._expected_log_weights(np.array([2.0, 1.0])), [-0.5, -1.5], rtol=1e-14)
    # sticks v_1 ~ Beta(2, 1), v_2 ~ Beta(1, 1) (E[log v_2] = -1): π_1 = v_1, π_2 = (1 - v_1) v_2
    sticks = np.array([[2.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(eb._expected_log_weights(sticks), [-0.5, -1.5 - 1.0], rtol=1e-14)


def test_stops_where_the_elbo_gain_per_point_first_falls_below_tol():
    X, K, max_iter = THREE[:60], 3, 80
    every = eb.fit_bayesian_gmm(X, K, tol=0, max_iter=max_iter, seed=2)  # tol = 0 runs them all
    assert every.n_iter == max_iter and not every.converged
    gains = np.diff(every.elbos) / len(X)  # gains[j]: iteration j + 2 over iteration j + 1
    # a gain below every earlier one: with tol exactly that gain the fit must go on ("below" is strict)
    j = next(j for j in range(1, len(gains)) if 0 < gains[j] < gains[:j].min())
    stops = []
    for tol in (1e3, 1e-3, 1e-5, gains[j]):  # 1e3: at the first comparison, iteration 2
        stops.append(2 + int(np.flatnonzero(gains < tol)[0]))
        fit = eb.fit_bayesian_gmm(X, K, tol=tol, max_iter=max_iter, seed=2)
        assert (fit.n_iter, fit.converged) == (stops[-1], True), tol
        np.testing.assert_array_equal(fit.elbos, every.elbos[: stops[-1]])
    assert stops[0] == 2 and stops[-1] > j + 2
    # tol = 0 runs them all even where the ELBO falls (a large reg_covar, as in scikit-learn)
    fit = eb.fit_bayesian_gmm(X, K, tol=0, max_iter=60, seed=1, reg_covar=1.0)
    assert np.diff(fit.elbos).min() < -1e-5 and fit.n_iter == 60 and not fit.converged


@pytest.mark.parametrize("method", ["kmeans++", "random"])
def test_start_is_fit_gmms_start(method):
    Xt = np.ascontiguousarray(THREE.T)
    for seed in range(3):
        resp = em.seed_responsibilities(Xt, 4, method, np.random.default_rng(seed))
        start = em.init_params(THREE, 4, method=method, seed=seed)
        np.testing.assert_array_equal(em.m_step(THREE, resp.T).means, start.means)


def test_defaults_are_one_start_and_200_iterations():
    X, seed = THREE[:60], 4
    fit = eb.fit_bayesian_gmm(X, 3, tol=0, seed=seed)
    first = em.seed_responsibilities(np.ascontiguousarray(X.T), 3, "kmeans++", np.random.default_rng(seed))
    np.testing.assert_array_equal(fit.elbos, eb.fit_bayesian_gmm(X, 3, init=first.T, tol=0).elbos)
    assert fit.n_iter == 200
    assert eb.fit_bayesian_gmm(X, 3, tol=0, seed=seed, n_init=2).elbo > fit.elbo  # a second start would show


# --------------------------------------------------------------------------- R's mclust


def _rscript_with_mclust():
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True).returncode == 0


needs_mclust = pytest.mark.skipif(not _rscript_with_mclust(), reason="R/mclust is absent (Rscript with mclust)")


@pytest.fixture(scope="module")
def mclust_printed():
    """What tests/mclust_reference.R prints, run now."""
    out = subprocess.run(["Rscript", str(ROOT / "tests" / "mclust_reference.R")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _assert_same_json(a, b, path=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_json(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_json(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@needs_mclust
def test_stored_mclust_reference_is_what_the_script_prints(mclust_printed):
    stored = json.loads((ROOT / "data" / "mclust_reference.json").read_text())
    # another mclust or BLAS may round the last digits differently: floats to 1e-9 relative
    _assert_same_json(stored, mclust_printed)


@needs_mclust
def test_r_iris_is_scikit_learn_iris():
    out = subprocess.run(["Rscript", "-e", "write.csv(iris[, 1:4], stdout(), row.names = FALSE)"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    r_iris = np.loadtxt(out.stdout.splitlines(), delimiter=",", skiprows=1)
    np.testing.assert_array_equal(r_iris, load_iris().data)


# --------------------------------------------------------------------------- MAP-EM


def _mclust_stored():
    return json.loads((ROOT / "data" / "mclust_reference.json").read_text())


def _datasets():
    return {"three_gaussians": THREE, "iris": load_iris().data}


def _our_map_fits(reference, **kwargs):
    """Our MAP fit of every stored mclust model, from mclust's own starting partition."""
    for name, X in _datasets().items():
        one_hot = np.eye(3)[np.array(reference[name]["start_labels"]) - 1]
        for ct, r in reference[name]["fits"].items():
            yield name, ct, r, em.fit_gmm(X, 3, init=one_hot, prior="default", reg_covar=0.0, covariance_type=ct,
                                          **kwargs)  # fmt: skip


def test_map_fit_equals_stored_mclust_path_iteration_for_iteration():
    """mclust counts the M-step from its start as iteration 1; we count it as θ_0."""
    stored = _mclust_stored()
    for name, X in _datasets().items():
        one_hot = np.eye(3)[np.array(stored[name]["start_labels"]) - 1]
        for ct, r in stored[name]["fits"].items():
            fit = em.fit_gmm(X, 3, init=one_hot, prior="default", reg_covar=0.0, covariance_type=ct,
                             tol=0, max_iter=r["n_iter"] - 1)  # fmt: skip
            assert abs(fit.log_likelihood - r["log_likelihood"]) < 1e-8, (name, ct)
            np.testing.assert_allclose(fit.params.weights, r["weights"], atol=1e-8, err_msg=f"{name} {ct}")
            np.testing.assert_allclose(fit.params.means, r["means"], atol=1e-8, err_msg=f"{name} {ct}")
            np.testing.assert_allclose(fit.params.covariances, r["covariances"], atol=1e-8, err_msg=f"{name} {ct}")
            p = em.n_parameters(fit.params)
            assert p == r["df"] and abs(2 * fit.log_likelihood - p * np.log(len(X)) - r["bic"]) < 1e-7


def test_converged_map_log_likelihood_equals_stored_mclust_to_1e_4():
    for name, ct, r, fit in _our_map_fits(_mclust_stored(), tol=1e-12, max_iter=3000):
        assert fit.converged, (name, ct)
        assert abs(fit.log_likelihood - r["log_likelihood"]) < 1e-4, (name, ct, fit.log_likelihood)


@needs_mclust
def test_converged_map_log_likelihood_equals_mclust_run_now_to_1e_4(mclust_printed):
    for name, ct, r, fit in _our_map_fits(mclust_printed, tol=1e-12, max_iter=3000):
        assert abs(fit.log_likelihood - r["log_likelihood"]) < 1e-4, (name, ct, fit.log_likelihood)


@needs_mclust
def test_default_prior_equals_mclust_default_prior():
    models = {"full": "VVV", "diag": "VVI", "tied": "EEE", "spherical": "VII"}
    script = (
        "suppressPackageStartupMessages(library(mclust)); X <- as.matrix(iris[, 1:4]);"
        "for (m in c('VVV', 'VVI', 'EEE', 'VII')) { p <- defaultPrior(X, G = 3, modelName = m);"
        "cat(m, p$shrinkage, p$mean, p$dof, p$scale, '\\n', sep = ' ') }"
    )
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    rows = {line.split()[0]: np.array(line.split()[1:], dtype=float) for line in out.strip().splitlines()}
    for ct, model in models.items():
        prior = em.default_prior(load_iris().data, 3, ct)
        ours = np.r_[prior.shrinkage, prior.mean, prior.degrees_of_freedom, np.ravel(prior.scale)]
        np.testing.assert_allclose(ours, rows[model], rtol=1e-6, err_msg=ct)  # R prints 7 digits


def _singular_example():
    """Notebook 02's 31 points and the start that collapses onto the lonely point."""
    rng = np.random.default_rng(1)
    X = np.r_[rng.normal([0, 0], 0.8, (15, 2)), rng.normal([4, 0], 0.8, (15, 2)), [[2.0, 2.5]]]
    start = em.GMMParams(
        [0.45, 0.45, 0.1], [[0, 0], [4, 0], X[-1]], [0.6 * np.eye(2), 0.6 * np.eye(2), 0.5 * np.eye(2)]
    )
    return X, start


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_log_posterior_never_decreases(covariance_type):
    X_small, start = _singular_example()
    problems = [(THREE, 6, seed) for seed in range(4)] + [(load_iris().data, 5, seed) for seed in range(4)]
    drops = []
    for X, K, seed in problems:
        fit = em.fit_gmm(X, K, init="random", prior="default", reg_covar=0.0, covariance_type=covariance_type,
                         tol=0, max_iter=80, seed=seed)  # fmt: skip
        if (np.diff(fit.log_posteriors) < -1e-10 * np.abs(fit.log_posteriors[1:])).any():
            drops.append((K, seed, float(np.diff(fit.log_posteriors).min())))
    if covariance_type == "full":
        fit = em.fit_gmm(X_small, 3, init=start, prior="default", reg_covar=0.0, tol=0, max_iter=100)
        assert np.diff(fit.log_posteriors).min() > -1e-10 * np.abs(fit.log_posteriors).max()
    assert not drops, f"log p(X | θ) + log p(θ) decreased (K, seed, change): {drops}"


def test_prior_bounds_the_singular_example_where_maximum_likelihood_collapses():
    X, start = _singular_example()
    with pytest.raises(ValueError, match="collapsed"):
        em.fit_gmm(X, 3, init=start, reg_covar=0.0)
    fit = em.fit_gmm(X, 3, init=start, prior="default", reg_covar=0.0, max_iter=500)
    prior = fit.prior
    # every eigenvalue of Σ_k is at least λ_min(Λ_P) / (N + ν_P + D + 2), whatever the data
    floor = np.linalg.eigvalsh(prior.scale)[0] / (len(X) + prior.degrees_of_freedom + 2 + 2)
    assert fit.converged and np.linalg.eigvalsh(fit.params.covariances).min() >= floor


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_map_m_step_maximises_q_plus_log_prior(covariance_type):
    """Nudging the MAP M-step's output within its model lowers Q(θ | θ_t) + log p(θ)."""
    rng = np.random.default_rng(5)
    resp = rng.dirichlet(np.ones(3), size=len(THREE))
    fit = em.fit_gmm(THREE, 3, init=resp, prior="default", reg_covar=0.0, covariance_type=covariance_type, max_iter=0)
    best, prior = fit.params, fit.prior

    def objective(params):
        return em.expected_complete_log_likelihood(THREE, params, resp) + em.log_prior(params, prior)

    top = objective(best)
    for _ in range(10):
        means = best.means + 1e-3 * rng.standard_normal(best.means.shape)
        factor = np.exp(1e-3 * rng.standard_normal(1 if covariance_type == "tied" else (3, 1, 1)))
        nudged = em.GMMParams(best.weights, means, best.covariances * factor, covariance_type)
        assert objective(nudged) < top


def test_log_prior_is_the_normalised_density_scipy_computes():
    from scipy import stats

    rng = np.random.default_rng(2)
    prior = em.ConjugatePrior(0.5, [1.0, -1.0], 4.0, np.array([[2.0, 0.3], [0.3, 1.0]]))
    params = em.init_params(THREE, 3, seed=0)
    expected = np.log(2.0)  # flat Dirichlet on 3 weights: density Γ(3) = 2
    for mean, cov in zip(params.means, params.covariances, strict=True):
        expected += stats.multivariate_normal(prior.mean, cov / prior.shrinkage).logpdf(mean)
        expected += stats.invwishart(df=prior.degrees_of_freedom, scale=prior.scale).logpdf(cov)
    assert em.log_prior(params, prior) == pytest.approx(expected, rel=1e-12)
    diag = em.init_params(THREE, 3, seed=int(rng.integers(100)), covariance_type="diag")
    scalar = em.ConjugatePrior(0.5, [1.0, -1.0], 4.0, 1.5)
    expected = np.log(2.0)
    for mean, var in zip(diag.means, np.diagonal(diag.covariances, axis1=1, axis2=2), strict=True):
        expected += stats.norm(prior.mean, np.sqrt(var / 0.5)).logpdf(mean).sum()
        expected += stats.invgamma(a=2.0, scale=0.75).logpdf(var).sum()
    assert em.log_prior(diag, scalar) == pytest.approx(expected, rel=1e-12)


def test_responsibilities_as_init_are_one_m_step_then_em():
    rng = np.random.default_rng(4)
    resp = rng.dirichlet(np.ones(3), size=len(THREE))
    from_resp = em.fit_gmm(THREE, 3, init=resp, max_iter=20, tol=0)
    from_params = em.fit_gmm(THREE, 3, init=em.m_step(THREE, resp), max_iter=20, tol=0)
    np.testing.assert_array_equal(from_resp.log_likelihoods, from_params.log_likelihoods)
    np.testing.assert_array_equal(from_resp.params.covariances, from_params.params.covariances)
    assert from_resp.log_posteriors is None and from_resp.prior is None


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"prior": "flat"}, TypeError, 'prior must be None, "default" or a ConjugatePrior'),
        ({"prior": em.ConjugatePrior(0.01, [0.0, 0.0, 0.0], 5.0, 1.0)}, ValueError, "has 3 values but X has D=2"),
        ({"prior": em.ConjugatePrior(0.01, [0.0, 0.0], 4.0, 1.0)}, ValueError, r"scale to be a \(D, D\)"),
        ({"prior": em.ConjugatePrior(0.01, [0.0, 0.0], 4.0, np.eye(2)), "covariance_type": "diag"}, ValueError,
         "needs the prior's scale to be a number"),
        ({"init": np.full((500, 2), 0.5)}, ValueError, "2 columns of responsibilities but n_components=3"),
        ({"init": np.full((500, 3), 0.5)}, ValueError, "each row of responsibilities must sum to 1"),
        ({"init": {"means": 0}}, TypeError, r"or an \(N, K\) array of responsibilities"),
    ],
)  # fmt: skip
def test_map_bad_input_gets_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        em.fit_gmm(THREE, 3, **kwargs)


@pytest.mark.parametrize(
    "args, message",
    [
        ((-1.0, [0.0], 3.0, 1.0), "shrinkage must be a finite number >= 0"),
        ((0.01, [0.0], 0.0, 1.0), "degrees_of_freedom must be positive"),
        ((0.01, [[0.0]], 3.0, 1.0), "mean must be a finite vector"),
        ((0.01, [0.0, 0.0], 3.0, -1.0), "scale must be positive"),
        ((0.01, [0.0, 0.0], 3.0, np.eye(3)), r"scale must be a number or a \(D, D\)"),
        ((0.01, [0.0, 0.0], 3.0, -np.eye(2)), "symmetric positive definite"),
    ],
)
def test_conjugate_prior_checks_its_fields(args, message):
    with pytest.raises(ValueError, match=message):
        em.ConjugatePrior(*args)


# --------------------------------------------------------------------------- new points and early stops


def _sklearn_with(fit):
    """A BayesianGaussianMixture whose fitted posterior is ``fit``'s (no fit: the same q exactly)."""
    post, ct = fit.posterior, fit.params.covariance_type
    covariances = {
        "full": lambda c: c,
        "diag": lambda c: np.diagonal(c, axis1=1, axis2=2),
        "spherical": lambda c: c[:, 0, 0],
        "tied": lambda c: c[0],
    }[ct](post.covariances)
    conc = post.weight_concentration
    weight_prior = "dirichlet_process" if conc.ndim == 2 else "dirichlet_distribution"
    gm = BayesianGaussianMixture(n_components=len(post.means), covariance_type=ct,
                                 weight_concentration_prior_type=weight_prior)  # fmt: skip
    gm.weight_concentration_ = (conc[0], conc[1]) if conc.ndim == 2 else conc
    gm.mean_precision_, gm.means_, gm.covariances_ = post.mean_precision, post.means, covariances
    gm.degrees_of_freedom_ = post.degrees_of_freedom[0] if ct == "tied" else post.degrees_of_freedom
    gm.precisions_cholesky_ = _compute_precision_cholesky(covariances, ct)
    return gm


def _verb_differences(ours, gm, X):
    """Largest |ours - scikit-learn's| of predict_proba and score_samples on X, and whether predict agrees."""
    return (
        np.abs(ours.predict_proba(X) - gm.predict_proba(X)).max(),
        np.abs(ours.score_samples(X) - gm.score_samples(X)).max(),
        np.array_equal(ours.predict(X), gm.predict(X)),
    )


@pytest.mark.parametrize("weight_prior", eb.WEIGHT_PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_predict_proba_and_score_samples_on_new_points_equal_sklearns(covariance_type, weight_prior):
    rng = np.random.default_rng(3)
    X, K = THREE[:300], 6
    resp = rng.dirichlet(np.ones(K), size=len(X))
    ours = eb.fit_bayesian_gmm(X, K, covariance_type=covariance_type, weight_concentration_prior_type=weight_prior,
                               init=resp, max_iter=60, tol=0)  # fmt: skip
    gm = _FromResponsibilities(resp, n_components=K, covariance_type=covariance_type,
                               weight_concentration_prior_type=weight_prior, max_iter=60, tol=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's: tol=0 never reports convergence
        gm.fit(X)
    X_new = np.r_[1.5 * THREE[300:] - 1.0, [[40.0, -40.0]]]  # points the fit has not seen, one far from all
    # On the same posterior the verbs are the same computation: to 1e-10.
    proba, score, same_labels = _verb_differences(ours, _sklearn_with(ours), X_new)
    assert proba < 1e-10 and score < 1e-10 and same_labels, (proba, score)
    # After 60 iterations from the same start each posterior has its own rounding (up to 9e-10 in ν_k
    # for "spherical"), which the verbs inherit: the tolerance of the posterior comparison above, 1e-8.
    proba, score, same_labels = _verb_differences(ours, gm, X_new)
    assert proba < 1e-8 and score < 1e-8 and same_labels, (proba, score)
    np.testing.assert_allclose(ours.predict_proba(X), ours.responsibilities, rtol=0, atol=1e-12)


def test_one_point_of_the_variational_fit_must_be_a_row():
    fit = eb.fit_bayesian_gmm(THREE, 3, seed=0)
    with pytest.raises(ValueError, match=r"X\.reshape\(1, -1\) or \[x\]"):
        fit.predict(THREE[0])
    assert fit.predict([THREE[0]]).shape == fit.score_samples([THREE[0]]).shape == (1,)
    fit1 = eb.fit_bayesian_gmm(THREE[:, 0], 2, seed=0)
    np.testing.assert_array_equal(fit1.predict_proba(THREE[:, 0]), fit1.predict_proba(THREE[:, :1]))


def test_a_variational_fit_stopped_at_max_iter_warns_as_fit_gmm_does():
    with pytest.warns(em.ConvergenceWarning) as record:
        fit = eb.fit_bayesian_gmm(THREE, 3, seed=0, max_iter=3)
    gain = (fit.elbos[-1] - fit.elbos[-2]) / len(THREE)
    assert record[0].filename == __file__ and str(record[0].message).startswith(
        f"fit_bayesian_gmm stopped at max_iter=3 before converging: its ELBO still gained {gain:.3g} per point "
        "in the last iteration, above tol=1e-06. Raise max_iter, or loosen (raise) tol;"
    )
    with pytest.warns(em.ConvergenceWarning, match="max_iter=1 before converging: one iteration gives no gain"):
        eb.fit_bayesian_gmm(THREE, 3, seed=0, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eb.fit_bayesian_gmm(THREE, 3, seed=0, max_iter=3, tol=0)

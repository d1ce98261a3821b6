"""EM on incomplete data (em_incomplete, fit_gmm's allow_missing and sample_weight), checked
against things nobody here wrote: Anderson's (1957) closed form, the observed-data likelihood
computed row by row with scipy, replication, and R mclust's weighted EM."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import em_helpers as em
import em_incomplete as inc

ROOT = Path(__file__).resolve().parent.parent


def mixture(seed, n_samples=200, n_features=3, n_components=2, spread=3.0):
    """Points from a random well-posed mixture, and that mixture."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n_components, n_features, n_features))
    truth = em.GMMParams(
        rng.dirichlet(np.full(n_components, 5.0)),
        rng.normal(0.0, spread, size=(n_components, n_features)),
        A @ A.transpose(0, 2, 1) / n_features + 0.3 * np.eye(n_features),
    )
    X, _ = em.sample_gmm(truth, n_samples, seed=rng)
    return X, truth


def remove(X, fraction, seed):
    """X with each entry set to NaN with probability ``fraction`` (missing completely at random)."""
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < fraction] = np.nan
    return X


def start_for(X, n_components, covariance_type="full", seed=0):
    """A start for EM on X (NaN allowed): k-means++ on the column-mean-imputed data."""
    filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    return em.init_params(filled, n_components, seed=seed, covariance_type=covariance_type)


def observed_log_likelihood_per_row(X, weights, means, covariances):
    """Σ_i log Σ_k π_k N(x_io | μ_ko, Σ_koo), one scipy call per row and component."""
    total = 0.0
    for x in X:
        o = ~np.isnan(x)
        if o.any():
            terms = [
                np.log(weights[k]) + multivariate_normal(means[k][o], covariances[k][np.ix_(o, o)]).logpdf(x[o])
                for k in range(len(weights))
            ]
            total += logsumexp(terms)
    return total


def observed_log_likelihood_by_pattern(X):
    """The same sum as a function of θ, with scipy's logpdf over the rows of each pattern at once
    (fast enough for finite differences and an optimiser)."""
    observed = ~np.isnan(X)
    groups = {}
    for i, row in enumerate(map(tuple, observed)):
        groups.setdefault(row, []).append(i)
    groups = [(np.array(o), np.array(rows)) for o, rows in groups.items() if any(o)]

    def log_likelihood(weights, means, covariances):
        total = 0.0
        for o, rows in groups:
            per_k = [
                np.log(weights[k])
                + np.atleast_1d(
                    multivariate_normal(means[k][o], covariances[k][np.ix_(o, o)]).logpdf(X[np.ix_(rows, o)])
                )
                for k in range(len(weights))
            ]
            total += logsumexp(np.array(per_k), axis=0).sum()
        return total

    return log_likelihood


class Unconstrained:
    """θ as a free vector: weight logits against component 0, means, Cholesky factors with log diagonals."""

    def __init__(self, K, D):
        self.K, self.D = K, D
        self.tri = np.tril_indices(D)

    def pack(self, params):
        L = np.linalg.cholesky(params.covariances).copy()
        d = np.arange(self.D)
        L[:, d, d] = np.log(L[:, d, d])
        logits = np.log(params.weights)
        return np.r_[logits[1:] - logits[0], params.means.ravel(), L[:, self.tri[0], self.tri[1]].ravel()]

    def unpack(self, v):
        K, D = self.K, self.D
        logits = np.r_[0.0, v[: K - 1]]
        weights = np.exp(logits - logsumexp(logits))
        means = v[K - 1 : K - 1 + K * D].reshape(K, D)
        L = np.zeros((K, D, D))
        L[:, self.tri[0], self.tri[1]] = v[K - 1 + K * D :].reshape(K, -1)
        d = np.arange(D)
        L[:, d, d] = np.exp(L[:, d, d])
        return weights, means, L @ L.transpose(0, 2, 1)


def assert_params_close(ours, theirs, tol, err_msg=""):
    for name in ("weights", "means", "covariances"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()), err_msg=f"{err_msg} {name}")


# --------------------------------------------------------------------------- the closed form


def test_one_gaussian_with_a_monotone_pattern_converges_to_andersons_closed_form():
    """K = 1, D = 2, x₂ missing in some rows: the maximum-likelihood estimates are Anderson's (1957):
    μ₁, σ₁₁ from all rows; x₂ regressed on x₁ over the complete rows (β, α, residual variance);
    then μ₂ = α + β μ₁, σ₁₂ = β σ₁₁, σ₂₂ = s²₂.₁ + β² σ₁₁. EM must reach them (1e-8)."""
    rng = np.random.default_rng(7)
    X = rng.multivariate_normal([1.0, -2.0], [[2.0, 1.2], [1.2, 1.5]], size=300)
    missing = rng.random(300) < 0.35 + 0.3 * (X[:, 0] > 1)  # depends on x₁ only: missing at random
    X[missing, 1] = np.nan
    x1, complete = X[:, 0], X[~missing]
    mu1, s11 = x1.mean(), x1.var()
    c1, c2 = complete[:, 0], complete[:, 1]
    beta = np.mean((c1 - c1.mean()) * (c2 - c2.mean())) / c1.var()
    alpha = c2.mean() - beta * c1.mean()
    residual = c2.var() - beta**2 * c1.var()
    mean = np.array([mu1, alpha + beta * mu1])
    covariance = np.array([[s11, beta * s11], [beta * s11, residual + beta**2 * s11]])

    fit = em.fit_gmm(X, 1, allow_missing=True, reg_covar=0.0, tol=0.0, max_iter=400)
    np.testing.assert_allclose(fit.params.means[0], mean, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fit.params.covariances[0], covariance, rtol=1e-8, atol=1e-8)
    # and not only by the fit's own account: its L is the closed form's, computed by scipy
    assert abs(fit.log_likelihood - observed_log_likelihood_per_row(X, [1.0], mean[None], covariance[None])) < 1e-8


def test_without_the_conditional_covariance_the_estimate_is_biased_low():
    """The term a naive "impute the conditional mean" forgets: the same E-pass with V_k dropped gives
    a smaller σ₂₂ than the maximum-likelihood one (the check that the term is there and matters)."""
    rng = np.random.default_rng(8)
    X = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], size=400)
    X[rng.random(400) < 0.5, 1] = np.nan
    fit = em.fit_gmm(X, 1, allow_missing=True, reg_covar=0.0, tol=1e-14, max_iter=2000)
    data = inc.group_patterns(X)
    mean, cov = fit.params.means, fit.params.covariances
    _, _, counts, _, second = inc.expected_statistics(data, np.ones(1), mean, cov, mean)
    completed_only = second.copy()
    incomplete_rows = data.patterns[1].rows.size  # the pattern with x₂ missing
    completed_only[0, 1, 1] -= incomplete_rows * (cov[0, 1, 1] - cov[0, 0, 1] ** 2 / cov[0, 0, 0])
    assert np.allclose(second[0] / counts[0], cov[0], atol=1e-10)  # a fixed point of EM
    assert completed_only[0, 1, 1] / counts[0] < 0.85 * cov[0, 1, 1]


def test_conditional_expectation_is_the_posterior_mean_of_each_missing_value():
    """Σ_k γ_ik E[x_m | x_o, k], with γ from x_o by scipy and the regression by a linear solve, row by row."""
    X, truth = mixture(31, n_samples=60)
    X = remove(X, 0.35, seed=32)
    X[3] = np.nan
    filled = inc.conditional_expectation(X, truth.weights, truth.means, truth.covariances)
    w, mu, S = truth.weights, truth.means, truth.covariances
    for x, row in zip(X, filled, strict=True):
        o = ~np.isnan(x)
        if not o.any():
            np.testing.assert_allclose(row, w @ mu, rtol=1e-12)
            continue
        log_g = [np.log(w[k]) + multivariate_normal(mu[k][o], S[k][np.ix_(o, o)]).logpdf(x[o]) for k in range(2)]
        g = np.exp(np.array(log_g) - logsumexp(log_g))
        expected = sum(
            g[k] * (mu[k][~o] + S[k][np.ix_(~o, o)] @ np.linalg.solve(S[k][np.ix_(o, o)], x[o] - mu[k][o]))
            for k in range(2)
        )
        np.testing.assert_allclose(row[~o], expected, rtol=1e-10, atol=1e-12)
        assert np.array_equal(row[o], x[o])


# --------------------------------------------------------------------------- the exact objective


def test_em_climbs_the_observed_data_likelihood_to_a_stationary_point_no_optimiser_improves():
    X, _ = mixture(3, n_samples=150, n_features=3, n_components=2)
    X = remove(X, 0.25, seed=4)
    X[5] = np.nan  # an empty row: it adds log 1 = 0
    fit = em.fit_gmm(X, 2, allow_missing=True, reg_covar=0.0, tol=0.0, max_iter=300, seed=0)
    p = fit.params
    # L as scipy computes it, row by row, is the L the fit reports
    assert abs(fit.log_likelihood - observed_log_likelihood_per_row(X, p.weights, p.means, p.covariances)) < 1e-9
    log_lik = observed_log_likelihood_by_pattern(X)
    free = Unconstrained(2, 3)
    v = free.pack(p)

    def objective(vector):
        return log_lik(*free.unpack(vector))

    h = 1e-5
    gradient = np.array([(objective(v + h * e) - objective(v - h * e)) / (2 * h) for e in np.eye(v.size)])
    assert np.abs(gradient).max() < 1e-4  # 2.2 when one mean moves by 0.05 (measured)
    moved = v + 0.05 * np.eye(v.size)[3]
    assert np.abs([(objective(moved + h * e) - objective(moved - h * e)) / (2 * h) for e in np.eye(v.size)]).max() > 1
    # a quasi-Newton optimiser from EM's answer, and from a point near it, climbs no higher
    best = minimize(lambda vector: -objective(vector), v, method="BFGS")
    assert -best.fun <= fit.log_likelihood + 1e-8 * abs(fit.log_likelihood)
    near = v + 0.02 * np.random.default_rng(5).standard_normal(v.size)
    assert objective(near) < fit.log_likelihood - 1e-3  # a real climb, not a start at the top
    shaken = minimize(lambda vector: -objective(vector), near, method="BFGS")
    assert -shaken.fun <= fit.log_likelihood + 1e-8 * abs(fit.log_likelihood)


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(8))
def test_the_observed_data_log_likelihood_never_decreases(covariance_type, seed):
    X, _ = mixture(seed, n_samples=200, n_features=3, n_components=2)
    X = remove(X, 0.3, seed=seed)
    w = np.random.default_rng(seed).integers(0, 4, len(X)).astype(float)
    w[0] = 1.0
    for kwargs in (dict(), dict(sample_weight=w), dict(prior="default")):
        fit = em.fit_gmm(
            X,
            2,
            allow_missing=True,
            reg_covar=0.0,
            tol=0.0,
            max_iter=60,
            seed=seed,
            covariance_type=covariance_type,
            **kwargs,
        )
        objective = fit.log_likelihoods if fit.log_posteriors is None else fit.log_posteriors
        assert np.diff(objective).min() > -1e-9 * np.abs(objective).max(), kwargs


# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_integer_weights_equal_replicated_rows(covariance_type, missing):
    X, _ = mixture(11, n_samples=150, n_features=3, n_components=3)
    X = remove(X, missing, seed=12)
    counts = np.random.default_rng(13).integers(0, 4, len(X))
    start = start_for(X, 3, covariance_type)
    run = dict(init=start, tol=0.0, max_iter=40, covariance_type=covariance_type, allow_missing=True)
    weighted = em.fit_gmm(X, 3, sample_weight=counts, **run)
    replicated = em.fit_gmm(np.repeat(X, counts, axis=0), 3, **run)
    assert_params_close(weighted.params, replicated.params, 1e-10)
    np.testing.assert_allclose(weighted.log_likelihoods, replicated.log_likelihoods, rtol=1e-10)
    np.testing.assert_allclose(
        np.repeat(weighted.responsibilities, counts, axis=0), replicated.responsibilities, atol=1e-10
    )


def test_weights_with_the_default_prior_equal_replication():
    X, _ = mixture(14, n_samples=100)
    X = remove(X, 0.2, seed=15)
    counts = np.random.default_rng(16).integers(1, 4, len(X))
    start = start_for(X, 2)
    run = dict(init=start, tol=0.0, max_iter=30, allow_missing=True, prior="default")
    weighted = em.fit_gmm(X, 2, sample_weight=counts, **run)
    replicated = em.fit_gmm(np.repeat(X, counts, axis=0), 2, **run)
    assert_params_close(weighted.params, replicated.params, 1e-9)
    for name in ("mean", "scale"):
        np.testing.assert_allclose(getattr(weighted.prior, name), getattr(replicated.prior, name), rtol=1e-9)


def test_weighted_kmeans_plus_plus_never_seeds_on_a_weight_zero_row():
    X, _ = mixture(17, n_samples=60)
    w = np.zeros(60)
    w[:4] = 1.0
    for seed in range(8):
        fit = em.fit_gmm(X, 4, sample_weight=w, max_iter=0, seed=seed, init="kmeans++")
        # each of the four weighted rows seeds its own component: the start's means are those rows
        assert sorted(map(tuple, np.round(fit.params.means, 12))) == sorted(map(tuple, np.round(X[:4], 12)))


# --------------------------------------------------------------------------- properties


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), covariance_type=st.sampled_from(em.COVARIANCE_TYPES), missing=st.floats(0.0, 0.4))
def test_permuting_rows_or_columns_permutes_nothing_else(seed, covariance_type, missing):
    X, _ = mixture(seed, n_samples=80, n_features=3, n_components=2)
    X = remove(X, missing, seed=seed)
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.0, 2.0, len(X))
    start = start_for(X, 2, covariance_type, seed=seed)
    run = dict(tol=0.0, max_iter=15, covariance_type=covariance_type, allow_missing=True)
    fit = em.fit_gmm(X, 2, init=start, sample_weight=w, **run)
    rows = rng.permutation(len(X))
    by_rows = em.fit_gmm(X[rows], 2, init=start, sample_weight=w[rows], **run)
    assert_params_close(by_rows.params, fit.params, 1e-9, "rows")
    np.testing.assert_allclose(by_rows.responsibilities, fit.responsibilities[rows], atol=1e-9)
    cols = rng.permutation(3)
    start_cols = em.GMMParams(
        start.weights, start.means[:, cols], start.covariances[:, cols[:, None], cols], covariance_type
    )
    by_cols = em.fit_gmm(X[:, cols], 2, init=start_cols, sample_weight=w, **run)
    np.testing.assert_allclose(by_cols.params.means, fit.params.means[:, cols], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        by_cols.params.covariances, fit.params.covariances[:, cols[:, None], cols], rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(by_cols.log_likelihoods, fit.log_likelihoods, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), covariance_type=st.sampled_from(em.COVARIANCE_TYPES))
def test_missing_nothing_gives_exactly_fit_gmm(seed, covariance_type):
    X, _ = mixture(seed, n_samples=80)
    plain = em.fit_gmm(X, 2, seed=seed, covariance_type=covariance_type)
    opted_in = em.fit_gmm(X, 2, seed=seed, covariance_type=covariance_type, allow_missing=True)
    for name in ("weights", "means", "covariances"):
        assert np.array_equal(getattr(opted_in.params, name), getattr(plain.params, name))
    assert np.array_equal(opted_in.log_likelihoods, plain.log_likelihoods)
    # and the per-pattern E-pass itself, with unit weights, gives the core's statistics (one pattern)
    p = plain.params
    gamma, log_lik = em.e_step(X, p)
    stats = em.sufficient_statistics(X, gamma, shift=p.means)
    resp, log_lik_inc, counts, first, second = inc.expected_statistics(
        inc.group_patterns(X, np.ones(len(X))), p.weights, p.means, p.covariances, p.means
    )
    np.testing.assert_allclose(resp.T, gamma, atol=1e-12)
    assert abs(log_lik_inc - log_lik) < 1e-10 * abs(log_lik)
    np.testing.assert_allclose(counts, stats.counts, rtol=1e-12)
    np.testing.assert_allclose(first, stats.first, atol=1e-10)
    np.testing.assert_allclose(second, stats.second, rtol=1e-12, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), missing=st.floats(0.0, 0.4), n_dropped=st.integers(1, 20))
def test_weight_zero_equals_dropping_the_row(seed, missing, n_dropped):
    X, _ = mixture(seed, n_samples=80)
    X = remove(X, missing, seed=seed)
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 2.0, len(X))
    w[rng.choice(len(X), n_dropped, replace=False)] = 0.0
    start = start_for(X, 2, seed=seed)
    run = dict(init=start, tol=0.0, max_iter=15, allow_missing=True)
    zero = em.fit_gmm(X, 2, sample_weight=w, **run)
    dropped = em.fit_gmm(X[w > 0], 2, sample_weight=w[w > 0], **run)
    assert_params_close(zero.params, dropped.params, 1e-10)
    np.testing.assert_allclose(zero.log_likelihoods, dropped.log_likelihoods, rtol=1e-10)


def test_empty_rows_take_no_part_and_get_the_mixing_weights_as_responsibilities():
    X, _ = mixture(21, n_samples=100)
    X = remove(X, 0.2, seed=22)
    with_empty = np.insert(X, [0, 50, 50], np.nan, axis=0)
    start = start_for(X, 2)
    run = dict(init=start, tol=0.0, max_iter=20, allow_missing=True)
    fit, fit_empty = em.fit_gmm(X, 2, **run), em.fit_gmm(with_empty, 2, **run)
    assert_params_close(fit_empty.params, fit.params, 1e-12)
    np.testing.assert_allclose(fit_empty.log_likelihoods, fit.log_likelihoods, rtol=1e-12)
    empty = np.isnan(with_empty).all(axis=1)
    np.testing.assert_allclose(fit_empty.responsibilities[empty], np.tile(fit.params.weights, (3, 1)), rtol=1e-12)


def test_a_direction_no_point_of_a_component_observes_stays_where_the_start_put_it():
    """Component 1's points never observe x₂ (and component 0's are too far to inform it): EM has no
    information there, and leaves μ₁₂ at the start, Σ₁ uncorrelated, σ₁₂₂ widened by reg_covar
    each iteration; L still never decreases."""
    rng = np.random.default_rng(23)
    A = rng.normal([0.0, 0.0], 1.0, size=(60, 2))
    B = rng.normal([1e3, 0.0], 1.0, size=(40, 2))
    B[:, 1] = np.nan
    X = np.r_[A, B]
    start = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [1e3, 5.0]], [np.eye(2), np.diag([1.0, 2.0])])
    reg_covar, n_iter = 1e-3, 25
    fit = em.fit_gmm(X, 2, init=start, tol=0.0, max_iter=n_iter, reg_covar=reg_covar, allow_missing=True)
    assert abs(fit.params.means[1, 1] - 5.0) < 1e-9
    assert abs(fit.params.covariances[1, 0, 1]) < 1e-9
    assert abs(fit.params.covariances[1, 1, 1] - (2.0 + n_iter * reg_covar)) < 1e-9
    assert np.diff(fit.log_likelihoods).min() > -1e-9


# --------------------------------------------------------------------------- bad input


X_BAD = np.arange(20.0).reshape(10, 2) % 7


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: em.fit_gmm(np.r_[X_BAD, [[np.nan, 0.0]]], 2),
            ValueError,
            r"^X contains 1 NaN and 0 inf values \(in 1 rows, the first is row 10\); EM needs finite numbers: drop "
            r"those rows first, or let fit_gmm\(\.\.\., allow_missing=True\) treat NaN as missing at random\.$",
        ),
        (
            lambda: em.fit_gmm(np.r_[X_BAD, [[np.inf, np.nan]]], 2, allow_missing=True),
            ValueError,
            r"^X contains 1 NaN and 1 inf values \(in 1 rows, the first is row 10\); EM needs finite numbers: drop "
            r"those rows first\.$",
        ),
        (  # only fit_gmm has the option, so only its error names it
            lambda: em.predict_proba(em.fit_gmm(X_BAD, 2, seed=0).params, [[np.nan, 0.0]]),
            ValueError,
            r"^X contains 1 NaN and 0 inf values \(in 1 rows, the first is row 0\); EM needs finite numbers: drop "
            r"those rows first\.$",
        ),
        (lambda: em.fit_gmm(X_BAD, 2, allow_missing=1), TypeError, r"^allow_missing must be True or False; got 1\.$"),
        (
            lambda: em.fit_gmm(np.c_[X_BAD, np.full(10, np.nan)], 2, allow_missing=True),
            ValueError,
            r"^column 2 of X is missing in every row: the data say nothing about its mean or variance\. Drop it\.$",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 2, sample_weight=np.r_[np.ones(9), -1.0]),
            ValueError,
            r"^sample_weight must be >= 0; sample_weight\[9\] = -1\.$",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 2, sample_weight=np.r_[np.ones(9), np.nan]),
            ValueError,
            r"^sample_weight contains 1 NaN or inf values; weights must be finite\.$",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 2, sample_weight=np.ones(9)),
            ValueError,
            r"^sample_weight must have shape \(n_samples,\) = \(10,\), one per row of X; got \(9,\)\.$",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 2, sample_weight=np.zeros(10)),
            ValueError,
            r"^sample_weight is 0 for every row: at least one point must carry weight\.$",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 2, sample_weight=["a"] * 10),
            TypeError,
            r"^sample_weight must contain real numbers",
        ),
        (
            lambda: em.fit_gmm(X_BAD, 3, sample_weight=np.r_[np.ones(2), np.zeros(8)]),
            ValueError,
            r"^n_components=3 but only 2 rows have an observed value and a positive weight: EM needs at least K "
            r"of them\.$",
        ),
        (
            lambda: em.fit_gmm(np.r_[X_BAD[:2], np.full((8, 2), np.nan)], 3, allow_missing=True),
            ValueError,
            r"^n_components=3 but only 2 rows have an observed value",
        ),
    ],
)
def test_bad_input_gives_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- R mclust's weighted EM

MCLUST_WEIGHTED = ROOT / "data" / "mclust_weighted_reference.json"


def mclust_available():
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True).returncode == 0


def check_against_mclust(reference):
    """EM with the same weights from the same partition reaches mclust's fit (1e-6: mclust stops at
    a gain of 1e-13 in L, on its slow final approach, and floors w_i γ_ik at eps). me.weighted rescales the weights to a
    maximum of 1, which multiplies L by a constant and moves no maximum."""
    for case in reference["cases"]:
        X, labels = np.array(case["X"]), np.array(case["start_labels"])
        K = labels.max() + 1
        fit = em.fit_gmm(
            X,
            K,
            init=np.eye(K)[labels],
            sample_weight=np.array(case["weights"]),
            covariance_type=case["covariance_type"],
            reg_covar=0.0,
            tol=0.0,
            max_iter=1500,  # to EM's fixed point: then what differs is mclust's stopping (4e-8 at most, measured)
        )
        theirs = em.GMMParams(
            case["fit"]["weights"], case["fit"]["means"], case["fit"]["covariances"], case["covariance_type"]
        )
        order = em.match_components(fit.params, theirs)
        assert_params_close(fit.params.permute(order), theirs, 1e-6, case["name"])
        mclust_log_lik = case["fit"]["log_likelihood"] * case["weight_scale"]
        assert abs(fit.log_likelihood - mclust_log_lik) < 1e-8 * abs(mclust_log_lik), case["name"]


def test_weighted_em_agrees_with_mclusts_me_weighted_stored_numbers():
    """The numbers tests/mclust_weighted_reference.R wrote with R mclust's me.weighted."""
    check_against_mclust(json.loads(MCLUST_WEIGHTED.read_text()))


@pytest.mark.skipif(not mclust_available(), reason="R with mclust is not installed (apt-get install r-cran-mclust)")
def test_weighted_em_agrees_with_mclusts_me_weighted_run_now():
    """tests/mclust_weighted_reference.R run now prints the stored numbers (to its last digits but
    for the BLAS's rounding), so the stored check above is mclust's."""
    out = subprocess.run(
        ["Rscript", str(ROOT / "tests" / "mclust_weighted_reference.R")], capture_output=True, text=True, check=True
    )
    printed, stored = json.loads(out.stdout), json.loads(MCLUST_WEIGHTED.read_text())
    assert [c["name"] for c in printed["cases"]] == [c["name"] for c in stored["cases"]]
    for new, old in zip(printed["cases"], stored["cases"], strict=True):
        assert new["X"] == old["X"] and new["weights"] == old["weights"] and new["start_labels"] == old["start_labels"]
        assert abs(new["fit"]["log_likelihood"] - old["fit"]["log_likelihood"]) < 1e-9 * abs(
            old["fit"]["log_likelihood"]
        )
    check_against_mclust(printed)


def test_observed_gaussian_is_the_weighted_mean_and_covariance_on_complete_data_and_andersons_with_gaps():
    X, _ = mixture(41, n_samples=90)
    w = np.random.default_rng(42).uniform(0.2, 3.0, len(X))
    mean, covariance = inc.observed_gaussian(inc.group_patterns(X, w))
    np.testing.assert_allclose(mean, np.average(X, axis=0, weights=w), rtol=1e-12)
    np.testing.assert_allclose(covariance, np.cov(X.T, aweights=w, bias=True), rtol=1e-10)
    # with x₂ missing in some rows: the K = 1 maximum-likelihood fit, as fit_gmm finds it
    X2 = X[:, :2].copy()
    X2[::3, 1] = np.nan
    mean, covariance = inc.observed_gaussian(inc.group_patterns(X2))
    fit = em.fit_gmm(X2, 1, allow_missing=True, reg_covar=0.0, tol=0.0, max_iter=500)
    np.testing.assert_allclose(mean, fit.params.means[0], rtol=1e-9)
    np.testing.assert_allclose(covariance, fit.params.covariances[0], rtol=1e-9)


def test_mean_imputed_fills_each_gap_with_its_columns_weighted_observed_mean():
    X = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 8.0], [5.0, np.nan]])
    w = np.array([1.0, 2.0, 1.0, 1.0])
    filled = inc.mean_imputed(X, w)
    column_means = [(1.0 + 6.0 + 5.0) / 4.0, (8.0 + 8.0) / 3.0]
    np.testing.assert_allclose(
        filled, [[1.0, column_means[1]], [3.0, 4.0], [column_means[0], 8.0], [5.0, column_means[1]]]
    )


def test_data_offset_by_a_million_give_the_same_fit_moved_by_the_offset():
    """The expected statistics are taken about the current means, so nothing cancels far from 0."""
    X, _ = mixture(51, n_samples=200)
    X = remove(X, 0.3, seed=52)
    start = start_for(X, 2)
    moved_start = em.GMMParams(start.weights, start.means + 1e6, start.covariances)
    run = dict(tol=0.0, max_iter=30, allow_missing=True, sample_weight=np.linspace(0.5, 2.0, len(X)))
    fit, moved = em.fit_gmm(X, 2, init=start, **run), em.fit_gmm(X + 1e6, 2, init=moved_start, **run)
    # X + 1e6 itself is rounded to 1.2e-10 (float64's spacing there): 3e-11 and 1e-11 measured
    np.testing.assert_allclose(moved.params.means - 1e6, fit.params.means, rtol=0, atol=1e-9)
    scale = np.abs(fit.params.covariances).max()
    np.testing.assert_allclose(moved.params.covariances, fit.params.covariances, rtol=0, atol=1e-9 * scale)

"""The per-covariance-type kernels of em_helpers against the full-covariance computation.

The diag and spherical models have their own E-step and statistics, O(N·K·D) where the general
ones are O(N·K·D²). Each must give what the general kernel gives on the same diagonal or isotropic
parameters (the general one, run on the same arrays labelled "full", is the oracle), including on
data far from the origin, where only moments about a shift keep their digits.
"""

import numpy as np
import pytest

import em_helpers as em

DIAGONAL_TYPES = ("diag", "spherical")


def diagonal_params(rng, covariance_type, n_components=4, n_features=5, offset=0.0, zero_weight=True):
    """Random weights (one of them 0 unless not ``zero_weight``), means near ``offset`` and
    diagonal or isotropic Σ_k."""
    weights = rng.dirichlet(np.full(n_components, 2.0))
    if zero_weight:
        weights[1] = 0.0
        weights /= weights.sum()
    means = offset + rng.normal(0.0, 3.0, size=(n_components, n_features))
    variances = rng.uniform(0.05, 4.0, size=(n_components, n_features))
    if covariance_type == "spherical":
        variances[:] = variances[:, :1]
    return em.GMMParams(weights, means, variances[:, :, None] * np.eye(n_features), covariance_type)


def as_full(params):
    """The same arrays labelled "full": the general kernels' input."""
    return em.GMMParams(params.weights, params.means, params.covariances, "full")


def data(rng, n_samples, n_features, offset=0.0):
    return offset + rng.normal(0.0, 3.0, size=(n_samples, n_features))


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
@pytest.mark.parametrize("n_samples", [1, 7, 5000])  # one column block, and several (block 1638 here)
def test_diagonal_log_densities_equal_the_full_kernel(covariance_type, n_samples):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        params = diagonal_params(rng, covariance_type)
        Xt = np.ascontiguousarray(data(rng, n_samples, 5).T)
        ours = em.log_weighted_densities(Xt, params)
        full = em.log_weighted_densities(Xt, as_full(params))
        finite = params.weights > 0
        assert np.array_equal(ours[~finite], full[~finite])  # -inf for the zero weight
        np.testing.assert_allclose(ours[finite], full[finite], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_diagonal_log_densities_keep_their_digits_far_from_the_origin(covariance_type):
    """Data and means near 1e6, variances near 1: (x - μ)² / σ² computed in extended precision
    where the platform has it, from the exact float64 inputs, is the reference."""
    for seed in range(8):
        rng = np.random.default_rng(seed)
        params = diagonal_params(rng, covariance_type, offset=1e6)
        X = data(rng, 300, 5, offset=1e6)
        ours = em.log_weighted_densities(np.ascontiguousarray(X.T), params)
        wide = np.longdouble
        diff = X.astype(wide)[None, :, :] - params.means.astype(wide)[:, None, :]
        variances = np.diagonal(params.covariances, axis1=1, axis2=2).astype(wide)
        maha = (diff * diff / variances[:, None, :]).sum(axis=2)
        finite = params.weights > 0
        with np.errstate(divide="ignore"):
            const = np.log(params.weights) - 0.5 * 5 * np.log(2 * np.pi) - params.cholesky.half_log_det
        expected = (const[:, None] - 0.5 * maha).astype(np.float64)
        np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-12)


def statistics_pair(seed, covariance_type, offset=0.0, n_samples=3000, zero_weight=True):
    """γ from a diagonal θ, and the statistics gathered both ways about θ's means."""
    rng = np.random.default_rng(seed)
    params = diagonal_params(rng, covariance_type, offset=offset, zero_weight=zero_weight)
    Xt = np.ascontiguousarray(data(rng, n_samples, 5, offset=offset).T)
    resp, _ = em._e_step(Xt, params)
    diagonal = em._sufficient_statistics(Xt, resp, params.means, covariance_type)
    full = em._sufficient_statistics(Xt, resp, params.means, "full")
    return params, diagonal, full


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_diagonal_statistics_are_the_diagonals_of_the_full_ones(covariance_type):
    for seed in range(8):
        _, diagonal, full = statistics_pair(seed, covariance_type, offset=1e6)
        assert diagonal.second.shape == diagonal.first.shape == (4, 5)
        np.testing.assert_array_equal(diagonal.counts, full.counts)
        second = np.diagonal(full.second, axis1=1, axis2=2)
        # first ~ 0 about the means: compared on the scale of √(N_k Σγ(x - c_k)²), its size one spread off
        np.testing.assert_allclose(diagonal.first, full.first, rtol=0, atol=1e-12 * np.sqrt(full.counts @ second).max())
        np.testing.assert_allclose(diagonal.second, second, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_diagonal_statistics_recentre_and_add_as_the_full_ones(covariance_type):
    for seed in range(8):
        params, diagonal, full = statistics_pair(seed, covariance_type, offset=1e6)
        new_shift = params.means + np.random.default_rng(seed).normal(0.0, 2.0, size=params.means.shape)
        np.testing.assert_allclose(
            diagonal.recentred(new_shift).second,
            np.diagonal(full.recentred(new_shift).second, axis1=1, axis2=2),
            rtol=1e-12,
        )
        _, other, other_full = statistics_pair(seed + 100, covariance_type, offset=1e6)
        for total in (diagonal + other, diagonal + other_full, full + other):  # a full form adds as its diagonal
            assert total.second.shape == (4, 5)
            np.testing.assert_allclose(
                total.second, np.diagonal((full + other_full).second, axis1=1, axis2=2), rtol=1e-12
            )
            np.testing.assert_allclose(total.first, (full + other_full).first, rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
@pytest.mark.parametrize("reg_covar", [1e-6, 0.0])
def test_m_step_from_diagonal_statistics_equals_the_one_from_full_statistics(covariance_type, reg_covar):
    for seed in range(8):
        # every component holds points: with reg_covar = 0 an empty one is a collapse (an error)
        _, diagonal, full = statistics_pair(seed, covariance_type, offset=1e6, zero_weight=False)
        ours = em._m_step_from_statistics(diagonal, reg_covar, covariance_type)
        theirs = em._m_step_from_statistics(full, reg_covar, covariance_type)
        np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-12)
        np.testing.assert_allclose(ours.means - 1e6, theirs.means - 1e6, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(ours.covariances, theirs.covariances, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(em._data_covariance(diagonal), np.diag(np.diag(em._data_covariance(full))))


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_map_m_step_from_diagonal_statistics_equals_the_one_from_full_statistics(covariance_type):
    for seed in range(8):
        rng = np.random.default_rng(seed)
        _, diagonal, full = statistics_pair(seed, covariance_type)
        prior = em.ConjugatePrior(rng.uniform(0.0, 1.0), rng.normal(size=5), 5.0 + rng.uniform(), rng.uniform(0.5, 2))
        ours = em.map_m_step_from_statistics(diagonal, prior, 1e-6, covariance_type)
        theirs = em.map_m_step_from_statistics(full, prior, 1e-6, covariance_type)
        for name in ("weights", "means", "covariances"):
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_fit_with_the_diagonal_kernels_follows_the_general_kernels(covariance_type):
    """Twenty EM iterations: fit_gmm against the loop written with the general E-step (θ labelled
    "full") and full statistics, on data offset by 1e6."""
    for seed in range(8):
        rng = np.random.default_rng(seed)
        X = data(rng, 2000, 5, offset=1e6) + rng.integers(0, 3, size=(2000, 1)) * 4.0
        start = em.init_params(X, 3, seed=seed, covariance_type=covariance_type)
        fit = em.fit_gmm(X, 3, init=start, max_iter=20, tol=0, covariance_type=covariance_type)
        Xt, params = np.ascontiguousarray(X.T), start
        resp, log_lik = em._e_step(Xt, as_full(params))
        for _ in range(20):
            shift = em._weighted_means(Xt, resp)
            params = em._m_step_from_statistics(em._sufficient_statistics(Xt, resp, shift), 1e-6, covariance_type)
            resp, log_lik = em._e_step(Xt, as_full(params))
        np.testing.assert_allclose(fit.log_likelihood, log_lik, rtol=1e-12)
        np.testing.assert_allclose(fit.params.means - 1e6, params.means - 1e6, rtol=1e-9, atol=1e-8)
        np.testing.assert_allclose(fit.params.covariances, params.covariances, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fit.responsibilities, resp.T, atol=1e-9)

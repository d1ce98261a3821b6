"""The per-covariance-type kernels (em_diagonal's, called by em_helpers) against the full-covariance computation.

The diag and spherical models have their own E-step and statistics, O(N·K·D) where the general
ones are O(N·K·D²). Each must give what the general kernel gives on the same diagonal or isotropic
parameters (the general one, run on the same arrays labelled "full", is the oracle), including on
data far from the origin, where only moments about a shift keep their digits.
"""

import numpy as np
import pytest

import em_diagonal
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


# --------------------------------------------------------------------------- the two GEMMs about a common centre
# The diag and spherical kernels work about one centre c common to all K components (two matrix
# products where the exact differences x - μ_k take K times the subtractions), and take a component
# by the exact differences where a stated bound says the common centre would cost it digits. The
# oracle: the same sums in extended precision (np.longdouble) from the float64 inputs.

WIDE = np.longdouble


def wide_log_densities(X, params):
    """log π_k N(x_i | μ_k, Σ_k), (K, N), and d_ik = Σ_d (x_id - μ_kd)² / σ²_kd, summed in extended precision."""
    D = X.shape[1]
    diff = X.astype(WIDE)[None, :, :] - params.means.astype(WIDE)[:, None, :]
    variances = np.diagonal(params.covariances, axis1=1, axis2=2).astype(WIDE)
    distances = (diff * diff / variances[:, None, :]).sum(axis=2)
    const = np.log(params.weights.astype(WIDE)) - 0.5 * D * np.log(2 * WIDE(np.pi)) - np.log(variances).sum(axis=1) / 2
    return const[:, None] - distances / 2, distances


def far_tight_params(covariance_type, n_features=5, distance=1e3, variance=1e-6):
    """Three components near 0 with σ² ~ 1, and a fourth, of weight 0.01, at ``distance`` in every
    coordinate with σ² = ``variance``: C_k = Σ_d (μ_kd - c_d)² / σ²_kd is ~1e12 for it, where the
    expanded square (y² P - 2 y Q + C, with y = x - c) would lose about 1e12 eps ~ 1e-4 to cancellation."""
    rng = np.random.default_rng(0)
    means = np.vstack([rng.normal(0.0, 1.0, (3, n_features)), np.full((1, n_features), distance)])
    variances = rng.uniform(0.5, 2.0, (4, n_features))
    variances[3] = variance
    if covariance_type == "spherical":
        variances[:] = variances[:, :1]
    return em.GMMParams([0.33, 0.33, 0.33, 0.01], means, variances[:, :, None] * np.eye(n_features), covariance_type)


def far_tight_data(params, n_samples=3000, seed=1):
    """Points drawn from ``params`` (about 30 of them in the tight far component)."""
    return em.sample_gmm(params, n_samples, seed=seed)[0]


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_diagonal_log_densities_are_within_their_stated_rounding_bound(covariance_type, offset):
    """|error| <= max(τ, 4 κ eps d_ik), κ = 2D + 4 (the docstring's bound), plus the rounding of the
    result itself, on data with components from near the centre to just inside the limit on C_k."""
    D = 5
    kappa = 2 * D + 4
    limit = em._DIAGONAL_TOLERANCE / (6 * kappa * em._EPS)  # the largest C_k taken the expanded way
    for seed in range(8):
        rng = np.random.default_rng(seed)
        params = diagonal_params(rng, covariance_type, offset=offset, zero_weight=False)
        # spread the means so that the farthest component's C_k sits near the limit
        centre = params.weights @ params.means
        variances = np.diagonal(params.covariances, axis1=1, axis2=2)
        C = np.einsum("kd,kd->k", (params.means - centre) ** 2, 1 / variances)
        scale = np.sqrt(0.9 * limit / C.max())
        means = centre + (params.means - centre) * scale
        params = em.GMMParams(params.weights, means, params.covariances, covariance_type)
        X = em.sample_gmm(params, 2000, seed=rng)[0]  # each component's points near it: d_ik ~ D
        ours = em.log_weighted_densities(np.ascontiguousarray(X.T), params)
        expected, distances = wide_log_densities(X, params)
        bound = np.maximum(em._DIAGONAL_TOLERANCE, 4 * kappa * em._EPS * distances) + 2 * em._EPS * np.abs(expected)
        assert (np.abs(ours - expected) <= bound).all()


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_a_tight_component_far_from_the_centre_takes_the_exact_differences(covariance_type, monkeypatch):
    """The far component's C_k is beyond the limit: it is computed from x - μ_k and keeps the
    relative rounding of that way (the others as usual); the expanded square alone (the limit
    lifted) misses by orders of magnitude more: the case needs the fallback."""
    params = far_tight_params(covariance_type)
    X = far_tight_data(params)
    Xt = np.ascontiguousarray(X.T)
    expected, distances = wide_log_densities(X, params)
    tolerance = np.maximum(em._DIAGONAL_TOLERANCE, 100 * em._EPS * distances)
    ours = em.log_weighted_densities(Xt, params)
    assert (np.abs(ours - expected) <= tolerance).all()
    monkeypatch.setattr(em_diagonal, "_DIAGONAL_TOLERANCE", np.inf)  # every component the expanded way
    expanded = em.log_weighted_densities(Xt, params)
    near = distances[3] < 100  # the points of the tight component, where γ_i3 is not ~0
    assert near.sum() >= 10
    assert np.abs(expanded[3, near] - expected[3, near]).max() > 1e4 * tolerance[3, near].max()


def wide_statistics(X, resp, shift):
    """Σ_i γ_ik (x_i - c_k) and Σ_i γ_ik (x_i - c_k)², (K, D) each, and the γ-weighted means x̄_k,
    summed in extended precision."""
    gamma = resp.astype(WIDE)
    diff = X.astype(WIDE)[None, :, :] - shift.astype(WIDE)[:, None, :]
    first = (gamma[:, :, None] * diff).sum(axis=1)
    second = (gamma[:, :, None] * diff * diff).sum(axis=1)
    return first, second, shift + first / gamma.sum(axis=1)[:, None]


def check_statistics_against_the_wide_sums(stats, X, resp, rtol):
    """second within rtol of itself, first within rtol √(N_k second) (its size when c_k is one
    spread off the mean): what sums of the exact differences x - c_k keep."""
    first, second, _ = wide_statistics(X, resp, stats.shift)
    counts = resp.sum(axis=1)[:, None]
    assert (np.abs(stats.first - first) <= rtol * np.sqrt(counts * second)).all()
    assert (np.abs(stats.second - second) <= rtol * second).all()


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_diagonal_statistics_equal_the_wide_sums_about_any_shift(covariance_type, offset):
    """About θ's means, about shifts a few spreads off, and about the γ-weighted means (shift None)."""
    for seed in range(8):
        rng = np.random.default_rng(seed)
        params = diagonal_params(rng, covariance_type, offset=offset, zero_weight=False)
        X = data(rng, 3000, 5, offset=offset)
        Xt = np.ascontiguousarray(X.T)
        resp, _ = em._e_step(Xt, params)
        for shift in (params.means, params.means + rng.normal(0.0, 3.0, params.means.shape), None):
            stats = em.statistics_of(Xt, resp, shift, covariance_type)
            check_statistics_against_the_wide_sums(stats, X, resp, rtol=1e-12)
        # without a shift, the one pass gives the γ-weighted means (to their own rounding and 1e-12 spreads)
        _, second, means = wide_statistics(X, resp, stats.shift)
        spreads = np.sqrt(second / resp.sum(axis=1)[:, None])
        assert (np.abs(stats.shift - means) <= 2 * em._EPS * np.abs(means) + 1e-12 * spreads).all()


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
@pytest.mark.parametrize("shift", ["means", None])
def test_diagonal_statistics_of_a_tight_far_component_take_the_exact_differences(covariance_type, shift, monkeypatch):
    """cond_kd ~ (1e3 / 1e-3)² for the tight far component: summed from x - c_k it keeps its
    digits; moved from the common centre (the limit lifted) its variance is lost."""
    params = far_tight_params(covariance_type)
    X = far_tight_data(params)
    Xt = np.ascontiguousarray(X.T)
    resp, _ = em._e_step(Xt, params)
    shift = params.means if shift == "means" else None
    stats = em.statistics_of(Xt, resp, shift, covariance_type)
    check_statistics_against_the_wide_sums(stats, X, resp, rtol=1e-12)
    monkeypatch.setattr(em_diagonal, "_RECENTRING_LIMIT", np.inf)
    moved = em.statistics_of(Xt, resp, shift, covariance_type)
    _, second, _ = wide_statistics(X, resp, moved.shift)
    assert (np.abs(moved.second[3] - second[3]) > 1e-6 * second[3]).any()


@pytest.mark.parametrize("covariance_type", DIAGONAL_TYPES)
def test_a_nearly_empty_diagonal_component_keeps_the_weighted_mean_of_what_it_holds(covariance_type):
    """As the full model (test_em_helpers): γ = 1e-20 on the point at 1 gives μ_k = 1, and a
    component holding nothing gets μ_k = 0 and zero statistics, exactly."""
    X = np.array([[1.0], [-1.0], [0.5], [2.0]]) + 1e6
    resp = np.array([[1.0 - 1e-20, 1e-20, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    stats = em.statistics_of(np.ascontiguousarray(X.T), np.ascontiguousarray(resp.T), None, covariance_type)
    assert stats.shift[1, 0] == pytest.approx(1e6 + 1.0, abs=1e-9) and stats.shift[2, 0] == 0.0
    assert stats.first[2, 0] == stats.second[2, 0] == 0.0
    params = em.m_step(X, resp, covariance_type=covariance_type)
    assert params.means[1, 0] == pytest.approx(1e6 + 1.0, abs=1e-9) and params.means[2, 0] == 0.0

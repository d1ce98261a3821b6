"""Unit tests of em_helpers: exact (scikit-learn agrees), monotone, invariant, robust."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

import em_helpers as em
import em_priors


def random_params(rng, n_components, n_features, spread=4.0):
    """A random well-posed mixture: weights away from 0, covariances well conditioned."""
    weights = rng.dirichlet(np.full(n_components, 5.0))
    means = rng.normal(0.0, spread, size=(n_components, n_features))
    A = rng.normal(size=(n_components, n_features, n_features))
    covariances = A @ A.transpose(0, 2, 1) / n_features + 0.3 * np.eye(n_features)
    return em.GMMParams(weights, means, covariances)


def problem(seed, n_samples, n_features, n_components):
    rng = np.random.default_rng(seed)
    X, labels = em.sample_gmm(random_params(rng, n_components, n_features), n_samples, seed=rng)
    return X, labels


def assert_params_close(ours, theirs, rtol):
    for name in ("weights", "means", "covariances"):
        a, b = getattr(ours, name), getattr(theirs, name)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)


def sklearn_precisions(params):
    """params' precisions Σ_k⁻¹ in scikit-learn's shape for its covariance_type."""
    precisions = np.linalg.inv(params.covariances)
    return {
        "full": precisions,
        "diag": np.diagonal(precisions, axis1=1, axis2=2),
        "spherical": precisions[:, 0, 0],
        "tied": precisions[0],
    }[params.covariance_type]


def params_from_sklearn(gm):
    """A fitted GaussianMixture's parameters, covariances expanded to (K, D, D)."""
    K, D = gm.means_.shape
    cov = gm.covariances_
    full = {
        "full": lambda: cov,
        "diag": lambda: cov[:, :, None] * np.eye(D),
        "spherical": lambda: cov[:, None, None] * np.eye(D),
        "tied": lambda: np.repeat(cov[None], K, axis=0),
    }[gm.covariance_type]()
    return em.GMMParams(gm.weights_, gm.means_, full, gm.covariance_type)


def sklearn_from(X, start, n_iter, reg_covar):
    gm = GaussianMixture(
        n_components=start.n_components,
        covariance_type=start.covariance_type,
        weights_init=start.weights,
        means_init=start.means,
        precisions_init=sklearn_precisions(start),
        max_iter=n_iter,
        tol=0.0,
        reg_covar=reg_covar,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0 never "converges"
        gm.fit(X)
    return gm


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize(
    "n_samples, n_features, n_components, reg_covar",
    [(60, 1, 2, 1e-6), (500, 2, 3, 1e-6), (1500, 3, 4, 0.0), (3000, 5, 6, 1e-3), (400, 2, 1, 1e-6)],
)
def test_fit_gmm_matches_sklearn_from_the_same_start(n_samples, n_features, n_components, reg_covar, covariance_type):
    X, _ = problem(n_samples + n_features, n_samples, n_features, n_components)
    start = em.init_params(X, n_components, seed=1, covariance_type=covariance_type)
    fit = em.fit_gmm(
        X, n_components, init=start, max_iter=30, tol=0, reg_covar=reg_covar, covariance_type=covariance_type
    )
    gm = sklearn_from(X, start, 30, reg_covar)
    assert fit.n_iter == gm.n_iter_ == 30
    assert_params_close(fit.params, params_from_sklearn(gm), rtol=1e-8)
    np.testing.assert_allclose(fit.responsibilities, gm.predict_proba(X), atol=1e-8)
    # scikit-learn's lower_bound_ is the mean log-likelihood before its last M-step.
    assert fit.log_likelihoods[-2] / n_samples == pytest.approx(gm.lower_bound_, rel=1e-10)


def test_e_step_matches_sklearn_log_likelihood():
    X, _ = problem(3, 400, 3, 3)
    params = random_params(np.random.default_rng(4), 3, 3)
    gm = sklearn_from(X, params, 1, 1e-6)
    gm.weights_, gm.means_, gm.covariances_ = params.weights, params.means, params.covariances
    gm.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(params.covariances))
    resp, log_lik = em.e_step(X, params)
    assert log_lik == pytest.approx(gm.score(X) * len(X), rel=1e-12)
    np.testing.assert_allclose(resp, gm.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_bic_aic_and_n_parameters_follow_sklearn(covariance_type):
    X, _ = problem(5, 300, 3, 2)
    gm = sklearn_from(X, em.init_params(X, 2, seed=0, covariance_type=covariance_type), 5, 1e-6)
    params = params_from_sklearn(gm)
    assert em.n_parameters(params) == gm._n_parameters()
    assert em.bic(X, params) == pytest.approx(gm.bic(X), rel=1e-12)
    assert em.aic(X, params) == pytest.approx(gm.aic(X), rel=1e-12)


def test_covariance_structure_is_checked():
    eye = [np.eye(2), np.eye(2)]
    with pytest.raises(ValueError, match="diagonal"):
        em.GMMParams([0.5, 0.5], [[0, 0], [1, 1]], [[[1, 0.1], [0.1, 1]], np.eye(2)], "diag")
    with pytest.raises(ValueError, match="identity"):
        em.GMMParams([0.5, 0.5], [[0, 0], [1, 1]], [np.diag([1.0, 2.0]), np.eye(2)], "spherical")
    with pytest.raises(ValueError, match="same for every"):
        em.GMMParams([0.5, 0.5], [[0, 0], [1, 1]], [np.eye(2), 2 * np.eye(2)], "tied")
    with pytest.raises(ValueError, match="covariance_type"):
        em.GMMParams([0.5, 0.5], [[0, 0], [1, 1]], eye, "round")
    with pytest.raises(ValueError, match="covariance_type"):
        em.fit_gmm(X_OK, 2, covariance_type="diagonal")


# --------------------------------------------------------------------------- EM's guarantees


def sweep_problem(seed):
    """Issue 8's sweep: D in 1..4, K in 1..5, N in 60·K·D..120·K·D, separations 0.5..6."""
    rng = np.random.default_rng(seed)
    n_features, n_components = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    n_samples = int(rng.integers(60, 121)) * n_components * n_features
    truth = random_params(rng, n_components, n_features, spread=float(rng.uniform(0.5, 6.0)))
    X, _ = em.sample_gmm(truth, n_samples, seed=rng)
    return X, n_components


def test_exact_em_never_lowers_the_log_likelihood_or_stops_with_the_collapse_error():
    """With reg_covar=0 each fit either climbs (1e-10 relative) or raises the ValueError
    that names reg_covar; nothing in between (a spike whose L is rounding noise)."""
    failures, errors = [], 0
    for seed in range(300):
        X, n_components = sweep_problem(seed)
        try:
            with warnings.catch_warnings():
                # Some fits reach max_iter=300 before a gain of 1e-10 per point (a ConvergenceWarning):
                # every step they took is checked all the same, as the steps of those that converged.
                warnings.simplefilter("ignore", em.ConvergenceWarning)
                fit = em.fit_gmm(X, n_components, reg_covar=0.0, tol=1e-10, max_iter=300, seed=seed)
        except ValueError as err:
            assert "increase reg_covar" in str(err)
            errors += 1
            continue
        ll = fit.log_likelihoods
        drops = np.diff(ll) < -1e-10 * np.abs(ll[:-1])
        if drops.any():
            failures.append((seed, int(np.argmax(drops)), float(np.diff(ll).min())))
    assert not failures, f"log-likelihood decreased (seed, step, change): {failures[:5]}"
    assert errors < 30, f"{errors} of 300 fits collapsed: the sweep is not the well-posed one it should be"


def test_a_component_narrower_than_float64_resolves_raises_with_reg_covar_0():
    # Two points 1e-12 apart in data of variance ~9: a component holding just them has
    # variance ~2.5e-25, below eps · 9 = 2e-15. Cholesky succeeds; the check must catch it.
    X = np.random.default_rng(3).normal(0.0, 3.0, size=(200, 1))
    X[1] = X[0] + 1e-12
    start = em.GMMParams([0.01, 0.99], [X[0], [0.0]], [[[1e-24]], [[9.0]]])
    with pytest.raises(ValueError, match=r"collapsed onto too few points.*increase reg_covar"):
        em.fit_gmm(X, 2, init=start, reg_covar=0.0, max_iter=5)
    held = em.fit_gmm(X, 2, init=em.GMMParams(start.weights, start.means, [[[1e-6]], [[9.0]]]), max_iter=5)
    assert np.isfinite(held.log_likelihoods).all() and held.params.covariances[0, 0, 0] >= 1e-6


def test_a_collapse_gives_one_message_whichever_check_fires_first():
    # Which detector fires first (Cholesky failing on an exactly singular Σ_k, or the resolution
    # check on a Σ_k of 1e-72) depends on the CPU's rounding; the message must not, nor may it
    # print the rounding-level variance (notebook 02 printed 0 here, 1.13e-72 on another CPU).
    X = np.random.default_rng(4).normal(0.0, 3.0, size=(50, 2))
    X[1] = X[0]
    X[2] = X[0]  # three identical points: their scatter is exactly 0, Cholesky fails
    gamma = np.zeros((50, 2))
    gamma[:3, 1] = 1.0
    gamma[3:, 0] = 1.0
    expected = (
        r"^component 1 collapsed onto too few points \(its variance along one direction is below "
        r"float64's resolution, 2\^-52, times the spread there\): increase reg_covar, decrease "
        r"n_components, or scale the data\.$"
    )
    with pytest.raises(ValueError, match=expected):  # via Cholesky
        em.m_step(X, gamma, reg_covar=0.0)
    stats = em.sufficient_statistics(X, gamma)
    narrow = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [0.0, 0.0]], [np.eye(2), np.diag([1.0, 1e-72])])
    with pytest.raises(ValueError, match=expected):  # via the resolution check
        em._check_resolved(narrow, stats)


def test_log_likelihood_equals_q_plus_entropy_and_bounds_it_elsewhere():
    X, _ = problem(11, 500, 2, 3)
    theta_t = em.init_params(X, 3, seed=0)
    resp, log_lik = em.e_step(X, theta_t)
    q = em.expected_complete_log_likelihood(X, theta_t, resp)
    h = em.responsibility_entropy(resp)
    assert q + h == pytest.approx(log_lik, rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):  # Jensen: F(γ, θ) = Q(θ | θ_t) + H(γ) <= log p(X | θ) for any θ
        other = random_params(rng, 3, 2)
        assert em.expected_complete_log_likelihood(X, other, resp) + h <= em.log_likelihood(X, other)
    # The M-step maximises Q(θ | θ_t): no random θ does better than θ_{t+1}.
    theta_next = em.m_step(X, resp, reg_covar=0.0)
    q_next = em.expected_complete_log_likelihood(X, theta_next, resp)
    assert q_next > q
    assert all(em.expected_complete_log_likelihood(X, random_params(rng, 3, 2), resp) < q_next for _ in range(20))


def test_one_component_gives_the_sample_mean_and_biased_covariance():
    X, _ = problem(2, 700, 3, 2)
    fit = em.fit_gmm(X, 1, reg_covar=0.0)
    np.testing.assert_allclose(fit.params.weights, [1.0])
    np.testing.assert_allclose(fit.params.means[0], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(fit.params.covariances[0], np.cov(X.T, bias=True), rtol=1e-10)
    assert fit.converged


@settings(max_examples=25, deadline=None)
@given(
    shift=st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_translating_the_points_translates_the_fit(shift, seed):
    X, _ = problem(seed, 200, 2, 3)
    start = em.init_params(X, 3, seed=seed)
    moved = em.GMMParams(start.weights, start.means + shift, start.covariances)
    a = em.fit_gmm(X, 3, init=start, max_iter=20, tol=0)
    b = em.fit_gmm(X + shift, 3, init=moved, max_iter=20, tol=0)
    np.testing.assert_allclose(b.params.means - shift, a.params.means, atol=1e-7 * (1 + np.abs(shift).max()))
    np.testing.assert_allclose(b.params.covariances, a.params.covariances, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(b.log_likelihoods, a.log_likelihoods, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_reordering_the_points_changes_nothing(seed):
    X, _ = problem(seed, 200, 2, 3)
    order = np.random.default_rng(seed).permutation(len(X))
    start = em.init_params(X, 3, seed=seed)
    a = em.fit_gmm(X, 3, init=start, max_iter=20, tol=0)
    b = em.fit_gmm(X[order], 3, init=start, max_iter=20, tol=0)
    assert_params_close(b.params, a.params, rtol=1e-10)
    np.testing.assert_allclose(b.responsibilities, a.responsibilities[order], atol=1e-10)


def test_same_seed_same_answer_and_generators_work_as_seeds():
    X, _ = problem(8, 400, 2, 3)
    a = em.fit_gmm(X, 3, n_init=3, seed=42)
    b = em.fit_gmm(X, 3, n_init=3, seed=42)
    c = em.fit_gmm(X, 3, n_init=3, seed=np.random.default_rng(42))
    for other in (b, c):
        for name in ("weights", "means", "covariances"):
            assert np.array_equal(getattr(a.params, name), getattr(other.params, name))
        assert np.array_equal(a.log_likelihoods, other.log_likelihoods)
    s1, s2 = em.sample_gmm(a.params, 50, seed=3), em.sample_gmm(a.params, 50, seed=3)
    assert np.array_equal(s1[0], s2[0]) and np.array_equal(s1[1], s2[1])


def test_n_init_keeps_the_best_of_its_starts():
    X, _ = problem(9, 300, 2, 4)
    rng = np.random.default_rng(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.ConvergenceWarning)  # the best start converged: no warning
        best = em.fit_gmm(X, 4, init="random", n_init=6, seed=rng)
    singles = [em.fit_gmm(X, 4, init="random", seed=np.random.default_rng(s)).log_likelihood for s in range(6)]
    assert best.log_likelihood >= np.median(singles)
    replay = np.random.default_rng(5)
    with pytest.warns(em.ConvergenceWarning, match="max_iter=200"):  # though one of the six stopped at max_iter
        replayed = [em.fit_gmm(X, 4, init="random", seed=replay).log_likelihood for _ in range(6)]
    assert best.log_likelihood == max(replayed)


def test_history_iterations_and_convergence_flag():
    X, _ = problem(10, 500, 2, 3)
    fit = em.fit_gmm(X, 3, seed=0, tol=1e-6)
    assert fit.converged and len(fit.log_likelihoods) == fit.n_iter + 1
    assert (fit.log_likelihoods[-1] - fit.log_likelihoods[-2]) / len(X) < 1e-6
    assert (fit.log_likelihoods[-2] - fit.log_likelihoods[-3]) / len(X) >= 1e-6
    _, ll = em.e_step(X, fit.params)
    assert fit.log_likelihood == ll
    full = em.fit_gmm(X, 3, seed=0, tol=0, max_iter=37)
    assert full.n_iter == 37 and not full.converged
    zero = em.fit_gmm(X, 3, seed=0, max_iter=0)
    assert zero.n_iter == 0 and zero.log_likelihoods.shape == (1,)


# --------------------------------------------------------------------------- the other helpers


def test_sample_gmm_draws_from_the_mixture():
    params = random_params(np.random.default_rng(1), 3, 2)
    X, labels = em.sample_gmm(params, 60_000, seed=0)
    assert X.shape == (60_000, 2) and labels.shape == (60_000,)
    freq = np.bincount(labels, minlength=3) / len(labels)
    np.testing.assert_allclose(freq, params.weights, atol=5 * np.sqrt(0.25 / len(labels)))
    for k in range(3):
        Xk = X[labels == k]
        se = np.sqrt(np.diag(params.covariances[k]) / len(Xk))
        assert np.all(np.abs(Xk.mean(axis=0) - params.means[k]) < 5 * se)
        np.testing.assert_allclose(np.cov(Xk.T), params.covariances[k], atol=0.1 * np.abs(params.covariances[k]).max())


def test_match_components_undoes_label_switching():
    truth = random_params(np.random.default_rng(2), 4, 2)
    shuffled = truth.permute([2, 0, 3, 1])
    order = em.match_components(shuffled, truth)
    aligned = shuffled.permute(order)
    for name in ("weights", "means", "covariances"):
        assert np.array_equal(getattr(aligned, name), getattr(truth, name))
    with pytest.raises(ValueError, match="permutation"):
        truth.permute([0, 0, 1, 2])


def test_init_params_methods_give_valid_distinct_starts():
    X, _ = problem(4, 300, 2, 3)
    for method in ("kmeans++", "random"):
        p = em.init_params(X, 3, method=method, seed=0)
        assert p.n_components == 3 and len(np.unique(p.means, axis=0)) == 3
        assert p.weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="kmeans"):
        em.init_params(X, 3, method="kmeans")


def test_a_point_equally_near_two_seeds_goes_to_the_seed_drawn_first():
    # Points A = (-1, 0), B = (1, 0), C = (0, 5). With seeds A and B, C ties (distance √26 to
    # each) and joins the first-drawn seed's component k = 0, whose mean is then (±0.5, 2.5).
    # With C as a seed, A and B join each other (distance 2 < √26): means (0, 5) and (0, 0).
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 5.0]])
    tied = 0
    for seed in range(40):
        p = em.init_params(X, 2, method="random", seed=seed)
        if 2.5 in p.means[:, 1]:  # the seeds were A and B
            tied += 1
            assert p.means[0, 1] == 2.5 and p.weights[0] == pytest.approx(2 / 3)
    assert tied > 0


def test_one_dimensional_points_and_integer_and_float32_input():
    x = np.r_[np.zeros(50), np.full(50, 10.0)] + np.tile([0.0, 1.0], 50)
    fit_1d = em.fit_gmm(x.tolist(), 2, seed=0)
    assert fit_1d.params.means.shape == (2, 1)
    assert sorted(fit_1d.params.means.ravel().round(6)) == [0.5, 10.5]
    fit_int = em.fit_gmm(x.astype(int), 2, seed=0)
    fit_f32 = em.fit_gmm(x.astype(np.float32), 2, seed=0)
    assert fit_int.params.means.dtype == fit_f32.params.means.dtype == np.float64
    for other in (fit_int, fit_f32):  # these values are exact in int and float32 too
        np.testing.assert_allclose(other.params.means, fit_1d.params.means, rtol=1e-12)
        np.testing.assert_allclose(other.log_likelihoods, fit_1d.log_likelihoods, rtol=1e-12)


def test_ellipse_geometry_traces_the_n_std_contour():
    cov = np.array([[3.0, 1.2], [1.2, 1.0]])
    for n_std in (1.0, 2.0):
        width, height, angle = em.ellipse_geometry(cov, n_std)
        assert width >= height
        t = np.linspace(0, 2 * np.pi, 50)
        a = np.radians(angle)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pts = rot @ np.vstack([width / 2 * np.cos(t), height / 2 * np.sin(t)])
        maha = np.einsum("in,ij,jn->n", pts, np.linalg.inv(cov), pts)
        np.testing.assert_allclose(maha, n_std**2, rtol=1e-10)
    assert em.ellipse_geometry(np.diag([4.0, 1.0]), 2)[:2] == pytest.approx((8.0, 4.0))


# --------------------------------------------------------------------------- bad input: clear errors
# (The fitters' settings, n_components, n_init, max_iter, tol, reg_covar, covariance_type and init, are checked
# once for every fitter in tests/test_contract.py.)

X_OK = np.random.default_rng(0).normal(size=(20, 2))
P_OK = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: em.fit_gmm(np.r_[X_OK, [[np.inf, 0]]], 2), ValueError, "1 inf"),
        (lambda: em.fit_gmm([], 1), ValueError, "empty"),
        (lambda: em.fit_gmm(np.empty((0, 2)), 1), ValueError, "empty"),
        (lambda: em.fit_gmm(np.zeros((4, 3, 2)), 1), ValueError, "3 dimensions"),
        (lambda: em.fit_gmm([["a", "b"], ["c", "d"]], 1), TypeError, "real numbers"),
        (lambda: em.fit_gmm([[1.0, None], [2.0, 3.0]], 1), TypeError, "real numbers"),
        (lambda: em.fit_gmm([[1.0, 2.0], [3.0]], 1), ValueError, "rectangular"),
        (lambda: em.fit_gmm(X_OK, 21), ValueError, "between 1 and"),
        (lambda: em.fit_gmm(X_OK[:, :1], 2, init=P_OK), ValueError, "D=2 features but X has 1"),
        (lambda: em.fit_gmm(X_OK, 3, init=P_OK), ValueError, "K=2 components but n_components=3"),
        (lambda: em.GMMParams([0.5, 0.6], [[0, 0], [1, 1]], [np.eye(2)] * 2), ValueError, "probability vector"),
        (lambda: em.GMMParams([1.5, -0.5], [[0, 0], [1, 1]], [np.eye(2)] * 2), ValueError, "probability vector"),
        (lambda: em.GMMParams([1.0], [[0, 0]], [[[1.0, 0.5], [0.0, 1.0]]]), ValueError, "not symmetric"),
        (lambda: em.GMMParams([1.0], [[0, 0]], [[[1.0, 2.0], [2.0, 1.0]]]), ValueError, "not positive definite"),
        (lambda: em.GMMParams([1.0], [[0, 0]], [np.zeros((2, 2))]), ValueError, "not positive definite"),
        (lambda: em.GMMParams([0.5, 0.5], [[0, 0], [1, 1]], [np.eye(3)] * 2), ValueError, "shapes disagree"),
        (lambda: em.GMMParams([1.0], [[np.nan, 0]], [np.eye(2)]), ValueError, "NaN"),
        (lambda: em.m_step(X_OK, np.full((20, 2), 0.3)), ValueError, "sum to 1"),
        (lambda: em.m_step(X_OK, np.full((19, 2), 0.5)), ValueError, "shape"),
        (lambda: em.fit_gmm(np.zeros((5, 2)), 1, reg_covar=0.0), ValueError, "increase reg_covar"),
        (lambda: em.GMMParams([1.0], [[1e160, 0.0]], [np.eye(2)]), ValueError, "rescale"),
        (lambda: em.fit_gmm(X_OK, 2, init=P_OK, covariance_type="diag"), ValueError, "covariance_type"),
        (lambda: em.init_params(X_OK, 2, method=None), ValueError, "method must be"),
        (lambda: em.match_components(P_OK, em.GMMParams([1.0], [[0, 0]], [np.eye(2)])), ValueError, "K=2, D=2"),
        (lambda: em.match_components(P_OK, "truth"), TypeError, "reference must be a GMMParams"),
        (lambda: P_OK.permute([1.0, 0.0]), ValueError, "permutation"),
        (lambda: em.sample_gmm(P_OK, True), TypeError, "n_samples must be an integer"),
        (lambda: em.sample_gmm(P_OK, 0), ValueError, "n_samples must be an integer >= 1"),
        (lambda: em.aic([[np.nan, 1.0]], P_OK), ValueError, "NaN"),
        (lambda: em.responsibility_entropy([[0.5, 0.6]]), ValueError, "sum to 1"),
        (lambda: em.responsibility_entropy([[-0.5, 1.5]]), ValueError, "non-negative"),
        (lambda: em.ellipse_geometry([[1.0, 2.0], [2.0, 1.0]]), ValueError, "positive definite"),
        (lambda: em.ellipse_geometry(np.eye(2), n_std=-1), ValueError, "n_std"),
        (lambda: P_OK.permute([0, 1, 2]), ValueError, r"^order must be a permutation of 0\.\.1; got \[0 1 2\]\.$"),
        (lambda: em.e_step(X_OK, "not params"), TypeError, r"^params must be a GMMParams; got str\.$"),
        (lambda: em.fit_gmm([["a", "b"]], 1), TypeError, r"^X must contain real numbers"),
        (
            lambda: em.fit_gmm(np.r_[X_OK, [[np.nan, 0.0]], X_OK], 2),
            ValueError,
            r"^X contains 1 NaN and 0 inf values \(in 1 rows, the first is row 20\); EM needs finite numbers: drop "
            r"those rows first, or let fit_gmm\(\.\.\., allow_missing=True\) treat NaN as missing at random\.$",
        ),
        (
            lambda: em.fit_gmm([[1e101, 0.0]], 1),
            ValueError,
            r"^X has values up to 1e\+101; .* deviation, say\) first\.$",
        ),
        (
            lambda: em.fit_gmm(X_OK, 2, init=P_OK, covariance_type="tied"),
            ValueError,
            r'^init is a "full" GMMParams but covariance_type="tied": build the start for the model you fit\.$',
        ),
        (lambda: em.GMMParams(["a"], [[0.0, 0.0]], [I2]), TypeError, "^weights must contain real numbers"),
        (lambda: em.GMMParams([1.0], [["a", "b"]], [I2]), TypeError, "^means must contain real numbers"),
        (
            lambda: em.GMMParams([1.0], [[0, 0]], [[["a", "b"], ["c", "d"]]]),
            TypeError,
            "^covariances must contain real",
        ),
        (
            lambda: em.GMMParams([1.0], [[0, 0]], np.zeros((1, 2, 2)), "diag"),
            ValueError,
            r"^covariances\[0\] is not posi",
        ),
        (lambda: em.sample_gmm("not params", 5), TypeError, r"^params must be a GMMParams; got str\.$"),
        (lambda: em.match_components("fit", P_OK), TypeError, r"^estimate must be a GMMParams; got str\.$"),
        (lambda: em.m_step_from_statistics("stats"), TypeError, r"^stats must be a SufficientStatistics; got str\.$"),
        (
            lambda: em.sufficient_statistics(X_OK, np.full((20, 2), 0.5), shift=np.zeros((3, 2))),
            ValueError,
            r"^shift must be finite with shape \(K, D\) = \(2, 2\); got \(3, 2\)\.$",
        ),
        (lambda: em.sufficient_statistics(X_OK, np.full((20, 2), 0.5), shift=[["a", "b"]] * 2), TypeError, "^shift "),
        (
            lambda: em.expected_complete_log_likelihood(X_OK, P_OK, np.full((20, 3), 1 / 3)),
            ValueError,
            r"^responsibilities have 3 columns but params have K=2\.$",
        ),
        (lambda: em.responsibility_entropy([["a", "b"]]), TypeError, "^responsibilities must contain real numbers"),
        (lambda: em.responsibility_entropy(0.5), ValueError, r"= \(0, K\); got \(\)\.$"),
        (
            lambda: em.m_step(X_OK, [[np.nan, 1.0]] * 20),
            ValueError,
            r"^responsibilities must be finite and non-negative\.$",
        ),
        (
            lambda: em.ellipse_geometry(np.eye(3)),
            ValueError,
            r"^ellipse_geometry needs a 2x2 covariance; got shape \(3, 3\)\.$",
        ),
        (lambda: em.ellipse_geometry(np.eye(2), n_std=0), ValueError, "^n_std must be positive; got 0"),
        (lambda: em.ellipse_geometry(np.diag([1.0, 0.0])), ValueError, "^the covariance must be positive definite"),
    ],
)
def test_bad_input_gets_an_error_naming_what_was_expected_and_given(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- hard input: finite answers


def _hard_cases():
    rng = np.random.default_rng(7)
    base = np.r_[rng.normal(0, 1, (150, 2)), rng.normal(6, 1, (150, 2))]
    yield "point 1e8 away", np.r_[base, [[1e8, -1e8]]], 3
    yield "300 duplicates", np.r_[np.tile([[2.0, 3.0]], (300, 1)), base[:100]], 3
    yield "all points identical", np.tile([[2.0, 3.0]], (50, 1)), 3
    yield "constant column", np.c_[base[:, :1], np.full(len(base), 5.0)], 2
    yield "offset 1e6", base + 1e6, 2
    yield "K = N", base[:40], 40
    yield "K = N with duplicates", np.r_[base[:20], base[:20]], 40
    yield "tiny scale", base * 1e-5, 2


@pytest.mark.parametrize("init", ["kmeans++", "random"])
@pytest.mark.parametrize("name, X, n_components", list(_hard_cases()), ids=[c[0] for c in _hard_cases()])
def test_hard_input_gets_a_finite_answer_without_warnings(name, X, n_components, init):
    for seed in range(8):  # a point 1e8 away broke 1 in 2 random starts before the eigenvalue floor
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # any RuntimeWarning (overflow, 0/0, log 0) fails
            fit = em.fit_gmm(X, n_components, init=init, seed=seed)
        for value in (fit.params.weights, fit.params.means, fit.params.covariances, fit.responsibilities):
            assert np.isfinite(value).all(), seed
        assert np.isfinite(fit.log_likelihoods).all(), seed
        # With reg_covar > 0 EM is monotone only up to rounding. With a point 1e8 away, a
        # component spanning it has cond(Σ_k) ~ 1e14, so L itself is only accurate to ~0.03
        # (eps·1e14 on its small eigenvalue): a drop of 0.017 (5e-6 relative) was seen there.
        rel = 1e-5 if name == "point 1e8 away" else 1e-6
        assert np.diff(fit.log_likelihoods).min() >= -rel * np.abs(fit.log_likelihoods).max(), seed


def test_offset_data_gives_the_same_fit_as_centred_data():
    X, _ = problem(12, 400, 2, 2)
    start = em.init_params(X, 2, seed=0)
    a = em.fit_gmm(X, 2, init=start, max_iter=50, tol=0)
    b = em.fit_gmm(
        X + 1e6, 2, init=em.GMMParams(start.weights, start.means + 1e6, start.covariances), max_iter=50, tol=0
    )
    np.testing.assert_allclose(b.params.means - 1e6, a.params.means, atol=1e-6)
    np.testing.assert_allclose(b.params.covariances, a.params.covariances, rtol=1e-6)


def test_a_component_whose_responsibilities_vanish_stays_finite():
    X, _ = problem(13, 300, 2, 2)
    # Component 2 starts 1e4 away: no point gives it any responsibility.
    start = em.GMMParams([0.45, 0.45, 0.1], [X[0], X[1], [1e4, 1e4]], [np.eye(2)] * 3)
    resp, _ = em.e_step(X, start)
    assert resp[:, 2].max() < 1e-300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = em.fit_gmm(X, 3, init=start, max_iter=30, tol=0)
    dead = fit.params
    assert np.isfinite(dead.means).all() and np.isfinite(dead.covariances).all()
    # Documented behaviour: weight ~0 (N_k floored at 10·eps), covariance reg_covar·I.
    assert dead.weights[2] < 1e-15
    np.testing.assert_allclose(dead.covariances[2], 1e-6 * np.eye(2), rtol=1e-6, atol=1e-12)
    assert dead.weights[:2].sum() == pytest.approx(1.0)


def test_params_are_read_only():
    for array in (P_OK.weights, P_OK.means, P_OK.covariances):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 5.0


def test_the_global_numpy_random_state_is_left_alone():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    em.fit_gmm(X_OK, 2, n_init=3, seed=1)
    em.sample_gmm(P_OK, 10, seed=2)
    em.init_params(X_OK, 2, method="random", seed=3)
    assert np.array_equal(np.random.get_state()[1], state)


def test_a_zero_weight_component_gets_exactly_zero_responsibility_and_q_plus_h_holds():
    params = em.GMMParams([1.0, 0.0], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resp, log_lik = em.e_step(X_OK, params)
        q = em.expected_complete_log_likelihood(X_OK, params, resp)
    assert np.all(resp[:, 1] == 0.0)
    assert q + em.responsibility_entropy(resp) == pytest.approx(log_lik, rel=1e-12)


def test_a_component_stretched_over_1e8_is_floored_not_fatal():
    # One point 1e8 away, shared by a component with the cluster: its covariance is ~1e13
    # along the line and ~1e-6 across, beyond what Cholesky can factor in float64.
    X = np.r_[np.random.default_rng(0).normal(size=(300, 2)), [[1e8, -1e8]]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fits = [em.fit_gmm(X, 2, init="random", seed=s) for s in range(20)]
    for fit in fits:
        assert np.isfinite(fit.log_likelihoods).all()
        assert np.linalg.eigvalsh(fit.params.covariances).min() >= 1e-6 * (1 - 1e-9)


def test_a_point_far_from_every_component_gets_responsibilities_not_nan():
    params = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [1.0, 0.0]], [np.eye(2), np.eye(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resp, log_lik = em.e_step([[60.0, 0.0]], params)  # every density underflows to 0.0
    # log-odds of component 2 over 1: ((60 - 0)² - (60 - 1)²) / 2 = 59.5
    assert resp[0, 1] / resp[0, 0] == pytest.approx(np.exp(59.5), rel=1e-9)
    assert np.isfinite(log_lik) and log_lik < -1700


def test_committed_data_is_what_the_committed_parameters_and_seed_produce():
    import json
    from pathlib import Path

    data_dir = Path(__file__).resolve().parent.parent / "data"
    spec = json.loads((data_dir / "true_parameters.json").read_text())
    truth = em.GMMParams(spec["weights"], spec["means"], spec["covariances"])
    X, labels = em.sample_gmm(truth, spec["n_samples"], seed=spec["seed"])
    table = np.loadtxt(data_dir / "three_gaussians.csv", delimiter=",", skiprows=1)
    assert (data_dir / "three_gaussians.csv").read_text().splitlines()[0] == "x1,x2,component"
    np.testing.assert_allclose(table[:, :2], X, atol=1e-9)  # the CSV keeps 10 decimals
    assert np.array_equal(table[:, 2].astype(int), labels)


# --------------------------------------------------------------------------- the sufficient-statistics seam


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_statistics_summed_over_random_chunkings_give_the_one_pass_m_step(covariance_type):
    X, _ = problem(21, 3000, 3, 4)
    X = X + 1e6  # raw second moments would keep nothing of the spread here
    params = em.init_params(X, 4, seed=1, covariance_type=covariance_type)
    resp, _ = em.e_step(X, params)
    one_pass = em.m_step(X, resp, covariance_type=covariance_type)
    rng = np.random.default_rng(0)
    for _ in range(5):
        cuts = np.sort(rng.choice(np.arange(1, len(X)), size=int(rng.integers(1, 12)), replace=False))
        chunks = zip(np.split(X, cuts), np.split(resp, cuts), strict=True)
        stats = [em.sufficient_statistics(x, r, shift=params.means) for x, r in chunks]
        total = stats[0]
        for s in stats[1:]:
            total = total + s
        summed = em.m_step_from_statistics(total, covariance_type=covariance_type)
        # Means are 1e6: 1e-12 relative is rounding there; the spread is compared about them.
        np.testing.assert_allclose(summed.weights, one_pass.weights, rtol=1e-12)
        np.testing.assert_allclose(summed.means - 1e6, one_pass.means - 1e6, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(summed.covariances, one_pass.covariances, rtol=1e-12, atol=1e-12)


def test_statistics_about_different_shifts_add_exactly():
    X, _ = problem(22, 400, 2, 3)
    resp, _ = em.e_step(X, em.init_params(X, 3, seed=0))
    a = em.sufficient_statistics(X[:150], resp[:150])  # each chunk about its own means
    b = em.sufficient_statistics(X[150:], resp[150:], shift=np.full((3, 2), 50.0))
    both = em.sufficient_statistics(X, resp)
    total = a + b
    np.testing.assert_allclose(total.recentred(both.shift).second, both.second, rtol=1e-11)
    np.testing.assert_allclose(total.means(), both.means(), rtol=1e-12)
    assert total.n_samples == 400.0
    halved = total.scaled(0.5)
    np.testing.assert_allclose(halved.counts, total.counts / 2)
    np.testing.assert_allclose(
        em.m_step_from_statistics(halved).covariances, em.m_step_from_statistics(total).covariances, rtol=1e-12
    )


def test_the_fit_records_tol_why_it_stopped_and_on_request_every_iterate():
    X, _ = problem(23, 300, 2, 2)
    fit = em.fit_gmm(X, 2, seed=0, tol=1e-4, keep_params=True)
    assert fit.tol == 1e-4 and fit.converged and fit.stop_reason == "converged"
    assert len(fit.params_history) == fit.n_iter + 1
    for t in (0, fit.n_iter // 2, fit.n_iter):
        assert em.log_likelihood(X, fit.params_history[t]) == pytest.approx(fit.log_likelihoods[t], rel=1e-12)
    capped = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=2)
    assert not capped.converged and capped.stop_reason == "max_iter" and capped.params_history is None


# --------------------------------------------------------------------------- every path a user's data takes


def direct_log_weighted_densities(X, params):
    """log π_k + log N(x_i | μ_k, Σ_k), shape (N, K), straight from the formula: all points at
    once, with Σ_k⁻¹ from solve and log|Σ_k| from slogdet (none of the E-step's machinery)."""
    D = X.shape[1]
    out = np.empty((len(X), params.n_components))
    for k in range(params.n_components):
        diff = X - params.means[k]
        maha = np.einsum("nd,nd->n", diff, np.linalg.solve(params.covariances[k], diff.T).T)
        log_det = np.linalg.slogdet(params.covariances[k])[1]
        out[:, k] = np.log(params.weights[k]) - 0.5 * (D * np.log(2 * np.pi) + log_det + maha)
    return out


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_statistics_over_several_blocks_and_a_ragged_last_one_are_the_direct_sums(covariance_type):
    D, K = 2, 3
    block = em.block_columns(K, D)  # the statistics' block of columns
    X, _ = problem(31, 2 * block + block // 3, D, K)
    X = X + 1e6  # about the shift, the moments keep their digits
    params = em.init_params(X, K, seed=0)
    resp, _ = em.e_step(X, params)
    stats = em.statistics_of(np.ascontiguousarray(X.T), np.ascontiguousarray(resp.T), params.means, covariance_type)
    # Against the sums written out over all N points at once.
    centred = X[:, None, :] - params.means[None, :, :]  # (N, K, D)
    first = np.einsum("nk,nkd->kd", resp, centred)
    second = np.einsum("nk,nkd,nke->kde", resp, centred, centred)
    np.testing.assert_allclose(stats.counts, resp.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.first, first, rtol=1e-11, atol=1e-9)
    expected = second if covariance_type == "full" else np.diagonal(second, axis1=1, axis2=2)
    np.testing.assert_allclose(stats.second, expected, rtol=1e-11)
    if covariance_type == "full":
        assert np.array_equal(stats.second, stats.second.transpose(0, 2, 1))  # exactly symmetric


def test_an_e_step_over_several_blocks_and_a_ragged_last_one_is_exact():
    from scipy.special import logsumexp

    D = 8
    block = em.block_columns(3, D)  # the E-step's block of columns (K = 3)
    n_samples = 2 * block + block // 2
    assert n_samples > 2 * block and n_samples % block, "the data must span >2 blocks, the last one partial"
    X, _ = problem(30, n_samples, D, 3)
    params = em.init_params(X, 3, seed=0)
    resp, log_lik = em.e_step(X, params)
    # Against the formula evaluated over all N points in one go: equal to rounding.
    direct = direct_log_weighted_densities(X, params)
    np.testing.assert_allclose(em.log_weighted_densities(np.ascontiguousarray(X.T), params).T, direct, rtol=1e-11)
    np.testing.assert_allclose(resp, np.exp(direct - logsumexp(direct, axis=1, keepdims=True)), rtol=1e-9, atol=1e-13)
    assert log_lik == pytest.approx(logsumexp(direct, axis=1).sum(), rel=1e-12)
    # Against 3 of scikit-learn's EM iterations from the same start.
    gm = sklearn_from(X, params, 3, 1e-6)
    fit = em.fit_gmm(X, 3, init=params, max_iter=3, tol=0)
    assert_params_close(fit.params, params_from_sklearn(gm), rtol=1e-8)
    np.testing.assert_allclose(fit.responsibilities, gm.predict_proba(X), atol=1e-8)
    # Reusing a buffer (as the EM loop does) writes every column of it.
    buffer = np.full((3, n_samples), np.nan)
    reused, reused_log_lik = em._e_step(np.ascontiguousarray(X.T), params, out=buffer)
    assert reused is buffer and reused_log_lik == log_lik
    np.testing.assert_array_equal(reused.T, resp)


def test_the_e_step_clamps_log_odds_at_minus_700_so_exp_never_underflows():
    """normalize_rows_in_place's promise: exp never sees an argument below -700 (below -708 it
    underflows, NumPy's slow path), which changes a γ_ik by less than 1e-300."""
    params = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [60.0, 0.0]], [np.eye(2), np.eye(2)])
    X = [[0.0, 0.0], [60.0, 0.0], [30.0, 0.0]]  # log-odds -1800, +1800 and 0
    with np.errstate(under="raise"):  # an underflowing exp raises FloatingPointError here
        resp, log_lik = em.e_step(X, params)
    # The exact γ, exp(-1800), is not a float64 number; the clamp gives exp(-700) instead.
    assert resp[0, 1] == resp[1, 0] == np.exp(-700.0) and np.exp(-700.0) < 1e-300
    assert resp[0, 0] == resp[1, 1] == 1.0 and resp[2, 0] == resp[2, 1] == 0.5
    direct = direct_log_weighted_densities(np.array(X), params)
    assert log_lik == pytest.approx(np.logaddexp(direct[:, 0], direct[:, 1]).sum(), rel=1e-14)


I2 = np.eye(2)


@pytest.mark.parametrize(
    "weights, means, covariances, message",
    [
        (
            [[1.0]],
            [[0.0, 0.0]],
            [I2],
            r"^GMMParams expects weights of shape \(K,\).*got \(1, 1\), \(1, 2\) and \(1, 2, 2\)",
        ),
        ([1.0], [0.0, 0.0], [I2], r"^GMMParams expects weights.*got \(1,\), \(2,\) and \(1, 2, 2\)"),
        ([1.0], [[0.0, 0.0]], I2, r"^GMMParams expects weights.*got \(1,\), \(1, 2\) and \(2, 2\)"),
        ([0.5, 0.5], [[0.0, 0.0]], [I2], r"K=1, D=2, so weights must be \(1,\) and covariances \(1, 2, 2\)"),
        ([1.0], [[0.0, 0.0]], [I2, I2], r"shapes disagree.*got \(1,\) and \(2, 2, 2\)"),
        ([1.0], [[0.0, 0.0]], [np.eye(3)], r"shapes disagree.*got \(1,\) and \(1, 3, 3\)"),
        ([1.0], [[0.0, 0.0]], np.ones((1, 2, 3)), r"shapes disagree.*got \(1,\) and \(1, 2, 3\)"),
        (np.empty(0), np.empty((0, 2)), np.empty((0, 2, 2)), r"shapes disagree: means \(0, 2\) means K=0"),
        ([1.0], np.empty((1, 0)), np.empty((1, 0, 0)), r"shapes disagree: means \(1, 0\) means K=1, D=0"),
        ([np.nan, 1.0], [[0.0, 0.0], [1, 1]], [I2, I2], "GMMParams weights contain NaN or inf"),
        ([np.inf, 1.0], [[0.0, 0.0], [1, 1]], [I2, I2], "GMMParams weights contain NaN or inf"),
        ([1.0], [[0.0, np.inf]], [I2], "GMMParams means contain NaN or inf"),
        ([1.0], [[0.0, 0.0]], [[[1.0, np.nan], [np.nan, 1.0]]], "GMMParams covariances contain NaN or inf"),
        ([1.0], [[0.0, 0.0]], [[[-np.inf, 0.0], [0.0, 1.0]]], "GMMParams covariances contain NaN or inf"),
        ([1.0], [[0.0, -1.01e100]], [I2], r"GMMParams means have values beyond ±1e\+100: rescale"),
        ([1.0], [[0.0, 0.0]], [1.01e200 * I2], r"GMMParams covariances have values beyond ±1e\+200: rescale"),
        ([1.0 + 2e-6], [[0.0, 0.0]], [I2], r"vector \(non-negative, summing to 1\); got \[1.\] with sum 1\."),
        ([0.6, 0.4 - 2e-6], [[0.0, 0.0], [1, 1]], [I2, I2], r"probability vector.*with sum 0\.999998"),
        ([1.0 + 1e-7, -1e-7], [[0.0, 0.0], [1, 1]], [I2, I2], "non-negative, summing to 1"),
        ([0.5, 0.5], [[0, 0], [1, 1]], [I2, [[1.0, 1e-9], [0.0, 1.0]]], r"covariances\[1\] is not symmetric.*1e-09"),
        ([1.0], [[0, 0]], [[[1e6, 1e-3], [0.0, 1e6]]], r"covariances\[0\] is not symmetric"),
        ([0.5, 0.5], [[0, 0], [1, 1]], [[[1e-6, 1e-9], [0.0, 1e-6]], 1e6 * I2], r"covariances\[0\] is not symmetric"),
        ([0.5, 0.500009], [[0, 0], [1, 1]], [I2, I2], r"got \[0\.5 0\.5\] with sum 1\.00001\.$"),
        ([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, -1.0]]], r"covariances\[0\] is not positive definite"),
        ([0.5, 0.5], [[0, 0], [1, 1]], [I2, [[1.0, 0.0], [0.0, 0.0]]], r"covariances\[1\] is not positive definite"),
    ],
)
def test_each_check_of_gmm_params_rejects_what_it_names(weights, means, covariances, message):
    with pytest.raises(ValueError, match=message):
        em.GMMParams(weights, means, covariances)


@pytest.mark.parametrize(
    "weights, means, covariances",
    [
        ([1.0], [[0.0, -em.MAX_ABS]], [I2]),  # at each bound, not beyond it
        ([1.0], [[0.0, 0.0]], [em.MAX_ABS**2 * I2]),
        ([1.0 + 9e-7], [[0.0, 0.0]], [I2]),  # sums within 1e-6 of 1
        ([0.6, 0.4 - 9e-7], [[0.0, 0.0], [1, 1]], [I2, I2]),
        ([1.0, 0.0], [[0.0, 0.0], [1, 1]], [I2, I2]),  # a weight of exactly 0
        ([1.0], [[0.0, 0.0]], [[[1.0, 1e-11], [0.0, 1.0]]]),  # |Σ - Σᵀ| up to 1e-10 of max |Σ|
        ([0.5, 0.5], [[0, 0], [1, 1]], [1e-6 * I2, [[1e6, 1e-5], [0.0, 1e6]]]),  # ... of this Σ_k's max
        ([1.0], [[0.0, 0.0]], [[[2.0, 0.9], [0.9, 0.5]]]),  # positive definite, far from diagonal
    ],
)
def test_gmm_params_accept_what_is_within_their_bounds(weights, means, covariances):
    params = em.GMMParams(weights, means, covariances)
    np.testing.assert_array_equal(params.weights, weights)
    np.testing.assert_array_equal(params.covariances, covariances)
    assert params.means.dtype == params.covariances.dtype == np.float64
    lower, scale = params.cholesky.lower, np.abs(params.covariances).max(axis=(1, 2))[:, None, None]
    assert (np.abs(lower @ lower.transpose(0, 2, 1) - params.covariances) <= 1e-10 * scale).all()
    np.testing.assert_allclose(params.cholesky.lower_inv @ lower, np.broadcast_to(I2, lower.shape), atol=1e-12)
    np.testing.assert_allclose(2 * params.cholesky.half_log_det, np.linalg.slogdet(params.covariances)[1], rtol=1e-12)
    assert not any(a.flags.writeable for a in (params.weights, params.means, params.covariances, *params.cholesky))


@pytest.mark.parametrize(
    "covariance_type, covariances, message",
    [
        ("diag", [[[1.0, 1e-11], [1e-11, 1.0]]], '^"diag" covariances must be diagonal\\.$'),
        ("diag", [I2, [[1e6, 1e-5], [1e-5, 1e6]]], '"diag" covariances must be diagonal'),
        ("spherical", [[[1.0, 1e-11], [1e-11, 1.0]]], '"spherical" covariances must be diagonal'),
        ("spherical", [np.diag([1.0, 1.0 + 1e-11])], r'^"spherical" covariances must be multiples of the identity'),
        ("spherical", [I2, np.diag([1e6, 1e6 + 1e-5])], r"multiples of the identity, σ_k²·I"),
        ("tied", [I2, [[1.0, 1e-11], [1e-11, 1.0]]], r'^"tied" covariances must be the same for every component\.$'),
        ("tied", [1e6 * I2, np.diag([1e6, 1e6 + 1e-5])], '"tied" covariances must be the same'),
    ],
)
def test_each_covariance_model_rejects_covariances_outside_it(covariance_type, covariances, message):
    K = len(covariances)
    with pytest.raises(ValueError, match=message):
        em.GMMParams(np.full(K, 1.0 / K), np.zeros((K, 2)), covariances, covariance_type)


@pytest.mark.parametrize(
    "covariance_type, covariances",
    [
        ("full", [[[2.0, 0.9], [0.9, 0.5]], I2]),
        ("diag", [np.diag([1.0, 2.0]), [[3.0, 1e-13], [1e-13, 4.0]]]),  # within 1e-12 of max |Σ|
        ("diag", [1e-6 * I2, [[1e6, 1e-7], [1e-7, 1e6]]]),  # ... of the largest over all k
        ("spherical", [2.0 * I2, 3.0 * I2]),  # σ_k² differs between components
        ("spherical", [I2, np.diag([1e6, 1e6 + 1e-7])]),
        ("tied", [1e6 * I2, [[1e6, 1e-7], [1e-7, 1e6]]]),
        # exactly at 1e-12 of max |Σ|: not beyond it
        ("diag", [[[1.0, 1e-12], [1e-12, 1.0]], I2]),
        ("spherical", [I2, np.diag([1e-12, 2e-12])]),
        ("tied", [I2, [[1.0, 1e-12], [1e-12, 1.0]]]),
        ("tied", [[[2.0, 0.9], [0.9, 0.5]], [[2.0, 0.9], [0.9, 0.5 + 1e-13]]]),
    ],
)
def test_each_covariance_model_accepts_covariances_inside_it(covariance_type, covariances):
    params = em.GMMParams([0.5, 0.5], np.zeros((2, 2)), covariances, covariance_type)
    assert params.covariance_type == covariance_type
    np.testing.assert_array_equal(params.covariances, covariances)


@pytest.mark.parametrize(
    "responsibilities, error, message",
    [
        (np.full(20, 1.0), ValueError, r"shape \(n_samples, n_components\) = \(20, K\); got \(20,\)"),
        (np.full((20, 1, 1), 1.0), ValueError, r"= \(20, K\); got \(20, 1, 1\)"),
        (np.full((21, 1), 1.0), ValueError, r"= \(20, K\); got \(21, 1\)"),
        (np.empty((20, 0)), ValueError, r"= \(20, K\); got \(20, 0\)"),
        (np.r_[[[np.nan, 1.0]], np.full((19, 2), 0.5)], ValueError, "must be finite and non-negative"),
        (np.r_[[[np.inf, 0.0]], np.full((19, 2), 0.5)], ValueError, "must be finite and non-negative"),
        (np.r_[np.full((19, 2), 0.5), [[1.5, -0.5]]], ValueError, "must be finite and non-negative"),
        (np.r_[np.full((3, 2), 0.5), [[0.5, 0.5 + 2e-6]], np.full((16, 2), 0.5)], ValueError, "row 3 sums to 1"),
        (np.r_[np.full((5, 2), 0.5), [[0.5, 0.3]], np.full((14, 2), 0.5)], ValueError, r"row 5 sums to 0\.8\.$"),
        ([["a", "b"]] * 20, TypeError, "responsibilities must contain real numbers"),
    ],
)
def test_each_check_of_responsibilities_rejects_what_it_names(responsibilities, error, message):
    for call in (em.m_step, em.sufficient_statistics):
        with pytest.raises(error, match=message):
            call(X_OK, responsibilities)


def test_responsibilities_within_1e_6_of_a_probability_vector_are_accepted_and_laid_out_k_by_n():
    resp = np.r_[np.full((19, 2), 0.5), [[0.5, 0.5 + 9e-7]]]
    laid_out = em.check_responsibilities(resp.tolist(), 20)
    assert laid_out.shape == (2, 20) and laid_out.flags.c_contiguous
    np.testing.assert_array_equal(laid_out, resp.T)
    hard = np.eye(2)[np.arange(20) % 2]  # one-hot rows
    np.testing.assert_allclose(em.m_step(X_OK, hard, reg_covar=0.0).means, [X_OK[::2].mean(0), X_OK[1::2].mean(0)])


# --------------------------------------------------------------------------- sufficient statistics, each method


def statistics_problem():
    X, _ = problem(24, 300, 2, 3)
    resp, _ = em.e_step(X, em.init_params(X, 3, seed=0))
    return X, resp


def assert_statistics_equal(a, b, rtol=1e-12):
    for name in ("counts", "shift", "first", "second"):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(), err_msg=name)
    assert a.n_samples == b.n_samples


def test_adding_statistics_sums_them_about_the_left_shift_and_rejects_other_shapes():
    X, resp = statistics_problem()
    shift = np.array([[1.0, -2.0], [0.5, 0.5], [3.0, 4.0]])
    a = em.sufficient_statistics(X[:100], resp[:100], shift=shift)
    b = em.sufficient_statistics(X[100:], resp[100:])  # about its own means
    assert_statistics_equal(a + b, em.sufficient_statistics(X, resp, shift=shift))
    assert_statistics_equal(b + a, em.sufficient_statistics(X, resp, shift=b.shift))
    with pytest.raises(TypeError):
        a + 1.0
    other_k = em.sufficient_statistics(X, resp[:, :2] / resp[:, :2].sum(axis=1, keepdims=True))
    with pytest.raises(ValueError, match=r"cannot add statistics of K, D = \(2, 2\) to statistics of K, D = \(3, 2\)"):
        a + other_k


def test_recentred_statistics_are_those_taken_about_the_new_shift():
    X, resp = statistics_problem()
    stats = em.sufficient_statistics(X, resp)
    for shift in (np.zeros((3, 2)), np.array([[10.0, -3.0], [0.0, 2.0], [-7.0, 1.0]])):
        assert_statistics_equal(stats.recentred(shift.tolist()), em.sufficient_statistics(X, resp, shift=shift))
    with pytest.raises(ValueError, match=r"shift must have shape \(3, 2\); got \(2, 2\)"):
        stats.recentred(np.zeros((2, 2)))


def test_scaled_statistics_multiply_every_sum_and_keep_the_shift():
    X, resp = statistics_problem()
    stats = em.sufficient_statistics(X, resp)
    quarter = stats.scaled(0.25)
    for name in ("counts", "first", "second"):
        np.testing.assert_array_equal(getattr(quarter, name), 0.25 * getattr(stats, name))
    assert quarter.n_samples == 75.0 and quarter.shift is stats.shift
    assert stats.n_samples == 300  # the original is untouched


def test_means_of_the_statistics_are_the_m_steps_means_even_for_a_component_holding_almost_nothing():
    X, resp = statistics_problem()
    resp = np.c_[resp, np.zeros(len(X))]
    resp[0] = [0.0, 0.0, 1.0 - 1e-20, 1e-20]  # component 3 holds 1e-20 of one point
    for shift in (np.ones((4, 2)), None):
        stats = em.sufficient_statistics(X, resp, shift=shift)
        means = stats.means()
        np.testing.assert_allclose(means[:3], (resp[:, :3].T @ X) / resp[:, :3].sum(axis=0)[:, None], rtol=1e-12)
        np.testing.assert_allclose(means, em.m_step_from_statistics(stats).means, rtol=1e-12)
    # About the default shift (the γ-weighted means) they are also m_step's.
    np.testing.assert_allclose(means, em.m_step(X, resp).means, rtol=1e-12, atol=1e-12)


def test_m_step_from_statistics_checks_its_arguments_and_adds_reg_covar_once():
    X, resp = statistics_problem()
    stats = em.sufficient_statistics(X, resp)
    with pytest.raises(ValueError, match="reg_covar must be a finite number >= 0"):
        em.m_step_from_statistics(stats, reg_covar=-1.0)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        em.m_step_from_statistics(stats, covariance_type="round")
    exact = em.m_step_from_statistics(stats, reg_covar=0.0)
    default = em.m_step_from_statistics(stats)
    added = default.covariances - exact.covariances
    np.testing.assert_allclose(added, np.broadcast_to(1e-6 * I2, (3, 2, 2)), atol=1e-15)
    np.testing.assert_allclose(exact.weights, resp.sum(axis=0) / len(X), rtol=1e-12)
    assert default.covariance_type == "full"
    for covariance_type in em.COVARIANCE_TYPES:
        np.testing.assert_allclose(
            em.m_step_from_statistics(stats, reg_covar=0.5, covariance_type=covariance_type).covariances,
            em.m_step(X, resp, reg_covar=0.5, covariance_type=covariance_type).covariances,
            rtol=1e-12,
        )


# --------------------------------------------------------------------------- what mutation testing found unchecked


def test_when_one_covariance_needs_its_eigenvalues_floored_the_others_keep_their_cholesky_factor():
    healthy, broken = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues -1, 3
    params = em.GMMParams.trusted(np.array([0.5, 0.5]), np.zeros((2, 2)), np.array([healthy, broken]), "full", 0.5)
    lower, lower_inv, half_log_det = params.cholesky
    np.testing.assert_array_equal(params.covariances[0], healthy)
    np.testing.assert_allclose(lower[0], np.linalg.cholesky(healthy), rtol=1e-15)
    _, vectors = np.linalg.eigh(broken)
    floored = vectors @ np.diag([0.5, 3.0]) @ vectors.T  # the eigenvalue -1 raised to the floor
    np.testing.assert_allclose(params.covariances[1], floored, rtol=1e-12)
    np.testing.assert_allclose(lower[1] @ lower[1].T, floored, rtol=1e-12)
    np.testing.assert_allclose(lower_inv @ lower, np.broadcast_to(I2, (2, 2, 2)), atol=1e-12)
    np.testing.assert_allclose(2 * half_log_det, np.linalg.slogdet(params.covariances)[1], rtol=1e-12)
    with pytest.raises(ValueError, match=r"increase reg_covar, decrease n_components, or scale the data\.$"):
        em.GMMParams([0.5, 0.5], np.zeros((2, 2)), [healthy, broken])


def test_the_collapse_check_flags_exactly_the_components_below_float64s_resolution_of_the_data():
    warnings.simplefilter("error")  # the check itself warns about nothing (pytest restores the filters)
    eps = np.finfo(np.float64).eps
    x = np.random.default_rng(0).normal(0.0, 1e3, (400, 1))  # variance S ~ 1e6, far from 1
    stats = em.sufficient_statistics(x, np.full((400, 2), 0.5))
    S = np.var(x)
    np.testing.assert_allclose(em._data_covariance(stats), [[S]], rtol=1e-12)
    np.testing.assert_allclose(em._data_covariance(stats.recentred(np.full((2, 1), 3.0))), [[S]], rtol=1e-10)
    for fraction in (0.7, 0.1):  # of eps · S: collapsed, however the screen is computed
        with pytest.raises(ValueError, match=r"^component 0 collapsed onto too few points.*scale the data\.$"):
            em._check_resolved(em.GMMParams([0.5, 0.5], [[0.0], [0.0]], [[[fraction * eps * S]], [[S]]]), stats)
    em._check_resolved(em.GMMParams([0.5, 0.5], [[0.0], [0.0]], [[[1.5 * eps * S]], [[S]]]), stats)
    em._check_resolved(em.GMMParams([0.0, 1.0], [[0.0], [0.0]], [[[0.7 * eps * S]], [[S]]]), stats)  # no weight
    # Exactly eps · S is not below it: resolved. (The cheap screen, 1/‖C⁻¹‖² < eps · tr S, lets
    # the component through to the exact check only when rounding puts 1/‖C⁻¹‖² below eps · S.)
    through = 0
    for seed in range(50):
        x = np.random.default_rng(seed).normal(0.0, 1e3, (400, 1))
        at_threshold = em.sufficient_statistics(x, np.full((400, 2), 0.5))
        v = eps * em._data_covariance(at_threshold)[0, 0]
        params = em.GMMParams([0.5, 0.5], [[0.0], [0.0]], [[[v]], [[1e6]]])
        through += 1.0 / params.cholesky.lower_inv[0, 0, 0] ** 2 < v
        em._check_resolved(params, at_threshold)
    assert through, "no seed reached the exact check at the threshold: the last loop tested nothing"
    # In 2-D the screen (λ_min >= 1/‖C⁻¹‖², against eps · tr S) passes on a component that is
    # narrow only where the data is narrow too: resolved, no error.
    X = np.c_[np.random.default_rng(0).normal(0.0, 1e8, 400), np.random.default_rng(1).normal(0.0, 1.0, 400)]
    stats = em.sufficient_statistics(X, np.full((400, 2), 0.5))
    moved = stats.recentred([[1e8, -2.0], [-3e8, 5.0]])  # first moments far from 0, unequal per feature
    np.testing.assert_allclose(em._data_covariance(moved), np.cov(X.T, bias=True), rtol=1e-9, atol=1e-9)
    em._check_resolved(em.GMMParams([0.5, 0.5], np.zeros((2, 2)), [np.diag([1e16, 0.5]), np.diag([1e16, 1.0])]), stats)


def test_k_means_plus_plus_draws_each_seed_by_its_squared_distance_to_the_nearest_one():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [1e-3, 0.0], [0.0, 1e-3]])  # total D² below 1: the scale must not matter
    X = np.repeat(centres, 30, axis=0) + rng.normal(0.0, 1e-7, (90, 2))
    for seed in range(20):
        seeds = em._kmeans_plusplus(np.ascontiguousarray(X.T), 3, np.random.default_rng(seed))
        assert sorted(seeds // 30) == [0, 1, 2], seed  # one seed in each tight cluster
    same = np.ascontiguousarray(np.ones((2, 4)))  # every point coincides with the first seed
    for seed in range(20):
        assert len(set(em._kmeans_plusplus(same, 3, np.random.default_rng(seed)).tolist())) == 3


def test_init_params_takes_the_method_the_seed_and_reg_covar_it_is_given():
    X, _ = problem(25, 200, 2, 3)
    X = np.r_[X, [[50.0, 50.0]]]
    for method in ("kmeans++", "random"):
        a = em.init_params(X, 3, method=method, seed=7)
        b = em.fit_gmm(X, 3, init=method, seed=7, max_iter=0).params
        c = em.init_params(X, 3, method=method, seed=7, reg_covar=1e-6)
        for other in (b, c):
            assert_params_close(other, a, rtol=0)
    kmeans, random = em.init_params(X, 3, seed=7), em.init_params(X, 3, method="random", seed=7)
    assert not np.array_equal(kmeans.means, random.means)
    lonely = em.init_params(X, 4, seed=0)  # one of these seeds has no point nearer to it than to another
    alone = np.flatnonzero(np.abs(lonely.weights * len(X) - 1.0) < 1e-9)
    assert alone.size == 1
    np.testing.assert_allclose(lonely.covariances[alone[0]], 1e-6 * I2, rtol=1e-9, atol=1e-20)


def test_small_promises_of_the_helpers():
    X, _ = problem(26, 100, 2, 2)
    diag = em.init_params(X, 2, seed=0, covariance_type="diag")
    assert diag.permute([1, 0]).covariance_type == "diag"
    for covariance_type in em.COVARIANCE_TYPES:
        params = em.init_params(X, 2, seed=0, covariance_type=covariance_type)
        assert type(em.n_parameters(params)) is int
    one = em.m_step(X, np.ones((100, 1)), reg_covar=0.0)  # K = 1 is a valid number of columns
    np.testing.assert_allclose(one.means[0], X.mean(axis=0), rtol=1e-12)
    cov = [[3.0, 1.2], [1.2, 1.0]]
    assert em.ellipse_geometry(cov) == em.ellipse_geometry(cov, 1.0)
    assert em.ellipse_geometry(np.array(cov, dtype=np.float32)) == em.ellipse_geometry(np.float32(cov).astype(float))
    stats = em.sufficient_statistics(X, np.ones((100, 1)))
    assert stats.recentred([[1, 2]]).shift.dtype == np.float64


# --------------------------------------------------------------------------- the MAP M-step, from its formulas


def map_m_step_from_the_formulas(X, resp, prior, covariance_type):
    """The MAP M-step as the docstring of map_m_step_from_statistics writes it, from X and γ directly."""
    counts = resp.sum(axis=0) + em.COUNT_FLOOR
    xbar = (resp.T @ X) / counts[:, None]
    K, D = xbar.shape
    kappa, nu, b = prior.shrinkage, prior.degrees_of_freedom, float(prior.shrinkage > 0)
    d = xbar - prior.mean
    W = np.array([(resp[:, k, None] * (X - xbar[k])).T @ (X - xbar[k]) for k in range(K)])  # scatter about x̄_k
    M = W + (kappa * counts / (counts + kappa))[:, None, None] * d[:, :, None] * d[:, None, :]
    means = (counts[:, None] * xbar + kappa * prior.mean) / (counts + kappa)[:, None]
    if covariance_type == "full":
        cov = (prior.scale + M) / (nu + counts + D + 1 + b)[:, None, None]
    elif covariance_type == "tied":
        cov = np.repeat([(prior.scale + M.sum(axis=0)) / (nu + counts.sum() + D + 1 + b * K)], K, axis=0)
    elif covariance_type == "diag":
        cov = np.array([np.diag((prior.scale + np.diag(M[k])) / (nu + counts[k] + 2 + b)) for k in range(K)])
    else:
        cov = np.array(
            [(prior.scale + np.trace(M[k])) / (nu + counts[k] * D + 2 + b * D) * np.eye(D) for k in range(K)]
        )
    return counts / len(X), means, cov


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("shrinkage", [0.0, 0.5])
def test_the_map_m_step_is_its_formula_about_any_shift_and_adds_reg_covar(covariance_type, shrinkage):
    X, _ = problem(27, 200, 2, 3)
    resp, _ = em.e_step(X, em.init_params(X, 3, seed=0))
    matrix = covariance_type in ("full", "tied")
    prior = em.ConjugatePrior(shrinkage, [1.0, -1.0], 4.0, np.array([[2.0, 0.3], [0.3, 1.0]]) if matrix else 1.5)
    weights, means, covariances = map_m_step_from_the_formulas(X, resp, prior, covariance_type)
    stats = em.sufficient_statistics(X, resp)
    for shifted in (stats, stats.recentred(np.array([[5.0, -3.0], [0.0, 0.0], [-2.0, 7.0]]))):
        params = em.map_m_step_from_statistics(shifted, prior, 0.0, covariance_type)
        np.testing.assert_allclose(params.weights, weights, rtol=1e-12)
        np.testing.assert_allclose(params.means, means, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(params.covariances, covariances, rtol=1e-10, atol=1e-14)
    held = em.map_m_step_from_statistics(stats, prior, 0.25, covariance_type)
    added = held.covariances - em.map_m_step_from_statistics(stats, prior, 0.0, covariance_type).covariances
    np.testing.assert_allclose(added, np.broadcast_to(0.25 * I2, (3, 2, 2)), atol=1e-14)


@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_add_to_diagonals_is_where_every_m_step_adds_reg_covar(covariance_type, monkeypatch):
    # add_to_diagonals says it is the one place reg_covar is added: the ML and MAP M-steps, on the
    # statistics each covariance model's E-step gives (diagonal ones for diag and spherical).
    X, _ = problem(27, 200, 2, 3)
    resp, _ = em.e_step(X, em.init_params(X, 3, seed=0))
    stats = em.statistics_of(np.ascontiguousarray(X.T), np.ascontiguousarray(resp.T), None, covariance_type)
    matrix = covariance_type in ("full", "tied")
    prior = em.ConjugatePrior(0.5, [1.0, -1.0], 4.0, np.array([[2.0, 0.3], [0.3, 1.0]]) if matrix else 1.5)
    added = []
    for room in (em, em_priors):  # where the ML M-step and the MAP one look the name up
        monkeypatch.setattr(room, "add_to_diagonals", lambda matrices, value: added.append(value))
    em.m_step_from_statistics(stats, reg_covar=0.25, covariance_type=covariance_type)
    em.map_m_step_from_statistics(stats, prior, 0.5, covariance_type)
    assert added == [0.25, 0.5]


def test_a_conjugate_prior_prints_its_four_numbers():
    scalar = em.ConjugatePrior(0.5, [1.0, 2.0], 4.0, 2.5)
    assert repr(scalar) == "ConjugatePrior(shrinkage=0.5, mean=[1. 2.], degrees_of_freedom=4, scale=2.5)"
    matrix = em.ConjugatePrior(0.01, [0.123456, 0.0], 5.0, [[2.0, 0.0], [0.0, 0.333333]])
    assert repr(matrix) == (
        "ConjugatePrior(shrinkage=0.01, mean=[0.1235 0.    ], degrees_of_freedom=5, "
        "scale=[[2.     0.    ]\n [0.     0.3333]])"
    )


@pytest.mark.parametrize("n_components", [1, 3])
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("shrinkage", [0.0, 0.5])
def test_log_prior_is_scipys_densities_summed(covariance_type, shrinkage, n_components):
    from scipy import stats
    from scipy.special import gammaln

    X, _ = problem(28, 150, 2, 3)
    params = em.init_params(X, n_components, seed=0, covariance_type=covariance_type)
    matrix = covariance_type in ("full", "tied")
    prior = em.ConjugatePrior(shrinkage, [1.0, -1.0], 5.0, np.array([[2.0, 0.3], [0.3, 1.0]]) if matrix else 1.5)
    expected = gammaln(n_components)  # the flat density of π on the simplex
    for k in range(n_components):
        cov = params.covariances[k]
        if matrix and (covariance_type == "full" or k == 0):  # a tied Σ is counted once
            expected += stats.invwishart(df=5.0, scale=prior.scale).logpdf(cov)
        elif not matrix:
            variances = np.diag(cov) if covariance_type == "diag" else cov[:1, 0]
            expected += stats.invgamma(2.5, scale=0.75).logpdf(variances).sum()  # a = ν/2, b = s/2
        if shrinkage > 0:
            expected += stats.multivariate_normal(prior.mean, cov / shrinkage).logpdf(params.means[k])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert em.log_prior(params, prior) == pytest.approx(expected, rel=1e-12)


def test_default_prior_and_log_prior_check_what_they_are_given():
    X, _ = problem(29, 50, 2, 2)
    full = em.default_prior(X, 2)
    np.testing.assert_array_equal(full.scale, em.default_prior(X, 2, "full").scale)
    assert np.ndim(full.scale) == 2
    two = em.default_prior(X[:2], 1)  # two points are enough for a covariance
    np.testing.assert_allclose(two.mean, X[:2].mean(axis=0))
    with pytest.raises(ValueError, match=r"^default_prior needs at least 2 points"):
        em.default_prior(X[:1], 1)
    for args in ((P_OK, "prior"), ("params", full)):
        with pytest.raises(TypeError, match=r"^log_prior takes a GMMParams and a ConjugatePrior\.$"):
            em.log_prior(*args)


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("a", [0.0], 3.0, 1.0), ValueError, r"^ConjugatePrior shrinkage must be a finite number >= 0; got 'a'\.$"),
        ((np.nan, [0.0], 3.0, 1.0), ValueError, r"^ConjugatePrior shrinkage must be a finite number >= 0; got nan\.$"),
        ((True, [0.0], 3.0, 1.0), ValueError, r"^ConjugatePrior shrinkage must be a finite number >= 0; got True\.$"),
        ((0.1, [0.0], True, 1.0), ValueError, r"^ConjugatePrior degrees_of_freedom must be .*; got True\.$"),
        ((0.1, [0.0], -3.0, 1.0), ValueError, r"^ConjugatePrior degrees_of_freedom must be a finite number >= 0"),
        ((0.1, [0.0], 0.0, 1.0), ValueError, r"^ConjugatePrior degrees_of_freedom must be positive \(mclust's"),
        ((0.1, ["a"], 3.0, 1.0), TypeError, "^ConjugatePrior mean must contain real numbers"),
        ((0.1, [0.0], 3.0, "a"), TypeError, "^ConjugatePrior scale must contain real numbers"),
        (
            (0.1, [[0.0]], 3.0, 1.0),
            ValueError,
            r"^ConjugatePrior mean must be a finite vector \(D,\); got shape \(1, 1\)",
        ),
        ((0.1, [np.nan], 3.0, 1.0), ValueError, "^ConjugatePrior mean must be a finite vector"),
        ((0.1, [0.0], 3.0, np.inf), ValueError, "^ConjugatePrior mean must be a finite vector"),
        ((0.1, [0.0], 3.0, 0.0), ValueError, r"^ConjugatePrior scale must be positive; got 0\.0\.$"),
        ((0.1, [0.0, 0.0], 4.0, np.eye(3)), ValueError, r"a \(D, D\) = \(2, 2\) matrix\.$"),
        (
            (0.1, [0.0, 0.0], 4.0, [[1.0, 1e-9], [0.0, 1.0]]),
            ValueError,
            r"^ConjugatePrior scale must be symmetric positive",
        ),
        ((0.1, [0.0, 0.0], 4.0, [[1.0, 2.0], [2.0, 1.0]]), ValueError, r"symmetric positive definite\.$"),
        ((0.1, [0.0, 0.0], 4.0, np.diag([1.0, 0.0])), ValueError, r"symmetric positive definite\.$"),
    ],
)
def test_each_check_of_a_conjugate_prior_rejects_what_it_names(args, error, message):
    with pytest.raises(error, match=message):
        em.ConjugatePrior(*args)


@pytest.mark.parametrize("prior", [np.ones((300, 2)), [0.01, 0.0], "flat"])
def test_a_prior_of_another_kind_is_named_by_its_type_never_by_its_values(prior):
    X = np.random.default_rng(0).normal(size=(300, 2))
    with pytest.raises(TypeError) as err:
        em.fit_gmm(X, 2, prior=prior)
    assert str(err.value) == f'prior must be None, "default" or a ConjugatePrior; got {type(prior).__name__}.'


def test_a_conjugate_prior_keeps_arrays_and_accepts_what_is_within_its_bounds():
    prior = em.ConjugatePrior(0, [1, 2], 4, 3)
    assert prior.mean.dtype == np.float64 and type(prior.scale) is float and prior.scale == 3.0
    for scale in ([[1.0, 1e-10], [0.0, 1.0]], [[1e6, 1e-5], [0.0, 1e6]]):  # |Λ - Λᵀ| up to 1e-10 of max |Λ|
        np.testing.assert_array_equal(em.ConjugatePrior(0.1, [0.0, 0.0], 4.0, scale).scale, scale)
    X = np.random.default_rng(0).normal(size=(3, 3))
    covariance = np.cov(X.T)  # N = D: not positive definite, so its diagonal is the scale
    np.testing.assert_allclose(em.default_prior(X, 1).scale, np.diag(np.diag(covariance)), rtol=1e-12)
    np.testing.assert_allclose(
        em.default_prior(np.r_[X, X[:1] + 1], 1).scale, np.cov(np.r_[X, X[:1] + 1].T), rtol=1e-12
    )


def test_a_map_component_stretched_over_1e8_is_floored_not_fatal():
    # 1e-3 across, 1e8 along: rounding of order eps · 1e16 swamps reg_covar, and Cholesky fails.
    X = np.r_[np.random.default_rng(0).normal(0.0, 1e-3, (300, 2)), [[1e8, -1e8]]]
    stats = em.sufficient_statistics(X, np.ones((301, 1)))
    prior = em.ConjugatePrior(0.0, [0.0, 0.0], 4.0, 1e-6 * I2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params = em.map_m_step_from_statistics(stats, prior, 1e-6, "full")
    lower, lower_inv, half_log_det = params.cholesky
    assert np.isfinite(half_log_det).all() and half_log_det[0] >= np.log(1e-6) * (1 + 1e-9)
    np.testing.assert_allclose(lower_inv[0] @ lower[0], I2, atol=1e-6)


def test_the_loop_defaults_and_flags_are_what_the_docstring_says():
    X, _ = problem(30, 60, 2, 2)
    capped = em.fit_gmm(X, 2, seed=0, tol=0)  # max_iter defaults to 200
    assert capped.n_iter == 200 and capped.converged is False and capped.stop_reason == "max_iter"
    assert em.fit_gmm(X, 2, seed=0).converged is True
    tied = em.ConjugatePrior(0.01, X.mean(axis=0), 4.0, np.cov(X.T))  # "tied", like "full", takes a matrix scale
    assert em.fit_gmm(X, 2, seed=0, covariance_type="tied", prior=tied, max_iter=2, tol=0).prior is tied
    with pytest.raises(ValueError, match=r'^covariance_type="tied" needs the prior\'s scale to be a \(D, D\) matrix'):
        em.fit_gmm(X, 2, covariance_type="tied", prior=em.ConjugatePrior(0.01, [0.0, 0.0], 4.0, 1.0))


def test_x_at_the_bound_of_its_values_is_accepted():
    resp, log_lik = em.e_step([[em.MAX_ABS, 0.0]], P_OK)  # ±1e100 is allowed, beyond it is not
    assert np.isfinite(log_lik) and resp.shape == (1, 2)


def test_a_nearly_empty_component_keeps_the_weighted_mean_of_what_it_holds():
    # γ = 1e-20 on the point at 1 and 0 elsewhere: μ_2 = Σ γ x / Σ γ = 1 (the module docstring),
    # not the 9e-6 that dividing by N_k + 10·eps twice would give.
    X = np.array([[1.0], [-1.0], [0.5], [2.0]])
    resp = np.array([[1.0 - 1e-20, 1e-20], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    params = em.m_step(X, resp)
    assert params.means[1, 0] == pytest.approx(1.0, rel=1e-12)
    assert params.weights[1] < 1e-15 and np.isfinite(params.covariances).all()
    empty = em.m_step(X, np.c_[np.ones(4), np.zeros(4)])
    assert empty.means[1, 0] == 0.0  # nothing held at all: 0, as the module docstring says


def test_the_public_names_include_the_statistics_seam_and_all_exist():
    assert {"SufficientStatistics", "sufficient_statistics", "m_step_from_statistics", "CholeskyFactors"} <= set(
        em.__all__
    )
    assert {"predict", "predict_proba", "score_samples", "ConvergenceWarning"} <= set(em.__all__)
    assert all(hasattr(em, name) for name in em.__all__)


# --------------------------------------------------------------------------- new points


def sklearn_with(params):
    """A GaussianMixture whose fitted attributes are ``params`` (no fit: the same θ exactly)."""
    covariances = {
        "full": lambda c: c,
        "diag": lambda c: np.diagonal(c, axis1=1, axis2=2),
        "spherical": lambda c: c[:, 0, 0],
        "tied": lambda c: c[0],
    }[params.covariance_type](params.covariances)
    gm = GaussianMixture(params.n_components, covariance_type=params.covariance_type)
    gm.weights_, gm.means_, gm.covariances_ = params.weights, params.means, covariances
    gm.precisions_cholesky_ = _compute_precision_cholesky(covariances, params.covariance_type)
    return gm


def new_points(seed, n_features):
    """Points the fit has not seen: from another mixture, spread wider, and one far from everything."""
    X, _ = problem(seed, 400, n_features, 2)
    return np.r_[1.5 * X, np.full((1, n_features), 40.0)]


@pytest.mark.parametrize("prior", [None, "default"])
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
def test_predict_proba_and_score_samples_on_new_points_equal_sklearns_on_the_same_parameters(covariance_type, prior):
    X, _ = problem(11, 300, 3, 3)
    fit = em.fit_gmm(X, 3, covariance_type=covariance_type, prior=prior, seed=0)
    gm, X_new = sklearn_with(fit.params), new_points(12, 3)
    differences = {
        "predict_proba": np.abs(fit.predict_proba(X_new) - gm.predict_proba(X_new)).max(),
        "score_samples": np.abs(fit.score_samples(X_new) - gm.score_samples(X_new)).max(),
    }
    assert max(differences.values()) < 1e-10, differences
    np.testing.assert_array_equal(fit.predict(X_new), gm.predict(X_new))
    # the functions are the methods, on any GMMParams
    np.testing.assert_array_equal(em.predict_proba(fit.params, X_new), fit.predict_proba(X_new))
    np.testing.assert_array_equal(em.score_samples(fit.params, X_new), fit.score_samples(X_new))
    np.testing.assert_array_equal(em.predict(fit.params, X_new), fit.predict(X_new))
    assert fit.predict(X_new).shape == fit.score_samples(X_new).shape == (len(X_new),)
    assert fit.predict_proba(X_new).shape == (len(X_new), 3)


def test_scores_of_the_fitted_points_sum_to_the_log_likelihood_and_predict_is_the_argmax():
    X, _ = problem(13, 500, 2, 3)
    fit = em.fit_gmm(X, 3, seed=1)
    assert fit.score_samples(X).sum() == pytest.approx(fit.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(fit.predict_proba(X), fit.responsibilities, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fit.predict(X), fit.responsibilities.argmax(axis=1))
    # a zero-weight component gets exactly 0, as in the E-step
    zero = em.GMMParams([0.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)])
    assert (em.predict_proba(zero, X)[:, 0] == 0.0).all() and (em.predict(zero, X) == 1).all()


def test_one_point_of_a_d_dimensional_fit_must_be_a_row_and_a_1d_array_is_n_points_when_d_is_1():
    X, _ = problem(14, 200, 2, 2)
    fit = em.fit_gmm(X, 2, seed=0)
    x = X[0]
    for verb in (fit.predict, fit.predict_proba, fit.score_samples):
        with pytest.raises(
            ValueError, match=r"^X is 1-D \(shape \(2,\)\) but the fit has D=2 features: .*X\.reshape\(1, -1\) or \[x\]"
        ):
            verb(x)
        np.testing.assert_array_equal(verb(x.reshape(1, -1)), verb([x]))
        np.testing.assert_array_equal(verb([x]), verb(X[:1]))
    with pytest.raises(ValueError, match=r"^X is 1-D \(shape \(5,\)\)"):  # not D values either
        em.score_samples(fit.params, np.zeros(5))
    with pytest.raises(ValueError, match=r"^X has 3 columns but the fit has D=2 features\.$"):
        fit.predict(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="params must be a GMMParams"):
        em.predict(fit, X)
    # D = 1: a 1-D array is N points, as fit_gmm reads it
    X1 = X[:, 0]
    fit1 = em.fit_gmm(X1, 2, seed=0)
    assert fit1.predict(X1).shape == (200,)
    np.testing.assert_array_equal(fit1.score_samples(X1), fit1.score_samples(X1[:, None]))
    np.testing.assert_array_equal(fit1.predict_proba(X1), fit1.predict_proba(X1[:, None]))
    assert fit1.score_samples(X1).sum() == pytest.approx(fit1.log_likelihood, rel=1e-12)


# --------------------------------------------------------------------------- a fit that stops early says so


def test_a_fit_stopped_at_max_iter_warns_with_the_fix_and_the_gain_per_point():
    X, _ = problem(15, 500, 2, 3)
    with pytest.warns(em.ConvergenceWarning) as record:
        fit = em.fit_gmm(X, 3, seed=0, max_iter=3)
    assert len(record) == 1 and record[0].filename == __file__  # points at the caller's line
    gain = (fit.log_likelihoods[-1] - fit.log_likelihoods[-2]) / len(X)
    assert str(record[0].message) == (
        f"fit_gmm stopped at max_iter=3 before converging: its log-likelihood still gained {gain:.3g} per point "
        "in the last iteration, above tol=1e-06. Raise max_iter, or loosen (raise) tol; pass tol=0 to run "
        "exactly max_iter iterations without this warning."
    )
    with pytest.warns(em.ConvergenceWarning, match="its log-posterior still gained"):
        em.fit_gmm(X, 3, seed=0, max_iter=3, prior="default")
    # the project's own class, a UserWarning (not scikit-learn's, not a RuntimeWarning the tests make errors)
    assert issubclass(em.ConvergenceWarning, UserWarning) and not issubclass(em.ConvergenceWarning, ConvergenceWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        em.fit_gmm(X, 3, seed=0, max_iter=3, tol=0)  # stopping early on purpose
        em.fit_gmm(X, 3, seed=0, max_iter=0)  # the start, evaluated
        assert em.fit_gmm(X, 3, seed=0).converged


# --------------------------------------------------------------------------- a collapsing start is skipped


def collapsing_data(far):
    """100 points of N(0, I) and 3 copies of (far, far): with reg_covar=0 and K=3 some starts put a
    component on the copies alone (variance 0: Cholesky fails) or shrink one onto them in EM."""
    base = np.random.default_rng(0).normal(size=(100, 2))
    return np.r_[base, np.tile([[far, far]], (3, 1))]


def test_starts_that_collapse_are_skipped_counted_and_fatal_only_when_all_do():
    X = collapsing_data(3.0)
    replay, objectives = np.random.default_rng(0), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)  # not what this test is about
        for _ in range(8):
            try:
                objectives.append(em.fit_gmm(X, 3, reg_covar=0.0, seed=replay).objective)
            except ValueError as err:
                assert "increase reg_covar" in str(err)
                objectives.append(None)
        assert 0 < objectives.count(None) < 8, objectives
        fit = em.fit_gmm(X, 3, reg_covar=0.0, n_init=8, seed=np.random.default_rng(0))
    assert fit.n_failed_starts == objectives.count(None)
    assert fit.objective == max(o for o in objectives if o is not None)
    assert em.fit_gmm(X, 3, seed=0, max_iter=5, tol=0).n_failed_starts == 0  # the default
    # the same data with one start, on a seed that collapses: the error, as before
    failing = next(s for s in range(20) if _collapses(X, s))
    with pytest.raises(ValueError, match="increase reg_covar") as one:
        em.fit_gmm(X, 3, reg_covar=0.0, seed=failing)
    assert not str(one.value).startswith("all")
    # every start collapses: the first one's error, saying that all did
    with pytest.raises(ValueError, match=r"^all n_init=3 starts collapsed; the first: .*increase reg_covar"):
        em.fit_gmm(collapsing_data(8.0), 3, reg_covar=0.0, n_init=3, seed=0)


def _collapses(X, seed):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            em.fit_gmm(X, 3, reg_covar=0.0, seed=seed)
    except ValueError:
        return True
    return False

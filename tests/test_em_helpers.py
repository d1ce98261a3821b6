"""Unit tests of em_helpers: exact (scikit-learn agrees), monotone, invariant, robust."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

import em_helpers as em


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
    best = em.fit_gmm(X, 4, init="random", n_init=6, seed=rng)
    singles = [em.fit_gmm(X, 4, init="random", seed=np.random.default_rng(s)).log_likelihood for s in range(6)]
    assert best.log_likelihood >= np.median(singles)
    replay = np.random.default_rng(5)
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

X_OK = np.random.default_rng(0).normal(size=(20, 2))
P_OK = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), np.eye(2)])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: em.fit_gmm(np.r_[X_OK, [[np.nan, 0]]], 2), ValueError, "1 NaN"),
        (lambda: em.fit_gmm(np.r_[X_OK, [[np.inf, 0]]], 2), ValueError, "1 inf"),
        (lambda: em.fit_gmm([], 1), ValueError, "empty"),
        (lambda: em.fit_gmm(np.empty((0, 2)), 1), ValueError, "empty"),
        (lambda: em.fit_gmm(np.zeros((4, 3, 2)), 1), ValueError, "3 dimensions"),
        (lambda: em.fit_gmm([["a", "b"], ["c", "d"]], 1), TypeError, "real numbers"),
        (lambda: em.fit_gmm([[1.0, None], [2.0, 3.0]], 1), TypeError, "real numbers"),
        (lambda: em.fit_gmm([[1.0, 2.0], [3.0]], 1), ValueError, "rectangular"),
        (lambda: em.fit_gmm(X_OK, 0), ValueError, "between 1 and"),
        (lambda: em.fit_gmm(X_OK, 21), ValueError, "between 1 and"),
        (lambda: em.fit_gmm(X_OK, 2.5), TypeError, "integer"),
        (lambda: em.fit_gmm(X_OK, 2, reg_covar=-1e-6), ValueError, "reg_covar"),
        (lambda: em.fit_gmm(X_OK, 2, tol=-1.0), ValueError, "tol"),
        (lambda: em.fit_gmm(X_OK, 2, max_iter=-1), ValueError, "max_iter"),
        (lambda: em.fit_gmm(X_OK, 2, init="kmeans"), ValueError, "init must be"),
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
        (lambda: em.e_step(X_OK, "not params"), TypeError, "GMMParams"),
        (lambda: em.fit_gmm(np.zeros((5, 2)), 1, reg_covar=0.0), ValueError, "increase reg_covar"),
        (lambda: em.fit_gmm([[1e200, 0.0]], 1), ValueError, "rescale X"),
        (lambda: em.GMMParams([1.0], [[1e160, 0.0]], [np.eye(2)]), ValueError, "rescale"),
        (lambda: em.fit_gmm(X_OK, 2, init=P_OK, covariance_type="diag"), ValueError, "covariance_type"),
        (lambda: em.init_params(X_OK, 2, method=None), ValueError, "method must be"),
        (lambda: em.match_components(P_OK, em.GMMParams([1.0], [[0, 0]], [np.eye(2)])), ValueError, "K=2, D=2"),
        (lambda: em.match_components(P_OK, "truth"), TypeError, "reference must be a GMMParams"),
        (lambda: P_OK.permute([1.0, 0.0]), ValueError, "permutation"),
        (lambda: em.sample_gmm(P_OK, True), TypeError, "n_samples must be an integer"),
        (lambda: em.sample_gmm(P_OK, 0), ValueError, "n_samples must be an integer >= 1"),
        (lambda: em.fit_gmm(X_OK, 2, n_init=2.5), TypeError, "n_init must be an integer"),
        (lambda: em.fit_gmm(X_OK, 2, max_iter=3.0), TypeError, "max_iter must be an integer"),
        (lambda: em.aic([[np.nan, 1.0]], P_OK), ValueError, "NaN"),
        (lambda: em.responsibility_entropy([[0.5, 0.6]]), ValueError, "sum to 1"),
        (lambda: em.responsibility_entropy([[-0.5, 1.5]]), ValueError, "non-negative"),
        (lambda: em.sufficient_statistics(X_OK, np.full((20, 2), 0.5), shift=np.zeros((3, 2))), ValueError, "shift"),
        (lambda: em.m_step_from_statistics("stats"), TypeError, "SufficientStatistics"),
        (lambda: em.ellipse_geometry([[1.0, 2.0], [2.0, 1.0]]), ValueError, "positive definite"),
        (lambda: em.ellipse_geometry(np.eye(2), n_std=-1), ValueError, "n_std"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
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

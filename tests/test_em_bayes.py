"""Tests of the Bayesian variants: variational Bayes (em_bayes) equals scikit-learn's
BayesianGaussianMixture, MAP-EM (fit_gmm's ``prior``) equals R's mclust, both objectives
climb, and bad input gets a clear error."""

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

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


def test_variational_fit_switches_off_the_components_it_does_not_need():
    kept = [int((eb.fit_bayesian_gmm(THREE, 10, seed=seed).params.weights > 0.01).sum()) for seed in range(5)]
    assert kept.count(3) >= 3, f"components above 1% weight per seed: {kept}"


def test_variational_result_shapes_convergence_and_best_of_n_init():
    fit = eb.fit_bayesian_gmm(THREE, 5, n_init=3, seed=0)
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
    return [eb._start_responsibilities(THREE, Xt, n_components, "kmeans++", rng).T for _ in range(n_init)]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"covariance_type": "tilted"}, ValueError, "covariance_type must be one of"),
        ({"weight_concentration_prior_type": "dirichlet"}, ValueError, "weight_concentration_prior_type must be"),
        ({"weight_concentration_prior": 0.0}, ValueError, "weight_concentration_prior must be a positive"),
        ({"mean_precision_prior": -1.0}, ValueError, "mean_precision_prior must be a positive"),
        ({"mean_prior": [0.0, 0.0, 0.0]}, ValueError, r"mean_prior must be a finite array of shape \(2,\)"),
        ({"degrees_of_freedom_prior": 0.5}, ValueError, "greater than D - 1 = 1"),
        ({"covariance_prior": np.eye(3)}, ValueError, r"must be finite with shape \(2, 2\)"),
        ({"covariance_prior": -np.eye(2)}, ValueError, "symmetric positive definite"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, 0.0]}, ValueError, "must be positive"),
        ({"init": "kmeans"}, ValueError, 'init must be "kmeans\\+\\+", "random" or an \\(N, K\\) array'),
        ({"init": np.full((500, 2), 0.5)}, ValueError, "2 columns of responsibilities but n_components=3"),
        ({"init": np.full((500, 3), 0.5)}, ValueError, "each row of responsibilities must sum to 1"),
        ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
        ({"tol": -1.0}, ValueError, "tol must be a number >= 0"),
        ({"reg_covar": -1.0}, ValueError, "reg_covar must be a finite number >= 0"),
    ],
)
def test_variational_bad_input_gets_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        eb.fit_bayesian_gmm(THREE, 3, **kwargs)


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

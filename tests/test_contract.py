"""The contract every fitter keeps, run against each of them (as scikit-learn's test_mixture.py does).

Every fitter is em_driver's one loop with a variant plugged in: fit_gmm (ML and MAP), em_scale's
fit_gmm_chunked (NumPy chunks and a dask array) and em_bayes' fit_bayesian_gmm. What they share is
tested here once per fitter: the stopping rule, max_iter=0, the best of n_init starts and ties,
the checks of the settings and their wording, the ConvergenceWarning. What each fitter adds (its
numbers against scikit-learn, mclust or Bishop; chunks, streams, priors) stays in its own file.
"""

import ast
import contextlib
import fnmatch
import gc
import importlib
import operator
import re
import subprocess
import sys
import typing
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import dask.array as da
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import em_bayes as eb
import em_driver
import em_helpers as em
import em_incomplete
import em_scale as es
import em_select as es_select
import em_weights

ROOT = Path(__file__).resolve().parent.parent
TRUTH = em.GMMParams(
    [0.5, 0.3, 0.2],
    [[0.0, 0.0], [4.0, 0.5], [1.0, 4.0]],
    [np.eye(2), [[1.0, 0.3], [0.3, 0.5]], [[0.6, 0.0], [0.0, 1.2]]],
)
X, _ = em.sample_gmm(TRUTH, 300, seed=0)
N = len(X)


class Fitter(NamedTuple):
    """One fitter and how to read the contract's quantities off its result."""

    name: str  # its name in messages and warnings
    fit: typing.Callable  # fit(X, n_components, **settings)
    inits: tuple  # the forms of init it takes, as em_checks.init_error names them
    history: typing.Callable  # result -> what tol is applied to, one value per evaluation
    first_scored: int  # the iteration the history starts at: 0 (the start) or 1 (VB: no bound before)

    def objective(self, result):
        return float(self.history(result)[-1])

    def start(self, resp):
        """The start ``resp`` (K, N) gives, in the form this fitter takes as init."""
        return resp.T if "responsibilities" in self.inits else em.m_step(X, resp.T)


def chunked_over_dask(X, n_components, **settings):
    return es.fit_gmm_chunked(da.from_array(X, chunks=110), n_components, chunk_size=50, **settings)


def map_em(X, n_components, **settings):
    return em.fit_gmm(X, n_components, prior="default", **settings)


def chunked(X, n_components, **settings):
    return es.fit_gmm_chunked(X, n_components, chunk_size=64, **settings)


EVERY_FORM = ("methods", "params", "responsibilities")
FITTERS = [
    Fitter("fit_gmm", em.fit_gmm, EVERY_FORM, lambda fit: fit.log_likelihoods, 0),
    Fitter("fit_gmm", map_em, EVERY_FORM, lambda fit: fit.log_posteriors, 0),
    Fitter("fit_gmm_chunked", chunked, ("methods", "params"), lambda fit: fit.log_likelihoods, 0),
    Fitter("fit_gmm_chunked", chunked_over_dask, ("methods", "params"), lambda fit: fit.log_likelihoods, 0),
    Fitter("fit_bayesian_gmm", eb.fit_bayesian_gmm, ("methods", "responsibilities"), lambda fit: fit.elbos, 1),
]
IDS = ["fit_gmm", "fit_gmm-MAP", "fit_gmm_chunked", "fit_gmm_chunked-dask", "fit_bayesian_gmm"]
every_fitter = pytest.mark.parametrize("fitter", FITTERS, ids=IDS)


def seeded_starts(n_starts, seed):
    """The hard responsibilities (K, N) a fitter's ``n_starts`` seeded starts begin from, drawn as it draws them."""
    rng = np.random.default_rng(seed)
    Xt = np.ascontiguousarray(X.T)
    return [em.seed_responsibilities(Xt, 3, "kmeans++", rng) for _ in range(n_starts)]


# --------------------------------------------------------------------------- the stopping rule


@every_fitter
def test_a_fit_stops_at_the_first_gain_per_point_below_tol(fitter):
    tol = 1e-4
    fit = fitter.fit(X, 3, seed=0, tol=tol, max_iter=500)
    history = np.asarray(fitter.history(fit))
    gains = np.diff(history) / N
    assert fit.converged and fit.n_iter == len(history) - 1 + fitter.first_scored
    assert gains[-1] < tol and (gains[:-1] >= tol).all()


@every_fitter
def test_tol_0_runs_exactly_max_iter_iterations_without_a_warning(fitter):
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.ConvergenceWarning)
        fit = fitter.fit(X, 3, seed=0, tol=0, max_iter=7)
    assert (fit.n_iter, fit.converged) == (7, False)
    assert len(fitter.history(fit)) == 8 - fitter.first_scored


@every_fitter
def test_a_fit_stopped_at_max_iter_warns_once_at_the_callers_line_with_its_own_name(fitter):
    with pytest.warns(em.ConvergenceWarning) as record:
        fit = fitter.fit(X, 3, seed=0, tol=1e-12, max_iter=3)
    assert len(record) == 1 and record[0].filename == __file__
    message = str(record[0].message)
    assert message.startswith(f"{fitter.name} stopped at max_iter=3 before converging: its ")
    assert f"above tol={1e-12:g}. Raise max_iter, or loosen (raise) tol" in message
    assert not fit.converged and fit.n_iter == 3


# --------------------------------------------------------------------------- max_iter=0: the start


@every_fitter
def test_max_iter_0_returns_the_start_evaluated_and_does_not_warn(fitter):
    (resp,) = seeded_starts(1, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", em.ConvergenceWarning)
        seeded = fitter.fit(X, 3, seed=5, max_iter=0)
        given = fitter.fit(X, 3, init=fitter.start(resp), max_iter=0)
    for fit in (seeded, given):
        assert (fit.n_iter, fit.converged) == (0, False)
        assert len(fitter.history(fit)) == 1 - fitter.first_scored
    for name in ("weights", "means", "covariances"):  # the seeded start is the one drawn from the same seed
        np.testing.assert_array_equal(getattr(seeded.params, name), getattr(given.params, name))
    one_step = fitter.fit(X, 3, init=fitter.start(resp), max_iter=1, tol=0)
    assert np.abs(one_step.params.means - given.params.means).max() > 1e-6  # 0 iterations is not 1


@pytest.mark.parametrize("fitter", FITTERS[:4], ids=IDS[:4])  # those that take a GMMParams start
def test_max_iter_0_from_a_gmm_params_start_returns_it(fitter):
    assert "params" in fitter.inits
    start = em.init_params(X, 3, seed=3)
    fit = fitter.fit(X, 3, init=start, max_iter=0)
    assert fit.params is start
    assert fitter.history(fit)[0] == pytest.approx(em.log_likelihood(X, start) + _log_prior(fit, start), rel=1e-12)


def _log_prior(fit, params):
    return 0.0 if getattr(fit, "prior", None) is None else em.log_prior(params, fit.prior)


# --------------------------------------------------------------------------- the best of n_init starts


@every_fitter
def test_n_init_returns_the_best_of_the_starts_drawn_from_the_seed(fitter):
    settings = {"tol": 1e-5, "max_iter": 300}
    singles = [fitter.fit(X, 3, init=fitter.start(resp), **settings) for resp in seeded_starts(4, seed=11)]
    best = fitter.fit(X, 3, n_init=4, seed=11, **settings)
    objectives = [fitter.objective(fit) for fit in singles]
    assert fitter.objective(best) == max(objectives)
    first_best = singles[int(np.argmax(objectives))]
    np.testing.assert_array_equal(best.params.means, first_best.params.means)
    assert len({round(value, 6) for value in objectives}) > 1, "the starts should not all agree"


class _Constant:
    """A stub variant whose objective is the same for every start: a tie between all of them."""

    name, objective_name = "stub", "objective"
    source = contextlib.nullcontext()  # no data: nothing for the driver to close

    def __init__(self):
        self.starts = 0

    def start(self, method, rng):
        self.starts += 1
        return self.starts  # the state is the start's number

    def given_start(self, init):
        return init

    def e_pass(self, state, spent):
        return em_driver.EPass(0.0, statistics=None)

    def m_step(self, e_pass):
        return self.starts

    def objective(self, previous, state, e_pass):
        return 1.0

    def result(self, run, n_failed_starts):
        return run.state


def test_a_tie_between_starts_goes_to_the_first():
    settings = em.fit_settings(10, 2, n_init=5, max_iter=3, tol=1e-3, reg_covar=0.0, covariance_type="full")
    variant = _Constant()
    assert em.run_fit(variant, settings, "kmeans++", 0, 10) == 1
    assert variant.starts == 5  # all five were run


# --------------------------------------------------------------------------- settings: one check, one wording


BAD_SETTINGS = [
    ({"n_components": 0}, ValueError, r"^n_components must be between 1 and the number of points N=300; got 0\.$"),
    ({"n_components": 2.5}, TypeError, r"^n_components must be an integer; got 2\.5\.$"),
    ({"n_components": True}, TypeError, r"^n_components must be an integer; got True\.$"),
    ({"n_init": 0}, ValueError, r"^n_init must be an integer >= 1; got 0\.$"),
    ({"n_init": 2.0}, TypeError, r"^n_init must be an integer; got 2\.0\.$"),
    ({"n_init": True}, TypeError, r"^n_init must be an integer; got True\.$"),
    ({"max_iter": -1}, ValueError, r"^max_iter must be an integer >= 0; got -1\.$"),
    ({"max_iter": 3.0}, TypeError, r"^max_iter must be an integer; got 3\.0\.$"),
    ({"max_iter": True}, TypeError, r"^max_iter must be an integer; got True\.$"),
    ({"tol": -1.0}, ValueError, r"^tol must be a finite number >= 0; got -1\.0\.$"),
    ({"tol": True}, ValueError, r"^tol must be a finite number >= 0; got True\.$"),
    ({"tol": np.inf}, ValueError, r"^tol must be a finite number >= 0; got inf\.$"),
    ({"tol": np.nan}, ValueError, r"^tol must be a finite number >= 0; got nan\.$"),
    ({"tol": "0"}, ValueError, r"^tol must be a finite number >= 0; got '0'\.$"),
    ({"reg_covar": -1e-6}, ValueError, r"^reg_covar must be a finite number >= 0; got -1e-06\.$"),
    ({"reg_covar": True}, ValueError, r"^reg_covar must be a finite number >= 0; got True\.$"),
    ({"reg_covar": np.inf}, ValueError, r"^reg_covar must be a finite number >= 0; got inf\.$"),
    ({"reg_covar": np.nan}, ValueError, r"^reg_covar must be a finite number >= 0; got nan\.$"),
    ({"reg_covar": "a"}, ValueError, r"^reg_covar must be a finite number >= 0; got 'a'\.$"),
    ({"covariance_type": "tilted"}, ValueError, r"^covariance_type must be one of \('full', 'diag', 'spherical'"),
    ({"init": 3.0}, TypeError, r"^init must be \"kmeans\+\+\", \"random\"(, | or )a.*; got float\.$"),
]


@every_fitter
@pytest.mark.parametrize("kwargs, error, message", BAD_SETTINGS)
def test_each_bad_setting_gets_the_same_error_from_every_fitter(fitter, kwargs, error, message):
    kwargs = {"n_components": 3, **kwargs}
    with pytest.raises(error, match=message):
        fitter.fit(X, **kwargs)


@every_fitter
def test_a_bad_init_method_is_worded_alike_naming_what_the_fitter_takes(fitter):
    forms = {
        EVERY_FORM: "a GMMParams or an \\(N, K\\) array of responsibilities",
        ("methods", "params"): "or a GMMParams",
        ("methods", "responsibilities"): "or an \\(N, K\\) array of responsibilities",
    }[fitter.inits]
    with pytest.raises(ValueError, match=rf"^init must be \"kmeans\+\+\", \"random\",? {forms}; got 'kmeans'\.$"):
        fitter.fit(X, 3, init="kmeans")


@every_fitter
def test_an_init_the_fitter_does_not_take_is_named_by_its_type_never_by_its_values(fitter):
    wrong = {
        EVERY_FORM: {"means": TRUTH.means},
        ("methods", "params"): np.full((N, 3), 1 / 3),  # responsibilities: an (N, K) array
        ("methods", "responsibilities"): TRUTH,
    }[fitter.inits]
    with pytest.raises(TypeError, match=rf"^init must be .*; got {type(wrong).__name__}\.$") as err:
        fitter.fit(X, 3, init=wrong)
    assert len(str(err.value)) < 120 and "\n" not in str(err.value)


@every_fitter
def test_nan_in_x_gets_a_value_error_naming_it(fitter):
    bad = X.copy()
    bad[123, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*the first is row 123"):
        fitter.fit(bad, 3, seed=0)


@pytest.mark.parametrize("value", [np.nan, np.inf, 1.01e100], ids=["nan", "inf", "beyond-max-abs"])
def test_a_bad_value_in_x_and_in_rows_read_during_a_fit_is_worded_alike(value):
    # Two wordings before: a chunk "contains NaN or inf in 1 of its rows", "has values beyond ±1e+100: rescale
    # the data first"; X's counted the NaN and the inf and gave the largest value. em_checks words both now.
    bad = X.copy()
    bad[123, 1] = value
    with pytest.raises(ValueError) as in_memory:
        em.fit_gmm(bad, 3, seed=0)
    with pytest.raises(es.StreamError) as read:  # from TRUTH: the start reads no rows; chunk 1 holds row 123
        es.fit_gmm_chunked(bad, 3, chunk_size=64, init=TRUTH)
    said = str(in_memory.value)
    assert said.startswith("X ")
    words = said[1:].split(" first")[0] + " first"  # what X's message says after its name, to its fix
    assert str(read.value).startswith(f"chunk 1 (rows 64 to 127){words}"), (said, str(read.value))


def test_nan_met_by_the_chunked_fits_start_is_a_stream_error_with_nothing_learned():
    bad = X.copy()
    bad[123, 1] = np.nan  # N <= INIT_SUBSAMPLE: the start reads every row
    message = (
        r"^the sample of rows read for the k-means\+\+ start contains 1 NaN and 0 inf values \(in 1 rows, the first "
        r"is row 123\); .* No pass over the data had begun: nothing was learned \(err\.fit is None\)\.$"
    )
    with pytest.raises(es.StreamError, match=message) as err:
        es.fit_gmm_chunked(bad, 3, seed=0)
    assert (err.value.points_consumed, err.value.fit) == (0, None)


def test_nan_in_a_drawn_subsample_is_reported_by_its_row_in_x(monkeypatch):
    monkeypatch.setattr(es, "INIT_SUBSAMPLE", 200)
    drawn = np.sort(np.random.default_rng(4).choice(N, size=200, replace=False))  # the fit's first draw
    row = int(drawn[150])
    bad = X.copy()
    bad[row, 0] = np.inf
    with pytest.raises(es.StreamError, match=rf"the first is row {row}\)"):
        es.fit_gmm_chunked(bad, 3, seed=4)


def test_every_fitters_result_declares_its_responsibilities_as_it_returns_them():
    hints = typing.get_type_hints(em.GMMFit)
    assert type(None) in typing.get_args(hints["responsibilities"])  # the chunked fit has none
    assert es.fit_gmm_chunked(X, 3, seed=0).responsibilities is None
    for fit in (em.fit_gmm(X, 3, seed=0), eb.fit_bayesian_gmm(X, 3, seed=0)):
        assert fit.responsibilities.shape == (N, 3)


def test_a_component_that_holds_nothing_keeps_the_floor_and_each_fitter_places_its_mean_as_documented():
    """em_helpers' docstring: π_k = 10·eps / N; fit_gmm puts μ_k at 0 (statistics about the
    γ-weighted means), fit_gmm_chunked leaves it where it was (statistics about θ's means), so that
    component is the exception to "fit_gmm's iterates to rounding"; the others still agree."""
    away = TRUTH.means.max(axis=0) + 50.0 * np.sqrt(TRUTH.covariances.max())  # far from X and from 0
    start = em.GMMParams([*TRUTH.weights, 0.0], [*TRUTH.means, away], [*TRUTH.covariances, np.eye(2)])
    in_memory = em.fit_gmm(X, 4, init=start, max_iter=1, tol=0).params
    chunked = es.fit_gmm_chunked(X, 4, init=start, max_iter=1, tol=0, chunk_size=64).params
    for params in (in_memory, chunked):
        assert params.weights[3] == em.COUNT_FLOOR / N
        np.testing.assert_allclose(params.covariances[3], 1e-6 * np.eye(2), rtol=1e-12)  # reg_covar·I
    np.testing.assert_array_equal(in_memory.means[3], np.zeros(2))
    np.testing.assert_array_equal(chunked.means[3], away)
    np.testing.assert_allclose(chunked.means[:3], in_memory.means[:3], rtol=1e-12)


# --------------------------------------------------------------------------- the internal layer


def test_the_log_densities_without_the_weights_are_scipys():
    Xt = np.ascontiguousarray(X.T)
    densities = em.log_weighted_densities(Xt, TRUTH, log_weights=np.zeros(3))
    expected = [multivariate_normal(m, c).logpdf(X) for m, c in zip(TRUTH.means, TRUTH.covariances, strict=True)]
    np.testing.assert_allclose(densities, expected, rtol=1e-12)
    weighted = em.log_weighted_densities(Xt, TRUTH)
    np.testing.assert_allclose(weighted - densities, np.log(TRUTH.weights)[:, None] + 0 * densities, atol=1e-12)


def test_the_passes_of_blocks_add_up_to_the_pass_of_all_the_points():
    Xt = np.ascontiguousarray(X.T)
    whole = em.DataSource.pass_of(Xt, None, TRUTH, TRUTH.means)
    blocks = [
        em.DataSource.pass_of(np.ascontiguousarray(Xt[:, s : s + 70]), None, TRUTH, TRUTH.means)
        for s in range(0, N, 70)
    ]
    total = em.combine_passes(iter(blocks))
    assert total.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-13)
    for name in ("counts", "first", "second"):
        np.testing.assert_allclose(getattr(total.statistics, name), getattr(whole.statistics, name), rtol=1e-12)
    assert total.responsibilities is None  # what crosses from a worker holds no γ


def test_no_room_above_the_core_reaches_a_private_name_of_it():
    """The rooms above use the core's internal layer, never its underscore names."""
    private = {}
    for path in sorted(ROOT.glob("em_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "em"
        }
        private[path.stem] = sorted(name for name in used if name.startswith("_"))
    assert set(private) >= {"em_scale", "em_bayes", "em_select", "em_plots"}
    assert {name: names for name, names in private.items() if names} == {}


def names_used_from_the_core(room):
    """The names a room reaches in em_helpers: ``em.<name>`` and ``from em_helpers import <name>``."""
    tree = ast.parse((ROOT / f"{room}.py").read_text(encoding="utf-8"))
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "em"
    }
    return used | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "em_helpers"
        for alias in node.names
    }


def test_the_rooms_above_use_the_public_names_and_the_documented_internal_layer_only():
    """em_helpers' docstring lists its internal layer (``check_*`` standing for every check_ name):
    each name a room above uses is in ``__all__`` or on that list, and each name listed exists."""
    paragraph = em.__doc__[em.__doc__.index("The internal layer") :].split("\n\n")[0]
    listed = re.findall(r"``([A-Za-z_][\w.*]*)``", paragraph)
    graph = project_imports()
    above = set(graph) - set(graph["em_helpers"]) - {"em_helpers"}
    assert {"em_scale", "em_bayes", "em_select", "em_plots"} <= above
    undocumented = {
        room: sorted(
            name
            for name in names_used_from_the_core(room)
            if name not in em.__all__ and not any(fnmatch.fnmatchcase(name, pattern) for pattern in listed)
        )
        for room in sorted(above)
    }
    assert {room: names for room, names in undocumented.items() if names} == {}
    for name in listed:
        if "*" in name:
            assert [n for n in dir(em) if fnmatch.fnmatchcase(n, name)], name
        else:
            assert operator.attrgetter(name)(em) is not None, name


def test_importing_the_numeric_modules_loads_neither_matplotlib_nor_dask():
    numeric = ", ".join(["em_helpers", *project_imports()["em_helpers"], "em_scale", "em_bayes"])  # every room below
    code = (
        f"import sys; import {numeric}, em_select; "
        "print(*sorted({name.split('.')[0] for name in sys.modules} & {'matplotlib', 'dask', 'distributed'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
    control = code.replace("em_select;", "em_select, em_plots, dask.array;")
    control = control.replace("import sys;", "import sys, dask.array; import matplotlib;")
    loaded = subprocess.run([sys.executable, "-c", control], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["dask", "matplotlib"]  # the check sees them when they are loaded


def project_imports():
    """{module: the project modules it imports}, read from each em_*.py at the repository root."""
    modules = {path.stem: path for path in ROOT.glob("em_*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        graph[name] = sorted(imported & set(modules))
    return graph


def test_the_house_is_a_tree_of_rooms_with_every_arrow_down_to_the_core():
    graph = project_imports()
    below = set(graph["em_helpers"])  # the rooms the core re-exports
    assert {"em_checks", "em_driver", "em_geometry", "em_priors", "em_workers"} <= below
    assert {"em_params", "em_statistics", "em_diagonal", "em_blocks", "em_weights", "em_incomplete"} <= below
    for room in below:  # a room below the core imports only rooms below the core
        assert set(graph[room]) <= below, (room, graph[room])
    for room in set(graph) - below - {"em_helpers"}:  # a room above reaches the core through em_helpers
        assert "em_helpers" in graph[room] and not set(graph[room]) & below, (room, graph[room])
    order, done = [], set()  # no cycle: a topological order exists

    def visit(name, path=()):
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for imported in graph[name]:
                visit(imported, (*path, name))
            done.add(name)
            order.append(name)

    for name in graph:
        visit(name)
    assert order.index("em_helpers") > max(order.index(room) for room in below)


def test_every_public_name_of_every_room_below_the_core_is_reachable_as_em_name():
    # em_helpers' and em_checks' docstrings say em.<name> reaches every name of the rooms below.
    for room in project_imports()["em_helpers"]:
        module = importlib.import_module(room)
        tree = ast.parse((ROOT / f"{room}.py").read_text(encoding="utf-8"))
        defined = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.append(node.name)
            elif isinstance(node, ast.Assign):
                defined += [target.id for target in node.targets if isinstance(target, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                defined.append(node.target.id)
        assert defined, room  # the reading of the room found its names (em_diagonal's are all private)
        public = [name for name in defined if not name.startswith("_")]
        unreachable = [name for name in public if getattr(em, name, None) is not getattr(module, name)]
        assert unreachable == [], (room, unreachable)


# --------------------------------------------------------------------------- the data source: rows and their weights

BAD_WEIGHTS = {
    "negative": np.r_[np.ones(N - 1), -1.0],
    "nan": np.r_[np.ones(N - 1), np.nan],
    "wrong length": np.ones(N - 1),
    "all zero": np.zeros(N),
    "not numbers": ["a"] * N,
    "fewer than K positive": np.r_[np.ones(2), np.zeros(N - 2)],
}
WEIGHTED_FITTERS = {
    "fit_gmm": lambda w: em.fit_gmm(X, 3, sample_weight=w),
    "fit_gmm_chunked": lambda w: es.fit_gmm_chunked(X, 3, chunk_size=64, sample_weight=w),
    "fit_gmm_chunked-dask": lambda w: es.fit_gmm_chunked(da.from_array(X, chunks=110), 3, sample_weight=w),
    "fit_gmm_online": lambda w: es.fit_gmm_online([(X, w)], 3, init_points=N, seed=0, weighted=True),
}


@pytest.mark.parametrize("fit", WEIGHTED_FITTERS.values(), ids=WEIGHTED_FITTERS.keys())
@pytest.mark.parametrize("bad", BAD_WEIGHTS.values(), ids=BAD_WEIGHTS.keys())
def test_the_same_bad_weights_give_the_same_error_from_every_fitter(bad, fit):
    """Weights are checked once, where the data source is made: every fitter says what it says (the
    online fit names the batch and carries its fit so far, a StreamError, a ValueError)."""
    with pytest.raises((TypeError, ValueError)) as expected:
        em.DataSource(X, bad, 3)
    with pytest.raises((TypeError, ValueError)) as err:
        fit(bad)
    assert str(expected.value) in str(err.value)
    assert isinstance(err.value, type(expected.value)) or isinstance(err.value, es.StreamError)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_the_block_map_sums_each_blocks_pass_in_block_order_whatever_the_processes(n_jobs, weighted):
    """The source's E-pass from rows is pass_of on each block of chunk_size rows with its slice of w,
    summed in block order: bit for bit, with or without worker processes; and to rounding the pass of
    all the points at once."""
    w = np.random.default_rng(4).uniform(0.0, 3.0, N) if weighted else None
    with em.DataSource.rows(X, w, 3, chunk_size=40, start_size=N, n_jobs=n_jobs) as source:
        total = source.e_pass(TRUTH)
    blocks = [
        em.DataSource.pass_of(
            np.ascontiguousarray(X[s : s + 40].T), None if w is None else w[s : s + 40], TRUTH, TRUTH.means
        )
        for s in range(0, N, 40)
    ]
    expected = em.combine_passes(iter(blocks))
    assert total.log_likelihood == expected.log_likelihood
    for name in ("counts", "shift", "first", "second"):
        np.testing.assert_array_equal(getattr(total.statistics, name), getattr(expected.statistics, name))
    assert total.statistics.n_samples == expected.statistics.n_samples == source.n_points
    whole = em.DataSource(X, w).e_pass(TRUTH, shift=TRUTH.means)  # one pass_of over the N points
    assert total.log_likelihood == pytest.approx(whole.log_likelihood, rel=1e-13)
    for name in ("counts", "first", "second"):
        np.testing.assert_allclose(getattr(total.statistics, name), getattr(whole.statistics, name), rtol=1e-12)


def test_a_source_counts_its_points_by_weight_and_reads_its_start_among_the_positive_ones():
    w = np.r_[np.zeros(100), np.full(N - 100, 2.5)]
    for source in (em.DataSource(X, w, 3), em.DataSource.rows(X, w, 3, chunk_size=64, start_size=150)):
        assert (source.n_samples, source.n_features) == X.shape
        assert source.n_points == pytest.approx(2.5 * (N - 100), rel=1e-15)  # what tol is per
    assert em.DataSource(X).n_points == N
    rows, weights = em.DataSource.rows(X, w, 3, chunk_size=64, start_size=150).start_rows(np.random.default_rng(0))
    index = [np.flatnonzero((X == row).all(axis=1))[0] for row in rows.T]
    assert rows.shape == (2, 150) and np.all(np.diff(index) > 0) and min(index) >= 100  # drawn, in file order
    np.testing.assert_array_equal(weights, w[index])
    rows, weights = em.DataSource.rows(X, w, 3, chunk_size=64, start_size=N).start_rows(None)  # all rows, no draw
    np.testing.assert_array_equal(rows, X.T)
    np.testing.assert_array_equal(weights, w)


class TracedWeights(np.ndarray):
    """w that notes each NumPy operation it is an operand of (a ufunc or its reduction, einsum,
    count_nonzero, ...) with the first function outside NumPy on the stack that asked for it. Its
    views and copies (slices, w[rows], ascontiguousarray, concatenate) stay traced; what comes out of
    arithmetic on it does not (w_i γ_ik is no longer w)."""

    log: typing.ClassVar[list] = []
    COPIES = ("ascontiguousarray", "concatenate", "copy")

    @staticmethod
    def caller():
        frame = sys._getframe(2)
        while frame.f_globals.get("__name__", "").startswith("numpy") or frame.f_code.co_name.startswith("__array"):
            frame = frame.f_back
        return f"{frame.f_globals['__name__']}.{frame.f_code.co_qualname}"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        TracedWeights.log.append((ufunc.__name__ + ("" if method == "__call__" else f".{method}"), self.caller()))
        plain = [x.view(np.ndarray) if isinstance(x, TracedWeights) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(x.view(np.ndarray) if isinstance(x, TracedWeights) else x for x in kwargs["out"])
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        TracedWeights.log.append((func.__name__, self.caller()))
        result = super().__array_function__(func, types, args, kwargs)
        return result.view(TracedWeights) if func.__name__ in self.COPIES else result


WEIGHT_PRIMITIVES = {
    "em_weights.weigh",
    "em_weights.weighted_total",
    "em_weights.draw_probabilities",
    "em_weights.carrying_weight",
}
X_GAPPED = np.where(np.random.default_rng(6).random(X.shape) < 0.2, np.nan, X)
TRACED = {"max_iter": 3, "tol": 0, "seed": 0}
TRACED_FITS = {
    "fit_gmm": lambda w: em.fit_gmm(X, 3, sample_weight=w, **TRACED),
    "fit_gmm-random-prior": lambda w: em.fit_gmm(X, 3, sample_weight=w, init="random", prior="default", **TRACED),
    "fit_gmm-missing-prior": lambda w: em.fit_gmm(
        X_GAPPED, 3, sample_weight=w, allow_missing=True, prior="default", **TRACED
    ),
    "fit_gmm-missing-random": lambda w: em.fit_gmm(
        X_GAPPED, 3, sample_weight=w, allow_missing=True, init="random", **TRACED
    ),
    "fit_gmm_chunked": lambda w: es.fit_gmm_chunked(X, 3, chunk_size=64, sample_weight=w, **TRACED),
    "fit_gmm_online": lambda w: es.fit_gmm_online(
        list(zip(np.split(X, 6), np.split(w, 6), strict=True)),
        3,
        init_points=100,
        seed=0,
        weighted=True,
        prior="default",
    ),
}


@pytest.mark.parametrize("fit", TRACED_FITS.values(), ids=TRACED_FITS.keys())
def test_every_computation_with_the_weights_is_one_of_em_weights_primitives(monkeypatch, fit):
    """What em_weights' docstring promises: past the check, w is computed with only inside em_weights'
    primitives (w_i γ_ik, Σ_i w_i v_i, p_i ∝ w_i v_i, the rows with w_i > 0); elsewhere it is only
    copied or sliced."""
    TracedWeights.log = []
    checked = em_weights.check_sample_weight
    monkeypatch.setattr(em_weights, "check_sample_weight", lambda w, n: checked(w, n).view(TracedWeights))
    group_patterns = em_incomplete.group_patterns  # each pattern's copy of its rows' w (np.ascontiguousarray
    monkeypatch.setattr(  # drops the subclass), traced too
        em_incomplete,
        "group_patterns",
        lambda X, w: group_patterns(X, w)._replace(
            patterns=tuple(p._replace(weights=p.weights.view(TracedWeights)) for p in group_patterns(X, w).patterns)
        ),
    )
    fit(np.random.default_rng(5).uniform(0.0, 3.0, N))
    callers = {caller for _, caller in TracedWeights.log}
    outside = {(op, caller) for op, caller in TracedWeights.log if not caller.startswith("em_weights.")}
    assert callers & WEIGHT_PRIMITIVES and callers - {caller for _, caller in outside} <= WEIGHT_PRIMITIVES
    assert {op for op, _ in outside} <= set(TracedWeights.COPIES), outside


def test_a_draw_is_proportional_to_w_times_v_and_none_when_nothing_weighs():
    rng = np.random.default_rng(8)
    w, v = rng.uniform(0.0, 2.0, 50), rng.uniform(0.0, 1.0, 50)
    np.testing.assert_allclose(em_weights.draw_probabilities(w, v), w * v / np.dot(w, v), rtol=1e-13)
    np.testing.assert_allclose(em_weights.draw_probabilities(w), w / np.sum(w), rtol=1e-13)
    np.testing.assert_allclose(em_weights.draw_probabilities(None, v), v / np.sum(v), rtol=1e-13)
    assert em_weights.draw_probabilities(None) is None  # uniform: the caller's rng.integers
    assert em_weights.draw_probabilities(np.r_[np.zeros(25), w[25:]], np.r_[v[:25], np.zeros(25)]) is None


def test_the_rows_carrying_weight_are_those_with_a_positive_weight():
    w = np.r_[0.0, 2.0, 0.0, 1e-300, 5.0]
    np.testing.assert_array_equal(em_weights.carrying_weight(w), [i for i, wi in enumerate(w) if wi > 0])
    np.testing.assert_array_equal(em_weights.without_rows(w.copy(), [1, 4], 5), np.where([0, 1, 0, 0, 1], 0.0, w))
    np.testing.assert_array_equal(em_weights.without_rows(None, [2], 4), [1.0, 1.0, 0.0, 1.0])


ONE_PRODUCER_FITS = {  # every fitter with weights, each path that makes or re-makes a source
    "fit_gmm": lambda w: em.fit_gmm(X, 3, sample_weight=w, seed=0),
    # more rows than one block in memory, so that a forked worker meets w (the weights repeated to its rows)
    "fit_gmm-n_jobs=2": lambda w: em.fit_gmm(X_POOLED, 3, sample_weight=np.resize(w, len(X_POOLED)), seed=0, n_jobs=2),
    "fit_gmm-missing": lambda w: em.fit_gmm(X_GAPPED, 3, sample_weight=w, allow_missing=True, seed=0),
    "fit_gmm-MAP": lambda w: map_em(X, 3, sample_weight=w, seed=0),
    "fit_gmm-missing-MAP": lambda w: map_em(X_GAPPED, 3, sample_weight=w, allow_missing=True, seed=0),
    "fit_gmm_chunked": lambda w: chunked(X, 3, sample_weight=w, seed=0),
    "fit_gmm_chunked-n_jobs=2": lambda w: chunked(X, 3, sample_weight=w, seed=0, n_jobs=2),
    "fit_gmm_chunked-dask": lambda w: chunked_over_dask(X, 3, sample_weight=w, seed=0),
    "fit_gmm_online-MAP": TRACED_FITS["fit_gmm_online"],  # six batches, the start on two, a "default" prior
}


def fit_numbers(fit):
    """Every number a fit returns that w reaches: its objective's trace, and θ."""
    trace = fit.log_likelihood_trace if isinstance(fit, es.OnlineFit) else fit.log_likelihoods
    return [np.asarray(trace), fit.params.weights, fit.params.means, fit.params.covariances]


@pytest.mark.parametrize("fit", ONE_PRODUCER_FITS.values(), ids=ONE_PRODUCER_FITS.keys())
def test_every_fitter_takes_its_weights_from_the_one_producer(monkeypatch, fit):
    """em_weights' ``check_sample_weight`` is where a change of what weights mean goes: made to return
    2·w, every fitter given w must return, bit for bit, its fit given 2·w (doubling is exact, so a
    fitter that read w through the producer once sees the very numbers of 2·w). A fitter that made w
    elsewhere would see w, one that checked it twice 4·w: with L = Σ_i w_i log p(x_i | θ), or the
    online fit's prior weighing against Σ_i w_i, those give other numbers (checked below)."""
    w = np.random.default_rng(5).uniform(0.0, 3.0, N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)
        given_twice, given_once = fit(2 * w), fit(w)
        checked = em_weights.check_sample_weight
        monkeypatch.setattr(em_weights, "check_sample_weight", lambda w, n: 2 * checked(w, n))
        doubled = fit(w)
    for got, expected in zip(fit_numbers(doubled), fit_numbers(given_twice), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert any(  # the doubling shows: w and 2·w are told apart by these numbers
        a.shape != b.shape or not np.array_equal(a, b)
        for a, b in zip(fit_numbers(given_once), fit_numbers(given_twice), strict=True)
    )


# --------------------------------------------------------------------------- the one map of blocks

W = np.random.default_rng(5).uniform(0.0, 3.0, N)
# More rows than one block of fit_gmm's in memory at n_jobs > 1 (em.MEMORY_BLOCK): three clusters
_POOLED_RNG = np.random.default_rng(7)
X_POOLED = (
    _POOLED_RNG.normal(size=(em.MEMORY_BLOCK + 5_000, 2))
    + np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])[_POOLED_RNG.integers(3, size=em.MEMORY_BLOCK + 5_000)]
)
W_POOLED = np.random.default_rng(8).uniform(0.0, 3.0, len(X_POOLED))
X_MISSING = np.where(np.random.default_rng(6).random(X.shape) < 0.2, np.nan, X)
MAPPED_FITTERS = {  # name: (fit(**settings), outer blocks per E-pass)
    "fit_gmm": (lambda **kw: em.fit_gmm(X, 3, **kw), 1),
    "fit_gmm-weighted": (lambda **kw: em.fit_gmm(X, 3, sample_weight=W, **kw), 1),
    "fit_gmm-MAP": (lambda **kw: map_em(X, 3, **kw), 1),
    "fit_gmm-missing": (lambda **kw: em.fit_gmm(X_MISSING, 3, allow_missing=True, sample_weight=W, **kw), 1),
    "fit_gmm_chunked": (lambda **kw: chunked(X, 3, sample_weight=W, **kw), 1),
    "fit_gmm_chunked-dask": (lambda **kw: chunked_over_dask(X, 3, **kw), 3),  # 300 rows in dask blocks of 110
    "fit_bayesian_gmm": (lambda **kw: eb.fit_bayesian_gmm(X, 3, **kw), 1),
}


@pytest.fixture
def mapped(monkeypatch):
    """Every call of the sources' one map (``DataSource.map_blocks``), with the blocks' passes it handed back."""
    calls, original = [], em.DataSource.map_blocks

    def spy(self, one_block, task, n_blocks):
        passes = list(original(self, one_block, task, n_blocks))
        calls.append(passes)
        return iter(passes)

    monkeypatch.setattr(em.DataSource, "map_blocks", spy)
    return calls


@pytest.mark.parametrize("fit, outer", MAPPED_FITTERS.values(), ids=MAPPED_FITTERS.keys())
def test_every_e_pass_of_every_batch_fitter_is_a_map_of_the_sources_blocks(mapped, fit, outer):
    """A pool put in the one map reaches every fitter: each of its max_iter + 1 E-passes (the start's
    and one per iteration) is mapped there (over each dask block's part for a dask array), and the
    log-likelihood the fit reports is the sum of what the map handed back."""
    result = fit(max_iter=4, tol=0, seed=0)
    assert len(mapped) == 5 * outer
    if outer == 1 and hasattr(result, "log_likelihoods"):
        assert result.log_likelihoods[-1] == em.combine_passes(iter(mapped[-1])).log_likelihood


class ThreadBlockMap:
    """em_workers' BlockMap with threads instead of forked processes: the same calls (made with
    one_block and n_blocks, entered, called with a task, closed), the blocks taken by a thread pool,
    the results in block order."""

    def __init__(self, one_block, n_blocks, n_jobs=1):
        self.one_block, self.n_blocks, self.n_jobs = one_block, n_blocks, n_jobs

    def __enter__(self):
        self.pool = ThreadPoolExecutor(self.n_jobs)
        return self

    def __call__(self, task):
        return list(self.pool.map(lambda index: self.one_block(task, index), range(self.n_blocks)))

    def close(self, wait=True):
        self.pool.shutdown(wait=wait)


POOLED_FITTERS = {  # name: fit(n_jobs), each with more than one block per pass
    "fit_gmm": lambda n_jobs: em.fit_gmm(X_POOLED, 3, sample_weight=W_POOLED, seed=0, n_jobs=n_jobs),
    "fit_gmm_chunked": lambda n_jobs: chunked(X_POOLED, 3, sample_weight=W_POOLED, seed=0, n_jobs=n_jobs),
    "fit_bayesian_gmm": lambda n_jobs: eb.fit_bayesian_gmm(X_POOLED, 3, seed=0, n_jobs=n_jobs),
}


@pytest.mark.parametrize("fit", POOLED_FITTERS.values(), ids=POOLED_FITTERS.keys())
def test_a_thread_pool_put_in_the_one_map_gives_the_process_pools_fit(monkeypatch, fit):
    """Where a pool goes is one place: swapping em_workers' BlockMap (forked processes) for a thread
    pool, at the one line that makes it (``DataSource.map_blocks``), gives every pooled fitter its
    fit bit for bit (each block's arithmetic and the sum's order are the pool's contract; a block
    buffer shared by the source instead of one per thread fails this: two threads write into it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", em.ConvergenceWarning)
        in_processes = fit(2)
        monkeypatch.setattr(em, "BlockMap", ThreadBlockMap)
        in_threads = fit(2)
    assert in_threads.n_iter == in_processes.n_iter > 1
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(in_threads.params, name), getattr(in_processes.params, name))


def test_a_source_whose_workers_ended_is_freed_without_the_cycle_collector():
    """After close() nothing of the pool holds the source: with the cycle collector off, the last
    reference gone frees it (and its X, Xᵀ and shared γ) at once. Kept in a cycle, they waited for
    the collector, which slowed the next fit (tests/nb03_jobs_causes.py)."""
    params = em.init_params(X_POOLED, 3, seed=0)
    gc.collect()
    gc.disable()
    try:
        source = em.DataSource(X_POOLED, n_jobs=2)
        with source:
            source.e_pass(params)  # forks the worker: n_jobs = 2 and more than one block
        freed = weakref.ref(source)
        del source
        assert freed() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_every_batch_of_the_online_fit_is_a_map_of_its_sources_blocks(mapped, weighted):
    batches = np.split(X, 6)
    stream = list(zip(batches, np.split(W, 6), strict=True)) if weighted else batches
    result = es.fit_gmm_online(stream, 3, init=TRUTH, weighted=weighted)
    assert len(mapped) == 6  # one E-pass per batch, each mapped
    (last,) = mapped[-1]
    n_points = W[-N // 6 :].sum() if weighted else N // 6
    assert result.log_likelihood_trace[-1] == last.log_likelihood / n_points


def test_the_missing_values_pass_mapped_over_the_patterns_is_expected_statistics_loop_over_them():
    source = em.DataSource(X_MISSING, W, 3, allow_missing=True)
    mapped = source.e_pass(TRUTH)
    resp, log_lik, counts, first, second = em.expected_statistics(
        source.incomplete, TRUTH.weights, TRUTH.means, TRUTH.covariances, TRUTH.means
    )
    assert len(source.incomplete.patterns) == 3  # 2-D rows: complete, x_1 missing, x_2 missing; empty ones aside
    assert mapped.log_likelihood == pytest.approx(log_lik, rel=1e-14)
    np.testing.assert_array_equal(mapped.responsibilities, resp)
    for name, expected in (("counts", counts), ("first", first), ("second", second)):
        np.testing.assert_allclose(getattr(mapped.statistics, name), expected, rtol=1e-14)
    assert mapped.statistics.n_samples == source.n_points


# --------------------------------------------------------------------------- flags: one check, one wording

FLAGS = {
    "fit_gmm-keep_params": (lambda v: em.fit_gmm(X, 2, keep_params=v), "keep_params"),
    "fit_gmm-allow_missing": (lambda v: em.fit_gmm(X, 2, allow_missing=v), "allow_missing"),
    "select_model-second_round": (lambda v: es_select.select_model(X, [1, 2], second_round=v), "second_round"),
    "fit_gmm_online-weighted": (lambda v: es.fit_gmm_online([X], 2, weighted=v), "weighted"),
}


@pytest.mark.parametrize("call, name", FLAGS.values(), ids=FLAGS.keys())
@pytest.mark.parametrize("value", [1, 0, "yes", None], ids=["1", "0", "yes", "None"])
def test_a_flag_takes_true_or_false_only_with_one_wording(call, name, value):
    # keep_params=1 was taken as True and keep_params="yes" too (bool() of anything): one check now.
    with pytest.raises(TypeError, match=rf"^{name} must be True( \(.*\))? or False; got {value!r}\.$"):
        call(value)


# --------------------------------------------------------------------------- too few points: one check, one wording

TOO_FEW_POINTS = {  # (call, what the message names, N or Σ_i w_i)
    "default_prior": (lambda: em.default_prior(X[:1], 1), "default_prior", "1"),
    "fit_gmm-default-prior": (lambda: em.fit_gmm(X[:1], 1, prior="default"), "default_prior", "1"),
    "fit_gmm-weighted-default-prior": (
        lambda: em.fit_gmm(X[:2], 1, prior="default", sample_weight=[0.5, 0.25]),
        "default_prior",
        "0.75",
    ),
    "fit_bayesian_gmm": (lambda: eb.fit_bayesian_gmm(X[:1], 1), "the default covariance_prior", "1"),
    "select_model": (lambda: es_select.select_model(X[:1]), "select_model", "1"),
}


@pytest.mark.parametrize("call, what, got", TOO_FEW_POINTS.values(), ids=TOO_FEW_POINTS.keys())
def test_too_few_points_for_the_datas_covariance_get_one_wording_from_every_caller(call, what, got):
    # Four wordings before (a total weight "above 1", "undefined for a single point", "needs at least 2
    # points" with and without the count): one check, em_checks.check_two_points, now.
    message = (
        rf"^{what} needs at least 2 points \(with sample_weight, a total weight above 1\) to estimate the "
        rf"data's covariance; got {re.escape(got)}: [^:]+\.$"
    )
    with pytest.raises(ValueError, match=message):
        call()


def test_a_long_array_in_an_error_message_is_summarised_not_printed():
    # A probability vector of K = 200 that does not sum to 1 printed all 200 values (1,306 characters).
    K = 200
    with pytest.raises(ValueError) as err:
        em.GMMParams(np.full(K, 0.9 / K), np.zeros((K, 1)), np.ones((K, 1, 1)))
    assert len(str(err.value)) < 200, len(str(err.value))
    assert "shape (200,)" in str(err.value) and "sum 0.9" in str(err.value)
    with pytest.raises(ValueError) as err:
        em.GMMParams([1.0], [[0.0]], [[[1.0]]]).permute(np.arange(1, 31))
    assert len(str(err.value)) < 200, len(str(err.value))

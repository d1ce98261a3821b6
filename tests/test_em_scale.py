"""em_scale: chunked EM is fit_gmm over any chunking and any source; online EM reaches the batch optimum
in one pass with memory flat in the stream length; bad chunks and batches give errors that keep the fit."""

import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest

import em_helpers as em
import em_scale as es

TRUTH = em.GMMParams(  # notebook 01's three Gaussians
    [0.45, 0.30, 0.25],
    [[0.0, 0.0], [3.5, 2.5], [-0.5, 4.0]],
    [[[2.0, 0.9], [0.9, 1.0]], [[1.0, -0.5], [-0.5, 1.2]], [[0.7, 0.25], [0.25, 0.5]]],
)


@pytest.fixture(scope="module")
def X():
    return em.sample_gmm(TRUTH, 20_000, seed=11)[0]


def max_relative_difference(a, b):
    """Largest |a - b| over weights, means and covariances, each relative to the largest |b| entry."""
    return max(
        np.abs(getattr(a, name) - getattr(b, name)).max() / np.abs(getattr(b, name)).max()
        for name in ("weights", "means", "covariances")
    )


def assert_same_fit(chunked, in_memory, rtol=1e-10):
    assert max_relative_difference(chunked.params, in_memory.params) < rtol
    np.testing.assert_allclose(chunked.log_likelihoods, in_memory.log_likelihoods, rtol=rtol)
    assert (chunked.n_iter, chunked.converged, chunked.stop_reason) == (
        in_memory.n_iter,
        in_memory.converged,
        in_memory.stop_reason,
    )
    assert chunked.tol == in_memory.tol


def as_source(X, kind, tmp_path):
    if kind == "numpy":
        return X
    if kind == "memmap":
        path = tmp_path / "X.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r")
    return da.from_array(X, chunks=(3_001, X.shape[1]))  # uneven blocks on purpose


# --------------------------------------------------------------------------- chunked == in-memory


@pytest.mark.parametrize("kind", ["numpy", "memmap", "dask"])
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_chunked_gives_fit_gmms_iterates_from_the_same_start(X, kind, covariance_type, offset, tmp_path):
    data = X + offset
    start = em.init_params(data, 3, seed=5, covariance_type=covariance_type)
    in_memory = em.fit_gmm(data, 3, init=start, covariance_type=covariance_type)
    with dask.config.set(scheduler="threads"):
        chunked = es.fit_gmm_chunked(
            as_source(data, kind, tmp_path), 3, init=start, chunk_size=1_234, covariance_type=covariance_type
        )
    assert in_memory.n_iter > 3  # a real run, not a start that is already converged
    assert_same_fit(chunked, in_memory)


def test_max_iter_stop_is_the_same_as_fit_gmms(X):
    start = em.init_params(X, 3, seed=6)
    with pytest.warns(em.ConvergenceWarning) as chunked_warning:
        chunked = es.fit_gmm_chunked(X, 3, init=start, max_iter=4, chunk_size=5_000)
    with pytest.warns(em.ConvergenceWarning) as in_memory_warning:
        in_memory = em.fit_gmm(X, 3, init=start, max_iter=4)
    assert_same_fit(chunked, in_memory)
    # the same words, the same gain per point to 3 digits, but for the name of the function
    messages = [str(w[0].message) for w in (chunked_warning, in_memory_warning)]
    assert messages[0].startswith("fit_gmm_chunked stopped at max_iter=4 before converging")
    assert messages[0].replace("fit_gmm_chunked", "fit_gmm") == messages[1]


def test_same_seed_gives_fit_gmms_start_and_fit_when_the_data_fit_the_subsample(X):
    assert len(X) <= es.INIT_SUBSAMPLE
    for init in ("kmeans++", "random"):
        assert_same_fit(
            es.fit_gmm_chunked(X, 3, init=init, n_init=2, seed=3, chunk_size=4_000),
            em.fit_gmm(X, 3, init=init, n_init=2, seed=3),
        )


def test_large_data_start_from_a_uniform_subsample_of_init_subsample_rows(X, monkeypatch):
    monkeypatch.setattr(es, "INIT_SUBSAMPLE", 1_000)
    fit = es.fit_gmm_chunked(X, 3, max_iter=0, seed=9)
    rng = np.random.default_rng(9)
    rows = np.sort(rng.choice(len(X), size=1_000, replace=False))
    expected = em.init_params(X[rows], 3, seed=rng)
    assert max_relative_difference(fit.params, expected) == 0.0
    assert fit.n_iter == 0 and fit.stop_reason == "max_iter"


def test_dask_array_split_into_column_blocks_is_read_as_whole_rows(X):
    start = em.init_params(X, 3, seed=4)
    with dask.config.set(scheduler="sync"):
        chunked = es.fit_gmm_chunked(da.from_array(X, chunks=(3_001, 1)), 3, init=start, max_iter=3, tol=0)
    assert_same_fit(chunked, em.fit_gmm(X, 3, init=start, max_iter=3, tol=0))


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_same_seed_gives_fit_gmms_start_at_exactly_init_subsample_rows(X, kind, monkeypatch, tmp_path):
    """All rows (no draw) when n_samples == INIT_SUBSAMPLE; the start's reg_covar and covariance model."""
    monkeypatch.setattr(es, "INIT_SUBSAMPLE", len(X))
    options = {"seed": 2, "max_iter": 0, "reg_covar": 0.05, "covariance_type": "diag"}
    with dask.config.set(scheduler="sync"):
        chunked = es.fit_gmm_chunked(as_source(X, kind, tmp_path), 3, **options)
    assert max_relative_difference(chunked.params, em.fit_gmm(X, 3, **options).params) < 1e-12


def test_the_default_arguments_are_fit_gmms():
    X = em.sample_gmm(TRUTH, 400, seed=21)[0]
    assert_same_fit(es.fit_gmm_chunked(X, 3, seed=0), em.fit_gmm(X, 3, seed=0))  # n_init=1
    start = em.init_params(X, 3, seed=1)
    unbounded = es.fit_gmm_chunked(X, 3, init=start, tol=0)  # tol=0: only max_iter stops it
    assert unbounded.n_iter == 200 and unbounded.stop_reason == "max_iter"


def test_of_n_init_starts_with_equal_log_likelihoods_the_first_wins_as_in_fit_gmm():
    """Two points, K = 2: the starts are the two points in either order, L(θ) equal to the bit."""
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    rng = np.random.default_rng(1)
    starts = [em.init_params(X, 2, seed=rng) for _ in range(2)]
    assert not np.array_equal(starts[0].means, starts[1].means)  # the seed gives the two orders
    assert em.log_likelihood(X, starts[0]) == em.log_likelihood(X, starts[1])
    chunked = es.fit_gmm_chunked(X, 2, n_init=2, max_iter=0, seed=1)
    np.testing.assert_array_equal(chunked.params.means, em.fit_gmm(X, 2, n_init=2, max_iter=0, seed=1).params.means)
    np.testing.assert_array_equal(chunked.params.means, starts[0].means)


def test_one_feature_and_one_row_are_data_too(X):
    start = em.init_params(X[:, :1], 2, seed=3)
    assert_same_fit(
        es.fit_gmm_chunked(X[:, :1], 2, init=start, max_iter=3, tol=0, chunk_size=3_000),
        em.fit_gmm(X[:, :1], 2, init=start, max_iter=3, tol=0),
    )
    assert_same_fit(es.fit_gmm_chunked(X[:1], 1, seed=0), em.fit_gmm(X[:1], 1, seed=0))


def test_stopping_rule_is_a_gain_per_point_strictly_below_tol(X):
    start = em.init_params(X, 3, seed=5)
    history = es.fit_gmm_chunked(X, 3, init=start, max_iter=2, tol=0).log_likelihoods
    gains = np.diff(history) / len(X)  # the same floating-point expression as the stopping rule
    assert gains[0] > gains[1] > 0
    at_tol = es.fit_gmm_chunked(X, 3, init=start, max_iter=3, tol=gains[1])
    above_tol = es.fit_gmm_chunked(X, 3, init=start, max_iter=3, tol=np.nextafter(gains[1], np.inf))
    assert (at_tol.n_iter, above_tol.n_iter, above_tol.converged) == (3, 2, True)  # a gain equal to tol goes on


def test_from_fit_gmms_optimum_both_stop_after_one_iteration_or_run_on_with_tol_zero(X):
    optimum = em.fit_gmm(X, 3, seed=5, tol=1e-10).params
    assert_same_fit(es.fit_gmm_chunked(X, 3, init=optimum), em.fit_gmm(X, 3, init=optimum))
    assert em.fit_gmm(X, 3, init=optimum).n_iter == 1
    # A large reg_covar lowers L(θ) at the first M-step; tol=0 must still run every iteration.
    in_memory = em.fit_gmm(X, 3, init=optimum, tol=0, max_iter=3, reg_covar=1.0)
    assert in_memory.log_likelihoods[1] < in_memory.log_likelihoods[0]
    assert_same_fit(es.fit_gmm_chunked(X, 3, init=optimum, tol=0, max_iter=3, reg_covar=1.0), in_memory)


def project_files_a_fresh_interpreter_loads_with(module):
    """The repository's own .py files that ``import module`` loads in a fresh interpreter, sorted."""
    root = Path(es.__file__).resolve().parent
    code = (
        f"import sys, pathlib, {module}; root = pathlib.Path({str(root)!r}); "
        "print(*sorted(pathlib.Path(m.__file__).name for m in list(sys.modules.values()) "
        "if getattr(m, '__file__', None) and pathlib.Path(m.__file__).resolve().parent == root))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def shipped_modules(dask_worker):
    return sorted(path.name for path in Path(dask_worker.local_directory).glob("em_*.py"))


def test_dask_array_on_a_local_cluster_of_two_worker_processes_equals_in_memory(X):
    distributed = pytest.importorskip("distributed")
    start = em.init_params(X, 3, seed=7)
    in_memory = em.fit_gmm(X, 3, init=start, max_iter=5, tol=0)
    bad = X.copy()
    bad[12_345, 1] = np.inf
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP server on a free port, not 8787
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        es._ship_modules_to_workers()  # what the first fit does
        # A lambda, pickled by value: a function of this file would make the worker import it, and em_helpers with it.
        imported_on_arrival = client.run(lambda: [name for name in ("em_helpers", "em_scale") if name in sys.modules])
        # What a worker that joins later is sent: one plugin per file (a shared name would keep only the last).
        plugins = client.run_on_scheduler(lambda dask_scheduler: [*dask_scheduler.worker_plugins])
        chunked = es.fit_gmm_chunked(da.from_array(X, chunks=5_000), 3, init=start, max_iter=5, tol=0)
        # the weights, persisted on the workers once, live through every pass of the fit
        w = some_weights(len(X), seed=2)
        weighted = es.fit_gmm_chunked(da.from_array(X, chunks=5_000), 3, init=start, max_iter=5, tol=0, sample_weight=w)
        files = client.run(shipped_modules)
        registered = []
        client.register_plugin = lambda *args, **kwargs: registered.append(args)  # the client is shipped to once
        with pytest.raises(es.StreamError, match=r"chunk 0 of dask block 2 \(rows 10,000 to 14,999\)") as err:
            es.fit_gmm_chunked(da.from_array(bad, chunks=5_000), 3, init=start, chunk_size=5_000)
    assert_same_fit(chunked, in_memory)
    assert_same_fit(weighted, em.fit_gmm(X, 3, init=start, max_iter=5, tol=0, sample_weight=w))
    needed = project_files_a_fresh_interpreter_loads_with("em_scale")  # em_helpers and the rooms below it
    assert {"em_helpers.py", "em_scale.py"} < set(needed)
    assert list(files.values()) == [needed] * 2  # shipped, derived, not listed by hand
    assert list(imported_on_arrival.values()) == [[]] * 2  # load=False: written, not imported on arrival
    ours = sorted(name for name in plugins if name != "shuffle")  # distributed's own shuffle plugin aside
    assert ours == [f"em-tutorial-{name}" for name in needed]
    assert registered == []
    assert err.value.points_consumed == 10_000  # the bad chunk's first row crossed from the worker process


def test_chunked_memory_does_not_grow_with_the_number_of_rows(tmp_path):
    peaks = {}
    start = em.init_params(em.sample_gmm(TRUTH, 1_000, seed=2)[0], 3, seed=2)
    for n_samples in (50_000, 200_000):
        path = tmp_path / f"X{n_samples}.npy"
        np.save(path, em.sample_gmm(TRUTH, n_samples, seed=3)[0])
        X = np.load(path, mmap_mode="r")
        tracemalloc.start()
        es.fit_gmm_chunked(X, 3, init=start, max_iter=2, tol=0, chunk_size=2_000)
        peaks[n_samples] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert abs(peaks[200_000] - peaks[50_000]) < 0.05 * peaks[50_000]
    assert peaks[200_000] < 0.1 * 200_000 * 2 * 8  # far below the data's 3.2 MB


# --------------------------------------------------------------------------- online EM


def batches_of(params, n_batches, batch_size, seed):
    """A stream of batches drawn from ``params``, generated lazily (the stream is never in memory)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_batches):
        yield em.sample_gmm(params, batch_size, seed=rng)[0]


def per_point_gap(X, params, optimum):
    """(L(θ*)/N - L(θ)/N) / |L(θ*)/N|: how far θ ends short of the optimum θ*, relative, per point."""
    reference = em.log_likelihood(X, optimum) / len(X)
    return (reference - em.log_likelihood(X, params) / len(X)) / abs(reference)


def stepwise_by_hand(batches, start, etas, prior=None):
    """The iterates s_t and θ_t of stepwise EM from θ_0 = ``start``: the first batch sets s, batch t + 1
    blends in with etas[t]; with a prior the M-step sees s scaled to the points read so far."""
    params, stats, iterates, n_points = start, None, [], 0
    for t, batch in enumerate(batches):
        n_points += len(batch)
        Xt = np.ascontiguousarray(batch.T)
        resp, _ = em._e_step(Xt, params)
        new = em._sufficient_statistics(Xt, resp, params.means).scaled(1 / len(batch))
        stats = new if stats is None else new.scaled(etas[t - 1]) + stats.scaled(1 - etas[t - 1])
        if prior is None:
            params = em._m_step_from_statistics(stats, 1e-6, "full")
        else:
            params = em.map_m_step_from_statistics(stats.scaled(n_points), prior, 1e-6, "full")
        iterates.append((stats, params))
    return iterates


def test_online_one_pass_over_a_million_points_is_within_1e_4_of_batch_em():
    """The issue's target at its own size: 1,000 batches of 1,000 points (about 1 s here)."""
    X = em.sample_gmm(TRUTH, 1_000_000, seed=12)[0]
    online = es.fit_gmm_online(np.split(X, 1_000), 3, seed=12)
    # Batch EM started from the online answer climbs to the optimum next to it in a few iterations.
    batch = em.fit_gmm(X, 3, init=online.params, tol=1e-10)
    assert batch.converged
    assert online.n_samples_seen == 1_000_000 and online.n_start_points == 10_000
    assert online.log_likelihood_trace.shape == (990,) and online.n_averaged == 990
    assert 0 <= per_point_gap(X, online.params, batch.params) < 1e-4


def test_the_default_start_gets_out_of_the_saddle_that_one_kmeans_start_on_the_first_batch_stalls_in():
    """Two streams (of 40 starts scanned on this draw) where k-means++ on the first batch, the old rule,
    ends 3e-2 short after one pass: the best of 5 fits on the first 10,000 points ends within 1e-4."""
    X = em.sample_gmm(TRUTH, 200_000, seed=13)[0]
    batches = np.split(X, 200)
    for seed in (3, 13):
        new = es.fit_gmm_online(batches, 3, seed=seed)
        old = es.fit_gmm_online(batches, 3, init=em.init_params(batches[0], 3, seed=seed), average_after=None)
        optimum = em.fit_gmm(X, 3, init=new.params, tol=1e-10).params
        assert per_point_gap(X, new.params, optimum) < 1e-4 < 1e-2 < per_point_gap(X, old.params, optimum)


def test_the_start_is_the_best_of_n_init_batch_fits_on_the_first_init_points_points():
    batches = list(batches_of(TRUTH, 8, 300, seed=7))
    options = {"reg_covar": 0.05, "covariance_type": "diag"}
    fit = es.fit_gmm_online(batches, 3, n_init=4, init_points=1_000, seed=7, average_after=None, **options)
    prefix = np.concatenate(batches[:4])  # whole batches until >= 1,000 points: 1,200
    best = em.fit_gmm(prefix, 3, n_init=4, seed=np.random.default_rng(7), **options)
    assert max_relative_difference(fit.start, best.params) == 0.0
    assert (fit.n_start_points, fit.n_samples_seen, len(fit.batch_sizes)) == (1_200, 2_400, 4)
    np.testing.assert_array_equal(fit.points_before_batch, [1_200, 1_500, 1_800, 2_100])
    # θ_0's per-point statistics on the prefix are s, worth its 4 batches: the next one is update t = 3,
    # with η = (3 + 2)^(-0.6)
    s = em.sufficient_statistics(prefix, em.e_step(prefix, best.params)[0], shift=best.params.means)
    s = s.scaled(1 / 1_200)
    theta = em.m_step_from_statistics(s, **options)
    s5 = em.sufficient_statistics(batches[4], em.e_step(batches[4], theta)[0], shift=theta.means).scaled(1 / 300)
    after_one = es.fit_gmm_online(batches[:5], 3, n_init=4, init_points=1_000, seed=7, average_after=None, **options)
    expected = em.m_step_from_statistics(s5.scaled(5**-0.6) + s.scaled(1 - 5**-0.6), **options)
    assert max_relative_difference(after_one.params, expected) < 1e-12


def test_a_stream_shorter_than_init_points_is_fitted_in_one_batch_fit():
    batches = list(batches_of(TRUTH, 3, 200, seed=1))
    fit = es.fit_gmm_online(batches, 3, seed=1)
    best = em.fit_gmm(np.concatenate(batches), 3, n_init=5, seed=np.random.default_rng(1))
    assert (fit.n_start_points, fit.n_samples_seen, fit.log_likelihood_trace.shape) == (600, 600, (0,))
    assert max_relative_difference(fit.start, best.params) == 0.0


def test_polyak_ruppert_averaging_is_the_m_step_of_the_mean_of_the_iterates_after_average_after():
    batches = [em.sample_gmm(TRUTH, size, seed=size)[0] for size in (300, 50, 700, 120, 400, 250)]
    start = em.init_params(batches[0], 3, seed=6)
    fit = es.fit_gmm_online(batches, 3, init=start, step_exponent=0.7, average_after=1_000)
    iterates = stepwise_by_hand(batches, start, (np.arange(5) + 2.0) ** -0.7)
    # points read after each batch: 300, 350, 1,050, 1,170, ...: the last four iterates are past 1,000
    averaged = iterates[2][0]
    for stats, _ in iterates[3:]:
        averaged = averaged + stats
    expected = em._m_step_from_statistics(averaged.scaled(1 / 4), 1e-6, "full")
    assert fit.n_averaged == 4 and max_relative_difference(fit.params, expected) < 1e-12
    assert max_relative_difference(fit.last_params, iterates[-1][1]) < 1e-12
    assert max_relative_difference(fit.params, fit.last_params) > 1e-3  # the average is not the last iterate
    unaveraged = es.fit_gmm_online(batches, 3, init=start, step_exponent=0.7, average_after=None)
    assert unaveraged.n_averaged == 0 and max_relative_difference(unaveraged.params, iterates[-1][1]) < 1e-12


@pytest.mark.parametrize(("options", "etas"), [
    ({"step_size": 0.05}, np.full(5, 0.05)),
    ({"step_size": 1.0}, np.ones(5)),
    ({"step_exponent": 0.3}, (np.arange(5) + 2.0) ** -0.3),  # below the classical κ > 0.5: allowed
    ({"step_exponent": 1.0}, 1 / (np.arange(5) + 2.0)),
])  # fmt: skip
def test_the_step_is_a_constant_or_any_kappa_in_zero_to_one(options, etas):
    batches = list(batches_of(TRUTH, 6, 200, seed=4))
    start = em.init_params(batches[0], 3, seed=4)
    fit = es.fit_gmm_online(batches, 3, init=start, average_after=None, **options)
    assert max_relative_difference(fit.params, stepwise_by_hand(batches, start, etas)[-1][1]) < 1e-12
    assert (fit.step_size, fit.step_exponent) == (options.get("step_size"), options.get("step_exponent"))


def test_the_default_step_is_kappa_0_6():
    batches = list(batches_of(TRUTH, 4, 200, seed=4))
    start = em.init_params(batches[0], 3, seed=4)
    fit = es.fit_gmm_online(batches, 3, init=start, average_after=None)
    by_hand = stepwise_by_hand(batches, start, (np.arange(3) + 2.0) ** -0.6)
    assert fit.step_exponent == 0.6 and max_relative_difference(fit.params, by_hand[-1][1]) < 1e-12


def test_n_passes_reads_the_batches_again_with_the_step_count_and_the_average_carried_on():
    batches = list(batches_of(TRUTH, 5, 300, seed=5))
    twice = es.fit_gmm_online(batches, 3, n_passes=2, init_points=600, seed=5)
    one_long_pass = es.fit_gmm_online(batches + batches, 3, init_points=600, seed=5)
    assert max_relative_difference(twice.params, one_long_pass.params) == 0.0
    assert (twice.n_passes, twice.n_samples_seen, len(twice.batch_sizes)) == (2, 3_000, 8)
    assert max_relative_difference(twice.params, es.fit_gmm_online(batches, 3, init_points=600, seed=5).params) > 0


def test_n_passes_takes_any_re_iterable_source():
    class Batches:  # what a file reader looks like: each iter() re-opens the source
        def __iter__(self):
            return batches_of(TRUTH, 4, 250, seed=2)

    fit = es.fit_gmm_online(Batches(), 3, n_passes=3, init_points=500, seed=2)
    listed = es.fit_gmm_online(list(Batches()), 3, n_passes=3, init_points=500, seed=2)
    assert fit.n_passes == 3 and max_relative_difference(fit.params, listed.params) == 0.0


def test_n_passes_on_a_one_shot_iterator_says_it_cannot_be_read_again():
    with pytest.raises(ValueError, match=r"^n_passes=2 needs batches that can be read again, but generator is a "
                       r"one-shot iterator .* Pass a list or tuple of batches"):  # fmt: skip
        es.fit_gmm_online(batches_of(TRUTH, 3, 100, seed=0), 3, n_passes=2)
    es.fit_gmm_online(batches_of(TRUTH, 3, 100, seed=0), 3, n_passes=1)  # one pass of a generator is fine


def test_a_pass_that_gives_no_batches_the_second_time_is_an_error_that_keeps_the_fit():
    class OnceOnly:
        def __init__(self):
            self.batches = list(batches_of(TRUTH, 3, 200, seed=3))

        def __iter__(self):
            batches, self.batches = self.batches, []
            return iter(batches)

    with pytest.raises(es.StreamError, match=r"^pass 2 gave no batch: 600 points consumed") as err:
        es.fit_gmm_online(OnceOnly(), 3, n_passes=2, init_points=200, seed=3)
    assert err.value.fit.n_samples_seen == 600 and err.value.fit.n_passes == 1


def test_a_bad_batch_in_a_later_pass_keeps_what_was_learned():
    batches = list(batches_of(TRUTH, 4, 200, seed=8))

    class BadSecondTime:
        passes = 0

        def __iter__(self):
            self.passes += 1
            return iter(batches if self.passes == 1 else [batches[0], batches[1][:, :1]])

    with pytest.raises(es.StreamError) as err:
        es.fit_gmm_online(BadSecondTime(), 3, n_passes=2, init_points=200, seed=8)
    assert "batch 1 of pass 2 has shape (200, 1)" in str(err.value)
    assert "1,000 points (1 batches into pass 2) were consumed before it" in str(err.value)
    assert err.value.points_consumed == 1_000 and err.value.fit.n_samples_seen == 1_000


def test_online_map_weighs_the_prior_against_the_points_read_not_one_batch():
    """The per-point statistics are scaled back to N points before the MAP M-step: with the prior against
    one batch of 100 points (10 times stronger here), the last θ would differ."""
    batches = list(batches_of(TRUTH, 10, 100, seed=6))
    start = em.init_params(batches[0], 3, seed=6)
    prior = em.ConjugatePrior(5.0, [1.0, 1.0], 6.0, np.eye(2) * 3.0)
    fit = es.fit_gmm_online(batches, 3, init=start, prior=prior, average_after=None)
    by_hand = stepwise_by_hand(batches, start, (np.arange(9) + 2.0) ** -0.6, prior)
    assert max_relative_difference(fit.params, by_hand[-1][1]) < 1e-12 and fit.prior is prior
    against_a_batch = em.map_m_step_from_statistics(fit.statistics.scaled(100), prior, 1e-6, "full")
    assert max_relative_difference(fit.params, against_a_batch) > 1e-3


def test_online_map_on_one_batch_is_fit_gmms_first_map_iteration():
    X = em.sample_gmm(TRUTH, 2_000, seed=9)[0]
    start = em.init_params(X, 3, seed=9)
    fit = es.fit_gmm_online([X], 3, init=start, prior="default", average_after=None)
    one_iteration = em.fit_gmm(X, 3, init=start, prior="default", max_iter=1, tol=0)
    assert max_relative_difference(fit.params, one_iteration.params) < 1e-12
    default = em.default_prior(X, 3)
    assert np.array_equal(fit.prior.mean, default.mean) and np.array_equal(fit.prior.scale, default.scale)


def test_a_default_prior_is_made_from_the_starts_points_and_reaches_batch_map_em_over_passes():
    X = em.sample_gmm(TRUTH, 6_000, seed=10)[0]
    fit = es.fit_gmm_online(np.split(X, 6), 3, init_points=1_000, n_passes=30, prior="default", seed=10)
    assert np.array_equal(fit.prior.mean, em.default_prior(X[:1_000], 3).mean)
    batch = em.fit_gmm(X, 3, init=fit.params, prior=fit.prior, tol=1e-12, max_iter=1000)
    assert max_relative_difference(fit.params, batch.params) < 1e-2


def test_a_prior_of_another_dimension_is_refused():
    prior = em.ConjugatePrior(0.01, [0.0, 0.0, 0.0], 5.0, np.eye(3))
    with pytest.raises(ValueError, match=r"the prior's mean has 3 values but X has D=2 columns"):
        es.fit_gmm_online(batches_of(TRUTH, 2, 100, seed=0), 3, prior=prior)
    with pytest.raises(TypeError, match=r'^prior must be None, "default" or a ConjugatePrior; got str\.$'):
        es.fit_gmm_online(batches_of(TRUTH, 2, 100, seed=0), 3, prior="mclust")


def test_online_params_are_the_m_step_of_per_point_statistics_over_batches_of_any_size():
    batches = [em.sample_gmm(TRUTH, size, seed=size)[0] for size in (300, 50, 700, 120)]
    start = em.init_params(batches[0], 3, seed=6)
    fit = es.fit_gmm_online(batches, 3, init=start, step_exponent=0.8, reg_covar=1e-3, average_after=None)
    assert abs(fit.statistics.n_samples - 1.0) < 1e-12 and abs(fit.statistics.counts.sum() - 1.0) < 1e-12
    again = em.m_step_from_statistics(fit.statistics, reg_covar=1e-3)
    assert max_relative_difference(fit.params, again) == 0.0
    np.testing.assert_array_equal(fit.batch_sizes, [300, 50, 700, 120])
    assert fit.batch_sizes.dtype == np.int64 and (fit.n_samples_seen, fit.step_exponent) == (1_170, 0.8)
    assert fit.log_likelihood_trace[0] == pytest.approx(em.log_likelihood(batches[0], start) / 300, rel=1e-12)


def test_online_takes_one_feature_batches_as_1d_arrays_or_as_columns():
    batches = [np.random.default_rng(t).normal(3.0 * (t % 2), 1.0, size=150) for t in range(4)]
    as_1d = es.fit_gmm_online(batches, 2, init_points=150, seed=1)
    as_columns = es.fit_gmm_online([b[:, None] for b in batches], 2, init_points=150, seed=1)
    assert as_1d.params.n_features == 1 and as_1d.n_samples_seen == 600 and len(as_1d.batch_sizes) == 3
    assert max_relative_difference(as_1d.params, as_columns.params) == 0.0


def test_online_batches_of_one_row_are_fine_and_values_at_the_bound_are_allowed():
    batches = list(batches_of(TRUTH, 3, 100, seed=8))
    fit = es.fit_gmm_online([*batches, batches[2][:1]], 3, init_points=100, seed=8)
    assert fit.batch_sizes[-1] == 1
    at_bound = batches[0].copy()
    at_bound[5, 1] = -em.MAX_ABS  # ±1e100 is allowed, beyond it is not (as em_helpers)
    start = em.init_params(batches[1], 3, seed=8)
    chunked = es.fit_gmm_chunked(at_bound, 3, init=start, max_iter=0)
    assert chunked.log_likelihood == pytest.approx(em.fit_gmm(at_bound, 3, init=start, max_iter=0).log_likelihood)


def test_online_memory_is_flat_in_the_stream_length():
    peaks = {}
    for n_batches in (40, 160):
        tracemalloc.start()
        es.fit_gmm_online(batches_of(TRUTH, n_batches, 2_000, seed=1), 3, init_points=2_000, seed=1)
        peaks[n_batches] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    extra_data = 120 * 2_000 * 2 * 8  # bytes of the 120 extra batches: 3.8 MB if they were kept
    assert peaks[160] - peaks[40] < 0.01 * extra_data  # the trace's 16 bytes per batch, and no more
    assert peaks[160] < 20 * 2_000 * 2 * 8  # a few batches' worth of working memory


# --------------------------------------------------------------------------- bad input


def test_a_batch_with_other_columns_stops_the_stream_and_keeps_the_fit():
    batches = list(batches_of(TRUTH, 5, 100, seed=2))
    batches[3] = np.hstack([batches[3], batches[3][:, :1]])
    with pytest.raises(es.StreamError, match=r"batch 3 has shape \(100, 3\); expected \(B, 2\)") as err:
        es.fit_gmm_online(batches, 3, init_points=100, seed=2)
    assert str(err.value) == (
        "batch 3 has shape (100, 3); expected (B, 2) with B >= 1, the shape of every other batch: give every batch "
        "the same columns, in the same order. 300 points in 3 batches were consumed before it; nothing learned is "
        "lost: err.fit holds the fit so far."
    )
    assert err.value.points_consumed == 300 and err.value.fit.n_samples_seen == 300
    before = es.fit_gmm_online(batches[:3], 3, init_points=100, seed=2)
    assert max_relative_difference(err.value.fit.params, before.params) == 0.0
    np.testing.assert_array_equal(err.value.fit.log_likelihood_trace, before.log_likelihood_trace)
    for name in ("counts", "shift", "first", "second", "n_samples"):
        np.testing.assert_array_equal(getattr(err.value.fit.statistics, name), getattr(before.statistics, name))


def test_a_bad_first_batch_leaves_no_fit_and_says_so():
    batches = list(batches_of(TRUTH, 2, 100, seed=2))
    start = em.init_params(batches[0], 3, seed=2)
    with pytest.raises(es.StreamError) as err:  # a start for D = 2, a first batch with D = 3
        es.fit_gmm_online([np.hstack([batches[0], batches[0][:, :1]]), batches[1]], 3, init=start)
    assert str(err.value) == (
        "batch 0 has shape (100, 3); expected (B, 2) with B >= 1, the shape of every other batch: give every batch "
        "the same columns, in the same order. 0 points in 0 batches were consumed before it; nothing learned is "
        "lost: err.fit holds the fit so far (None: nothing was learned before it)."
    )
    assert err.value.points_consumed == 0 and err.value.fit is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((0, 2)), r"batch 2 has shape \(0, 2\); expected \(B, 2\) with B >= 1"),
        ([[0.0, "a"]], r"batch 2 is not an array of real numbers \(could not convert string to float: 'a'\)\."),
        ([[0.0, 1.01e100]], r"batch 2 has values up to 1.01e\+100; beyond ±1e\+100 their squares leave no headroom"),
    ],
)
def test_an_empty_a_non_numeric_or_a_huge_batch_stops_the_stream(bad, message):
    batches = list(batches_of(TRUTH, 2, 100, seed=9))
    with pytest.raises(es.StreamError, match=message) as err:
        es.fit_gmm_online([*batches, bad], 3, init_points=100, seed=9)
    assert err.value.points_consumed == 200


def test_nan_in_a_batch_names_the_batch_and_the_points_consumed():
    batches = list(batches_of(TRUTH, 4, 100, seed=3))
    batches[2][17, 1] = np.nan
    with pytest.raises(
        es.StreamError, match=r"batch 2 contains 1 NaN and 0 inf values \(in 1 rows, the first is row 17\)"
    ) as err:
        es.fit_gmm_online(batches, 3, init_points=100, seed=3)
    assert "200 points in 2 batches were consumed before it" in str(err.value)
    assert err.value.points_consumed == 200 and err.value.fit.n_samples_seen == 200


def test_a_start_with_other_components_or_of_another_kind_is_refused(X):
    start = em.init_params(X, 2, seed=5)
    with pytest.raises(ValueError, match="init has K=2 components but n_components=3"):
        es.fit_gmm_online([X[:100]], 3, init=start)
    with pytest.raises(ValueError, match="init has K=2 components but n_components=3"):
        es.fit_gmm_chunked(X, 3, init=start)
    with pytest.raises(TypeError, match=r"^init must be \"kmeans\+\+\", \"random\" or a GMMParams; got int\.$"):
        es.fit_gmm_online([X[:100]], 3, init=3)
    with pytest.raises(ValueError, match=r"^init must be \"kmeans\+\+\", \"random\" or a GMMParams; got 'kmeans'\.$"):
        es.fit_gmm_online([X[:100]], 3, init="kmeans")
    with pytest.raises(ValueError, match=r"^init must be \"kmeans\+\+\", \"random\" or a GMMParams; got 'kmeans'\.$"):
        es.fit_gmm_chunked(X, 3, init="kmeans")


def test_a_start_for_another_covariance_model_is_refused():
    start = em.init_params(next(batches_of(TRUTH, 1, 500, seed=5)), 3, seed=5, covariance_type="diag")
    with pytest.raises(ValueError, match='init is a "diag" GMMParams but covariance_type="full"'):
        es.fit_gmm_online(batches_of(TRUTH, 2, 500, seed=5), 3, init=start)
    with pytest.raises(ValueError, match='init is a "diag" GMMParams but covariance_type="full"'):
        es.fit_gmm_chunked(TRUTH.means, 3, init=start)


@pytest.mark.parametrize(
    ("kind", "where", "first_row"),
    [
        ("numpy", "chunk 4 (rows 4,000 to 4,999)", 4_000),
        ("memmap", "chunk 4 (rows 4,000 to 4,999)", 4_000),
        ("dask", "chunk 1 of dask block 1 (rows 4,001 to 5,000)", 4_001),  # blocks of 3,001 rows
    ],
)
def test_nan_in_a_chunk_names_the_chunk_and_the_points_consumed(X, kind, where, first_row, tmp_path):
    data = X.copy()
    data[4_345, 0] = np.nan
    with pytest.raises(es.StreamError) as err, dask.config.set(scheduler="sync"):
        es.fit_gmm_chunked(as_source(data, kind, tmp_path), 3, chunk_size=1_000, init=em.init_params(X, 3, seed=1))
    assert str(err.value) == (
        f"{where} contains 1 NaN and 0 inf values (in 1 rows, the first is row 4,345); EM needs finite numbers: drop "
        f"those rows first. In pass 0 (0 = the first), the {first_row:,} points before it were read; nothing "
        "already learned is lost: err.fit holds the fit after 0 complete iterations (None: the bad chunk came in "
        "the first pass)."
    )
    assert err.value.points_consumed == first_row and err.value.fit is None


class GoesBadOnPass:
    """X's rows, read chunk by chunk, with row ``bad_row`` NaN from pass ``bad_pass`` on (a file that
    another process overwrites while the fit runs)."""

    def __init__(self, X, bad_pass, bad_row):
        self.X, self.shape, self.bad_pass, self.bad_row, self.passes = X, X.shape, bad_pass, bad_row, -1

    def __getitem__(self, rows):
        self.passes += rows.start == 0
        chunk = self.X[rows].copy()
        if self.passes >= self.bad_pass and rows.start <= self.bad_row < rows.stop:
            chunk[self.bad_row - rows.start] = np.nan
        return chunk


def test_a_chunk_gone_bad_in_a_later_pass_keeps_the_fit_of_the_complete_passes(X):
    start = em.init_params(X[:2_000], 3, seed=8)
    source = GoesBadOnPass(X[:2_000], bad_pass=3, bad_row=1_250)
    with pytest.raises(es.StreamError) as err:
        es.fit_gmm_chunked(source, 3, init=start, chunk_size=500, tol=1e-9)
    assert str(err.value).endswith(
        "In pass 3 (0 = the first), the 1,000 points before it were read; nothing already learned is lost: "
        "err.fit holds the fit after 2 complete iterations."
    )
    assert err.value.points_consumed == 1_000
    # Exactly the fit that stops after those 2 iterations: θ_2, with its L(θ_0), L(θ_1), L(θ_2).
    with pytest.warns(em.ConvergenceWarning, match="max_iter=2 "):  # tol=1e-9, as the failed fit's
        two_iterations = es.fit_gmm_chunked(X[:2_000], 3, init=start, chunk_size=500, tol=1e-9, max_iter=2)
    assert max_relative_difference(err.value.fit.params, two_iterations.params) == 0.0
    np.testing.assert_array_equal(err.value.fit.log_likelihoods, two_iterations.log_likelihoods)
    assert (err.value.fit.n_iter, err.value.fit.converged, err.value.fit.tol) == (2, False, 1e-9)


def test_a_bad_chunk_error_rebuilds_from_its_args_as_plain_pickle_rebuilds_it():
    """To leave a worker process, an exception is pickled: plain pickle calls cls(*args) and then restores
    __dict__. (distributed and dask's process scheduler install tblib's exception pickling when it is
    there, which does not call __init__; without tblib, this is the path.)"""
    err = em.DataError("chunk 3 (rows 300 to 399) contains NaN", 300)
    cls, args, state = BaseException.__reduce__(err)  # what pickle.dumps uses when tblib has not patched it
    rebuilt = cls(*args)
    rebuilt.__dict__.update(state)
    assert (str(rebuilt), rebuilt.first_row) == ("chunk 3 (rows 300 to 399) contains NaN", 300)
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


def test_empty_stream():
    with pytest.raises(es.StreamError) as err:
        es.fit_gmm_online(iter([]), 3)
    assert str(err.value) == "the stream gave no batch: 0 points consumed; pass an iterable of (B, D) arrays."
    assert err.value.points_consumed == 0


@pytest.mark.parametrize(
    ("argument", "error", "message"),
    [
        ({"step_exponent": 0}, ValueError, r"^step_exponent, κ in η_t = \(t \+ 2\)\^\(-κ\), must be a number in "
                                           r"\(0, 1\]; got 0\."),
        ({"step_exponent": 1.01}, ValueError, r"^step_exponent, .* must be a number in \(0, 1\]; got 1\.01\."),
        ({"step_exponent": "0.6"}, ValueError, r"^step_exponent, .*; got '0\.6'\."),
        ({"step_exponent": float("nan")}, ValueError, r"^step_exponent, .*; got nan\."),
        ({"step_exponent": True}, ValueError, r"^step_exponent, .*; got True\."),
        ({"step_size": 0.0}, ValueError, r"^step_size, the constant step η, must be a number in \(0, 1\]; got 0\.0\."),
        ({"step_size": 1.5}, ValueError, r"^step_size, .*; got 1\.5\. About B/η points are remembered\.$"),
        ({"step_size": float("inf")}, ValueError, r"^step_size, .*; got inf\."),
        ({"step_size": 0.1, "step_exponent": 0.6}, ValueError, r"^give step_exponent .* or step_size .*, not both\.$"),
        ({"n_passes": 0}, ValueError, r"^n_passes must be an integer >= 1; got 0\.$"),
        ({"n_passes": 2.0}, TypeError, r"^n_passes must be an integer; got 2\.0\.$"),
        ({"n_init": 0}, ValueError, r"^n_init must be an integer >= 1; got 0\.$"),
        ({"init_points": True}, TypeError, r"^init_points must be an integer; got True\.$"),
        ({"average_after": -1}, ValueError, r"^average_after must be an integer >= 0; got -1\.$"),
        ({"average_after": 0.5}, TypeError, r"^average_after must be an integer; got 0\.5\.$"),
    ],
)  # fmt: skip
def test_online_settings_out_of_range_or_of_the_wrong_kind(argument, error, message):
    with pytest.raises(error, match=message):
        es.fit_gmm_online(batches_of(TRUTH, 2, 50, seed=0), 3, **argument)


@pytest.mark.parametrize(
    ("argument", "error", "message"),
    [
        ({"chunk_size": 0}, ValueError, "chunk_size must be an integer >= 1; got 0"),
        ({"chunk_size": -5}, ValueError, "chunk_size must be an integer >= 1; got -5"),
        ({"chunk_size": 2.5}, TypeError, "chunk_size must be an integer; got 2.5"),
        ({"chunk_size": True}, TypeError, "chunk_size must be an integer; got True"),
    ],
)
def test_chunk_size_out_of_range_or_not_an_integer(X, argument, error, message):
    with pytest.raises(error, match=message):
        es.fit_gmm_chunked(X, 3, **argument)


@pytest.mark.parametrize("shape", [(0, 2), (5, 0), (5,), (2, 2, 2)])
def test_x_must_be_a_table_with_rows_and_columns(shape):
    with pytest.raises(ValueError) as err:
        es.fit_gmm_chunked(np.zeros(shape), 1)
    assert str(err.value) == f"X must have shape (n_samples, n_features) with both >= 1; got {shape}."


def test_rows_without_shape_are_refused():
    with pytest.raises(TypeError, match=r"X must slice by rows and have \.shape.*; got list\. .*np\.asarray"):
        es.fit_gmm_chunked([[0.0, 1.0], [2.0, 3.0]], 1)


# --------------------------------------------------------------------------- MAP at scale


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
@pytest.mark.parametrize("kind", ["numpy", "memmap", "dask"])
def test_chunked_map_is_fit_gmms_map_from_the_same_start(X, kind, covariance_type, tmp_path):
    start = em.init_params(X, 3, seed=4, covariance_type=covariance_type)
    options = {"init": start, "prior": "default", "covariance_type": covariance_type, "tol": 1e-9}
    in_memory = em.fit_gmm(X, 3, **options)
    chunked = es.fit_gmm_chunked(as_source(X, kind, tmp_path), 3, chunk_size=1_999, **options)
    assert_same_fit(chunked, in_memory)
    np.testing.assert_allclose(chunked.log_posteriors, in_memory.log_posteriors, rtol=1e-10)
    assert chunked.prior.degrees_of_freedom == in_memory.prior.degrees_of_freedom
    np.testing.assert_array_equal(chunked.prior.mean, in_memory.prior.mean)  # "default" from all 20,000 rows


def test_chunked_map_with_a_given_prior_and_its_own_start_is_fit_gmms(X):
    prior = em.ConjugatePrior(2.0, [1.0, 2.0], 5.0, np.eye(2))
    in_memory = em.fit_gmm(X[:5_000], 3, prior=prior, seed=3, tol=1e-9)  # 5,000 <= INIT_SUBSAMPLE: the same start
    chunked = es.fit_gmm_chunked(X[:5_000], 3, prior=prior, seed=3, tol=1e-9, chunk_size=700)
    assert_same_fit(chunked, in_memory)
    assert chunked.prior is prior and chunked.objective == pytest.approx(in_memory.objective, rel=1e-12)


def test_a_chunked_default_prior_past_the_subsample_is_made_from_its_rows(X, monkeypatch):
    monkeypatch.setattr(es, "INIT_SUBSAMPLE", 1_000)
    start = em.init_params(X, 3, seed=2)
    fit = es.fit_gmm_chunked(X, 3, init=start, prior="default", max_iter=1, tol=0)
    rows = np.sort(np.random.default_rng(0).choice(len(X), size=1_000, replace=False))
    expected = em.default_prior(X[rows], 3)
    np.testing.assert_array_equal(fit.prior.mean, expected.mean)
    np.testing.assert_array_equal(fit.prior.scale, expected.scale)


def test_a_chunked_prior_of_another_dimension_is_refused(X):
    prior = em.ConjugatePrior(0.01, [0.0, 0.0, 0.0], 5.0, np.eye(3))
    with pytest.raises(ValueError, match=r"the prior's mean has 3 values but X has D=2 columns"):
        es.fit_gmm_chunked(X, 3, prior=prior)


# --------------------------------------------------------------------------- worker processes (n_jobs)


@pytest.mark.parametrize("kind", ["numpy", "memmap"])
def test_processes_give_bit_identical_fits_whatever_their_number(X, kind, tmp_path):
    source = as_source(X, kind, tmp_path)
    fits = [
        es.fit_gmm_chunked(source, 3, chunk_size=1_999, n_jobs=n_jobs, prior=prior, seed=5, tol=1e-9)
        for n_jobs in (1, 2, 3)
        for prior in (None, "default")
    ]
    for one_thread, threaded in zip(fits[:2] * 2, fits[2:], strict=True):
        for name in ("weights", "means", "covariances"):
            assert np.array_equal(getattr(threaded.params, name), getattr(one_thread.params, name))
        assert np.array_equal(threaded.log_likelihoods, one_thread.log_likelihoods)
        assert threaded.n_iter == one_thread.n_iter > 2


def test_processes_meet_a_bad_chunk_as_one_process_does(X):
    bad = X.copy()
    bad[[7_500, 15_000]] = np.nan  # in chunks 3 and 7: the first in row order is named
    start, errors = em.init_params(X, 3, seed=1), []
    for n_jobs in (1, 2):
        with pytest.raises(es.StreamError) as err:
            es.fit_gmm_chunked(bad, 3, chunk_size=2_000, n_jobs=n_jobs, init=start)
        errors.append(err.value)
    assert "chunk 3 (rows 6,000 to 7,999)" in str(errors[0]) and str(errors[0]) == str(errors[1])
    assert errors[0].points_consumed == errors[1].points_consumed == 6_000


@pytest.mark.parametrize(
    ("n_jobs", "error", "message"),
    [
        (0, ValueError, r"^n_jobs must be an integer >= 1; got 0\.$"),
        (-1, ValueError, r"^n_jobs must be an integer >= 1; got -1\.$"),
        (2.0, TypeError, r"^n_jobs must be an integer; got 2\.0\.$"),
        (True, TypeError, r"^n_jobs must be an integer; got True\.$"),
        ("2", TypeError, r"^n_jobs must be an integer; got '2'\.$"),
    ],
)
def test_n_jobs_must_be_a_whole_number_of_processes(X, n_jobs, error, message):
    with pytest.raises(error, match=message):
        es.fit_gmm_chunked(X, 3, n_jobs=n_jobs)


def test_n_jobs_on_a_dask_array_says_where_its_workers_go(X):
    with pytest.raises(
        ValueError, match=r"^n_jobs=2 maps the chunks of an array over processes forked from this one; a dask"
    ):
        es.fit_gmm_chunked(da.from_array(X, chunks=(5_000, 2)), 3, n_jobs=2)


# --------------------------------------------------------------------------- sample weights


def some_weights(n_samples, seed):
    """Real weights in [0.2, 3) with every 7th row at weight 0: neither integers nor all positive."""
    w = np.random.default_rng(seed).uniform(0.2, 3.0, n_samples)
    w[::7] = 0.0
    return w


def weights_as(w, kind, tmp_path):
    """The weights in the form that goes with an X of that kind (a dask array in other blocks than X's)."""
    if kind == "memmap":
        path = tmp_path / "w.npy"
        np.save(path, w)
        return np.load(path, mmap_mode="r")
    return da.from_array(w, chunks=5_000) if kind == "dask" else w


@pytest.mark.parametrize("kind", ["numpy", "memmap", "dask"])
@pytest.mark.parametrize("covariance_type", em.COVARIANCE_TYPES)
@pytest.mark.parametrize("prior", [None, "default", "given"])
def test_weighted_chunked_is_weighted_fit_gmm_from_the_same_start(X, kind, covariance_type, prior, tmp_path):
    if prior == "given":
        scale = np.eye(2) if covariance_type in ("full", "tied") else 1.0
        prior = em.ConjugatePrior(2.0, [1.0, 2.0], 5.0, scale)
    w = some_weights(len(X), seed=1)
    start = em.init_params(X, 3, seed=5, covariance_type=covariance_type)
    options = {"init": start, "covariance_type": covariance_type, "prior": prior, "tol": 1e-9}
    in_memory = em.fit_gmm(X, 3, sample_weight=w, **options)
    with dask.config.set(scheduler="threads"):
        source, weights = as_source(X, kind, tmp_path), weights_as(w, kind, tmp_path)
        chunked = es.fit_gmm_chunked(source, 3, chunk_size=1_234, sample_weight=weights, **options)
    assert in_memory.n_iter > 3
    assert_same_fit(chunked, in_memory)
    if prior is not None:  # "default": the weighted moments of all 20,000 rows, as fit_gmm's
        np.testing.assert_allclose(chunked.log_posteriors, in_memory.log_posteriors, rtol=1e-10)
        np.testing.assert_array_equal(chunked.prior.mean, in_memory.prior.mean)
        np.testing.assert_array_equal(chunked.prior.scale, in_memory.prior.scale)
    # the weights count: the unweighted fit from the same start ends elsewhere
    assert max_relative_difference(chunked.params, em.fit_gmm(X, 3, **options).params) > 1e-3


def test_integer_weights_are_the_rows_repeated(X):
    w = np.random.default_rng(2).integers(0, 4, len(X))
    start = em.init_params(X, 3, seed=6)
    weighted = es.fit_gmm_chunked(X, 3, init=start, sample_weight=w, chunk_size=3_000, tol=1e-9)
    repeated = em.fit_gmm(np.repeat(X, w, axis=0), 3, init=start, tol=1e-9)
    assert_same_fit(weighted, repeated)


@pytest.mark.parametrize("subsample", [None, 1_000])  # all rows seed the start / a draw of 1,000 rows does
def test_weight_zero_is_dropping_the_row_from_the_same_seed(X, subsample, monkeypatch):
    if subsample is not None:
        monkeypatch.setattr(es, "INIT_SUBSAMPLE", subsample)
    w = some_weights(len(X), seed=3)
    kept = w > 0
    for init in ("kmeans++", "random"):
        options = {"init": init, "n_init": 2, "seed": 4, "tol": 1e-9}
        with_zeros = es.fit_gmm_chunked(X, 3, sample_weight=w, chunk_size=2_500, **options)
        dropped = es.fit_gmm_chunked(X[kept], 3, sample_weight=w[kept], chunk_size=2_000, **options)
        assert_same_fit(with_zeros, dropped)


def test_same_seed_gives_weighted_fit_gmms_start_and_fit_when_the_data_fit_the_subsample(X):
    w = some_weights(len(X), seed=4)
    for init in ("kmeans++", "random"):
        assert_same_fit(
            es.fit_gmm_chunked(X, 3, init=init, n_init=2, seed=3, chunk_size=4_000, sample_weight=w),
            em.fit_gmm(X, 3, init=init, n_init=2, seed=3, sample_weight=w),
        )


def test_past_the_subsample_the_start_is_seeded_on_positive_weight_rows_with_their_weights(X, monkeypatch):
    monkeypatch.setattr(es, "INIT_SUBSAMPLE", 1_000)
    w = some_weights(len(X), seed=5)
    fit = es.fit_gmm_chunked(X, 3, max_iter=0, seed=9, sample_weight=w)
    rng = np.random.default_rng(9)
    positive = np.flatnonzero(w > 0)
    rows = positive[np.sort(rng.choice(positive.size, size=1_000, replace=False))]
    expected = em.fit_gmm(X[rows], 3, sample_weight=w[rows], max_iter=0, seed=rng)
    assert max_relative_difference(fit.params, expected.params) == 0.0


@pytest.mark.parametrize("kind", ["numpy", "memmap"])
def test_weighted_processes_give_bit_identical_fits(X, kind, tmp_path):
    source, w = as_source(X, kind, tmp_path), some_weights(len(X), seed=6)
    fits = [es.fit_gmm_chunked(source, 3, seed=2, chunk_size=1_500, sample_weight=w, n_jobs=n) for n in (1, 2)]
    assert max_relative_difference(fits[1].params, fits[0].params) == 0.0
    assert np.array_equal(fits[1].log_likelihoods, fits[0].log_likelihoods)


BAD_WEIGHTS = {
    "negative": np.r_[np.ones(99), -1.0],
    "nan": np.r_[np.ones(99), np.nan],
    "wrong length": np.ones(99),
    "all zero": np.zeros(100),
    "not numbers": ["a"] * 100,
    "fewer than K positive": np.r_[np.ones(2), np.zeros(98)],
}


@pytest.mark.parametrize("bad", BAD_WEIGHTS.values(), ids=BAD_WEIGHTS.keys())
@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_bad_weights_give_fit_gmms_errors(X, bad, kind):
    with pytest.raises((TypeError, ValueError)) as expected:
        em.fit_gmm(X[:100], 3, sample_weight=bad)
    with pytest.raises(type(expected.value)) as err:
        es.fit_gmm_chunked(as_source(X[:100], kind, None), 3, sample_weight=bad)
    assert str(err.value) == str(expected.value)


def weighted_stream(X, w, n_batches):
    """The stream of pairs (X_b, w_b) and the stream of the same batches with row i repeated w_i times."""
    pairs = list(zip(np.split(X, n_batches), np.split(w, n_batches), strict=True))
    return pairs, [np.repeat(rows, weights.astype(int), axis=0) for rows, weights in pairs]


def test_online_constant_weight_is_no_weight(X):
    batches = np.split(X, 40)
    start = em.init_params(X[:500], 3, seed=1)
    plain = es.fit_gmm_online(batches, 3, init=start)
    for c in (0.37, 5.0):
        pairs = [(rows, np.full(len(rows), c)) for rows in batches]
        weighted = es.fit_gmm_online(pairs, 3, init=start, weighted=True)
        assert max_relative_difference(weighted.params, plain.params) < 1e-12
        np.testing.assert_allclose(weighted.log_likelihood_trace, plain.log_likelihood_trace, rtol=1e-12)
        # the seeded start draws its seeds ∝ w_i: c against weights 1, not against no weights
        ones = [(rows, np.ones(len(rows))) for rows in batches]
        seeded = [es.fit_gmm_online(s, 3, seed=2, init_points=2_000, weighted=True) for s in (pairs, ones)]
        assert max_relative_difference(seeded[0].params, seeded[1].params) < 1e-10


@pytest.mark.parametrize("prior", [None, em.ConjugatePrior(5.0, [1.0, 1.0], 6.0, np.eye(2) * 3.0)])
def test_online_integer_weights_step_as_the_stream_with_the_rows_repeated(X, prior):
    """From a given start, with the averaging on from the first batch (average_after counts rows), the
    iterates are the repeated stream's: the same statistics per unit of weight, the same steps, and the
    prior against the total weight, Σ_i w_i = the repeated stream's N."""
    pairs, repeated = weighted_stream(X, np.random.default_rng(7).integers(0, 4, len(X)).astype(float), 40)
    start = em.init_params(X[:500], 3, seed=1)
    options = {"init": start, "average_after": 0, "prior": prior, "n_passes": 2}
    weighted = es.fit_gmm_online(pairs, 3, weighted=True, **options)
    by_rows = es.fit_gmm_online(repeated, 3, **options)
    assert max_relative_difference(weighted.params, by_rows.params) < 1e-10
    assert max_relative_difference(weighted.last_params, by_rows.last_params) < 1e-10
    np.testing.assert_allclose(weighted.log_likelihood_trace, by_rows.log_likelihood_trace, rtol=1e-10)
    assert (weighted.n_samples_seen, by_rows.n_samples_seen) == (2 * len(X), 2 * sum(map(len, repeated)))


def test_online_integer_weights_from_seeded_starts_end_as_near_the_optimum_as_the_repeated_stream(X):
    """From seeded starts the two streams differ before the first step: the start and the averaging begin
    after init_points and average_after *rows*, fewer batches of the repeated stream. Both are one pass of
    a stochastic approximation, so they agree only as well as each approaches the weighted batch
    optimum: over 8 seeds both ended 5e-5 to 8e-5 short of it per unit of weight (relative), so 2e-4
    is the bound; ignoring the weights (they move the optimum here) ends 4e-2 short."""
    w = np.random.default_rng(1).integers(0, 4, len(X)).astype(float)
    w[X[:, 0] > 2] *= 3
    pairs, repeated = weighted_stream(X, w, 40)
    optimum = em.fit_gmm(X, 3, sample_weight=w, seed=0, tol=1e-12, max_iter=1_000)

    def gap(params):
        return (optimum.log_likelihood - em.score_samples(params, X) @ w) / abs(optimum.log_likelihood)

    for seed in range(8):
        weighted = es.fit_gmm_online(pairs, 3, weighted=True, seed=seed, init_points=2_000)
        by_rows = es.fit_gmm_online(repeated, 3, seed=seed, init_points=2_000)
        assert 0 <= gap(weighted.params) < 2e-4 and 0 <= gap(by_rows.params) < 2e-4
    unweighted = es.fit_gmm_online([rows for rows, _ in pairs], 3, seed=0, init_points=2_000)
    assert gap(unweighted.params) > 1e-2


def test_the_weighted_start_is_the_best_of_weighted_batch_fits_and_its_statistics_are_per_unit_of_weight():
    batches = list(batches_of(TRUTH, 8, 300, seed=7))
    weights = [some_weights(300, seed=t) for t in range(8)]
    options = {"n_init": 4, "init_points": 1_000, "average_after": None}
    pairs = list(zip(batches, weights, strict=True))
    fit = es.fit_gmm_online(pairs, 3, seed=7, weighted=True, **options)
    prefix, w = np.concatenate(batches[:4]), np.concatenate(weights[:4])  # whole batches until >= 1,000 rows
    best = em.fit_gmm(prefix, 3, n_init=4, seed=np.random.default_rng(7), sample_weight=w)
    assert max_relative_difference(fit.start, best.params) == 0.0
    assert (fit.n_start_points, fit.n_samples_seen, len(fit.batch_sizes)) == (1_200, 2_400, 4)
    # s after the start: the statistics of w_i γ_ik on the prefix divided by Σ_i w_i
    resp = em.e_step(prefix, best.params)[0]
    s = em.statistics_of(np.ascontiguousarray(prefix.T), resp.T * w, best.params.means).scaled(1 / w.sum())
    after_start = es.fit_gmm_online(pairs[:4], 3, seed=7, weighted=True, **options)
    np.testing.assert_allclose(after_start.statistics.counts, s.counts, rtol=1e-12)
    np.testing.assert_allclose(after_start.statistics.second, s.second, rtol=1e-12)


def test_online_map_on_one_weighted_batch_is_weighted_fit_gmms_first_map_iteration(X):
    w = some_weights(2_000, seed=8)
    start = em.init_params(X[:2_000], 3, seed=9)
    fit = es.fit_gmm_online([(X[:2_000], w)], 3, init=start, prior="default", average_after=None, weighted=True)
    one = em.fit_gmm(X[:2_000], 3, init=start, prior="default", max_iter=1, tol=0, sample_weight=w)
    assert max_relative_difference(fit.params, one.params) < 1e-12
    np.testing.assert_array_equal(fit.prior.mean, one.prior.mean)
    np.testing.assert_array_equal(fit.prior.scale, one.prior.scale)


@pytest.mark.parametrize("bad", list(BAD_WEIGHTS.values())[:-1], ids=list(BAD_WEIGHTS)[:-1])  # 2 of 100 is fine
def test_bad_weights_in_a_batch_stop_the_stream_with_fit_gmms_error(X, bad):
    with pytest.raises((TypeError, ValueError)) as expected:
        em.fit_gmm(X[:100], 3, sample_weight=bad)
    pairs = [(X[:100], np.ones(100)), (X[100:200], np.ones(100)), (X[200:300], bad)]
    with pytest.raises(es.StreamError) as err:
        es.fit_gmm_online(pairs, 3, init_points=100, seed=0, weighted=True)
    assert str(err.value).startswith(f"batch 2: {expected.value} 200 points in 2 batches were consumed before it")
    assert err.value.points_consumed == 200 and err.value.fit.n_samples_seen == 200


def test_weighted_batches_must_be_pairs_and_pairs_need_weighted():
    batches = list(batches_of(TRUTH, 2, 100, seed=1))
    with pytest.raises(es.StreamError, match=r"^batch 0 is a ndarray, not a pair: with weighted=True every batch is"):
        es.fit_gmm_online(batches, 3, weighted=True)
    pairs = [(rows, np.ones(len(rows))) for rows in batches]
    with pytest.raises(es.StreamError, match=r"A pair \(X_b, w_b\) of rows and weights\? Pass weighted=True\."):
        es.fit_gmm_online(pairs, 3)
    with pytest.raises(TypeError, match=r"^weighted must be True \(batches are pairs \(X_b, w_b\)\) or False"):
        es.fit_gmm_online(pairs, 3, weighted=1)

"""em_workers.BlockMap: a map over blocks by forked worker processes, and fit_gmm_chunked(n_jobs=...) on it.

What the map promises: the results in block order for any n_jobs (so the caller's sum is the same bits),
the data inherited at fork and never pickled, a block's exception reaching the caller as itself, BLAS's
one-thread limit inherited by the workers, no worker outliving the ``with`` block, and a clear error where
the platform cannot fork.
"""

import multiprocessing
import os
import pickle
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import em_bayes as eb
import em_helpers as em
import em_scale as es
import em_workers


@pytest.fixture(scope="module")
def X():
    """20,000 points in three clusters along the diagonal (10 chunks of 2,000 rows)."""
    rng = np.random.default_rng(11)
    return rng.normal(size=(20_000, 2)) + 3.0 * rng.integers(0, 3, size=(20_000, 1))


def child_pids():
    """The pids of this process's children (zombies included), read from /proc."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if int(fields[1]) == os.getpid():
            children.add(int(stat.parent.name))
    return children


def where_and_which(params, index):
    """A block's result: the process that computed it, the block and θ as the worker received it."""
    return os.getpid(), index, params


def slowly(seconds, one_block=where_and_which):
    """``one_block`` taking ``seconds`` per block: long enough that every process takes some."""

    def slow_block(params, index):
        time.sleep(seconds)
        return one_block(params, index)

    return slow_block


class Unpicklable:
    """A one_block that cannot be pickled: a map that shipped it to a worker would fail."""

    def __init__(self, data):
        self.data = data

    def __call__(self, params, index):
        return float(self.data[index].sum()) * params

    def __reduce__(self):
        raise TypeError("this one_block must be inherited at fork, never pickled")


def failing_at(bad_blocks, error=None):
    def one_block(params, index):
        if index in bad_blocks:
            raise error if error is not None else em.DataError(f"block {index} is bad", 1_000 * index)
        return index

    return one_block


# --------------------------------------------------------------------------- the map


@pytest.mark.parametrize("n_blocks", [1, 2, 7, 50])
@pytest.mark.parametrize("n_jobs", [1, 2, 3, 8])
def test_results_come_back_in_block_order_whoever_takes_the_blocks(n_blocks, n_jobs):
    with em.BlockMap(slowly(0.002), n_blocks, n_jobs) as block_map:
        workers = {worker.pid for worker in block_map._workers}
        results = block_map(0.5)
    assert [index for _, index, _ in results] == list(range(n_blocks))
    assert all(params == 0.5 for _, _, params in results)
    assert len(workers) == min(n_jobs, n_blocks) - 1
    assert {pid for pid, _, _ in results} <= workers | {os.getpid()}


def test_a_process_the_machine_slows_takes_fewer_blocks():
    """Blocks are taken one at a time: a worker 6 times slower than this process takes fewer of them
    (with fixed halves each process would take 20 of the 40, and the pass would wait for the slow one)."""
    parent = os.getpid()

    def one_block(params, index):
        time.sleep(0.005 if os.getpid() == parent else 0.03)
        return os.getpid()

    with em.BlockMap(one_block, 40, 2) as block_map:
        pids = block_map(None)
    assert pids.count(parent) > 2 * (len(pids) - pids.count(parent)) > 0


def test_the_workers_are_forked_once_per_map_and_serve_every_pass():
    with em.BlockMap(slowly(0.01), 8, 2) as block_map:
        passes = [block_map(params) for params in (1.0, 2.0, 3.0)]
    for results in passes:  # the one worker forked, in every pass
        assert len({pid for pid, _, _ in results} - {os.getpid()}) == 1
    assert len({pid for results in passes for pid, _, _ in results} - {os.getpid()}) == 1
    assert [[params for _, _, params in results] for results in passes] == [[p] * 8 for p in (1.0, 2.0, 3.0)]


def test_the_data_is_inherited_at_fork_never_pickled():
    data = np.arange(40.0).reshape(8, 5)
    one_block = Unpicklable(data)
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(one_block)
    with em.BlockMap(one_block, 8, 2) as block_map:
        assert block_map(2.0) == [one_block(2.0, index) for index in range(8)]


def test_a_map_with_workers_maps_inside_its_with_block_only():
    block_map = em.BlockMap(where_and_which, 4, 2)
    with pytest.raises(RuntimeError, match="inside its `with` block"):
        block_map(1.0)
    assert [index for _, index, _ in em.BlockMap(where_and_which, 4, 1)(1.0)] == [0, 1, 2, 3]  # 1: no workers


def test_the_workers_inherit_the_one_blas_thread_limit():
    def blas_threads(params, index):
        return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")

    unlimited = blas_threads(None, 0)
    with em.BlockMap(blas_threads, 4, 2) as block_map:  # the control: without the limit, the parent's count
        assert block_map(None) == [unlimited] * 4
    with em.one_blas_thread(), em.BlockMap(blas_threads, 4, 2) as block_map:
        assert block_map(None) == [1] * 4
    if unlimited == 1:
        pytest.skip("BLAS runs one thread here without a limit: the check above could not fail")


# --------------------------------------------------------------------------- errors


def test_a_stream_error_pickles_with_the_fit_so_far(X):
    source = ChunkGoesBad(X, bad_read=3, bad_row=15_000)  # read once per pass: bad in pass 2
    with pytest.raises(em.StreamError) as caught:
        es.fit_gmm_chunked(source, 3, chunk_size=2_000, init=em.init_params(X, 3, seed=1), tol=0)
    error = pickle.loads(pickle.dumps(caught.value))  # a fit run in a process pool raises it across processes
    assert type(error) is em.StreamError and str(error) == str(caught.value)
    assert error.points_consumed == caught.value.points_consumed == 14_000
    assert error.fit.n_iter == 1 and np.array_equal(error.fit.params.means, caught.value.fit.params.means)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
@pytest.mark.parametrize("bad_blocks", [{0}, {5}, {8}, {5, 8}, {2, 8}])
def test_a_block_error_reaches_the_caller_as_the_plain_loop_raises_it(n_jobs, bad_blocks):
    one_block = failing_at(bad_blocks)
    with pytest.raises(em.DataError) as expected:
        [one_block(None, index) for index in range(9)]
    with em.BlockMap(one_block, 9, n_jobs) as block_map, pytest.raises(em.DataError) as caught:
        block_map(None)
    assert str(caught.value) == str(expected.value) and caught.value.first_row == expected.value.first_row


def test_a_worker_error_carries_its_traceback_and_leaves_the_map_usable():
    parent = os.getpid()

    def one_block(params, index):
        time.sleep(0.01)  # so that the worker takes blocks too
        if params == ("bad in a worker" if os.getpid() != parent else "bad here"):
            raise em.DataError(f"block {index} is bad in {params}", 1_000 * index)
        return params, index

    with em.BlockMap(one_block, 8, 2) as block_map:
        with pytest.raises(em.DataError, match="is bad in bad in a worker") as caught:
            block_map("bad in a worker")
        assert any("raised in worker process" in note and "one_block" in note for note in caught.value.__notes__)
        with pytest.raises(em.DataError, match="is bad in bad here"):
            block_map("bad here")
        # every answer of the failed passes was read: this pass reads its own
        assert block_map("good") == [("good", index) for index in range(8)]


def test_an_exception_that_cannot_be_pickled_arrives_as_a_runtime_error_naming_it():
    class LocalError(Exception):  # a local class: pickle cannot find it by name
        pass

    parent = os.getpid()

    def one_block(params, index):
        time.sleep(0.01)  # so that the worker takes blocks too
        if os.getpid() != parent:
            raise LocalError("no pickle")
        return index

    with em.BlockMap(one_block, 8, 2) as block_map:
        with pytest.raises(RuntimeError, match=r"LocalError: no pickle \(in a worker process; it cannot be pickled\)"):
            block_map(None)


def test_a_worker_that_dies_is_an_error_not_a_hang():
    def one_block(params, index):
        time.sleep(0.01)  # so that the worker takes a block
        if os.getpid() != params:
            os._exit(7)
        return index

    with em.BlockMap(one_block, 8, 2) as block_map, pytest.raises(RuntimeError, match=r"exit code 7"):
        block_map(os.getpid())
    with em.BlockMap(where_and_which, 4, 2) as block_map:  # a worker killed between passes
        block_map(None)
        (worker,) = [process.pid for process in block_map._workers]
        os.kill(worker, signal.SIGKILL)
        for _ in range(500):  # until it has ended (a zombie: no one has reaped it), at most 5 s
            if Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        with pytest.raises(RuntimeError, match=rf"worker process {worker} ended without answering \(exit code -9\)"):
            block_map(None)


class ChunkGoesBad:
    """X's rows, with row ``bad_row`` NaN from the ``bad_read``-th read of its chunk on (a file another
    process overwrites while the fit runs). Counted in memory shared by every process (made before the
    fit forks): the chunk is read once per pass whichever process takes it, so it goes bad in the same
    pass for any n_jobs."""

    def __init__(self, X, bad_read, bad_row):
        self.X, self.shape, self.bad_read, self.bad_row = X, X.shape, bad_read, bad_row
        self.reads = multiprocessing.get_context("fork").Value("i", 0)

    def __getitem__(self, rows):
        chunk = self.X[rows].copy()
        if rows.start <= self.bad_row < rows.stop:
            with self.reads.get_lock():
                self.reads.value += 1
                reads = self.reads.value
            if reads >= self.bad_read:
                chunk[self.bad_row - rows.start] = np.nan
        return chunk


def test_the_driver_keeps_the_fit_so_far_as_with_one_process(X):
    start, errors = em.init_params(X, 3, seed=1), []
    for n_jobs in (1, 2, 3):  # row 15,000: chunk 7 of 10
        with pytest.raises(em.StreamError) as caught:
            es.fit_gmm_chunked(ChunkGoesBad(X, 4, 15_000), 3, chunk_size=2_000, n_jobs=n_jobs, init=start, tol=0)
        errors.append(caught.value)
    assert "In pass 3 (0 = the first)" in str(errors[0]) and errors[0].fit.n_iter == 2
    for error in errors[1:]:
        assert str(error) == str(errors[0]) and error.points_consumed == errors[0].points_consumed == 14_000
        for name in ("weights", "means", "covariances"):
            assert np.array_equal(getattr(error.fit.params, name), getattr(errors[0].fit.params, name))
        assert np.array_equal(error.fit.log_likelihoods, errors[0].fit.log_likelihoods)


# --------------------------------------------------------------------------- the workers' lifetime


def test_no_worker_outlives_a_fit_or_a_fit_that_raised(X):
    before = child_pids()

    def one_block(params, index):
        return index

    with em.BlockMap(one_block, 4, 3) as block_map:
        block_map(None)
        during = child_pids() - before
    assert len(during) == 2  # the check can see workers: two were alive inside the map
    assert child_pids() - before == set()
    es.fit_gmm_chunked(X, 3, chunk_size=2_000, n_jobs=3, seed=0, max_iter=3, tol=0)
    assert child_pids() - before == set()
    bad = X.copy()
    bad[15_000] = np.nan
    with pytest.raises(em.StreamError):
        es.fit_gmm_chunked(bad, 3, chunk_size=2_000, n_jobs=3, seed=0)
    assert child_pids() - before == set()
    with pytest.raises(KeyboardInterrupt), em.BlockMap(one_block, 4, 2) as block_map:  # any exception in the with
        block_map(None)
        raise KeyboardInterrupt
    assert child_pids() - before == set()
    assert multiprocessing.active_children() == []


# --------------------------------------------------------------------------- where fork is missing


@pytest.mark.parametrize(
    "platform, methods", [("linux", ["spawn"]), ("darwin", ["fork", "spawn"]), ("win32", ["spawn"])]
)
def test_off_linux_or_without_fork_more_than_one_job_says_so_and_names_n_jobs_1(X, monkeypatch, platform, methods):
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: methods)
    monkeypatch.setattr(em_workers.sys, "platform", platform)
    message = r"^n_jobs=2 forks worker processes .* on Linux only .*: use n_jobs=1\.$"
    with pytest.raises(ValueError, match=message):
        em.BlockMap(where_and_which, 4, 2)
    with pytest.raises(ValueError, match=message):
        es.fit_gmm_chunked(X, 3, n_jobs=2)
    assert em.BlockMap(where_and_which, 4, 1)(0.0)[3][1] == 3
    assert es.fit_gmm_chunked(X, 3, n_jobs=1, seed=0, max_iter=2, tol=0).n_iter == 2


def test_em_workers_is_a_room_below_the_core():
    assert em.BlockMap is em_workers.BlockMap
    assert "em_workers" in {module.__name__ for module in es._project_modules()}  # shipped to dask workers too


def test_a_data_source_maps_a_new_block_function_with_new_workers():
    # The workers hold the block function and the number of blocks they were forked with: a second
    # map with another function (em_select's stacked E-step closes over each iteration's π) or
    # another number of blocks must run that one, not the first (it returned the first's 3 results).
    source = em.DataSource.rows(np.zeros((40, 2)), chunk_size=10, start_size=40, n_jobs=2)
    with source:
        first = list(source.map_blocks(lambda task, index: ("f", task, index), 7, 3))
        second = list(source.map_blocks(lambda task, index: ("g", task, index), 8, 5))
        again = list(source.map_blocks(lambda task, index: ("g", task, index), 9, 5))
    assert first == [("f", 7, i) for i in range(3)]
    assert second == [("g", 8, i) for i in range(5)]
    assert again == [("g", 9, i) for i in range(5)]


# --------------------------------------------------------------------------- in memory: fit_gmm, fit_bayesian_gmm

IN_MEMORY = {
    "complete": lambda X, **kw: em.fit_gmm(X, 3, **kw),
    "weighted": lambda X, **kw: em.fit_gmm(X, 3, sample_weight=np.linspace(0.5, 2.0, len(X)), **kw),
    "missing": lambda X, **kw: em.fit_gmm(with_holes(X), 3, allow_missing=True, **kw),
    "bayes": lambda X, **kw: eb.fit_bayesian_gmm(X, 3, **kw),
}


def with_holes(X):
    X = X.copy()
    X[np.random.default_rng(5).random(X.shape) < 0.1] = np.nan
    return X


def final_objective(fit):
    return fit.elbos[-1] if hasattr(fit, "elbos") else fit.log_likelihoods[-1]


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("fit", IN_MEMORY.values(), ids=IN_MEMORY.keys())
def test_an_in_memory_fit_gives_the_same_bits_for_n_jobs_2_and_3_and_n_jobs_1s_to_rounding(
    X, monkeypatch, fit, covariance_type
):
    monkeypatch.setattr(em, "MEMORY_BLOCK", 1_500)  # 14 blocks of the 20,000 rows: every process takes some
    one, two, three = (fit(X, covariance_type=covariance_type, seed=0, max_iter=25, tol=0, n_jobs=j) for j in (1, 2, 3))
    assert final_objective(two) == final_objective(three)
    np.testing.assert_array_equal(two.responsibilities, three.responsibilities)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(two.params, name), getattr(three.params, name))
        # n_jobs = 1 sums its statistics about the γ-weighted means in one block: other rounding. Measured
        # here: θ within 6.2e-15 of max|θ|, L within 7.1e-16 relative, γ within 1.0e-14 (about 100x below the
        # bounds); tests/pool_spread.py: within 3.7e-14 and 1.6e-15 over 8 seeds and the 4 models.
        expected = getattr(one.params, name)
        np.testing.assert_allclose(getattr(two.params, name), expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert final_objective(two) == pytest.approx(final_objective(one), rel=1e-13, abs=0)
    np.testing.assert_allclose(two.responsibilities, one.responsibilities, rtol=0, atol=1e-12)


def test_an_in_memory_fit_holds_blas_to_one_thread_in_its_workers_and_leaves_none_behind(X, monkeypatch):
    monkeypatch.setattr(em, "MEMORY_BLOCK", 2_000)
    unlimited = max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
    seen = multiprocessing.Array("q", 2 * 10)  # (pid, BLAS threads) per block, shared with the forked workers
    original = em.DataSource.memory_block

    def watched(self, task, index):
        blas = max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
        seen[2 * index], seen[2 * index + 1] = os.getpid(), blas
        return original(self, task, index)

    monkeypatch.setattr(em.DataSource, "memory_block", watched)
    before = child_pids()
    for fit in IN_MEMORY.values():
        if fit is IN_MEMORY["missing"]:
            continue  # its blocks are the patterns: below
        fit(X, seed=0, max_iter=3, tol=0, n_jobs=2)
        assert child_pids() - before == set()
        assert {seen[2 * i + 1] for i in range(10)} == {1}
        assert len({seen[2 * i] for i in range(10)} - {os.getpid()}) == 1  # a worker took blocks
        seen[:] = [0] * 20
    IN_MEMORY["missing"](X, seed=0, max_iter=3, tol=0, n_jobs=2)
    assert child_pids() - before == set()
    assert multiprocessing.active_children() == []
    # and BLAS has its threads back after each fit (the control: the limit was visible)
    assert max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas") == unlimited
    if unlimited == 1:
        pytest.skip("BLAS runs one thread here without a limit: the checks of the limit could not fail")


@pytest.mark.parametrize("fit", [em.fit_gmm, eb.fit_bayesian_gmm], ids=["fit_gmm", "fit_bayesian_gmm"])
@pytest.mark.parametrize("n_jobs", [0, 1.5, True])
def test_n_jobs_in_memory_is_checked_as_the_chunked_fits(X, fit, n_jobs):
    with pytest.raises((TypeError, ValueError), match=rf"^n_jobs must be an integer( >= 1)?; got {n_jobs!r}\.$"):
        fit(X, 3, n_jobs=n_jobs)

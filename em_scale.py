"""EM at scale: exact EM over row chunks (a file, a dask array) and stepwise EM over a stream.

Both are feeds of the sufficient statistics of ``em_helpers`` (N_k = Σ_i γ_ik and the
first and second moments Σ_i γ_ik (x_i - c_k), Σ_i γ_ik (x_i - c_k)(x_i - c_k)ᵀ about a
shift c_k): the M-step needs the data only through them, and they add across chunks.

* ``fit_gmm_chunked``: one pass over the rows per EM iteration, chunk by chunk: E-step on the
  chunk, its statistics about the current means, summed with ``+``; then one M-step. Exact
  batch EM: from the same start it gives ``em_helpers.fit_gmm``'s iterates to rounding, but for
  a component that holds nothing (every γ_ik = 0, as under π_k = 0): fit_gmm on complete data at
  n_jobs = 1 puts its mean at 0, this fit leaves it where it was (its statistics are about θ's
  means; tests/test_contract.py).
  A dask array is mapped block by block on whatever dask scheduler is active, and the block
  statistics are gathered and summed here; an array or a memory map can have its chunks
  mapped over ``n_jobs`` processes, summed in chunk order (bit-identical for any n_jobs). With
  ``prior=``, MAP-EM: fit_gmm's MAP M-step on the summed statistics. With ``sample_weight``,
  each chunk's statistics are those of w_i γ_ik: fit_gmm's weighted iterates. The rows, their
  weights, the start's subsample and the chunk map (with its worker processes) are em_helpers'
  ``DataSource.rows``; the loop is em_helpers' ``SourceFit``, fit_gmm's.
* ``fit_gmm_online``: stepwise EM (Cappé and Moulines 2009; Liang and Klein 2009). Each
  batch's statistics are blended into running statistics, s ← (1 - η_t) s + η_t s(batch_t),
  and the parameters follow from s after every batch. Memory does not grow with the stream.
  It starts from the best of several batch fits on the stream's first points, averages the
  iterates (Polyak-Ruppert), takes any κ in (0, 1] or a constant step, several passes over a
  re-readable source, a prior, and batches of weighted points (X_b, w_b), its statistics then
  per unit of weight.

Importing this module loads no matplotlib and no dask; dask is imported only when a dask
array is passed.
"""

from __future__ import annotations

import dataclasses
import numbers
import sys
import types
import warnings
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import em_helpers as em

__all__ = ["INIT_SUBSAMPLE", "OnlineFit", "StreamError", "fit_gmm_chunked", "fit_gmm_online"]

# The k-means++ start of fit_gmm_chunked runs on at most this many points, drawn uniformly
# without replacement. A component of weight π_k then has about π_k·100,000 points in it
# (100 even at π_k = 0.001), so the start's means lie within about σ_k/√(π_k·100,000) of
# the same start computed on every point (1% of σ_k at π_k = 0.1); that is far below the
# bias of a hard-assignment start, which EM removes in its first iterations anyway.
# The start then costs K·100,000·D operations, ~10 ms (measured), whatever N is. Notebook
# 03 measures it on its mixture: the subsample's error in the start means is under 6% of
# the distance EM's first iteration moves them.
INIT_SUBSAMPLE = 100_000
# Rows per chunk when the caller does not say: γ (K, chunk), Xᵀ (D, chunk) and the E-step's
# temporaries then stay in cache. A pass over 2,000,000 points (D = 2, K = 3) took 0.07 s in
# chunks of 20,000 against 0.14 s in chunks of 100,000 (0.10 s and 0.18 s in a dask worker),
# measured; the per-chunk Python overhead (~0.1 ms) stays a few percent.
_DEFAULT_CHUNK = 20_000
# Modules each distributed.Client has been sent (by client id), so the workers import the
# same em_helpers and em_scale as this process without the user copying files.
_SHIPPED_TO = set()


# The error a bad chunk or batch raises, carrying the fit so far: em_driver raises it (it owns the
# wrapping of errors), so it is defined there (em_helpers re-exports it) and named here too.
StreamError = em.StreamError


@dataclasses.dataclass(frozen=True, eq=False)
class OnlineFit:
    """What ``fit_gmm_online`` returns.

    Attributes
    ----------
    params : GMMParams
        The answer: θ̄(s̄), the M-step of the Polyak-Ruppert average s̄ of the running statistics
        when averaging ran (``n_averaged`` > 0), else θ̄(s_T) of the last ones.
    statistics : SufficientStatistics
        The per-point (per unit of weight) statistics ``params`` come from (s̄, or s_T).
    last_params : GMMParams
        θ̄(s_T), the last iterate, averaged or not: what follows a drifting stream.
    start : GMMParams
        θ_0: the best batch fit on the first ``n_start_points`` points, or the ``init`` given.
    n_start_points : int
        Points read to make the start (0 for a GMMParams ``init``).
    n_samples_seen : int
        Points read, over every pass, the start's included.
    log_likelihood_trace : ndarray of shape (n_batches,)
        Mean log p(x_i | θ) over batch t's points (per unit of weight with weights) under the
        parameters *before* batch t updated them: each batch scored as held-out data. The
        start's batches are not in it.
    batch_sizes : ndarray of shape (n_batches,)
        Points in each of those batches.
    step_exponent : float or None
        κ in η_t = (t + 2)^(-κ); None with a constant step.
    step_size : float or None
        The constant η; None with a decreasing step.
    n_averaged : int
        Iterates s_t in the average s̄ (0: no averaging).
    n_passes : int
        Passes over the batches completed.
    prior : ConjugatePrior or None
        The prior the M-steps used ("default" resolved on the start's points), or None.
    """

    params: em.GMMParams
    statistics: em.SufficientStatistics
    last_params: em.GMMParams
    start: em.GMMParams
    n_start_points: int
    n_samples_seen: int
    log_likelihood_trace: np.ndarray
    batch_sizes: np.ndarray
    step_exponent: float | None
    step_size: float | None
    n_averaged: int
    n_passes: int
    prior: em.ConjugatePrior | None = None

    @property
    def points_before_batch(self):
        """Points read before each batch of the trace (the start's included), shape (n_batches,):
        where its held-out score sits on an axis of points seen."""
        return self.n_start_points + np.cumsum(self.batch_sizes) - self.batch_sizes


# --------------------------------------------------------------------------- chunks


def _dask_pass(X, params, chunk_size, weights=None):
    """The E-pass of a dask array: ``_dask_block_pass`` mapped over its row blocks on the active dask
    scheduler, the block passes summed here, in block order. The parameters are one key, shipped once
    per worker; ``weights``, the source's w_i as a persisted dask array chunked like X's rows, or None."""
    import dask

    # The block results are a few hundred bytes each: gathering them and adding them here, in
    # block order, took 0.12 s per pass against 0.22 s for a tree of sums on the workers (8 tiny
    # blocks, 2 worker processes, a loaded machine), and the sum is the same on every run.
    return em.combine_passes(dask.compute(*_dask_tasks(X, params, chunk_size, weights)))


def _dask_tasks(X, params, chunk_size, weights=None):
    """The tasks of one pass, one per row block: this process's part of a pass's fixed cost (about
    1 ms for 8 blocks, of the 30-45 ms a pass over 8 tiny blocks took on a 2-worker LocalCluster
    of a loaded 2-core machine; the rest is the scheduler's round trip, 11 ms there for one
    trivial task; measured, and shown by `make bench`)."""
    import dask
    from dask.base import tokenize

    _ship_modules_to_workers()
    name = "gmm-params-" + tokenize(params.weights, params.means, params.covariances, params.covariance_type)
    theta = dask.delayed(params, name=name, traverse=False)
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    blocks = X.to_delayed().ravel()
    weights = [None] * len(blocks) if weights is None else weights.to_delayed().ravel()
    return [
        dask.delayed(_dask_block_pass, pure=True)(block, theta, chunk_size, int(offset), index, w)
        for index, (block, offset, w) in enumerate(zip(blocks, offsets, weights, strict=True))
    ]


def _dask_block_pass(rows, params, chunk_size, first_row, block, weights):
    """One dask block's E-pass, in its worker: the block as a part of the fit's DataSource (its
    weights checked when that source was made), its chunks mapped one after the other."""
    return em.DataSource.part(rows, weights, chunk_size, first_row, block).e_pass(params)


def _project_modules():
    """The modules a worker needs to run this one's code: em_scale and every module it imports,
    directly or not, from the folder it lives in (em_helpers and what em_helpers imports),
    found by following the module objects and the defining modules of the functions and
    classes in each one's namespace. Derived, so a new room of the core is shipped too."""
    folder = Path(__file__).resolve().parent
    found, todo = {}, [sys.modules[__name__]]
    while todo:
        module = todo.pop()
        path = getattr(module, "__file__", None)
        if path is None or Path(path).resolve().parent != folder or module.__name__ in found:
            continue
        found[module.__name__] = module
        for value in vars(module).values():
            if isinstance(value, types.ModuleType):
                todo.append(value)
            elif getattr(value, "__module__", None) in sys.modules:
                todo.append(sys.modules[value.__module__])
    return [found[name] for name in sorted(found)]


def _ship_modules_to_workers():
    """If a distributed.Client is active, give its workers the project's modules (see
    ``_project_modules``), once: a worker plugin writes them into each worker's directory (on
    its sys.path), now and on every worker that joins later, so workers on a real cluster import
    the same code as this process with nothing copied by hand. Not imported on arrival
    (load=False) and never sent to the scheduler, whose process, in a LocalCluster, is this one:
    re-importing here would make a second GMMParams class."""
    try:
        from distributed import default_client
        from distributed.diagnostics.plugin import UploadFile

        client = default_client()
    except (ImportError, ValueError):  # no distributed, or no client: threads or processes locally
        return
    if client.id in _SHIPPED_TO:
        return
    for module in _project_modules():
        path = Path(module.__file__).resolve()
        client.register_plugin(UploadFile(str(path), load=False), name=f"em-tutorial-{path.name}")
    _SHIPPED_TO.add(client.id)


def _is_dask_array(X):
    return type(X).__module__.startswith("dask.array")


# --------------------------------------------------------------------------- exact EM over chunks


def fit_gmm_chunked(
    X, n_components, *, chunk_size=None, init="kmeans++", n_init=1, max_iter=200, tol=1e-6, reg_covar=1e-6,
    covariance_type="full", seed=None, prior=None, n_jobs=1, sample_weight=None,
):  # fmt: skip
    """Exact batch EM over row chunks of data that need not fit in memory.

    Each iteration reads every row once, ``chunk_size`` rows at a time: E-step on the chunk,
    its sufficient statistics about the current means, summed; then one M-step from the sums.
    From the same ``GMMParams`` start: ``fit_gmm``'s iterates, log-likelihoods, ``n_iter`` and
    ``converged``, to rounding (a component that holds nothing keeps its mean here, where
    fit_gmm puts it at 0: see the module docstring). Memory beyond the data: O(chunk_size·K +
    K·D²), whatever N.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), anything that slices by rows and has .shape
        A NumPy array, an ``np.memmap`` or ``np.load(..., mmap_mode="r")`` file, an h5py or
        zarr dataset, or a dask array. A dask array's row blocks are mapped on whatever dask
        scheduler is active (threads, processes, a ``distributed.Client`` on a cluster, whose
        workers are sent the project's modules once) and their statistics summed.
    n_components : int
    chunk_size : int or None
        Rows per E-step (within each dask block, for a dask array); None means 20,000.
    init : {"kmeans++", "random"} or GMMParams
        A GMMParams is used as given. Otherwise seeds as ``em_helpers.init_params`` on a uniform
        random subsample of ``INIT_SUBSAMPLE`` = 100,000 rows (all rows if fewer: then the same
        seed gives ``fit_gmm``'s start). A component of weight π_k has ~π_k·10⁵ points there, so
        its start mean is within ~σ_k/√(π_k·10⁵) of the all-rows start; the cost is ~10 ms.
    n_init, max_iter, tol, reg_covar, covariance_type, seed : as in ``em_helpers.fit_gmm``
        (a fit that reaches ``max_iter`` with tol > 0 issues ``em_helpers.ConvergenceWarning``;
        max_iter=0 returns the start, evaluated).
    prior : None, "default" or ConjugatePrior
        MAP-EM, as ``fit_gmm(..., prior=...)``: the MAP M-step reads the same summed statistics,
        so from the same start the iterates and ``log_posteriors`` are fit_gmm's, to rounding.
        "default" is made from the rows of the start's subsample (all rows when there are at most
        ``INIT_SUBSAMPLE``: then it is fit_gmm's "default"; else 100,000 rows drawn with a fixed seed).
    n_jobs : int, default 1
        Processes that map the chunks of each pass (a NumPy array or a memory map; a dask array's blocks run
        wherever its scheduler puts them): this one and n_jobs - 1 workers forked from it once per fit (no more
        than the chunks)
        (em_helpers' ``DataSource.map_blocks`` with em_workers' ``BlockMap``, whose docstring says why fork and what
        Python 3.12's fork warning means here), each taking the next chunk not yet taken; the workers share X
        with this process (nothing is copied), receive only θ per pass and end with the fit. The chunks and the
        order of their sum do not depend on n_jobs, so the fit is bit for bit the same for any n_jobs.
        Processes, not threads, for idle cores: on 2 idle cores (``python tests/bench.py threads``, 20
        iterations, three runs) 2 processes gave 1.71 to 1.86x one process's throughput at N = 1,000,000, D = 2,
        K = 3 and at 200,000, 8, 6, where the thread pool they replaced gave 1.18x and 1.34x; on a busy machine
        threads did better and 2 processes can be slower than one (em_workers' docstring has the numbers). 1 by
        default: forking and ending a worker costs 5-20 ms per fit (tests/workers_fork_cost.py, the bench), and
        on a machine shared with other work, or inside a dask worker or a process pool, more processes than free
        cores slow every one of them down; pass ``len(os.sched_getaffinity(0))``, the cores this process may
        use, on a machine of your own (``os.cpu_count()`` counts the host's, more than a container's share).
        Linux only (elsewhere n_jobs > 1 raises; em_workers says why). Tested on NumPy arrays and memory maps;
        an h5py dataset's open file is inherited by the workers, which HDF5 does not promise to support: use
        n_jobs=1 or a memory map there.
    sample_weight : array-like of shape (n_samples,), optional
        w_i >= 0, as in ``fit_gmm`` (checked by the same function, with the same errors): each
        chunk's statistics are those of w_i γ_ik, L = Σ_i w_i log p(x_i | θ), ``tol`` is per unit
        of weight, and from the same start the iterates are ``fit_gmm(X, sample_weight=w)``'s.
        A NumPy array, a memory map, or (for any X) a dask array: it is read into memory once and
        checked there (8 bytes per row, 1/D of X's float64 size), then sliced per chunk; for a dask
        X the checked weights become a dask array chunked like X's rows, persisted once, so a
        cluster's workers are sent them once per fit, not with every pass. The start is seeded on
        the subsample with its rows' weights (seeds drawn ∝ w_i, the one M-step weighted): with at
        most INIT_SUBSAMPLE rows that is fit_gmm's weighted start for the same seed; past it the
        rows are drawn uniformly among those with w_i > 0 (so the start of X with weight-0 rows is
        the start of X without them, seed for seed).

    Returns
    -------
    GMMFit
        As fit_gmm's, with ``responsibilities`` None (it would be an (N, K) array).

    Raises
    ------
    StreamError
        A chunk (or a row read for the start) with NaN, inf or the wrong shape; ``err.fit``
        holds the fit so far.
    ValueError, TypeError
        Bad ``sample_weight`` (negative, NaN or inf, all 0, not one per row, not numbers; fewer
        than K positive): fit_gmm's errors.
    """
    n_samples, n_features = em.check_rows(X)
    chunk_size = _DEFAULT_CHUNK if chunk_size is None else chunk_size
    em.check_int(chunk_size, "chunk_size", 1)
    em.check_int(n_jobs, "n_jobs", 1)
    settings = em.fit_settings(
        n_samples, n_components, n_init=n_init, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
        covariance_type=covariance_type,
    )  # fmt: skip
    if _is_dask_array(X) and X.numblocks[1] != 1:
        X = X.rechunk({1: -1})  # each task needs whole rows
    source = em.DataSource.rows(
        X, sample_weight, n_components, chunk_size=chunk_size, start_size=INIT_SUBSAMPLE, n_jobs=n_jobs
    )
    init = em.check_init(init, ("methods", "params"), n_samples, n_features, settings)
    prior = source.resolve_prior(prior, n_components, covariance_type)
    e_pass = None  # the source's block map; a dask array's blocks are mapped by dask
    if _is_dask_array(X):
        if n_jobs > 1:
            raise ValueError(
                f"n_jobs={n_jobs} maps the chunks of an array over processes forked from this one; a dask "
                "array's blocks run on its scheduler: give that scheduler the threads or workers "
                "(dask.config.set(num_workers=...), a distributed.Client), and leave n_jobs=1."
            )
        weights = None  # the source's w_i as a dask array chunked like X's rows, persisted once: on a
        if source.weights is not None:  # cluster they live as long as this reference (this fit)
            import dask.array as da

            weights = da.from_array(source.weights, chunks=(X.chunks[0],)).persist()

        def e_pass(params, spent):
            return _dask_pass(X, params, chunk_size, weights)

    # BLAS on one thread for the whole fit, whatever n_jobs: the source of rows holds it while the fit
    # has it open (run_fit), the workers, forked inside, inherit it.
    variant = em.SourceFit("fit_gmm_chunked", source, settings, prior, e_pass)
    return em.run_fit(variant, settings, init, seed, source.n_points)


# --------------------------------------------------------------------------- stepwise (online) EM

# The defaults of fit_gmm_online's start and averaging, measured by tests/online_spread.py (40 runs,
# 20 starts x 2 stream orders, one pass over 1,000,000 points in batches of 1,000). With one k-means++
# start on the first batch, 4 of 40 runs on notebook 01's mixture ended 1e-3 to 5e-2 short of batch
# EM's optimum per point (a component straddling two clusters: a saddle one pass cannot leave), and
# on the bench's harder mixture 24 of 40 did. The best of 5 batch fits on the first 10,000 points
# ended all 80 within 1e-4; the best of 3 left one run 3e-3 short on the harder mixture.
_ONLINE_N_INIT = 5
_ONLINE_INIT_POINTS = 10_000
_DEFAULT_STEP_EXPONENT = 0.6


def _check_online_arguments(init, n_init, init_points, step_exponent, step_size, average_after, n_passes, prior):
    """fit_gmm_online's settings (those that need no data), each with an error that names the fix."""
    if not (isinstance(init, em.GMMParams) or (isinstance(init, str) and init in em.START_METHODS)):
        raise em.init_error(("methods", "params"), init)
    for name, value, low in (("n_init", n_init, 1), ("init_points", init_points, 1), ("n_passes", n_passes, 1)):
        em.check_int(value, name, low)
    if average_after is not None:
        em.check_int(average_after, "average_after", 0)
    if step_exponent is not None and step_size is not None:
        raise ValueError(
            "give step_exponent (a decreasing step η_t = (t + 2)^(-κ)) or step_size (a constant η), not both."
        )
    for name, value, what in (
        ("step_exponent", step_exponent, "κ in η_t = (t + 2)^(-κ)"),
        ("step_size", step_size, "the constant step η"),
    ):
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value <= 1):
            raise ValueError(
                f"{name}, {what}, must be a number in (0, 1]; got {value!r}. "
                + ("0.6 is the default." if name == "step_exponent" else "About B/η points are remembered.")
            )
    if not (prior is None or isinstance(prior, em.ConjugatePrior) or (isinstance(prior, str) and prior == "default")):
        raise TypeError(f'prior must be None, "default" or a ConjugatePrior; got {type(prior).__name__}.')


def _reread_check(batches, n_passes):
    if n_passes > 1 and isinstance(batches, Iterator):  # has __next__: iter() would give itself back
        raise ValueError(
            f"n_passes={n_passes} needs batches that can be read again, but {type(batches).__name__} is a "
            "one-shot iterator (a generator, iter(...), map, a file being read): a second pass would find "
            "it empty. Pass a list or tuple of batches, or an object whose __iter__ starts a new pass "
            "(re-opening the file), or use n_passes=1."
        )


@dataclasses.dataclass
class _Stepwise:
    """The running state of stepwise EM; a StreamError's ``fit`` is made from it as it stands."""

    n_components: int
    covariance_type: str
    reg_covar: float
    step_exponent: float | None
    step_size: float | None
    average_after: int | None
    prior: object = None  # None, "default" until the first data resolve it, or a ConjugatePrior
    params: em.GMMParams | None = None
    start: em.GMMParams | None = None
    stats: em.SufficientStatistics | None = None
    average: em.SufficientStatistics | None = None  # Σ s_t over the averaged iterates
    n_averaged: int = 0
    n_steps: int = 0  # batches folded into s (the start's batches count)
    n_start_points: int = 0
    first_pass_weight: float = 0.0  # N of the first pass so far, its batches' n_points added (Σ_i w_i, or
    # the points without weights; read from each DataSource, not summed here): what the prior weighs against
    n_seen: int = 0
    n_passes: int = 0
    trace: array = dataclasses.field(default_factory=lambda: array("d"))  # 16 bytes per batch, nothing
    sizes: array = dataclasses.field(default_factory=lambda: array("q"))  # else grows with the stream

    def resolve_prior(self, source):
        """The prior made from, or checked against, the points of ``source`` (a DataSource)."""
        self.prior = source.resolve_prior(self.prior, self.n_components, self.covariance_type)

    def m_step(self, stats):
        """θ̄(s). With a prior, the statistics per point (per unit of weight) are scaled back to N points
        first (N: the points of the first pass so far, or their total weight Σ_i w_i), so the prior's
        pseudo-observations weigh against N, as in fit_gmm."""
        if self.prior is not None:
            stats = stats.scaled(self.first_pass_weight)
        return em.m_step_with_prior(stats, self.prior, self.reg_covar, self.covariance_type)

    def start_on_prefix(self, prefix, method, n_init, rng):
        """θ_0: the best of n_init batch fits on the prefix, a list of batches (DataSource) making M
        points (weighted fits with weights); its statistics per point (per unit of weight) become s,
        counting as the len(prefix) batches they hold."""
        em.check_n_components(self.n_components, sum(batch.n_samples for batch in prefix))
        source = em.DataSource.concatenate(prefix, self.n_components)  # the batches' checked w, joined
        self.resolve_prior(source)
        settings = em.fit_settings(  # fit_gmm's max_iter and tol
            source.n_samples, self.n_components, n_init=n_init, max_iter=200, tol=1e-6, reg_covar=self.reg_covar,
            covariance_type=self.covariance_type,
        )  # fmt: skip
        with warnings.catch_warnings():  # a start need not have converged: the stream refines it
            warnings.simplefilter("ignore", em.ConvergenceWarning)
            variant, init = em.SourceFit.fit_gmm_on(source, settings, method, self.prior)
            fit = em.run_fit(variant, settings, init, rng, source.n_points)
        _, self.stats = source.per_point(source.e_pass(fit.params, shift=fit.params.means))
        self.start, self.n_steps = fit.params, len(prefix)
        self.n_start_points = self.n_seen = source.n_samples
        self.first_pass_weight = source.n_points
        self.params = self.m_step(self.stats)

    def step(self, batch, first_pass):
        """One batch (a DataSource): its E-step under θ, s ← (1 - η) s + η s(batch), θ ← θ̄(s); then the
        average. s(batch) is per point, or with weights w per unit of weight: Σ_i w_i γ_ik ... / Σ_i w_i."""
        batch_size, batch_weight = batch.n_samples, batch.n_points
        log_likelihood, batch_stats = batch.per_point(batch.e_pass(self.params, shift=self.params.means))
        self.trace.append(log_likelihood)
        self.sizes.append(batch_size)
        if self.stats is None:  # the first batch starts s (η = 1)
            self.stats = batch_stats
        else:  # update t = n_steps - 1 (counted from 0): η_t = (t + 2)^(-κ), or the constant η
            eta = self.step_size if self.step_size is not None else (self.n_steps + 1.0) ** -self.step_exponent
            self.stats = batch_stats.scaled(eta) + self.stats.scaled(1.0 - eta)  # about the current means
        self.n_steps += 1
        self.n_seen += batch_size
        self.first_pass_weight += batch_weight if first_pass else 0
        self.params = self.m_step(self.stats)
        if self.average_after is not None and self.n_seen > self.average_after:
            # s̄ = (Σ s_t) / n_averaged; the sum is kept about the current means, like s
            self.n_averaged += 1
            self.average = self.stats if self.average is None else self.stats + self.average

    def result(self):
        sizes = np.array(self.sizes, dtype=np.int64)
        average = None if self.average is None else self.average.scaled(1.0 / self.n_averaged)
        return OnlineFit(
            params=self.params if average is None else self.m_step(average),
            statistics=self.stats if average is None else average,
            last_params=self.params,
            start=self.start,
            n_start_points=self.n_start_points,
            n_samples_seen=self.n_seen,
            log_likelihood_trace=np.array(self.trace),
            batch_sizes=sizes,
            step_exponent=None if self.step_exponent is None else float(self.step_exponent),
            step_size=None if self.step_size is None else float(self.step_size),
            n_averaged=self.n_averaged,
            n_passes=self.n_passes,
            prior=self.prior if isinstance(self.prior, em.ConjugatePrior) else None,
        )


def fit_gmm_online(
    batches, n_components, *, init="kmeans++", n_init=_ONLINE_N_INIT, init_points=_ONLINE_INIT_POINTS,
    step_exponent=None, step_size=None, average_after=_ONLINE_INIT_POINTS, n_passes=1, prior=None,
    reg_covar=1e-6, covariance_type="full", seed=None, weighted=False,
):  # fmt: skip
    """Stepwise (online) EM over a stream of batches (Cappé and Moulines 2009; Liang and Klein 2009).

    **The start.** With ``init`` a method, the first batches are gathered until they hold at least
    ``init_points`` = M points (10,000 by default); θ_0 is the best (highest log-likelihood) of
    ``n_init`` = 5 batch EM fits on them (``em_helpers.fit_gmm``, each from its own k-means++ or
    random start), and their per-point statistics under θ_0 become the running statistics s,
    counting as the b batches they came in. One k-means++ start on the first batch, this function's
    rule before, left 4 of 40 one-pass runs on notebook 01's mixture 1e-3 to 5e-2 short of batch EM's
    optimum per point (a saddle one pass cannot leave); the best of 5 fits on M = 10,000 points left
    none (tests/online_spread.py). A GMMParams ``init`` is used as given; the first batch then starts s.

    **The steps.** Each later batch: its E-step under the current θ, its per-point statistics
    s(batch_t), s ← (1 - η_t) s + η_t s(batch_t), θ ← M-step(s); update t = b - 1, b, ... uses
    η_t = (t + 2)^(-κ) (``step_exponent`` κ), or a constant η (``step_size``). This is a
    stochastic approximation (Robbins and Monro) of the fixed point s* = E_x[s(x; θ̄(s*))] of batch EM:

    * Σ_t η_t = ∞ (every κ <= 1) lets s travel any distance from its start; η_t → 0 lets the batch
      noise die out: its variance behaves like η_t V / 2 (V: one batch's), smaller κ forgetting
      faster (the statistics remember about B / η_t points). The classical convergence proof also
      asks for Σ_t η_t² < ∞ (κ > 0.5): a *sufficient* condition, not a necessary one; κ in (0, 0.5]
      is accepted, with shrinking steps but without that proof behind it.
    * A constant η (``step_size``) never converges: s weighs the batch j steps back by η(1 - η)^j,
      a memory of about B/η points, and keeps a noise of variance about η V / 2. That is the point on
      a drifting stream: it tracks, lagging the truth by about (1 - η)/η batches' drift, more where EM
      itself converges slowly (notebook 03 derives the factor). A larger η lags less and is noisier: a
      bias/variance trade-off, to choose for the drift expected.

    **Polyak-Ruppert averaging** (Polyak and Juditsky 1992). Once more than ``average_after`` points
    have been read (by default as soon as the default start is made), the iterates s_t are also
    averaged, s̄ = (1/n) Σ s_t, and ``params`` is θ̄(s̄). With κ in (0.5, 1) the average's error
    shrinks as 1/n, like a batch estimate's, whatever κ, while the last iterate's shrinks only like
    η_t; on notebook 01's mixture it took the median one-pass gap from 1.5e-5 to 1.5e-7 per point
    (tests/online_spread.py). For a drifting stream pass ``average_after=None`` (an average remembers
    the whole stream) or read ``last_params``.

    **Passes.** ``n_passes`` > 1 reads a finite data set again (``batches`` must be re-iterable); the
    step count and the average carry on. For a stream read once, leave it at 1.

    **A prior** (MAP, ``em_helpers.ConjugatePrior`` or "default", as in ``fit_gmm``). s holds
    statistics per point; before each M-step they are scaled back to N points (N: the points read in
    the first pass, so far; the data set's size once it has been read), so the prior's
    pseudo-observations keep their weight against N, not against one batch. A finite data set read
    to convergence then reaches batch MAP-EM's fixed point. "default" is resolved on the start's
    points (the first batch for a GMMParams ``init``).

    **Weights** (``weighted=True``; w_i >= 0 as in ``fit_gmm(sample_weight=...)``). Each batch is then a
    pair (X_b, w_b), so a batch's weights travel with its rows (a reader of a file yields both from the
    same records; a parallel iterable could drift out of step, or be one-shot when the rows are not). s
    holds statistics per unit of weight, s(batch_t) = Σ_i w_i γ_ik (...) / Σ_i w_i over the batch, the
    E-pass and the division by Σ_i w_i being the batch's ``DataSource``'s (``e_pass``, ``per_point``);
    the trace is the mean of log p(x_i | θ) per unit of weight; the start is the best of the weighted
    batch fits on the first points; with a prior, N above is the total weight of the first pass, Σ_i
    w_i, as fit_gmm's prior weighs against Σ_i w_i. So a constant weight c on every point changes
    nothing without a prior (from a GMMParams start; the seeded start draws its seeds ∝ w_i, other draws
    than the unweighted ones), and a batch of integer weights steps as the batch with row i repeated w_i
    times. ``init_points``, ``average_after``, ``batch_sizes`` and ``n_samples_seen`` count rows, not
    weight: weights in any unit (probabilities that sum to 1 over the stream, say) then give the same
    start and averaging.

    Parameters
    ----------
    batches : iterable of arrays of shape (B, n_features), or of pairs (X_b, w_b) with ``weighted``
        B may vary from batch to batch; a generator is fine for one pass.
    n_components : int
    init : {"kmeans++", "random"} or GMMParams, default "kmeans++"
    n_init : int, default 5
        Batch fits tried on the first ``init_points`` points (ignored for a GMMParams init).
    init_points : int, default 10,000
        M, the points gathered (in whole batches) for the start.
    step_exponent : float in (0, 1] or None
        κ; None means 0.6 unless ``step_size`` is given.
    step_size : float in (0, 1] or None
        A constant η instead of η_t (for a drifting stream).
    average_after : int or None, default 10,000
        Points read before the averaging starts; None: no averaging (``params`` is the last iterate).
    n_passes : int, default 1
    prior : None, "default" or ConjugatePrior
    reg_covar : float, default 1e-6
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
    seed : int, numpy.random.Generator or None
        Drives the start's fits (unused when ``init`` is a GMMParams).
    weighted : bool, default False
        Every batch is a tuple (X_b, w_b): its rows (B, D) and their weights (B,).

    Returns
    -------
    OnlineFit
        ``params`` (θ̄(s̄), or the last iterate without averaging), ``last_params``, ``start``,
        ``statistics``, the held-out ``log_likelihood_trace`` and ``batch_sizes`` of the batches after
        the start, ``n_samples_seen``. Memory: O(M·(D + K) + B·K + K·D²) plus 16 bytes per batch.

    Raises
    ------
    StreamError
        An empty stream or pass, or a batch with NaN, inf or other columns than the first, in any
        pass, or (``weighted``) a batch that is not a pair or whose weights fit_gmm would refuse
        (negative, NaN or inf, all 0, not one per row); ``err.points_consumed`` counts the points read
        before it, ``err.fit`` holds the fit so far.
    ValueError
        ``n_passes`` > 1 with a one-shot iterator, a step outside (0, 1], both step options, a prior
        whose dimension disagrees with the batches.
    """
    _check_online_arguments(init, n_init, init_points, step_exponent, step_size, average_after, n_passes, prior)
    em.check_bool(weighted, "weighted", "batches are pairs (X_b, w_b)")
    em.check_reg_covar(reg_covar)
    em.check_covariance_type(covariance_type)
    _reread_check(batches, n_passes)
    if step_exponent is None and step_size is None:
        step_exponent = _DEFAULT_STEP_EXPONENT
    state = _Stepwise(n_components, covariance_type, reg_covar, step_exponent, step_size, average_after, prior)
    n_features = None
    if isinstance(init, em.GMMParams):
        em.check_start(init, init.n_features, n_components, covariance_type)
        state.params = state.start = init
        n_features = init.n_features
    rng = np.random.default_rng(seed)
    for pass_index in range(n_passes):
        start = (init, n_init, init_points, rng)
        n_features = _one_pass(batches, state, pass_index, n_passes, n_features, start, weighted)
        state.n_passes += 1
    return state.result()


def _batch_source(batch, n_features, where, weighted):
    """A batch as a DataSource in memory (its rows, and with ``weighted`` its weights, checked by
    em_weights' ``check_sample_weight`` as fit_gmm's are), or a ValueError naming ``where``;
    ``n_features`` None: D is read off it."""
    if weighted and not (isinstance(batch, tuple) and len(batch) == 2):
        raise ValueError(
            f"{where} is a {type(batch).__name__}, not a pair: with weighted=True every batch is a tuple "
            "(X_b, w_b) of its rows (B, D) and their weights (B,), as zip(row_batches, weight_batches) gives."
        )
    rows, w = batch if weighted else (batch, None)
    if n_features is None:
        try:
            shape = np.shape(rows)
        except ValueError:  # ragged: rows_as_Xt says so, naming the batch
            shape = ()
        n_features = shape[-1] if len(shape) == 2 else 1
    try:
        Xt = em.rows_as_Xt(rows, n_features, where)
    except ValueError as err:
        if not weighted and isinstance(batch, tuple) and len(batch) == 2:
            raise ValueError(f"{err} A pair (X_b, w_b) of rows and weights? Pass weighted=True.") from None
        raise
    try:
        return em.DataSource(Xt.T, w)
    except (TypeError, ValueError) as err:  # the weights
        raise ValueError(f"{where}: {err}") from None


def _one_pass(batches, state, pass_index, n_passes, n_features, start, weighted):
    """Pass ``pass_index`` over the batches (the first also makes the start); returns D."""
    method, n_init, init_points, rng = start
    prefix = [] if state.params is None else None  # the batches gathered for the start
    n_batches = 0
    for batch in batches:
        where = f"batch {n_batches}" + (f" of pass {pass_index + 1}" if n_passes > 1 else "")
        try:
            source = _batch_source(batch, n_features, where, weighted)
        except ValueError as err:
            raise _stream_error(err, n_batches, state, prefix) from None
        n_features = source.n_features
        n_batches += 1
        if prefix is not None:  # still gathering the start's points
            prefix.append(source)
            if sum(batch.n_samples for batch in prefix) >= init_points:
                state.start_on_prefix(prefix, method, n_init, rng)
                prefix = None
            continue
        if state.n_seen == 0:  # the first data: a "default" prior is made from them, a given one checked
            state.resolve_prior(source)
        state.step(source, first_pass=pass_index == 0)
    if prefix:  # the stream ended before init_points: the start is made on all of it
        state.start_on_prefix(prefix, method, n_init, rng)
    if n_batches == 0:
        message = "the stream gave no batch" if pass_index == 0 else f"pass {pass_index + 1} gave no batch"
        raise StreamError(
            f"{message}: {state.n_seen:,} points consumed; pass an iterable of (B, D) arrays"
            + (", one that gives its batches again on every pass." if pass_index else "."),
            points_consumed=state.n_seen,
            fit=state.result() if state.stats is not None else None,
        )
    return n_features


def _stream_error(err, n_batches, state, prefix):
    """The error of a bad batch, carrying the fit as it stood before it (None before the start)."""
    consumed = state.n_seen + sum(batch.n_samples for batch in prefix or ())
    fit = state.result() if state.stats is not None else None
    return StreamError(
        f"{err} {consumed:,} points "
        + (f"({n_batches} batches into pass {state.n_passes + 1}) " if state.n_passes else f"in {n_batches} batches ")
        + "were consumed before it; nothing learned is lost: err.fit holds the fit so far"
        + (" (None: nothing was learned before it)." if fit is None else "."),
        points_consumed=consumed,
        fit=fit,
    )

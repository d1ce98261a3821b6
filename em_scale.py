"""EM at scale: exact EM over row chunks (a file, a dask array) and stepwise EM over a stream.

Both are feeds of the sufficient statistics of ``em_helpers`` (N_k = Σ_i γ_ik and the
first and second moments Σ_i γ_ik (x_i - c_k), Σ_i γ_ik (x_i - c_k)(x_i - c_k)ᵀ about a
shift c_k): the M-step needs the data only through them, and they add across chunks.

* ``fit_gmm_chunked``: one pass over the rows per EM iteration, chunk by chunk: E-step on the
  chunk, its statistics about the current means, summed with ``+``; then one M-step. Exact
  batch EM: from the same start it gives ``em_helpers.fit_gmm``'s iterates to rounding.
  A dask array is mapped block by block on whatever dask scheduler is active, and the block
  statistics are gathered and summed here.
* ``fit_gmm_online``: stepwise EM (Cappé and Moulines 2009; Liang and Klein 2009). Each
  batch's statistics are blended into running statistics, s ← (1 - η_t) s + η_t s(batch_t),
  and the parameters follow from s after every batch. Memory does not grow with the stream.

Importing this module loads no matplotlib and no dask; dask is imported only when a dask
array is passed.
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
import sys
import types
from array import array
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


# The error a bad chunk or batch raises, carrying the fit so far: the driver in em_helpers
# raises it (it owns the wrapping of errors), so it is defined there and named here too.
StreamError = em.StreamError


@dataclasses.dataclass(frozen=True, eq=False)
class OnlineFit:
    """What ``fit_gmm_online`` returns.

    Attributes
    ----------
    params : GMMParams
        The parameters after the last batch.
    statistics : SufficientStatistics
        The running statistics s they were computed from (per point, averaged with the η_t).
    n_samples_seen : int
        Points read from the stream.
    log_likelihood_trace : ndarray of shape (n_batches,)
        Mean log p(x_i | θ) over batch t's points under the parameters *before* batch t
        updated them: each batch scored as held-out data.
    batch_sizes : ndarray of shape (n_batches,)
        Points in each batch (``np.cumsum(batch_sizes)`` is the points seen).
    step_exponent : float
        κ in η_t = (t + 2)^(-κ).
    """

    params: em.GMMParams
    statistics: em.SufficientStatistics
    n_samples_seen: int
    log_likelihood_trace: np.ndarray
    batch_sizes: np.ndarray
    step_exponent: float


# --------------------------------------------------------------------------- chunks


def _rows_as_Xt(rows, n_features, where, first_row=0, row_numbers=None):
    """A chunk or batch as a contiguous float64 Xᵀ of shape (D, B), or a ValueError naming ``where``
    (its rows are numbered from ``first_row``, or by ``row_numbers`` when they were drawn)."""
    try:
        arr = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is not an array of real numbers ({err}).") from None
    if arr.ndim == 1 and n_features == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != n_features:
        raise ValueError(
            f"{where} has shape {arr.shape}; expected (B, {n_features}) with B >= 1, the shape of "
            "every other batch: give every batch the same columns, in the same order."
        )
    finite = np.isfinite(arr)
    if not finite.all():
        rows_bad = np.flatnonzero(~finite.all(axis=1))
        first_bad = first_row + rows_bad[0] if row_numbers is None else row_numbers[rows_bad[0]]
        raise ValueError(
            f"{where} contains NaN or inf in {rows_bad.size} of its rows (the first is row "
            f"{first_bad:,}); EM needs finite numbers: drop or impute those rows first."
        )
    if np.abs(arr).max() > em.MAX_ABS:
        raise ValueError(f"{where} has values beyond ±{em.MAX_ABS:g}: rescale the data first.")
    return np.ascontiguousarray(arr.T)


def _chunk_pass(X, params, chunk_size, row_offset=0, block=None):
    """One E-pass over ``X``'s rows, ``chunk_size`` at a time: the block map. Each chunk is one
    ``em_helpers.block_pass`` (statistics about ``params.means``), and the chunks are summed in
    row order by ``em_helpers.combine_passes`` (a thread pool would map the chunks and keep
    that sum).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), sliceable by rows
    params : GMMParams
    chunk_size : int
    row_offset : int
        Index of X's first row in the whole data set (for error messages).
    block : int or None
        Which dask block X is (for error messages).

    Returns
    -------
    EPass
        Its statistics summed over every chunk, about ``params.means``, and
        log_likelihood = Σ_i log p(x_i | θ); no responsibilities.
    """
    return em.combine_passes(_chunk_passes(X, params, chunk_size, row_offset, block))


def _chunk_passes(X, params, chunk_size, row_offset, block):
    """``em_helpers.block_pass`` on each chunk of rows in turn, read one at a time (a generator:
    memory holds one chunk); a bad chunk raises ``em_helpers.DataError``."""
    n_samples, n_features = X.shape
    buffer = np.empty((params.n_components, min(chunk_size, n_samples)))  # γ, reused by every chunk
    for index, start in enumerate(range(0, n_samples, chunk_size)):
        stop = min(start + chunk_size, n_samples)
        where = f"chunk {index}" + ("" if block is None else f" of dask block {block}")
        where += f" (rows {row_offset + start:,} to {row_offset + stop - 1:,})"
        try:
            Xt = _rows_as_Xt(X[start:stop], n_features, where, row_offset + start)
        except ValueError as err:
            raise em.DataError(str(err), row_offset + start) from None
        yield em.block_pass(Xt, params, shift=params.means, out=buffer[:, : stop - start])


def _dask_pass(X, params, chunk_size):
    """``_chunk_pass`` mapped over the row blocks of a dask array on the active dask scheduler,
    the block passes summed here. The parameters are one key, shipped once per worker."""
    import dask
    from dask.base import tokenize

    _ship_modules_to_workers()
    name = "gmm-params-" + tokenize(params.weights, params.means, params.covariances, params.covariance_type)
    theta = dask.delayed(params, name=name, traverse=False)
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    parts = [
        dask.delayed(_chunk_pass, pure=True)(block, theta, chunk_size, int(offset), index)
        for index, (block, offset) in enumerate(zip(X.to_delayed().ravel(), offsets, strict=True))
    ]
    # The block results are a few hundred bytes each: gathering them and adding them here, in
    # block order, took 0.12 s per pass against 0.22 s for a tree of sums on the workers (8 tiny
    # blocks, 2 worker processes, a loaded machine), and the sum is the same on every run.
    return em.combine_passes(dask.compute(*parts))


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


def _check_rows(X):
    """(n_samples, n_features) of anything that slices by rows and has ``.shape``."""
    shape = getattr(X, "shape", None)
    if shape is None or not hasattr(X, "__getitem__"):
        raise TypeError(
            f"X must slice by rows and have .shape (a NumPy array, np.memmap, h5py or zarr dataset, "
            f"dask array); got {type(X).__name__}. Wrap a list with np.asarray first."
        )
    if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"X must have shape (n_samples, n_features) with both >= 1; got {tuple(shape)}.")
    return int(shape[0]), int(shape[1])


def _subsample(X, n_samples, rng):
    """Xᵀ (D, S) of all of X if it has at most INIT_SUBSAMPLE rows (then the start equals fit_gmm's
    for the same seed), else of INIT_SUBSAMPLE rows drawn uniformly without replacement, in file
    order; bad rows raise ``em_helpers.DataError`` (so the fit raises StreamError, as a bad chunk)."""
    if n_samples <= INIT_SUBSAMPLE:
        index, rows = None, X[:n_samples]
    else:
        index = np.sort(rng.choice(n_samples, size=INIT_SUBSAMPLE, replace=False))
        rows = X[index]
    if _is_dask_array(rows):
        rows = rows.compute()
    try:
        return _rows_as_Xt(rows, X.shape[1], "the sample of rows read for the k-means++ start", 0, index)
    except ValueError as err:
        raise em.DataError(str(err), 0) from None


class _Chunked:
    """fit_gmm_chunked's variant for the driver of em_helpers: the E-pass is one pass over the
    chunks (or the dask blocks); the M-step is the ML one; the start is seeded on a subsample."""

    name = "fit_gmm_chunked"
    objective_name = "log-likelihood"

    def __init__(self, X, n_samples, settings, chunk_size):
        self.X, self.n_samples, self.settings, self.chunk_size = X, n_samples, settings, chunk_size
        self.one_pass = _dask_pass if _is_dask_array(X) else _chunk_pass

    def start(self, method, rng):
        sample = _subsample(self.X, self.n_samples, rng)
        resp = em.seed_responsibilities(sample, self.settings.n_components, method, rng)
        return self.m_step(em.given_pass(sample, resp, self.settings.covariance_type))

    def given_start(self, init):
        return init

    def e_pass(self, params, spent):
        return self.one_pass(self.X, params, self.chunk_size)

    def m_step(self, e_pass):
        settings = self.settings
        return em.m_step_from_statistics(
            e_pass.statistics, reg_covar=settings.reg_covar, covariance_type=settings.covariance_type
        )

    def objective(self, previous, params, e_pass):
        return e_pass.log_likelihood

    def result(self, run, n_failed_starts):
        return em.GMMFit(
            params=run.state,
            responsibilities=None,  # an (N, K) array is what this fit exists to avoid holding
            log_likelihoods=np.array(run.log_likelihoods),
            n_iter=len(run.objectives) - 1,
            converged=run.converged,
            tol=self.settings.tol,
            n_failed_starts=n_failed_starts,
        )


def fit_gmm_chunked(
    X, n_components, *, chunk_size=None, init="kmeans++", n_init=1, max_iter=200, tol=1e-6, reg_covar=1e-6,
    covariance_type="full", seed=None,
):  # fmt: skip
    """Exact batch EM over row chunks of data that need not fit in memory.

    Each iteration reads every row once, ``chunk_size`` rows at a time: E-step on the chunk,
    its sufficient statistics about the current means, summed; then one M-step from the sums.
    From the same ``GMMParams`` start: ``fit_gmm``'s iterates, log-likelihoods, ``n_iter`` and
    ``converged``, to rounding. Memory beyond the data: O(chunk_size·K + K·D²), whatever N.

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

    Returns
    -------
    GMMFit
        As fit_gmm's, with ``responsibilities`` None (it would be an (N, K) array).

    Raises
    ------
    StreamError
        A chunk (or a row read for the start) with NaN, inf or the wrong shape; ``err.fit``
        holds the fit so far.
    """
    n_samples, n_features = _check_rows(X)
    chunk_size = _DEFAULT_CHUNK if chunk_size is None else chunk_size
    em.check_int(chunk_size, "chunk_size", 1)
    settings = em.fit_settings(
        n_samples, n_components, n_init=n_init, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
        covariance_type=covariance_type,
    )  # fmt: skip
    init = em.check_init(init, ("methods", "params"), n_samples, n_features, settings)
    if _is_dask_array(X) and X.numblocks[1] != 1:
        X = X.rechunk({1: -1})  # each task needs whole rows
    return em.run_fit(_Chunked(X, n_samples, settings, chunk_size), settings, init, seed, n_samples)


# --------------------------------------------------------------------------- stepwise (online) EM


def _check_step_exponent(step_exponent):
    if not isinstance(step_exponent, numbers.Real) or not 0.5 < step_exponent <= 1:
        raise ValueError(
            f"step_exponent κ must be in (0.5, 1] so that the steps η_t = (t + 2)^(-κ) sum to infinity "
            f"(κ <= 1) while their squares do not (κ > 0.5); got {step_exponent!r}. 0.6 is a safe default."
        )


def _online_result(params, stats, trace, sizes, step_exponent):
    sizes = np.array(sizes, dtype=np.int64)
    return OnlineFit(params, stats, int(sizes.sum()), np.array(trace), sizes, float(step_exponent))


def fit_gmm_online(
    batches, n_components, *, init=None, step_exponent=0.6, reg_covar=1e-6, covariance_type="full", seed=None
):
    """Stepwise (online) EM over a stream of batches, each read once.

    After each batch: its E-step under the current θ, its per-point sufficient statistics
    s(batch_t), blended into the running ones, s ← (1 - η_t) s + η_t s(batch_t) with
    η_t = (t + 2)^(-κ), and θ ← M-step(s). The first batch starts s (η = 1), so update
    t = 0 folds in the second batch with η_0 = 2^(-κ). κ in (0.5, 1] makes Σ η_t = ∞ (the
    statistics can travel any distance) and Σ η_t² < ∞ (the batch noise averages out):
    Robbins-Monro conditions for the stochastic approximation of the expected statistics.
    Smaller κ forgets faster (tracks drift, noisier); κ = 1 averages all batches equally.

    Parameters
    ----------
    batches : iterable of arrays of shape (B, n_features)
        Read once; B may vary from batch to batch. A generator is fine.
    n_components : int
    init : GMMParams or None
        None: ``em_helpers.init_params`` (k-means++) on the first batch.
    step_exponent : float in (0.5, 1], default 0.6
        κ above.
    reg_covar : float, default 1e-6
    covariance_type : {"full", "diag", "spherical", "tied"}, default "full"
    seed : int, numpy.random.Generator or None
        Drives the k-means++ start (unused when ``init`` is given).

    Returns
    -------
    OnlineFit
        ``params``, ``statistics``, ``n_samples_seen``, ``log_likelihood_trace`` (each batch's
        mean log-likelihood before it updated θ), ``batch_sizes``, ``step_exponent``.
        Memory: O(B·K + K·D²) plus 16 bytes per batch for the trace and the sizes.

    Raises
    ------
    StreamError
        An empty stream, or a batch with NaN, inf or other columns than the first;
        ``err.points_consumed`` says how many points were used, ``err.fit`` holds the fit so far.
    """
    _check_step_exponent(step_exponent)
    em.check_reg_covar(reg_covar)
    em.check_covariance_type(covariance_type)
    if init is not None:
        if not isinstance(init, em.GMMParams):
            raise em.init_error(("params", "none"), init)
        em.check_start(init, init.n_features, n_components, covariance_type)
    stream = iter(batches)
    first = next(stream, None)
    if first is None:
        raise StreamError(
            "the stream gave no batch: 0 points consumed; pass an iterable of (B, D) arrays.",
            points_consumed=0,
            fit=None,
        )
    return _stepwise(
        itertools.chain([first], stream), n_components, (init, seed, reg_covar, covariance_type), step_exponent
    )


def _stepwise(stream, n_components, start, step_exponent):
    """The loop of fit_gmm_online; ``start`` is (init or None, seed, reg_covar, covariance_type)."""
    params, seed, reg_covar, covariance_type = start
    n_features = None if params is None else params.n_features
    stats, trace, sizes = None, array("d"), array("q")  # 16 bytes per batch, nothing else grows
    for t, batch in enumerate(stream):
        if n_features is None:
            n_features = np.shape(batch)[-1] if np.ndim(batch) == 2 else 1
        try:
            Xt = _rows_as_Xt(batch, n_features, f"batch {t}")
        except ValueError as err:
            raise _stream_error(err, t, params, stats, trace, sizes, step_exponent) from None
        if params is None:
            em.check_n_components(n_components, Xt.shape[1])
            params = em.init_params(Xt.T, n_components, seed=seed, reg_covar=reg_covar, covariance_type=covariance_type)
        e_pass = em.block_pass(Xt, params, shift=params.means)  # the E-pass every fit uses
        trace.append(e_pass.log_likelihood / Xt.shape[1])
        sizes.append(Xt.shape[1])
        batch_stats = e_pass.statistics.scaled(1.0 / Xt.shape[1])
        if stats is None:
            stats = batch_stats
        else:
            eta = (t + 1.0) ** -step_exponent  # update t - 1, counted from 0: ((t - 1) + 2)^(-κ)
            stats = batch_stats.scaled(eta) + stats.scaled(1.0 - eta)  # about the current means
        params = em.m_step_from_statistics(stats, reg_covar=reg_covar, covariance_type=covariance_type)
    return _online_result(params, stats, trace, sizes, step_exponent)


def _stream_error(err, t, params, stats, trace, sizes, step_exponent):
    """The error of a bad batch, carrying the fit as it stood before it."""
    fit = _online_result(params, stats, trace, sizes, step_exponent) if stats is not None else None
    consumed = sum(sizes)
    return StreamError(
        f"{err} {consumed:,} points in {t} batches were consumed before it; nothing learned is lost: "
        "err.fit holds the fit so far" + (" (None: it was the first batch)." if fit is None else "."),
        points_consumed=consumed,
        fit=fit,
    )

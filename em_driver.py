"""One EM driver for the batch fitters; a room below em_helpers (which re-exports its names).

Every batch fitter is the same loop: ``fit_gmm`` (in memory, ML or MAP) and em_scale's
``fit_gmm_chunked`` (chunks, a memory map, a dask array), both through em_helpers' ``SourceFit``,
and em_bayes' ``fit_bayesian_gmm`` (variational) each hand ``run_fit`` a *variant*, an object with
these methods:

  start(method, rng) -> state         θ_0 from seeds (``seed_responsibilities`` and one M-step)
  given_start(init) -> state          θ_0 from the caller's ``init`` (checked by ``check_init``)
  e_pass(state, spent) -> EPass       one E-pass over the variant's data source under ``state``:
                                      statistics plus the objective's terms (``spent``: the
                                      previous pass, whose memory it may reuse)
  m_step(e_pass) -> state             from ``e_pass.statistics``: ML, MAP or variational
  objective(previous, state, e_pass)  the number the fit climbs, after each iteration
  result(run, n_failed_starts)        the fit object the caller gets back

and the attributes ``name`` and ``objective_name`` (for the warning) and ``source``, a context
manager (the variant's DataSource) that the driver holds open for the fit: closing it ends the
source's worker processes and BLAS limit, if any. The driver owns the
rest: the iterations, the history, the one stopping rule, the best of ``n_init`` starts (by
the final objective; the first among equals), ``max_iter=0`` (the start, evaluated),
``keep_params``, skipping collapsed starts, the ConvergenceWarning, and turning bad data met
part-way (``DataError``) into a ``StreamError`` that carries the fit so far.

Where the features that came after the driver went:

* sample weights w_i: em_weights, the one room that knows what a weight is (its docstring: the
  meaning, and every reader of N = Σ_i w_i), the one function that makes w (``check_sample_weight``)
  and the primitives every computation with w is: ``weigh`` (w_i γ_ik), ``weighted_total`` (Σ_i
  w_i v_i), ``draw_probabilities`` (p_i ∝ w_i v_i) and ``carrying_weight`` (the rows with w_i > 0).
  em_helpers' ``DataSource`` holds the rows, their checked weights and N (``n_points``), and is the
  only code that hands w to those primitives or to what calls them (the seeding,
  ``seed_responsibilities``, and em_incomplete, the weights grouped by pattern); em_scale hands w
  only to sources. The source's docstring lists every place a weight enters. The M-steps and this
  driver see no weights (this driver reads N); the variational fit and the model search take none.
* missing values: ``DataSource.pattern_pass``, the E-pass of one missingness pattern's points
  returning the same ``EPass``, which the DataSource of fit_gmm(allow_missing=True) maps over its
  patterns; the driver and the M-steps did not change.
* worker processes: the DataSource, which owns its pool's whole life. ``DataSource.map_blocks`` is
  the one place blocks are mapped, and every E-pass of every fitter goes through it
  (tests/test_contract.py spies on it): fit_gmm's (complete, weighted, missing values),
  fit_gmm_chunked's, each batch of the online fit's and the variational fit's. An E-pass is a map
  of one function over blocks and a sum, ``combine_passes``, in block order, so the result does
  not depend on the number of processes that computed the blocks (in memory, n_jobs = 1 is one
  block of all N points, which rounds apart from n_jobs > 1's blocks). A fitter asks for a pool by
  passing n_jobs to its source (fit_gmm, fit_gmm_chunked, fit_bayesian_gmm take n_jobs); with
  n_jobs > 1 the map forks em_workers' ``BlockMap`` after holding BLAS to one thread
  (``one_blas_thread``, inherited by the workers), and this driver's ``with variant.source`` ends
  both with the fit. The blocks: from rows, chunks (``DataSource.block_summary``); in memory, with
  n_jobs > 1 blocks of ``MEMORY_BLOCK`` rows (``DataSource.memory_block``, statistics about θ's
  means, γ written into shared memory), with n_jobs = 1 one block of all N points (statistics
  about the γ-weighted means, the bits of the fits before the pool); on incomplete data, the
  missingness patterns. A dask array's blocks are mapped by dask, each block a part of the same
  source (``DataSource.part``) whose chunks its own map maps. The online fit and the model search
  stay at one process (the DataSource's docstring says why).
* not through this driver: em_scale's online fit (a stepwise stochastic approximation, not the
  batch loop; its start is ``fit_gmm``'s), em_select's stacked search (many starts at once, in
  lock-step, with mclust's race rule on top; it stops each start by this module's
  ``gain_below_tol`` and takes its M-step floors from em_helpers: replayed as one ``run_fit`` per
  start it took 4.1-4.9x the CPU time on Old Faithful's short stage, tests/select_loop_cost.py),
  and em_incomplete's one-Gaussian fit for the default prior's moments (``observed_gaussian``'s
  docstring says why: this loop's stopping rule leaves it 1.3e-8 from the fixed point it reaches
  to 1e-13).

Shapes: as em_helpers' internal layer (its docstring), points as Xᵀ (D, N), γ as (K, N).

This module imports nothing of the project: the variants bring the statistics and the steps.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at ``max_iter`` while its gain per point was still above ``tol``.

    The fit is returned all the same (``converged`` False). Raise ``max_iter``, or loosen
    ``tol``; a fit that stops early on purpose passes ``tol=0`` (run exactly ``max_iter``
    iterations), which never warns.
    """


class StreamError(ValueError):
    """Bad data met part-way through a pass or a stream; nothing learned before it is lost.

    Attributes
    ----------
    points_consumed : int
        Points read (in this pass, for the chunked fit) before the bad chunk or batch.
    fit : GMMFit, OnlineFit or None
        The fit as it stood before the bad chunk or batch (None if nothing was learned).
    """

    def __init__(self, message, *, points_consumed, fit):
        super().__init__(message)
        self.points_consumed = points_consumed
        self.fit = fit

    def __reduce__(self):
        # pickle rebuilds an exception as cls(*args), which misses the keyword arguments: a fit run in
        # a worker process (a process pool, em_workers) raises it across processes
        return _stream_error, (self.args[0], self.points_consumed, self.fit)


def _stream_error(message, points_consumed, fit):
    return StreamError(message, points_consumed=points_consumed, fit=fit)


class DataError(ValueError):
    """Bad rows met by an E-pass (a chunk with NaN, say), starting at row ``first_row``.

    The driver turns it into a ``StreamError`` carrying the fit so far. Picklable (its args
    only), so it crosses from dask workers.
    """

    def __init__(self, message, first_row):
        super().__init__(message, first_row)
        self.first_row = first_row

    def __str__(self):
        return self.args[0]


class EPass:
    """One E-pass over (part of) the data under θ: the objective's terms and the statistics.

    Attributes
    ----------
    log_likelihood : float
        Σ_i log Σ_k exp(log-weight_k + log N(x_i | μ_k, Σ_k)) over the pass's points: L(θ)
        for EM (the variational fit's is not a likelihood and is not used).
    responsibilities : ndarray of shape (n_components, n_samples) or None
        γ laid out (K, N), when the pass holds its points in memory (None after ``+``).
    entropy : float or None
        H(γ), when the variant computes it (the variational fit's ELBO needs it).
    statistics : SufficientStatistics
        What the M-step reads; a pass in memory computes them on first use (from
        ``statistics_from``, a function of no arguments), so a pass whose statistics are not
        needed (the last one) costs only its E-step.
    """

    def __init__(self, log_likelihood, statistics=None, *, responsibilities=None, entropy=None, statistics_from=None):
        self.log_likelihood = log_likelihood
        self.responsibilities = responsibilities
        self.entropy = entropy
        self._statistics, self._statistics_from = statistics, statistics_from

    @property
    def statistics(self):
        """The SufficientStatistics (computed by ``statistics_from()`` on first use)."""
        if self._statistics is None:
            self._statistics = self._statistics_from()
            self._statistics_from = None
        return self._statistics

    def summary(self):
        """The statistics and terms without γ or the points: what crosses from a worker and adds."""
        return EPass(self.log_likelihood, self.statistics, entropy=self.entropy)

    def __add__(self, other):
        """Both passes' terms and statistics summed (about ``self``'s shift)."""
        entropy = None if self.entropy is None else self.entropy + other.entropy
        return EPass(self.log_likelihood + other.log_likelihood, self.statistics + other.statistics, entropy=entropy)


def combine_passes(parts):
    """The passes of several blocks (any iterable, consumed as it goes) summed in block order:
    the order is fixed, so the sum is the same whichever process computed each block."""
    total = None
    for part in parts:
        total = part.summary() if total is None else total + part
    return total


class Run(NamedTuple):
    """One run of the driver from one start."""

    state: object  # θ_T (the variational fit: its posterior)
    last: EPass | None  # the E-pass under θ_T (None when a later pass failed)
    objectives: list  # what the fit climbs, at θ_0 .. θ_T
    log_likelihoods: list  # each pass's log_likelihood
    converged: bool
    kept: tuple | None  # θ_0 .. θ_T with keep_params


def gain_per_point(previous, current, n_samples):
    """The objective's gain per point in one iteration, (current - previous) / N: what ``tol``
    bounds. Floats, or arrays of the same shape (many starts at once, elementwise)."""
    return (current - previous) / n_samples


def gain_below_tol(previous, current, n_samples, tol):
    """The one stopping rule of every EM loop: the gain per point below ``tol`` (a negative gain
    too: with reg_covar > 0 the M-step is not an exact maximiser, and a tiny drop means what a tiny
    gain means); ``tol`` = 0 never stops (run exactly max_iter iterations). ``_run`` calls it on
    one start's objectives, em_select's stacked EM on arrays of them (elementwise, a bool array)."""
    return (gain_per_point(previous, current, n_samples) < tol) & (tol > 0)


def _warn_if_not_converged(fit_name, objective_name, objectives, n_samples, max_iter, converged, tol, stacklevel=4):
    """Issue a ConvergenceWarning when a fit with tol > 0 ran out of iterations.

    ``objectives`` is what the fit climbed, the last values last (its finite values: with fewer
    than two there is no gain to report). No warning with tol = 0 (all iterations asked for),
    after a converged fit, or with max_iter = 0 (no iteration: the start evaluated on purpose).
    ``stacklevel`` 4 points the warning at the line that called the public fitter.
    """
    if converged or tol == 0 or max_iter == 0:
        return
    objectives = [value for value in objectives if np.isfinite(value)]
    if len(objectives) > 1:
        gain = gain_per_point(objectives[-2], objectives[-1], n_samples)
        at_stop = f"its {objective_name} still gained {gain:.3g} per point in the last iteration, above tol={tol:g}"
    else:
        at_stop = f"one iteration gives no gain in its {objective_name} to compare with tol={tol:g}"
    warnings.warn(
        f"{fit_name} stopped at max_iter={max_iter} before converging: {at_stop}. Raise max_iter, "
        "or loosen (raise) tol; pass tol=0 to run exactly max_iter iterations without this warning.",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


def _run(variant, make_start, settings, n_samples):
    """EM from θ_0 = ``make_start()``: E-pass, then M-step and E-pass until the objective's
    gain per point is below tol (``gain_below_tol``) or max_iter M-steps are done.
    ``state`` is always the θ the last complete pass scored."""
    objectives, log_likelihoods, kept = [], [], []
    try:
        state = make_start()
    except DataError as err:
        raise StreamError(
            f"{err} No pass over the data had begun: nothing was learned (err.fit is None).",
            points_consumed=0,
            fit=None,
        ) from None
    try:
        last = variant.e_pass(state, None)
        objectives.append(variant.objective(None, state, last))
        log_likelihoods.append(last.log_likelihood)
        kept.append(state)
        converged = False
        for _ in range(settings.max_iter):
            new_state = variant.m_step(last)
            e_pass = variant.e_pass(new_state, last)  # γ_t is spent: its memory may be reused
            objectives.append(variant.objective(last, new_state, e_pass))
            log_likelihoods.append(e_pass.log_likelihood)
            state, last = new_state, e_pass
            if settings.keep_params:
                kept.append(state)
            if gain_below_tol(objectives[-2], objectives[-1], n_samples, settings.tol):
                converged = True
                break
    except DataError as err:
        so_far = Run(state, None, objectives, log_likelihoods, False, None) if objectives else None
        done = max(len(objectives) - 1, 0)
        raise StreamError(
            f"{err} In pass {len(objectives)} (0 = the first), the {err.first_row:,} points before it were read; "
            f"nothing already learned is lost: err.fit holds the fit after {done} complete iterations"
            + (" (None: the bad chunk came in the first pass)." if so_far is None else "."),
            points_consumed=err.first_row,
            fit=None if so_far is None else variant.result(so_far, 0),
        ) from None
    return Run(state, last, objectives, log_likelihoods, converged, tuple(kept) if settings.keep_params else None)


def run_fit(variant, settings, init, seed, n_samples):
    """The driver: EM from the given start, or the best of ``settings.n_init`` seeded starts.

    ``init`` is what ``check_init`` returned: a method name draws seeds with ``seed``; anything
    else goes to ``variant.given_start`` (and ``n_init`` is ignored). The best run has the highest
    final objective (the first among equals). A start that collapses (``CollapseError``, possible
    only with reg_covar = 0) is skipped and counted; if every start does, the first one's error is
    raised again. Returns ``variant.result(best_run, n_failed_starts)``.
    """
    with variant.source:  # the source's worker processes and BLAS limit, if any, end with the fit
        if not isinstance(init, str):
            best, failures = _run(variant, lambda: variant.given_start(init), settings, n_samples), []
        else:
            rng = np.random.default_rng(seed)
            best, failures = None, []
            for _ in range(settings.n_init):
                try:
                    run = _run(variant, lambda: variant.start(init, rng), settings, n_samples)
                except CollapseError as err:
                    failures.append(err)
                    continue
                if best is None or run.objectives[-1] > best.objectives[-1]:
                    best = run
            if best is None:
                if settings.n_init == 1:
                    raise failures[0]
                first = failures[0]
                raise CollapseError(f"all n_init={settings.n_init} starts collapsed; the first: {first}") from first
    _warn_if_not_converged(
        variant.name,
        variant.objective_name,
        best.objectives,
        n_samples,
        settings.max_iter,
        best.converged,
        settings.tol,
    )
    return variant.result(best, len(failures))


class CollapseError(ValueError):
    """A component collapsed onto too few points in an exact (reg_covar = 0) M-step (see
    em_params' ``_collapse_error``): what ``run_fit`` skips, among several starts, to keep the
    best of the others."""

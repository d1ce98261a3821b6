"""Your own data: one call that searches K and the covariance model, and says what it found.

``select_model(X)`` fits every (covariance type, K) pair from several starts, keeps for each
pair the best fit that is not degenerate, and chooses the pair with the lowest criterion
(BIC or ICL, both with scikit-learn's sign: lower is better). It never chooses a degenerate
fit, and never drops a pair silently: the table keeps every pair with its status.

A component is *degenerate* (``degenerate_components``) when it has collapsed onto a few
points or a few exact values, which the likelihood rewards without bound (N(x | μ, Σ) → ∞ as
Σ shrinks onto x):

* the spread its density has before reg_covar (``spread_ratios``: the points it holds,
  scattered about its mean, under the covariance model; for tied the pooled scatter, which
  keeps a tied component's likelihood bounded however few points it holds) is below
  ``MIN_SPREAD_RATIO`` = 1e-6 times the data's variance along some direction the model can
  make thin (a standard deviation below 1e-3 of the data's). Evidence
  (tests/degenerate_rule_evidence.py: fit_gmm from six k-means++ starts, every type and
  K = 1..9, on Old Faithful and four of mclust's data sets, 1,080 fits, this statistic): 110
  fits fell below 1e-6, 107 of them on at most 5 points (the others: 6 points twice, and 14
  eruptions with one waiting time); 17 lay between 1e-6 and 1e-4, on 3 to 9 points (the
  summary marks such pairs with ~); the other 953 stayed above 1e-4; or
* with a full covariance, its effective count N_k is below D + 1, the fewest points whose
  scatter can have full rank.

What the rule cannot see: on data with few distinct values (counts, heavily rounded
measurements) a tied mixture can put one component on each common value, its shared Σ no
thinner than the gaps between values (300 Poisson(3) counts: tied with K = 8 or 9 over eight
draws, 9 the largest searched, one component on each common value;
tests/by_hand_search_seeds.py); and at
small N a component on two or three points can sit just above the threshold. The summary
notes columns with few distinct values and marks thin-but-allowed fits with ~. A column with two
values (yes/no) is the opposite case: a component on one value has no spread there and is marked
degenerate, so when the column follows the clusters every clustering is refused and K = 1 chosen
(tests/nb05_cold2_spread.py); the summary says so, and that such a column needs another model.

Starts: mclust's own (``model_based_labels``: its model-based agglomerative clustering, hcVVV on
the data transformed as its ``hcUse = "SVD"`` does: standardised, rotated onto their principal
axes, each axis divided by the square root of its singular value (not a whitening: the axes'
variances stay unequal), cut at K clusters; deterministic, and merge for
merge mclust's on Old Faithful, diabetes, banknote and thyroid, and on wreath but for its last
three merges); where the tree's merges nearly tie (the two cheapest within 1%), its branch
through the runner-up merge (``_hc_branches``: there mclust, whose merge costs depart slightly
from the exact criterion, can take the other merge, as on wreath); and ``n_init`` k-means++
partitions from ``seed``. Each start is one M-step from its partition, under each covariance
type. Every start runs ``short_iter`` iterations (the short runs of Biernacki, Celeux and
Govaert 2003); the hierarchical starts and the ``n_continue`` best others that are not
degenerate go on, all starts of all types as one stacked computation, until mclust's own
stopping rule (a gain below 1e-5 (1 + |L|)). So, where the tree is mclust's, every pair
reaches at least the log-likelihood mclust's start reaches by mclust's rule. The pair the
criterion chooses then runs on to ``tol``.
With ``second_round=True`` every pair also starts from the other covariance types' fits at the
same K and from the best K - 1 fit with one component split in two. A start that raises (a
collapse with ``reg_covar=0``) is counted and skipped.

Measured (seeds 0 to 7; Old Faithful and mclust's diabetes, banknote, thyroid and wreath, the
176 pairs that are not degenerate): no pair ends below mclust's log-likelihood by more than
its tolerance, at any seed. Without the degenerate rule (``min_spread_ratio=0``) the search
on Old Faithful chooses a collapsed fit at 1 or 2 of seeds 0 to 23 (seed 16 on two machines, seed 5
too on an AMD EPYC one: rounding decides; 22 of 24 with the ten
k-means++ starts each run to a gain of 1e-6 per point this module used before): mclust's
start rarely leads to a spike, and the race stops most runs before they reach one.

``reg_covar`` defaults to 1e-8 times the smallest column variance of X, not the absolute 1e-6
of ``fit_gmm``: on columns whose variances are in the thousands an absolute 1e-6 does
nothing, and on columns in micrometres it would dominate. The floor is then the same
fraction of the data whatever its units, far below ``MIN_SPREAD_RATIO``, so a component
held at the floor is reported as degenerate, not hidden.

This module imports ``em_helpers`` and nothing above it.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import NamedTuple

import numpy as np

import em_helpers as em

__all__ = [
    "CRITERIA",
    "MIN_SPREAD_RATIO",
    "ModelSearch",
    "SearchRow",
    "degenerate_components",
    "icl",
    "model_based_labels",
    "model_based_merges",
    "select_model",
]

# Below this fraction of the data's variance along a direction, a component's variance there
# marks it as collapsed (see the module docstring for the evidence).
MIN_SPREAD_RATIO = 1e-6
# select_model's default reg_covar, as a fraction of the smallest column variance of X.
REG_COVAR_FRACTION = 1e-8
CRITERIA = ("bic", "icl")
# A column with at most this many distinct values is noted in the summary: a mixture can put one
# narrow component on each value (300 Poisson(3) counts: 9 or 10 values, and a tied fit with K = 8
# or 9 over eight draws).
FEW_DISTINCT = 20
# mclust's hierarchy keeps the N(N-1)/2 pair costs: above this many points it runs on a subsample
# (drawn from ``seed``; mclust's ``subset`` option does the same at 2,000) and every other point
# joins the nearest cluster mean.
HIERARCHICAL_MAX_POINTS = 2000


def spread_ratios(params, X, responsibilities=None):
    """Per component, the smallest ratio of the spread its density has to the data's, before reg_covar.

    A component's density is N(x | μ_k, Σ_k), and the likelihood grows without bound only when
    Σ_k - reg_covar·I, the part the data set, becomes singular. That part is, by the M-step, the
    scatter of the points the component holds, W_k / N_k = Σ_i γ_ik (x_i - μ_k)(x_i - μ_k)ᵀ / N_k,
    constrained by the covariance model: W_k / N_k itself for full; its diagonal for diag; the
    average of its diagonal for spherical; and for tied the pooled Σ_k W_k / N, shared by every
    component (a tied component on a few points is held up by the others: its likelihood stays
    bounded, so it is not a collapse). It is compared with the data's covariance S along the
    directions the model can make thin: every eigenvector u of that matrix for full and tied
    (uᵀ W u against uᵀ S u), each axis for diag, the average over axes for spherical.

    Returns an array of shape (K,): 0 for a component on one point or one exact value along a
    direction, about 1 for a component as spread as the data. Computed from the responsibilities
    (from ``params`` if not given), not from Σ_k, so that reg_covar does not hide a collapse.
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    if responsibilities is None:
        responsibilities = em.e_step(X, params)[0]
    return _spread_ratios(params, X, responsibilities, em.data_covariance(X))


def _spread_ratios(params, X, responsibilities, data_cov):
    """``spread_ratios`` with the data's covariance S given (a search computes it once). The
    scatter W_k from the exact differences x_i - μ_k (a ratio of 1e-9 keeps its digits here; the
    search's screen, ``_stacked_degenerate``, takes W_k from expanded products instead)."""
    centred = X[None, :, :] - params.means[:, None, :]  # (K, N, D)
    scatter = np.einsum("nk,knd,kne->kde", responsibilities, centred, centred)  # W_k
    types = np.array([params.covariance_type])
    return _ratios_of_scatter(scatter[None], responsibilities.sum(axis=0)[None], types, data_cov)[0]


def _ratios_of_scatter(scatter, held, types, data_cov):
    """The spread ratios (S, K) of S fits from their scatters W_k (S, K, D, D), their N_k (S, K)
    and covariance types (S,): the scatter per point W_k / N_k (for tied the pooled Σ_k W_k / N,
    the same for every k), against S along the directions each model can make thin
    (``em.directional_variances``). One fit is a stack of one (``_spread_ratios``)."""
    counts = em.floored_counts(held)  # N_k
    own = scatter / counts[..., None, None]
    tied = types == "tied"
    if tied.any():  # the M-step's pooling, Σ_k N_k (W_k / N_k) / Σ_k N_k
        own[tied] = em.constrain_covariances(own[tied], counts[tied], "tied")
    ratio = np.empty(held.shape)
    for covariance_type in ("diag", "spherical", "full"):
        rows = np.isin(types, ("full", "tied")) if covariance_type == "full" else types == covariance_type
        if rows.any():
            variances, along = em.directional_variances(own[rows], data_cov, covariance_type)
            ratio[rows] = (variances / along).min(axis=-1)
    return ratio


def _thin(ratios, held, types, n_features, min_spread_ratio):
    """Which components (S, K) are degenerate: a spread ratio below ``min_spread_ratio``, or, for a
    full covariance, N_k below D + 1."""
    return (ratios < min_spread_ratio) | ((types == "full")[:, None] & (held < n_features + 1))


def degenerate_components(params, X, responsibilities=None, *, min_spread_ratio=MIN_SPREAD_RATIO):
    """The components of ``params`` that have collapsed onto a few points (or a few exact values) of X.

    Component k is degenerate when the spread its density has before reg_covar
    (``spread_ratios``: the points' scatter under the covariance model, against the data's
    covariance along the directions the model can make thin) is below ``min_spread_ratio``, or,
    for a full covariance, when N_k = Σ_i γ_ik < D + 1, the fewest points whose scatter has
    full rank.

    Parameters
    ----------
    params : GMMParams
    X : array-like of shape (n_samples, n_features)
        The data the fit was made on.
    responsibilities : array-like of shape (n_samples, n_components), optional
        γ under ``params`` (computed if not given).
    min_spread_ratio : float, default MIN_SPREAD_RATIO (1e-6)

    Returns
    -------
    ndarray of int
        The indices k of the degenerate components, in increasing order (empty when none).
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    if responsibilities is None:
        responsibilities = em.e_step(X, params)[0]
    ratios = _spread_ratios(params, X, responsibilities, em.data_covariance(X))
    held, types = responsibilities.sum(axis=0), np.array([params.covariance_type])
    return np.flatnonzero(_thin(ratios[None], held[None], types, X.shape[1], min_spread_ratio)[0])


def icl(X, params, responsibilities=None) -> float:
    """Integrated completed likelihood, as R's mclust computes it, with scikit-learn's sign:
    BIC - 2 Σ_i log γ_i,ẑ_i, where ẑ_i = argmax_k γ_ik (lower is better).

    The extra term is the classification's cost (Biernacki, Celeux and Govaert 2000): 0 when
    every point belongs to one component with certainty, large when the components overlap,
    so ICL prefers well-separated clusters where BIC prefers the best density.
    """
    if responsibilities is None:
        responsibilities = em.e_step(X, params)[0]
    return em.bic(X, params) + _classification_cost(responsibilities)


def _classification_cost(responsibilities):
    """ICL's term beyond BIC, -2 Σ_i log γ_i,ẑ_i, from γ (N, K)."""
    with np.errstate(divide="ignore"):
        certainty = np.log(responsibilities.max(axis=1))
    return -2.0 * float(certainty.sum())


class SearchRow(NamedTuple):
    """One (covariance type, K) pair of a search: the best non-degenerate start's fit if there
    is one (``status`` "ok"), else the best degenerate one ("degenerate"), else nothing
    ("failed": every start raised; the numbers are nan). A pair with at least as many free
    parameters as X has numbers (p >= N·D) is fitted but never chosen ("too many parameters"):
    BIC's approximation needs N far above p."""

    covariance_type: str
    n_components: int
    log_likelihood: float
    n_parameters: int
    bic: float
    icl: float
    converged: bool
    degenerate: bool
    n_iter: int
    status: str
    start: str  # the kept fit's start: "mclust hc" (or a near-tie branch of it), "kmeans++ i", or a second round's
    n_degenerate_starts: int
    n_failed_starts: int
    min_spread_ratio: float  # the thinnest component's spread_ratios value (nan when failed)


@dataclasses.dataclass(frozen=True, eq=False)
class ModelSearch:
    """What ``select_model`` returns.

    Attributes
    ----------
    table : tuple of SearchRow
        Every (covariance type, K) pair searched, in search order (types outer, K inner).
    best : GMMFit
        The chosen fit: the lowest criterion among the rows with status "ok".
    criterion : {"bic", "icl"}
    reg_covar : float
        The reg_covar the fits used.
    fits : dict
        (covariance_type, K) -> the GMMFit kept for that pair (absent when it failed).
    seed, n_init, min_spread_ratio, second_round
        The search's settings, as given.
    distinct_values : tuple of int
        How many distinct values each column of X has (the summary notes columns with at most 20).
    """

    table: tuple
    best: em.GMMFit
    criterion: str
    reg_covar: float
    n_samples: int
    fits: dict = dataclasses.field(repr=False)
    seed: object = None
    n_init: int = 4
    min_spread_ratio: float = 1e-6
    distinct_values: tuple = ()
    second_round: bool = False

    @property
    def best_row(self) -> SearchRow:
        """The table's row of the chosen fit."""
        key = (self.best.params.covariance_type, self.best.params.n_components)
        return next(row for row in self.table if (row.covariance_type, row.n_components) == key)

    def summary(self) -> str:
        """The table as text: the criterion per K (rows) and covariance type (columns)."""
        types = list(dict.fromkeys(row.covariance_type for row in self.table))
        ks = sorted({row.n_components for row in self.table})
        cells = {(row.covariance_type, row.n_components): row for row in self.table}
        name = self.criterion.upper()
        lines = [
            f"{name} per K and covariance type, N = {self.n_samples}, reg_covar = {self.reg_covar:.2g}, "
            f"seed = {self.seed}, starts per pair: mclust's hierarchical one (and its near-tie branches) + "
            f"{self.n_init} k-means++" + (", then a second round." if self.second_round else "."),
            f"{name} = -2 log L + p log N (p parameters){' + classification cost' if name == 'ICL' else ''}: "
            "LOWER is better (R's mclust prints the negative, higher is better).",
            "L: the chosen pair's converged to a gain below tol per point; the others' by mclust's rule "
            "(a gain below 1e-5 (1 + |L|)).",
            f"  * chosen   d degenerate: a component's variance below {self.min_spread_ratio:g} of the data's "
            "along some direction (never chosen)",
            "  ~ a component's variance below 1e-4 of the data's (allowed; look at it)   ! stopped at max_iter",
            "  p too many parameters (p >= N·D; never chosen)   - every start failed",
            "   K " + "".join(f"{t:>13}" for t in types),
        ]
        best = self.best_row
        for k in ks:
            text = []
            for t in types:
                row = cells.get((t, k))
                if row is None or row.status == "failed":
                    text.append(f"{'-':>13}")
                    continue
                mark = "*" if row is best else "d" if row.degenerate else "p" if row.status != "ok" else " "
                mark += "!" if not row.converged else "~" if row.min_spread_ratio < 1e-4 else " "
                text.append(f"{getattr(row, self.criterion):11.1f}{mark}")
            lines.append(f"{k:4d} " + "".join(text))
        lines.append(
            f"chosen: {best.covariance_type}, K = {best.n_components} ({name} {getattr(best, self.criterion):.1f}, "
            f"log-likelihood {best.log_likelihood:.2f}, {best.n_parameters} parameters; start: {best.start})"
        )
        if best.min_spread_ratio < 1e-4:
            lines.append("note: the chosen fit has a component thinner than 1e-4 of the data (~): look at it.")
        if best.n_components == max(ks) and len(ks) > 1:
            lines.append(f"note: K = {best.n_components} is the largest K searched: widen n_components to see past it.")
        for d, distinct in enumerate(self.distinct_values):
            if distinct <= 2:
                lines.append(
                    f"note: column {d} has only {distinct} distinct values (yes/no?): a component on one of them "
                    "has no spread there, so the rule marks many pairs degenerate (and K = 1 is chosen if "
                    "the column follows the clusters); a Gaussian mixture is not a model for such a column: "
                    "drop it, or use a model for mixed data."
                )
            elif distinct <= FEW_DISTINCT:
                lines.append(
                    f"note: column {d} has only {distinct} distinct values: a mixture can put a narrow component "
                    "on each, which no criterion here catches."
                )
        return "\n".join(lines)

    def __str__(self):
        return self.summary()


# --------------------------------------------------------------------------- mclust's start: a hierarchy


def _svd_whitened(X):
    """mclust's ``hc(use = "SVD")`` transform: columns centred and scaled to unit standard
    deviation (divisor N - 1, as R's ``scale``), rotated onto their principal axes and each axis
    divided by the square root of its singular value. Despite the name, not a whitening: the
    axes' variances stay proportional to the singular values, not equal."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    _, singular, vt = np.linalg.svd(Z, full_matrices=False)
    return Z @ vt.T / np.sqrt(singular)


def _vvv_term(n, scatter, alpha, beta, single):
    """One cluster's term in mclust's hcVVV criterion, n log(|W/n| + β (tr W + α) / n), for clusters
    of n points with scatter W (shape (..., D, D)); |W/n| is taken as 0 while n <= D (W is then
    singular) and for a pair of single points (mclust's shortcut, which matters only at D = 1)."""
    D = scatter.shape[-1]
    det = np.zeros(n.shape)
    full_rank = (n > D) & ~single
    if full_rank.any():
        det[full_rank] = np.maximum(_det(scatter[full_rank] / n[full_rank, None, None]), 0.0)
    return n * np.log(det + beta * (np.trace(scatter, axis1=-2, axis2=-1) + alpha) / n)


def _det(A):
    """Determinants of a stack of D x D matrices (written out for D <= 2: np.linalg.det's LU
    costs more than the hierarchy's other work per merge at D = 2)."""
    D = A.shape[-1]
    if D == 1:
        return A[..., 0, 0]
    if D == 2:
        return A[..., 0, 0] * A[..., 1, 1] - A[..., 0, 1] * A[..., 1, 0]
    return np.linalg.det(A)


def _vvv_merge(n, means, scatter, terms, a, b, alpha, beta):
    """The criterion's change Δ when cluster(s) ``a`` merge with clusters ``b`` (index arrays of one
    shape), with the merged clusters' scatter and term. Merging adds Chan's cross term:
    W_ab = W_a + W_b + (n_a n_b / n_ab)(μ_a - μ_b)(μ_a - μ_b)ᵀ."""
    n_ab = n[a] + n[b]
    gap = means[a] - means[b]
    merged = scatter[a] + scatter[b] + (n[a] * n[b] / n_ab)[..., None, None] * gap[..., :, None] * gap[..., None, :]
    term = _vvv_term(n_ab, merged, alpha, beta, (n[a] == 1) & (n[b] == 1))
    return term - terms[a] - terms[b], merged, term


def model_based_merges(X, min_clusters=1, *, alpha=1.0, beta=1.0):
    """mclust's model-based agglomerative hierarchical clustering (``hc(X, modelName = "VVV",
    use = "SVD")``, Fraley 1998), as the list of merges.

    Every point starts as its own cluster; each step merges the two clusters whose merge
    increases the classification criterion Σ_k n_k log(|W_k / n_k| + β (tr W_k + α) / n_k) the
    least, where W_k is cluster k's scatter about its mean: with α = β = 0 this is -2 times the
    classification log-likelihood of Gaussian clusters with unconstrained covariances (up to
    constants); α = (the data's total scatter) / (N·D) times ``alpha`` (mclust's scaling) and β
    keep it finite while a cluster has too few points for |W_k| > 0. The data are first
    transformed as mclust's ``hcUse = "SVD"`` does (``_svd_whitened``: standardised and rotated,
    each axis divided by the square root of its singular value, so not whitened: the axes keep
    unequal variances).

    Cost: an (N, N) matrix of pair costs (N² floats: 8 MB at N = 1,000), filled once in blocks of
    rows; then N - ``min_clusters`` merges, each recomputing the merged cluster's costs to every
    other cluster (O(N·D³) vector work) and the nearest neighbour of the clusters whose nearest
    was one of the two merged (O(N) each, usually few): O(N²·D³) in all. CPU time (measured, D
    = 2): 0.05 s at N = 272, 0.4 s at N = 1,000, 1.3 s at N = 2,000 (the most it is given; see
    HIERARCHICAL_MAX_POINTS). No loop over points.

    Returns
    -------
    merges : ndarray of int, shape (N - min_clusters, 2)
        (a, b), a < b, per step: cluster b joins cluster a (clusters named by their first point).
    deltas : ndarray of shape (N - min_clusters,)
        The criterion's increase at each step.
    """
    X = np.asarray(X, dtype=float)
    Z = _svd_whitened(X)
    alpha = max(alpha * float(((Z - Z.mean(axis=0)) ** 2).sum()) / Z.size, np.finfo(float).eps)
    N, D = Z.shape
    n = np.ones(N)
    means = Z.copy()
    scatter = np.zeros((N, D, D))
    terms = _vvv_term(n, scatter, alpha, beta, np.ones(N, dtype=bool))  # log(αβ) each
    cost = np.full((N, N), np.inf)
    block = max(1, 2**20 // (N * D * D))
    for start in range(0, N, block):  # every pair once, in blocks of rows (bounded memory)
        rows = np.arange(start, min(start + block, N))
        a, b = np.broadcast_arrays(rows[:, None], np.arange(N)[None, :])
        cost[rows] = _vvv_merge(n, means, scatter, terms, a, b, alpha, beta)[0]
    np.fill_diagonal(cost, np.inf)
    nearest = cost.argmin(axis=1)
    best = cost[np.arange(N), nearest]
    active = np.ones(N, dtype=bool)
    # mclust keeps the clusters in slots 0 .. last: a merge puts the pair into the lower slot of
    # the two and moves the last slot's cluster into the higher one. Among pairs of exactly equal
    # cost (identical rows, which Old Faithful has) it takes the last in its scan, the pair with
    # the highest (higher slot, lower slot); so does this.
    slot, at_slot, last = np.arange(N), np.arange(N), N - 1
    merges, deltas = [], []
    for _ in range(N - min_clusters):
        i = int(np.argmin(best))
        tied = np.flatnonzero(best == best[i])
        if tied.size > 2:  # more than one pair at the minimum: mclust's choice among them
            rows, cols = np.nonzero(cost[tied] == best[i])
            high, low = np.maximum(slot[tied[rows]], slot[cols]), np.minimum(slot[tied[rows]], slot[cols])
            pick = np.lexsort((low, high))[-1]
            i, nearest[i] = int(tied[rows[pick]]), cols[pick]
        a, b = sorted((i, int(nearest[i])))
        low, high = sorted((slot[a], slot[b]))
        moved = at_slot[last]
        slot[a], at_slot[low] = low, a
        if high != last:
            slot[moved], at_slot[high] = high, moved
        last -= 1
        delta, merged, term = _vvv_merge(n, means, scatter, terms, np.array([a]), np.array([b]), alpha, beta)
        merges.append((a, b))
        deltas.append(float(delta[0]))
        means[a] = (n[a] * means[a] + n[b] * means[b]) / (n[a] + n[b])
        n[a] += n[b]
        scatter[a], terms[a] = merged[0], term[0]
        active[b] = False
        cost[b, :] = cost[:, b] = best[b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        if others.size == 0:
            continue
        row = _vvv_merge(n, means, scatter, terms, np.full(others.size, a), others, alpha, beta)[0]
        cost[a, others] = cost[others, a] = row
        nearest[a] = others[np.argmin(row)]
        best[a] = cost[a, nearest[a]]
        stale = others[(nearest[others] == a) | (nearest[others] == b)]  # their nearest changed or left
        if stale.size:
            nearest[stale] = cost[stale].argmin(axis=1)
            best[stale] = cost[stale, nearest[stale]]
        closer = others[row < best[others]]
        nearest[closer], best[closer] = a, row[row < best[others]]
    return np.array(merges, dtype=int).reshape(-1, 2), np.array(deltas)


def model_based_labels(X, n_components, *, seed=None, max_points=HIERARCHICAL_MAX_POINTS):
    """mclust's starting partitions: ``model_based_merges`` cut at K clusters (``hclass``).

    Deterministic for N <= ``max_points``; above it the tree is built on a subsample of
    ``max_points`` rows drawn from ``seed`` (mclust's ``subset`` option does the same at 2,000)
    and every other point joins the nearest cluster mean.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or sequence of int
        One K, or several: the tree is built once and cut at each.

    Returns
    -------
    ndarray of shape (n_samples,), or a list of them (one per K): labels in 0 .. K-1, numbered
    in the order of each cluster's first point.
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    rows = np.arange(len(X))
    if len(X) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), max_points, replace=False))
    ks = [n_components] if np.isscalar(n_components) else list(n_components)
    merges, _ = model_based_merges(X[rows], min(ks))
    owner = np.arange(len(rows))  # each cluster named by its first point
    n_start = len(rows)
    wanted, snapshots = {max(n_start - k, 0) for k in ks}, {}
    for step in range(len(merges) + 1):
        if step in wanted:
            snapshots[step] = np.unique(owner, return_inverse=True)[1].reshape(-1)
        if step < len(merges):
            owner[owner == merges[step, 1]] = merges[step, 0]
    out = {}
    for k in ks:
        labels = snapshots[max(n_start - k, 0)]
        if len(rows) < len(X):  # the rest to the nearest cluster mean
            centres = np.array([X[rows][labels == j].mean(axis=0) for j in range(labels.max() + 1)])
            labels = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        out[k] = labels
    return out[ks[0]] if np.isscalar(n_components) else [out[k] for k in ks]


# The relative gap between the two cheapest merges below which the runner-up is also a start.
RUNNER_UP_GAP = 0.01


def _hc_branches(X, cuts, ks):
    """More starts from mclust's hierarchy where it nearly ties: at each cut of K + 1 clusters
    (``cuts``, K + 1 -> labels) whose two cheapest merges are within RUNNER_UP_GAP of each other,
    the runner-up merge, followed by the cheapest merges down to min(ks). Returns
    {K: [(name, labels), ...]} for the K in ``ks``, without repeats of the tree's own cuts.

    Near such a tie mclust can take the other merge: its merge costs, kept by incremental
    updates, depart from the exact criterion computed here (measured against its Fortran's
    costs: by up to 1.4e-2, relative, on Old Faithful and 7e-4 on diabetes, where its merge
    order is still ours; by up to 1.3e-3 in wreath's last 17 merges). On wreath (N = 1,000)
    its K = 3 cut is the runner-up of the K = 4 cut (443.12 against 442.60), its K = 2 cut the
    cheapest merge after that; from its K = 3 cut EM ends 11.9 nats higher for the tied model
    than from the tree's."""
    Z = _svd_whitened(X)
    alpha = max(float(((Z - Z.mean(axis=0)) ** 2).sum()) / Z.size, np.finfo(float).eps)
    seen = {K: [_canonical(cuts[K])] for K in ks if K in cuts}
    out = {K: [] for K in ks}
    for top in sorted(cuts):
        if top - 1 < max(2, min(ks)):
            continue
        merged, K = _merged_by_rank(Z, alpha, cuts[top], rank=1), top - 1
        while merged is not None and K >= min(ks):
            if K in out and not any(np.array_equal(merged, other) for other in seen.setdefault(K, [])):
                seen[K].append(merged)
                out[K].append((f"mclust hc, near-tie branch at K = {top}", merged))
            merged = _merged_by_rank(Z, alpha, merged, rank=0) if K > max(2, min(ks)) else None
            K -= 1
    return out


def _canonical(labels):
    """Labels renumbered in the order of each cluster's first point."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=int)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def _merged_by_rank(Z, alpha, labels, rank):
    """``labels`` with one pair of clusters merged: the cheapest by mclust's criterion (rank 0)
    or the runner-up (rank 1, only when within RUNNER_UP_GAP of the cheapest; else None)."""
    K = labels.max() + 1
    if K < 2 + rank:
        return None
    n = np.bincount(labels, minlength=K).astype(float)
    means = np.array([Z[labels == k].mean(axis=0) for k in range(K)])
    centred = Z - means[labels]
    scatter = np.array([centred[labels == k].T @ centred[labels == k] for k in range(K)])
    terms = _vvv_term(n, scatter, alpha, 1.0, n == 1)
    a, b = np.triu_indices(K, 1)
    delta = _vvv_merge(n, means, scatter, terms, a, b, alpha, 1.0)[0]
    order = np.argsort(delta, kind="stable")
    if rank == 1 and delta[order[1]] - delta[order[0]] > RUNNER_UP_GAP * abs(delta[order[0]]):
        return None
    pick = order[rank]
    return _canonical(np.where(labels == b[pick], a[pick], labels))


def _check_full_rank(X):
    """Raise when X's columns are linearly dependent (a constant column, or one that is a
    combination of others): the data then lie on a lower-dimensional plane, every component is
    flat across it, the likelihood is unbounded for every model, and nothing the search could
    report would mean anything."""
    constant = np.ptp(X, axis=0) == 0  # exact: X.var() of a constant column can round to 1e-29
    if constant.any():
        raise ValueError(
            f"column(s) {np.flatnonzero(constant).tolist()} of X are constant: drop them before the search."
        )
    variances = X.var(axis=0)
    scale = np.sqrt(variances)
    eigenvalues, vectors = np.linalg.eigh(np.atleast_2d(np.corrcoef(X.T)))
    if eigenvalues[0] < 1e-10 * eigenvalues[-1]:
        weights = np.round(vectors[:, 0] / scale / np.abs(vectors[:, 0] / scale).max(), 3)
        raise ValueError(
            "the columns of X are linearly dependent (their correlation matrix is singular, smallest "
            f"eigenvalue below 1e-10 of the largest): Σ_d w_d x_d is constant for w = {weights}; "
            "drop one of the columns it involves before the search."
        )


# --------------------------------------------------------------------------- several starts at once


def _squares(Xt):
    """x_i x_iᵀ for every column of Xᵀ (D, N), flattened: shape (D², N)."""
    return (Xt[:, None, :] * Xt[None, :, :]).reshape(-1, Xt.shape[1])


def _stacked_e_step(source, squares, weights, means, covariances, reg_covar, n_blocks=1):
    """γ laid out (S, K, N) and log p(X | θ_s) per start, for S parameter sets at once.

    The E-step of ``em_helpers`` on stacks: weights (S, K), means (S, K, D), covariances
    (S, K, D, D); starts with fewer components are padded to K with π_k = 0, and get γ = 0
    exactly there (the core's rule for π_k = 0). ``source`` is an ``em.DataSource`` of the
    centred points, ``squares`` their ``_squares``; the points' blocks go through the source's
    map (``_map_blocks``), ``n_blocks`` of them (in memory one, whose γ and L are the result).

    The squared Mahalanobis distance is expanded,

        (x - μ)ᵀ Σ⁻¹ (x - μ) = ⟨Σ⁻¹, x xᵀ⟩ - 2 (Σ⁻¹ μ)ᵀ x + μᵀ Σ⁻¹ μ,

    so that all S·K components take two matrix products with the data, (S·K, D²) @ (D², N) and
    (S·K, D) @ (D, N), instead of S·K whitenings of a (D, N) block. Expanded, the terms cancel as
    |x|²/σ² grows, so the points must be centred on the data's mean (``_stacked_em_loop`` does
    it): then they stay within a few orders of the distance itself for every component that
    holds points.

    Why this kernel stays beside the core's ``log_weighted_densities`` (it shares the constant
    term, ``em.log_component_constants``, and the normalisation with γ = 0 where π_k = 0,
    ``em.responsibilities_in_place``): one E-step of S starts at once against the same starts one by one
    through the core's ``_e_step`` (their GMMParams made beforehand), on Old Faithful (N = 272),
    was 3.1-3.7x faster at 24 starts of K = 3, 1.5-2.2x at 216 of K = 5 and 1.0-1.1x at 108 of
    K = 9 (tests/select_stacked_speedup.py: best of 7, three runs, load average 2.1-2.3 on this
    2-core machine; L equal to 4e-16 at K = 3, 1.2e-10 at K = 9, relative). The search groups
    its stacks by K (``_buckets``), most of them of small K; the stacked loop as a whole against
    one run_fit per start: see ``_stacked_em``.
    """
    n_samples = source.n_samples
    size = -(-n_samples // n_blocks)
    terms = _stacked_terms(weights, means, covariances, reg_covar)

    def one_block(terms, index):
        rows = slice(index * size, min((index + 1) * size, n_samples))
        return _stacked_block(source.Xt[:, rows], squares[:, rows], weights, terms)

    parts = list(_map_blocks(source, one_block, terms, n_blocks))
    if len(parts) == 1:
        return parts[0]
    log_lik = parts[0][1].copy()
    for _, block_log_lik in parts[1:]:  # in block order
        log_lik += block_log_lik
    return np.concatenate([resp for resp, _ in parts], axis=-1), log_lik


def _map_blocks(source, one_block, terms, n_blocks):
    """``one_block(terms, index)`` for the source's blocks, through the DataSource's map, where a
    pool of workers goes (the stacked E-step's one call of it; the fits this module makes with
    fit_gmm reach it through their own DataSource, at n_jobs = 1)."""
    return source.map_blocks(one_block, terms, n_blocks)


def _stacked_terms(weights, means, covariances, reg_covar):
    """The θ-only parts of the stacked E-step: Σ⁻¹ (S·K, D²), Σ⁻¹ μ (S·K, D) and the constant
    log π_k - ½ D log 2π - ½ log|Σ_k| - ½ μᵀ Σ⁻¹ μ (S, K)."""
    S, K, D = means.shape
    try:
        _, lower_inv, half_log_det = em.cholesky_factors(covariances)  # C⁻¹ and ½ log|Σ_k|
    except np.linalg.LinAlgError:  # rounding broke Σ_k = S_k + reg_covar·I ⪰ reg_covar·I: the core's floor
        _, lower_inv, half_log_det = em.cholesky_factors(em.floor_eigenvalues(covariances, reg_covar)[0])
    precision = np.swapaxes(lower_inv, -1, -2) @ lower_inv  # Σ⁻¹ = C⁻ᵀ C⁻¹
    pulled = (precision @ means[..., None])[..., 0]  # Σ⁻¹ μ, (S, K, D)
    log_weights = em.log_mixing_weights(weights)  # -inf where π_k = 0 (padding)
    const = em.log_component_constants(log_weights, half_log_det, D) - 0.5 * (pulled * means).sum(axis=-1)
    return precision.reshape(S * K, D * D), pulled.reshape(S * K, D), const


def _stacked_block(Xt, squares, weights, terms):
    """γ (S, K, n) and Σ_i log p(x_i | θ_s) (S,) of one block of centred points Xᵀ (D, n)."""
    precision, pulled, const = terms
    S, K = weights.shape
    maha = (precision @ squares).reshape(S, K, -1)
    maha -= 2.0 * (pulled @ Xt).reshape(S, K, -1)
    log_prob = const[..., None] - 0.5 * maha  # -inf where π_k = 0
    # The core's log-sum-exp over k (its clamp included), on the (K, S, n) view of the stack;
    # a component with π_k = 0 gets exp(-700) ~ 1e-304 there, then exactly 0, as in the core.
    log_density = em.responsibilities_in_place(np.moveaxis(log_prob, 1, 0), weights.T)
    return log_prob, log_density.sum(axis=-1)


def _raw_moments(Xt, squares, resp):
    """Σ_i γ_ik (S, K), Σ_i γ_ik x_i (S, K, D) and Σ_i γ_ik x_i x_iᵀ (S, K, D, D) of the centred
    points Xᵀ (D, N) (``squares``: their ``_squares``) under γ (S, K, N): two products for every
    start and component, about the data's mean, not about each c_k as the core's statistics are
    (``em.block_moments``): the expanded scatter Σ γ x xᵀ - N_k μ μᵀ that follows is exact enough
    only because the points are centred (see _stacked_e_step); the stacked M-step's and the
    degenerate screen's."""
    (S, K, N), D = resp.shape, Xt.shape[0]
    held = resp.sum(axis=2)
    first = resp @ Xt.T
    second = (resp.reshape(S * K, N) @ squares.T).reshape(S, K, D, D)
    return held, first, second


def _stacked_m_step(Xt, squares, resp, reg_covar, types, valid):
    """π, μ, Σ per start from γ (S, K, N): the maximum-likelihood M-step of ``em_helpers``, with
    its count floor, its covariance models (``constrain_covariances``, per start's covariance
    type, ``types`` of shape (S,)) and its reg_covar (``add_to_diagonals``); a padded component
    (``valid`` False) gets π = 0, μ = 0, Σ = I. The scatter is Σ_i γ_ik x_i x_iᵀ / N_k - μ_k μ_kᵀ,
    one product with the squares for all components, exact enough because Xᵀ is centred (see
    _stacked_e_step)."""
    N, D = resp.shape[2], Xt.shape[0]
    held, first, second = _raw_moments(Xt, squares, resp)
    counts = np.where(valid, em.floored_counts(held), 0.0)  # N_k, (S, K)
    safe = np.where(valid, counts, 1.0)[..., None]
    means = first / safe  # Σ_i γ_ik x_i / N_k, (S, K, D)
    second = second / safe[..., None]
    scatter = second - means[..., :, None] * means[..., None, :]
    for covariance_type in ("diag", "spherical", "tied"):
        rows = types == covariance_type
        if not rows.any():
            continue
        if rows.all():
            rows = slice(None)  # one type (the usual case): no copy
        scatter[rows] = em.constrain_covariances(scatter[rows], counts[rows], covariance_type)
    em.add_to_diagonals(scatter, reg_covar)
    scatter[~valid] = np.eye(D)
    return counts / N, means, scatter


def _stacked_em(Xt, starts, max_iter, tol, reg_covar, race=0.0, by_k=False):
    """EM from every start in ``starts`` (θ with ``weights``, ``means``, ``covariances`` and
    ``covariance_type``; any K, any type) at once, each stopping by fit_gmm's rule (the driver's
    ``gain_below_tol``, on all starts at once) on its own;
    returns a ``_Fit`` per start.

    The same iterations as ``fit_gmm(X, K, init=start)`` (equal to 1e-10: tested); a start
    that has converged leaves the stack, so the rest run on without it. BLAS runs on one thread
    here: its threads cost more than they gain on these short, wide products (an iteration of
    108 starts of K = 9 on Old Faithful: 30 ms with OpenBLAS's threads on a busy 2-core machine,
    6 ms on one; measured), as a DataSource with worker processes or of rows also holds it (the
    core's in-memory fit at n_jobs = 1 keeps its products on one BLAS thread by its block sizes
    instead). This hold is the search's own, outside any DataSource: the search takes no pool.

    Why this loop, not em_driver's ``run_fit``: run_fit's run is one θ with one history, one
    max_iter and one stopping test, whose bool ends the run; a stack stops each start on its own
    (by tol, by the race below, or at its own max_iter: ``_polish`` gives one per start) and drops
    it from the stack, keeping a history per start. A variant whose state is the stacked θ would
    need run_fit to take an array of objectives and a mask of the starts still running. Replayed
    as one ``fit_gmm`` (one run_fit) per start, the search's short stage on Old Faithful (164
    starts, 10 iterations) took 4.1-5.2x the wall time and 4.1-4.9x the CPU time
    (tests/select_loop_cost.py, best of 5, three runs, load average 2.1-2.6 on this 2-core machine).

    ``race`` > 0 also stops a start, unconverged, once its gain falls below race·(1 + |L|)
    (mclust's rule with race = 1e-5): the search's race between starts (see _search_round).
    ``by_k`` splits the starts into stacks by K (``_buckets``): worth it for the short runs,
    where every start runs the same few iterations, not for long ones, whose stacks empty
    as starts converge and where each stack's fixed cost per iteration then dominates.
    """
    limits = np.broadcast_to(np.asarray(max_iter), (len(starts),))
    out = [None] * len(starts)
    with em.one_blas_thread():
        sizes = np.array([p.n_components for p in starts])
        for group in _buckets(sizes, Xt.shape[1]) if by_k else [np.arange(len(starts))]:
            ends = _stacked_em_loop(Xt, [starts[s] for s in group], limits[group], tol, reg_covar, race)
            for s, end in zip(group, ends, strict=True):
                out[s] = end
    return out


# The cost of one stacked iteration, as c0 + c1·S·K·N for S starts padded to K components (fixed
# NumPy overhead against work per entry; about 0.3 ms and 10 ns on this project's 2-core machine).
_ITERATION_OVERHEAD, _ENTRY_COST = 3e-4, 1e-8


def _buckets(sizes, n_samples):
    """Starts grouped into stacks by K (contiguous ranges of K), the grouping that minimises the
    cost model above: one stack pads every start to the largest K (on the search's first short
    stage about half its entries are padding), one stack per K pays the fixed cost per K.
    Returns a list of index arrays."""
    ks = np.unique(sizes)
    count = np.array([(sizes == k).sum() for k in ks])
    best = [0.0] + [np.inf] * len(ks)  # best[j]: cost of grouping ks[:j]
    cut = [0] * (len(ks) + 1)
    for j in range(1, len(ks) + 1):
        for i in range(j):
            cost = best[i] + _ITERATION_OVERHEAD + _ENTRY_COST * count[i:j].sum() * ks[j - 1] * n_samples
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], len(ks)
    while j > 0:
        groups.append(np.flatnonzero(np.isin(sizes, ks[cut[j] : j])))
        j = cut[j]
    return groups[::-1]


def _stacked_em_loop(Xt, starts, max_iter, tol, reg_covar, race=0.0):
    """``_stacked_em``'s loop (see there)."""
    N, D = Xt.shape[1], Xt.shape[0]
    centre = Xt.mean(axis=1)
    Xt = Xt - centre[:, None]  # see _stacked_e_step: the expanded distances need centred data
    source = em.DataSource(Xt.T)  # the centred points, whose map the E-step's blocks go through
    squares = _squares(Xt)
    sizes = np.array([p.n_components for p in starts])
    types = np.array([p.covariance_type for p in starts])
    valid = np.arange(sizes.max()) < sizes[:, None]  # (S, K)
    weights, means = np.zeros(valid.shape), np.zeros((*valid.shape, D))
    covariances = np.broadcast_to(np.eye(D), (*valid.shape, D, D)).copy()
    for s, p in enumerate(starts):
        weights[s, : sizes[s]], means[s, : sizes[s]], covariances[s, : sizes[s]] = (
            p.weights,
            p.means - centre,
            p.covariances,
        )
    resp, log_lik = _stacked_e_step(source, squares, weights, means, covariances, reg_covar)
    histories = [[value] for value in log_lik]
    final_resp = [None] * len(starts)
    converged, raced = np.zeros(len(starts), dtype=bool), np.zeros(len(starts), dtype=bool)
    limits = np.broadcast_to(np.asarray(max_iter), (len(starts),))  # one max_iter, or one per start
    active = np.flatnonzero(limits > 0)
    for s in np.flatnonzero(limits <= 0):
        final_resp[s] = resp[s]
    resp = resp[active]
    for iteration in range(1, int(limits.max(initial=0)) + 1):
        if active.size == 0:
            break
        w, m, c = _stacked_m_step(Xt, squares, resp, reg_covar, types[active], valid[active])
        weights[active], means[active], covariances[active] = w, m, c
        resp, log_lik = _stacked_e_step(source, squares, w, m, c, reg_covar)
        previous = np.array([histories[s][-1] for s in active])
        for s, value in zip(active, log_lik, strict=True):
            histories[s].append(value)
        at_tol = em.gain_below_tol(previous, log_lik, N, tol)  # fit_gmm's rule, start by start
        gains = log_lik - previous
        by_race = ~at_tol & (gains < race * (1.0 + np.abs(log_lik))) if race > 0 else np.zeros(active.size, bool)
        done = at_tol | by_race | (limits[active] <= iteration)
        for row in np.flatnonzero(done):
            final_resp[active[row]] = resp[row]
        converged[active[at_tol]] = True
        raced[active[by_race]] = True
        active, resp = active[~done], resp[~done]
    for row, s in enumerate(active):
        final_resp[s] = resp[row]
    return [
        _Fit(
            _Theta(weights[s, :k].copy(), means[s, :k] + centre, covariances[s, :k].copy(), str(types[s])),
            np.ascontiguousarray(final_resp[s][:k].T),
            np.array(histories[s]),
            bool(converged[s]),
            bool(raced[s]),
        )
        for s, k in enumerate(sizes)
    ]


class _Theta(NamedTuple):
    """θ as plain arrays, read like GMMParams (the stacked EM's starts and ends; a GMMParams,
    whose construction validates and factors, is built only for the fit a pair keeps)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str

    @property
    def n_components(self):
        return len(self.weights)

    @property
    def n_features(self):
        return self.means.shape[1]


class _Fit(NamedTuple):
    """A stacked EM run's end, read like GMMFit by the search."""

    params: _Theta
    responsibilities: np.ndarray  # (N, K)
    log_likelihoods: np.ndarray
    converged: bool  # the gain per point fell below tol
    raced: bool = False  # stopped by the race's rule first (see RACE_TOL)

    @property
    def n_iter(self):
        return len(self.log_likelihoods) - 1

    @property
    def log_likelihood(self):
        return float(self.log_likelihoods[-1])

    objective = log_likelihood
    log_posteriors = None


def _fits(X, inits, settings, max_iter, race=0.0, by_k=False):
    """EM from each start in ``inits`` (θ, any K and covariance type); a fit per start, or None
    where EM raised (a collapse with reg_covar = 0). All starts at once (``_stacked_em``, giving
    ``_Fit``s) for maximum likelihood with reg_covar > 0; one ``fit_gmm`` per start otherwise
    (GMMFits). A stop at max_iter is left to the table's "converged" column, not warned about."""
    if not inits:
        return []
    if settings["prior"] is None and settings["reg_covar"] > 0:
        Xt = np.ascontiguousarray(X.T)
        return _stacked_em(Xt, inits, max_iter, settings["tol"], settings["reg_covar"], race, by_k)
    fits = []
    limits = np.broadcast_to(np.asarray(max_iter), (len(inits),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for init, limit in zip(inits, limits, strict=True):
            try:
                fits.append(
                    em.fit_gmm(
                        X,
                        init.n_components,
                        init=_as_params(init),
                        covariance_type=init.covariance_type,
                        max_iter=int(limit),
                        **settings,
                    )
                )
            except (ValueError, np.linalg.LinAlgError):
                fits.append(None)
    return fits


def _as_params(theta):
    """A GMMParams from θ (unchanged if it is one)."""
    if isinstance(theta, em.GMMParams):
        return theta
    return em.GMMParams(theta.weights, theta.means, theta.covariances, covariance_type=theta.covariance_type)


def _as_gmm_fit(X, fit, settings):
    """The GMMFit of a kept run: a ``_Fit`` gets its GMMParams and γ recomputed by fit_gmm at
    θ_T (max_iter = 0), with the run's history; a GMMFit is returned as it is."""
    if isinstance(fit, em.GMMFit):
        return fit
    params = _as_params(fit.params)
    at_end = em.fit_gmm(
        X,
        params.n_components,
        init=params,
        covariance_type=params.covariance_type,
        max_iter=0,
        tol=0,
        reg_covar=settings["reg_covar"],
    )
    # A run the race stopped converged by mclust's rule: its tol is that rule's threshold per point.
    tol = settings["tol"] if fit.converged or not fit.raced else RACE_TOL * (1 + abs(fit.log_likelihood)) / len(X)
    return dataclasses.replace(
        at_end, log_likelihoods=fit.log_likelihoods, n_iter=fit.n_iter, converged=fit.converged or fit.raced, tol=tol
    )


def _joined(short, rest):
    """One fit for a short run continued: the histories joined, θ_0 the short run's start."""
    history = np.concatenate([short.log_likelihoods, rest.log_likelihoods[1:]])
    if isinstance(rest, _Fit):
        return rest._replace(log_likelihoods=history)
    return dataclasses.replace(
        rest,
        log_likelihoods=history,
        n_iter=short.n_iter + rest.n_iter,
        log_posteriors=None
        if rest.log_posteriors is None
        else np.concatenate([short.log_posteriors, rest.log_posteriors[1:]]),
    )


class _Run(NamedTuple):
    """One start of a search: its pair, its name, its fit so far and whether it is degenerate."""

    covariance_type: str
    n_components: int
    name: str
    fit: object  # _Fit or GMMFit
    degenerate: bool


# The starts every pair continues whatever their short run gave (see _search_round): those whose
# names begin so (mclust's hierarchy and its near-tie branches).
ALWAYS_CONTINUED = "mclust hc"
# The race's stopping rule: a continued start stops when its gain falls below RACE_TOL·(1 + |L|),
# mclust's own rule (emControl()'s tol); only each pair's winner then runs on to ``tol``.
RACE_TOL = 1e-5


def _search_round(X, starts, settings, max_iter, short_iter, n_continue, check):
    """Short-run strategy (Biernacki, Celeux and Govaert 2003) for every pair at once: every
    start runs ``short_iter`` iterations; per (type, K), the starts named in ALWAYS_CONTINUED and
    the ``n_continue`` others with the highest objective that are not degenerate then run to
    convergence. ``starts`` is a list of (name, θ); ``check(fits)`` says which fits are
    degenerate. Returns {(type, K): [runs kept, how many starts were degenerate, how many raised]}."""
    short = _fits(X, [theta for _, theta in starts], settings, min(short_iter, max_iter), by_k=True)
    out = {(theta.covariance_type, theta.n_components): [[], 0, 0] for _, theta in starts}
    done = [fit for fit in short if fit is not None]
    flags = iter(check(done))
    runs = []
    for (name, theta), fit in zip(starts, short, strict=True):
        pair = (theta.covariance_type, theta.n_components)
        if fit is None:
            out[pair][2] += 1
        else:
            runs.append(_Run(*pair, name, fit, bool(next(flags))))
    chosen = []
    for pair in out:
        ranked = sorted(
            (run for run in runs if (run.covariance_type, run.n_components) == pair),
            key=lambda run: (run.degenerate, not run.name.startswith(ALWAYS_CONTINUED), -run.fit.objective),
        )
        always = sum(run.name.startswith(ALWAYS_CONTINUED) for run in ranked)
        keep = [run for run in ranked[: always + n_continue] if not run.degenerate]
        out[pair][1] = sum(run.degenerate for run in ranked)
        if not keep and ranked:  # every start degenerate: the best of them, for the record
            out[pair][0].append(ranked[0])
        chosen += keep
    going_on = [run for run in chosen if not run.fit.converged and run.fit.n_iter < max_iter]
    more = _fits(X, [run.fit.params for run in going_on], settings, max_iter - short_iter, RACE_TOL)
    longer = {id(run): fit for run, fit in zip(going_on, more, strict=True)}
    ended = []
    for run in chosen:
        fit = run.fit
        if id(run) in longer:
            if longer[id(run)] is None:
                out[(run.covariance_type, run.n_components)][2] += 1
                continue
            fit = _joined(fit, longer[id(run)])
        ended.append(run._replace(fit=fit))
    for run, degenerate in zip(ended, check([run.fit for run in ended]), strict=True):
        out[(run.covariance_type, run.n_components)][1] += bool(degenerate)
        out[(run.covariance_type, run.n_components)][0].append(run._replace(degenerate=bool(degenerate)))
    return out


def _best(runs):
    """The run with the highest objective among those that are not degenerate (None if none)."""
    healthy = [run for run in runs if not run.degenerate]
    return max(healthy, key=lambda run: run.fit.objective) if healthy else None


def _split_responsibilities(fit, j, X):
    """γ with one more column: component j's points split in two by the hyperplane through μ_j
    normal to Σ_j's principal axis (the split move of Ueda et al.'s SMEM, 2000)."""
    gamma = fit.responsibilities
    axis = np.linalg.eigh(fit.params.covariances[j])[1][:, -1]
    far_side = (X - fit.params.means[j]) @ axis > 0
    moved = np.where(far_side, gamma[:, j], 0.0)
    split = np.column_stack([gamma, moved])
    split[:, j] -= moved
    return split


def _m_steps(X, partitions, settings):
    """θ_0 per (name, covariance type, γ (N, K)): one M-step each, all at once when the search
    runs the stacked EM (maximum likelihood, reg_covar > 0), else ``em.m_step`` one by one (with
    reg_covar = 0 a partition with a single point collapses: that start is counted, not made).
    Returns the list of (name, θ) and how many failed per (type, K)."""
    reg_covar, made, failed = settings["reg_covar"], [], {}
    if not partitions:
        return made, failed
    if settings["prior"] is not None or reg_covar == 0:
        for name, covariance_type, gamma in partitions:
            try:
                made.append((name, em.m_step(X, gamma, reg_covar=reg_covar, covariance_type=covariance_type)))
            except ValueError:
                pair = (covariance_type, gamma.shape[1])
                failed[pair] = failed.get(pair, 0) + 1
        return made, failed
    Xt = np.ascontiguousarray(X.T)
    Xt = Xt - Xt.mean(axis=1, keepdims=True)
    centre = X.mean(axis=0)
    sizes = np.array([gamma.shape[1] for _, _, gamma in partitions])
    valid = np.arange(sizes.max()) < sizes[:, None]
    resp = np.zeros((len(partitions), sizes.max(), X.shape[0]))
    for s, (_, _, gamma) in enumerate(partitions):
        resp[s, : sizes[s]] = gamma.T
    types = np.array([t for _, t, _ in partitions])
    weights, means, covariances = _stacked_m_step(Xt, _squares(Xt), resp, reg_covar, types, valid)
    for s, (name, covariance_type, _) in enumerate(partitions):
        k = sizes[s]
        made.append((name, _Theta(weights[s, :k], means[s, :k] + centre, covariances[s, :k], covariance_type)))
    return made, failed


def _second_round(X, found, types, settings, max_iter, short_iter, n_continue, check):
    """More starts for every pair (``second_round=True``), from what the first round found, by the
    same short-run rule (found useful before mclust's own start joined the first round, with
    Ward's and ten k-means++ starts):

    * the partitions the other covariance types found at the same K (their γ, one M-step under
      this type): mclust starts every model from one partition, and on thyroid only the
      spherical fit's partition then led the diag model with K = 2 to its maximum (-2581.8,
      against -2606.9 from every other start);
    * the best fit at K - 1 with one of its components split in two: on Old Faithful the first
      round's full K = 9 fit (-1084.5) then fell below its own K = 8 fit (-1080.5), which a split
      of any K = 8 component starts above.

    Adds the runs to ``found`` in place."""
    best = {pair: _best(runs) for pair, (runs, _, _) in found.items()}
    partitions = []
    for covariance_type, K in found:
        for other in types:
            source = best.get((other, K)) if other != covariance_type and K > 1 else None
            if source is not None:
                partitions.append((f"{other} fit at K = {K}", covariance_type, source.fit.responsibilities))
        parent = best.get((covariance_type, K - 1))
        for j in range(K - 1 if parent is not None else 0):
            partitions.append(
                (
                    f"K = {K - 1} fit, component {j + 1} split in two",
                    covariance_type,
                    _split_responsibilities(parent.fit, j, X),
                )
            )
    starts, failed = _m_steps(X, partitions, settings)
    for pair, count in failed.items():
        found[pair][2] += count
    more = _search_round(X, starts, settings, max_iter, short_iter, n_continue, check)
    for pair, (runs, n_degenerate, n_failed) in more.items():
        found[pair][0].extend(runs)
        found[pair][1] += n_degenerate
        found[pair][2] += n_failed


def _stacked_degenerate(X, fits, data_cov, min_spread_ratio):
    """``degenerate_components(...).size > 0`` for many fits at once (equal to it: tested): the
    scatter W_k about each μ_k from two matrix products per stack, as in _stacked_m_step, then
    the same ratios and rule (``_ratios_of_scatter``, ``_thin``). Returns a bool array, one per fit."""
    if not fits:
        return np.zeros(0, dtype=bool)
    N, D = X.shape
    centre = X.mean(axis=0)
    Xt = np.ascontiguousarray((X - centre).T)
    squares = _squares(Xt)
    sizes = np.array([fit.params.n_components for fit in fits])
    S, K = len(fits), sizes.max()
    valid = np.arange(K) < sizes[:, None]
    resp, means = np.zeros((S, K, N)), np.zeros((S, K, D))
    for s, fit in enumerate(fits):
        resp[s, : sizes[s]] = fit.responsibilities.T
        means[s, : sizes[s]] = fit.params.means - centre
    held, first, second = _raw_moments(Xt, squares, resp)
    outer = means[..., :, None] * first[..., None, :]
    scatter = (
        second - outer - np.swapaxes(outer, -1, -2) + held[..., None, None] * means[..., :, None] * means[..., None, :]
    )
    types = np.array([fit.params.covariance_type for fit in fits])
    ratios = _ratios_of_scatter(scatter, held, types, data_cov)  # a padded component's W_k = 0: masked
    return (_thin(ratios, held, types, D, min_spread_ratio) & valid).any(axis=1)


def _polish(X, found, pairs, settings, max_iter, check):
    """Run the best non-degenerate run of each pair in ``pairs`` on from where the race stopped it
    to ``tol`` (or max_iter), all at once; a run that turns degenerate on the way is marked, and
    the pair's next best is polished in the next pass (at most three passes). In place."""
    polished = set()
    for _ in range(3):
        todo = []
        for runs, _, _ in (found[pair] for pair in pairs):
            best = _best(runs)
            if best is not None and not best.fit.converged and best.fit.n_iter < max_iter and id(best) not in polished:
                todo.append((runs, best))
        if not todo:
            return
        limits = np.array([max_iter - best.fit.n_iter for _, best in todo])
        more = _fits(X, [best.fit.params for _, best in todo], settings, limits)
        ended = [(runs, best, _joined(best.fit, fit)) for (runs, best), fit in zip(todo, more, strict=True) if fit]
        polished.update(id(best) for (_, best), fit in zip(todo, more, strict=True) if fit is None)  # raised: kept
        for (runs, best, fit), degenerate in zip(ended, check([fit for _, _, fit in ended]), strict=True):
            i = next(i for i, run in enumerate(runs) if run is best)
            runs[i] = best._replace(fit=fit, degenerate=bool(degenerate))
            polished.add(id(runs[i]))


def _criterion_value(X, run, criterion):
    """BIC or ICL of a run's fit (lower is better), and whether it may be chosen (p < N·D)."""
    n_params = em.n_parameters(run.fit.params)  # reads K, D and the covariance type only
    value = em.bic_value(run.fit.log_likelihood, n_params, len(X))
    if criterion == "icl":
        value += _classification_cost(run.fit.responsibilities)
    return value, n_params < X.size


def _polish_the_choice(X, found, criterion, settings, max_iter, check):
    """Polish (``_polish``) the pair the criterion would choose; if polishing changed the
    choice (a run turned degenerate, or another pair now leads), polish the new choice, until
    the choice is a polished pair. The other pairs keep the race's end: their L is as converged
    as mclust's (its rule), the chosen fit's to ``tol``."""
    polished = set()
    for _ in range(len(found)):
        values = {}
        for pair, (runs, _, _) in found.items():
            best = _best(runs)
            if best is not None:
                value, allowed = _criterion_value(X, best, criterion)
                if allowed:
                    values[pair] = value
        if not values:
            return
        choice = min(values, key=values.get)
        if choice in polished:
            return
        _polish(X, found, [choice], settings, max_iter, check)
        polished.add(choice)


def _row(X, covariance_type, K, done, n_degenerate, failed, settings, data_cov):
    """The table row and kept fit for one pair: best non-degenerate run, else best degenerate."""
    if not done:
        nan = float("nan")
        return SearchRow(
            covariance_type, K, nan, 0, nan, nan, False, False, 0, "failed", "", n_degenerate, failed, nan
        ), None
    healthy = [run for run in done if not run.degenerate]
    run = max(healthy or done, key=lambda run: run.fit.objective)  # the first best
    fit = _as_gmm_fit(X, run.fit, settings)
    params = fit.params
    n_params = em.n_parameters(params)
    status = "degenerate" if run.degenerate else "too many parameters" if n_params >= X.size else "ok"
    bic = em.bic(X, params)  # L(θ_T) by the core's E-step
    row = SearchRow(
        covariance_type,
        K,
        fit.log_likelihood,
        n_params,
        bic,
        bic + _classification_cost(fit.responsibilities),  # ICL
        bool(fit.converged),
        run.degenerate,
        fit.n_iter,
        status,
        run.name,
        n_degenerate,
        failed,
        float(_spread_ratios(params, X, fit.responsibilities, data_cov).min()),
    )
    return row, fit


def select_model(
    X,
    n_components=range(1, 10),
    covariance_types=("spherical", "diag", "tied", "full"),
    *,
    criterion="bic",
    prior=None,
    n_init=4,
    seed=None,
    reg_covar=None,
    max_iter=1000,
    tol=1e-6,
    short_iter=10,
    n_continue=1,
    second_round=False,
    min_spread_ratio=MIN_SPREAD_RATIO,
):
    """Search K and the covariance model; return every pair's numbers and the chosen fit.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : iterable of int, default 1 .. 9
    covariance_types : iterable of {"full", "diag", "spherical", "tied"}
    criterion : {"bic", "icl"}, default "bic"
        Both lower-is-better (scikit-learn's sign; mclust prints the negative).
    prior : None, "default" or ConjugatePrior
        MAP-EM with mclust's conjugate prior (see ``em_helpers.default_prior``); the criteria
        then use the log-likelihood at the MAP estimate, as mclust does.
    n_init : int, default 4
        k-means++ starts per pair, besides the hierarchical ones (mclust's hierarchy cut at K, and
        its near-tie branches where there are any).
    seed : int, numpy.random.Generator or None
        Drives the k-means++ starts (and the hierarchy's subsample above 2,000 points).
    reg_covar : float or None
        None: 1e-8 times the smallest column variance of X (see the module docstring).
    max_iter, tol : as ``fit_gmm``, for the chosen fit: it runs until its gain per point falls
        below ``tol``. The other pairs stop by mclust's rule (a gain below 1e-5 (1 + |L|),
        ``RACE_TOL``): their L is as converged as mclust's, and their fits' ``tol`` says so.
        A pair that stops at max_iter is marked in the table.
    short_iter : int, default 10
        Every start runs this many iterations (the short-run strategy of Biernacki, Celeux and
        Govaert 2003) ...
    n_continue : int, default 1
        ... then the hierarchical starts and the ``n_continue`` best others that are not
        degenerate go on, to mclust's stopping rule.
    second_round : bool, default False
        Then start every pair again from the other covariance types' fits at the same K and
        from the best K - 1 fit with one component split in two (see ``_second_round``): it
        finds better maxima in a few pairs, at about 1.4 times the search's time.

    min_spread_ratio : float, default MIN_SPREAD_RATIO (1e-6)
        The degenerate rule's threshold (see ``degenerate_components``); 0 switches its spread
        test off, to see what it prevents (the count test for full covariances stays).

    Returns
    -------
    ModelSearch
        ``.best`` the chosen GMMFit, ``.table`` every pair, ``.summary()`` the table as text.

    Raises
    ------
    ValueError
        When no pair has a non-degenerate fit (the message says what to try).
    """
    X = em.check_X(X)
    em.check_two_points(X.shape[0], "select_model", "pass more points")
    _check_full_rank(X)
    if criterion not in CRITERIA:
        raise ValueError(f'criterion must be "bic" or "icl"; got {criterion!r}.')
    ks = [int(n_components)] if np.isscalar(n_components) else [int(k) for k in n_components]
    types = list(covariance_types)
    if not ks or not types:
        raise ValueError("n_components and covariance_types must each name at least one value.")
    for t in types:
        em.check_covariance_type(t)
    if max(ks) > X.shape[0] or min(ks) < 1:
        raise ValueError(
            f"n_components asks for K from {min(ks)} to {max(ks)}, but K must be between 1 and N = {X.shape[0]}: "
            f"pass n_components=range(1, {min(X.shape[0], 9) + 1}) or fewer."
        )
    em.check_int(n_init, "n_init", 0)
    em.check_int(max_iter, "max_iter", 0)  # fit_gmm's checks and wording (em_checks)
    em.check_tol(tol)
    if reg_covar is not None:
        em.check_reg_covar(reg_covar)
    if reg_covar is None:
        variances = X.var(axis=0)
        reg_covar = REG_COVAR_FRACTION * float(variances[variances > 0].min()) if (variances > 0).any() else 1e-6
    em.check_int(short_iter, "short_iter", 0)
    em.check_int(n_continue, "n_continue", 0)
    if not em.is_finite_real(min_spread_ratio) or min_spread_ratio < 0:  # em_checks' test and wording
        raise ValueError(f"min_spread_ratio must be a finite number >= 0; got {min_spread_ratio!r}.")
    em.check_bool(second_round, "second_round")
    settings = dict(tol=tol, reg_covar=reg_covar, prior=prior)
    rng = np.random.default_rng(seed)
    data_cov = em.data_covariance(X)

    def check(fits):
        return _stacked_degenerate(X, fits, data_cov, min_spread_ratio)

    # Partitions per K, shared by every covariance type: mclust's hierarchical one (and its
    # runner-up merge), and n_init k-means++ ones (K = 1 has only one).
    tree_ks = sorted(set(ks) | {K + 1 for K in ks if K + 1 <= len(X)})
    cuts = dict(zip(tree_ks, model_based_labels(X, tree_ks, seed=rng), strict=True))
    labels = {K: [("mclust hc", cuts[K])] for K in ks}
    for K, branches in _hc_branches(X, cuts, ks).items():
        labels[K] += branches
    # k-means++ seeds and every point to its nearest seed: the core's seeding (init_params' labels)
    Xt = np.ascontiguousarray(X.T)
    for K in ks:
        for i in range(n_init if K > 1 else 0):
            seeded = em.seed_responsibilities(Xt, K, "kmeans++", rng.spawn(1)[0])
            labels[K].append((f"kmeans++ {i + 1}", seeded.argmax(axis=0)))
    partitions = [
        (name, covariance_type, em.hard_responsibilities(cut, K).T)
        for covariance_type in types
        for K in ks
        for name, cut in labels[K]
    ]
    starts, failed = _m_steps(X, partitions, settings)
    found = _search_round(X, starts, settings, max_iter, short_iter, n_continue, check)
    for pair in ((t, K) for t in types for K in ks):
        found.setdefault(pair, [[], 0, 0])[2] += failed.get(pair, 0)
    if second_round:
        _second_round(X, found, types, settings, max_iter, short_iter, n_continue, check)
    _polish_the_choice(X, found, criterion, settings, max_iter, check)
    table, fits = [], {}
    for covariance_type in types:
        for K in ks:
            row, fit = _row(X, covariance_type, K, *found[(covariance_type, K)], settings, data_cov)
            table.append(row)
            if fit is not None:
                fits[(covariance_type, K)] = fit
    candidates = [row for row in table if row.status == "ok"]
    if not candidates:
        raise ValueError(
            "every fit of the search is degenerate or failed: try fewer components, prior='default', "
            "or check the data for duplicated rows and constant columns."
        )
    chosen = min(candidates, key=lambda row: getattr(row, criterion))  # the first best
    best = fits[(chosen.covariance_type, chosen.n_components)]
    distinct = tuple(len(np.unique(column)) for column in X.T)
    return ModelSearch(
        tuple(table),
        best,
        criterion,
        float(reg_covar),
        X.shape[0],
        fits,
        seed,
        n_init,
        min_spread_ratio,
        distinct,
        second_round,
    )

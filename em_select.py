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
thinner than the gaps between values (300 Poisson(3) counts: tied with K = 9, the largest
searched, one component on each of the values 0 to 6); and at
small N a component on two or three points can sit just above the threshold. The summary
notes columns with few distinct values and marks thin-but-allowed fits with ~.

Starts: Ward's agglomerative clustering (deterministic; of the raw and of the scaled columns,
cut at K clusters: mclust also starts EM from an agglomerative partition) and ``n_init``
k-means++ starts from ``seed``. Every start runs ``short_iter`` iterations; the two Ward
starts and the ``n_continue`` best others go on to convergence, all starts of a covariance
type as one stacked computation. A second round starts each pair from the other types' fits
at the same K and from the best K - 1 fit with one component split in two. A start that
raises (a collapse with ``reg_covar=0``) is counted and skipped.

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
from scipy.cluster.hierarchy import fcluster, linkage
from threadpoolctl import threadpool_limits

import em_helpers as em

__all__ = [
    "CRITERIA",
    "MIN_SPREAD_RATIO",
    "ModelSearch",
    "SearchRow",
    "degenerate_components",
    "hierarchical_labels",
    "icl",
    "select_model",
]

# Below this fraction of the data's variance along a direction, a component's variance there
# marks it as collapsed (see the module docstring for the evidence).
MIN_SPREAD_RATIO = 1e-6
# select_model's default reg_covar, as a fraction of the smallest column variance of X.
REG_COVAR_FRACTION = 1e-8
CRITERIA = ("bic", "icl")
# A column with at most this many distinct values is noted in the summary: a mixture can put one
# narrow component on each value (300 Poisson(3) counts: 10 values, and a tied fit with K = 9).
FEW_DISTINCT = 20
# Ward's linkage needs the N(N-1)/2 pairwise distances: above this many points it runs on a
# subsample (drawn from ``seed``) and every other point joins the nearest cluster mean.
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
    data_cov = np.atleast_2d(np.cov(X.T, bias=True))
    held = responsibilities.sum(axis=0)
    counts = held + em.COUNT_FLOOR  # N_k
    centred = X[None, :, :] - params.means[:, None, :]  # (K, N, D)
    scatter = np.einsum("nk,knd,kne->kde", responsibilities, centred, centred)  # W_k
    if params.covariance_type == "tied":
        pooled = scatter.sum(axis=0) / held.sum()
        scatter, counts = np.repeat(pooled[None], len(counts), axis=0), np.ones_like(counts)
    own = scatter / counts[:, None, None]
    if params.covariance_type == "diag":
        return (np.diagonal(own, axis1=1, axis2=2) / np.diag(data_cov)).min(axis=1)
    if params.covariance_type == "spherical":
        return np.trace(own, axis1=1, axis2=2) / np.trace(data_cov)
    eigenvalues, vectors = np.linalg.eigh(own)
    spread = np.einsum("kdj,de,kej->kj", vectors, data_cov, vectors)  # uᵀ S u per eigenvector
    return (eigenvalues / spread).min(axis=1)


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
    thin = spread_ratios(params, X, responsibilities) < min_spread_ratio
    if params.covariance_type == "full":
        thin |= responsibilities.sum(axis=0) < X.shape[1] + 1
    return np.flatnonzero(thin)


def icl(X, params, responsibilities=None) -> float:
    """Integrated completed likelihood, as R's mclust computes it, with scikit-learn's sign:
    BIC - 2 Σ_i log γ_i,ẑ_i, where ẑ_i = argmax_k γ_ik (lower is better).

    The extra term is the classification's cost (Biernacki, Celeux and Govaert 2000): 0 when
    every point belongs to one component with certainty, large when the components overlap,
    so ICL prefers well-separated clusters where BIC prefers the best density.
    """
    if responsibilities is None:
        responsibilities = em.e_step(X, params)[0]
    with np.errstate(divide="ignore"):
        certainty = np.log(responsibilities.max(axis=1))
    return em.bic(X, params) - 2.0 * float(certainty.sum())


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
    start: str  # the kept fit's start: "Ward", "Ward, scaled", "kmeans++ i", "<type>'s fit", "K - 1 split"
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
    seed, n_init, min_spread_ratio
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
    n_init: int = 10
    min_spread_ratio: float = 1e-6
    distinct_values: tuple = ()

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
            f"seed = {self.seed}, starts per pair: 2 Ward + {self.n_init} k-means++ (then a second round).",
            f"{name} = -2 log L + p log N (p parameters){' + classification cost' if name == 'ICL' else ''}: "
            "LOWER is better (R's mclust prints the negative, higher is better).",
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
            if distinct <= FEW_DISTINCT:
                lines.append(
                    f"note: column {d} has only {distinct} distinct values: a mixture can put a narrow component "
                    "on each, which no criterion here catches."
                )
        return "\n".join(lines)

    def __str__(self):
        return self.summary()


def hierarchical_labels(X, n_components, *, scaled=False, seed=None, max_points=HIERARCHICAL_MAX_POINTS):
    """Ward's agglomerative clustering of X (or of its columns scaled to unit variance), cut at K clusters.

    Deterministic for N <= ``max_points``; above it Ward runs on a subsample of ``max_points``
    rows drawn from ``seed``, and every other point joins the nearest cluster mean.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int or sequence of int
        One K, or several: the tree is built once and cut at each.
    scaled : bool, default False
        Cluster the columns scaled to unit variance (Ward's distances are Euclidean, so a
        column in large units dominates the unscaled tree).

    Returns
    -------
    ndarray of shape (n_samples,), or a list of them (one per K): labels in 0 .. K-1.
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    scale = X.std(axis=0) if scaled else np.ones(X.shape[1])
    Z = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    rows = np.arange(len(Z))
    if len(Z) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(len(Z), max_points, replace=False))
    tree = linkage(Z[rows], method="ward")
    ks = [n_components] if np.isscalar(n_components) else list(n_components)
    out = []
    for k in ks:
        labels = fcluster(tree, t=k, criterion="maxclust") - 1
        if len(rows) < len(Z):  # the rest to the nearest cluster mean
            centres = np.array([Z[rows][labels == j].mean(axis=0) for j in range(labels.max() + 1)])
            labels = np.argmin(((Z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        out.append(labels)
    return out[0] if np.isscalar(n_components) else out


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


def _one_hot(labels, n_components):
    """Hard responsibilities (N, K) from labels; a K that Ward could not reach (ties) is left empty."""
    resp = np.zeros((len(labels), n_components))
    resp[np.arange(len(labels)), np.minimum(labels, n_components - 1)] = 1.0
    return resp


# --------------------------------------------------------------------------- several starts at once


def _squares(Xt):
    """x_i x_iᵀ for every column of Xᵀ (D, N), flattened: shape (D², N)."""
    return (Xt[:, None, :] * Xt[None, :, :]).reshape(-1, Xt.shape[1])


def _stacked_e_step(Xt, squares, weights, means, covariances, reg_covar, valid):
    """γ laid out (S, K, N) and log p(X | θ_s) per start, for S parameter sets at once.

    The E-step of ``em_helpers`` on stacks: weights (S, K), means (S, K, D), covariances
    (S, K, D, D); starts with fewer components are padded to K, ``valid`` (S, K) marks the real
    ones, and a padded one gets γ = 0 exactly. The squared Mahalanobis distance is expanded,

        (x - μ)ᵀ Σ⁻¹ (x - μ) = ⟨Σ⁻¹, x xᵀ⟩ - 2 (Σ⁻¹ μ)ᵀ x + μᵀ Σ⁻¹ μ,

    so that all S·K components take two matrix products with the data, (S·K, D²) @ (D², N) and
    (S·K, D) @ (D, N), instead of S·K whitenings of a (D, N) block (5x faster at S·K = 324,
    N = 272, measured). Expanded, the terms cancel as |x|²/σ² grows, so Xᵀ must be centred on
    the data's mean (``_stacked_em`` does it): then they stay within a few orders of the
    distance itself for every component that holds points.
    """
    S, K, D = means.shape
    try:
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:  # rounding broke Σ_k = S_k + reg_covar·I ⪰ reg_covar·I: floor it, as the core does
        eigenvalues, vectors = np.linalg.eigh(covariances)
        covariances = (vectors * np.maximum(eigenvalues, reg_covar)[..., None, :]) @ np.swapaxes(vectors, -1, -2)
        lower = np.linalg.cholesky(covariances)
    lower_inv = np.linalg.inv(lower)
    precision = np.swapaxes(lower_inv, -1, -2) @ lower_inv  # Σ⁻¹ = C⁻ᵀ C⁻¹
    half_log_det = np.log(np.diagonal(lower, axis1=-2, axis2=-1)).sum(axis=-1)  # ½ log|Σ_k|
    pulled = (precision @ means[..., None])[..., 0]  # Σ⁻¹ μ, (S, K, D)
    maha = (precision.reshape(S * K, D * D) @ squares).reshape(S, K, -1)
    maha -= 2.0 * (pulled.reshape(S * K, D) @ Xt).reshape(S, K, -1)
    with np.errstate(divide="ignore"):  # a weight of exactly 0 gives log π_k = -inf
        const = np.log(weights) - 0.5 * D * np.log(2.0 * np.pi) - half_log_det - 0.5 * (pulled * means).sum(axis=-1)
    log_prob = const[..., None] - 0.5 * maha
    log_prob[~valid] = -np.inf
    # The core's log-sum-exp over k (its clamp included), on the (K, S, N) view of the stack;
    # a padded component's exp(-700) ~ 1e-304 is then set to exactly 0.
    peak, total = em.normalize_rows_in_place(np.moveaxis(log_prob, 1, 0))
    log_prob[~valid] = 0.0
    return log_prob, (peak + np.log(total)).sum(axis=-1)


def _stacked_m_step(Xt, squares, resp, reg_covar, covariance_type, valid):
    """π, μ, Σ per start from γ (S, K, N): the maximum-likelihood M-step of ``em_helpers``, with
    its count floor and reg_covar on each diagonal; a padded component (``valid`` False) gets
    π = 0, μ = 0, Σ = I. The scatter is Σ_i γ_ik x_i x_iᵀ / N_k - μ_k μ_kᵀ, one product with
    the squares for all components, exact enough because Xᵀ is centred (see _stacked_e_step)."""
    (S, K, N), D = resp.shape, Xt.shape[0]
    counts = np.where(valid, resp.sum(axis=2) + em.COUNT_FLOOR, 0.0)  # N_k, (S, K)
    safe = np.where(valid, counts, 1.0)[..., None]
    means = (resp @ Xt.T) / safe  # Σ_i γ_ik x_i / N_k, (S, K, D)
    second = (resp.reshape(S * K, N) @ squares.T).reshape(S, K, D, D) / safe[..., None]
    scatter = second - means[..., :, None] * means[..., None, :]
    if covariance_type == "diag":
        scatter = scatter * np.eye(D)
    elif covariance_type == "spherical":
        scatter = np.trace(scatter, axis1=-2, axis2=-1)[..., None, None] / D * np.eye(D)
    elif covariance_type == "tied":
        pooled = np.einsum("sk,skde->sde", counts, scatter) / counts.sum(axis=1)[:, None, None]
        scatter = np.repeat(pooled[:, None], K, axis=1)
    scatter[..., np.arange(D), np.arange(D)] += reg_covar
    scatter[~valid] = np.eye(D)
    return counts / N, means, scatter


def _stacked_em(Xt, starts, max_iter, tol, reg_covar, covariance_type):
    """EM from every start in ``starts`` (GMMParams, any K) at once, each stopping by fit_gmm's
    rule on its own; returns per start (weights, means, covariances, log-likelihoods, converged).

    The same iterations as ``fit_gmm(X, K, init=start)`` (equal to 1e-10: tested); a start
    that has converged leaves the stack, so the rest run on without it. BLAS runs on one thread
    here: its threads cost more than they gain on these short, wide products (an iteration of
    108 starts of K = 9 on Old Faithful: 30 ms with OpenBLAS's threads on a busy 2-core machine,
    6 ms on one; measured), as in the core's E-step.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _stacked_em_loop(Xt, starts, max_iter, tol, reg_covar, covariance_type)


def _stacked_em_loop(Xt, starts, max_iter, tol, reg_covar, covariance_type):
    """``_stacked_em``'s loop (see there)."""
    N, D = Xt.shape[1], Xt.shape[0]
    centre = Xt.mean(axis=1)
    Xt = Xt - centre[:, None]  # see _stacked_e_step: the expanded distances need centred data
    squares = _squares(Xt)
    sizes = np.array([p.n_components for p in starts])
    valid = np.arange(sizes.max()) < sizes[:, None]  # (S, K)
    weights, means = np.zeros(valid.shape), np.zeros((*valid.shape, D))
    covariances = np.broadcast_to(np.eye(D), (*valid.shape, D, D)).copy()
    for s, p in enumerate(starts):
        weights[s, : sizes[s]], means[s, : sizes[s]], covariances[s, : sizes[s]] = (
            p.weights,
            p.means - centre,
            p.covariances,
        )
    resp, log_lik = _stacked_e_step(Xt, squares, weights, means, covariances, reg_covar, valid)
    histories = [[value] for value in log_lik]
    converged = np.zeros(len(starts), dtype=bool)
    active = np.arange(len(starts))
    for _ in range(max_iter):
        if active.size == 0:
            break
        w, m, c = _stacked_m_step(Xt, squares, resp, reg_covar, covariance_type, valid[active])
        weights[active], means[active], covariances[active] = w, m, c
        resp, log_lik = _stacked_e_step(Xt, squares, w, m, c, reg_covar, valid[active])
        gains = []
        for s, value in zip(active, log_lik, strict=True):
            gains.append((value - histories[s][-1]) / N)
            histories[s].append(value)
        done = (np.array(gains) < tol) if tol > 0 else np.zeros(active.size, dtype=bool)
        converged[active[done]] = True
        active, resp = active[~done], resp[~done]
    return [
        (weights[s, :k], means[s, :k] + centre, covariances[s, :k], np.array(histories[s]), bool(converged[s]))
        for s, k in enumerate(sizes)
    ]


def _fits(X, covariance_type, inits, settings, max_iter):
    """EM from each start in ``inits`` (GMMParams, any K); a GMMFit per start, or None where EM
    raised (a collapse with reg_covar = 0). All starts at once (``_stacked_em``) for maximum
    likelihood with reg_covar > 0; one ``fit_gmm`` per start otherwise. A stop at max_iter is
    left to the table's "converged" column, not warned about."""
    reg_covar, tol = settings["reg_covar"], settings["tol"]
    if not inits:
        return []
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if settings["prior"] is not None or reg_covar == 0:
            for init in inits:
                try:
                    fits.append(
                        em.fit_gmm(
                            X,
                            init.n_components,
                            init=init,
                            covariance_type=covariance_type,
                            max_iter=max_iter,
                            **settings,
                        )
                    )
                except (ValueError, np.linalg.LinAlgError):
                    fits.append(None)
            return fits
        for weights, means, covariances, history, converged in _stacked_em(
            np.ascontiguousarray(X.T), inits, max_iter, tol, reg_covar, covariance_type
        ):
            params = em.GMMParams(weights, means, covariances, covariance_type=covariance_type)
            at_end = em.fit_gmm(
                X, len(weights), init=params, covariance_type=covariance_type, max_iter=0, tol=0, reg_covar=reg_covar
            )
            fits.append(
                dataclasses.replace(
                    at_end, log_likelihoods=history, n_iter=len(history) - 1, converged=converged, tol=tol
                )
            )
    return fits


def _joined(short, rest):
    """One GMMFit for a short run continued: the histories joined, θ_0 the short run's start."""
    return dataclasses.replace(
        rest,
        log_likelihoods=np.concatenate([short.log_likelihoods, rest.log_likelihoods[1:]]),
        n_iter=short.n_iter + rest.n_iter,
        log_posteriors=None
        if rest.log_posteriors is None
        else np.concatenate([short.log_posteriors, rest.log_posteriors[1:]]),
    )


class _Run(NamedTuple):
    """One start of a search: its K, its name, its fit so far and whether it is degenerate."""

    n_components: int
    name: str
    fit: em.GMMFit
    degenerate: bool


def _search_one_type(X, covariance_type, starts, settings, max_iter, short_iter, n_continue, min_spread_ratio):
    """Short-run strategy (Biernacki, Celeux and Govaert 2003) for every K of one covariance
    type at once: every start runs ``short_iter`` iterations; per K, the two hierarchical starts
    and the ``n_continue`` others with the highest objective that are not degenerate then run to
    convergence. ``starts`` is a list of (K, name, GMMParams). Returns {K: (runs kept, how many
    starts were degenerate, how many raised)}."""
    short = _fits(X, covariance_type, [params for _, _, params in starts], settings, min(short_iter, max_iter))
    out = {K: [[], 0, 0] for K, _, _ in starts}  # K: [runs kept, degenerate starts, failed starts]
    runs = []
    for (K, name, _), fit in zip(starts, short, strict=True):
        if fit is None:
            out[K][2] += 1
        else:
            runs.append(_Run(K, name, fit, _degenerate(fit, X, min_spread_ratio)))
    # Per K, go on with the hierarchical starts (mclust's kind of start: deterministic, rarely
    # a spike) and the best ``n_continue`` others by objective; degenerate ones stop here.
    chosen = []
    for K in out:
        ranked = sorted(
            (run for run in runs if run.n_components == K),
            key=lambda run: (run.degenerate, not run.name.startswith("Ward"), -run.fit.objective),
        )
        keep = [run for run in ranked[: 2 + n_continue] if not run.degenerate]
        out[K][1] = sum(run.degenerate for run in ranked)
        if not keep and ranked:  # every start degenerate: the best of them, for the record
            out[K][0].append(ranked[0])
        chosen += keep
    going_on = [run for run in chosen if not run.fit.converged and run.fit.n_iter < max_iter]
    more = _fits(X, covariance_type, [run.fit.params for run in going_on], settings, max_iter - short_iter)
    longer = {id(run): fit for run, fit in zip(going_on, more, strict=True)}
    for run in chosen:
        fit = run.fit
        if id(run) in longer:
            if longer[id(run)] is None:
                out[run.n_components][2] += 1
                continue
            fit = _joined(fit, longer[id(run)])
        degenerate = _degenerate(fit, X, min_spread_ratio)
        out[run.n_components][1] += degenerate
        out[run.n_components][0].append(run._replace(fit=fit, degenerate=degenerate))
    return out


def _degenerate(fit, X, min_spread_ratio):
    """Whether a GMMFit has a degenerate component (see degenerate_components)."""
    return degenerate_components(fit.params, X, fit.responsibilities, min_spread_ratio=min_spread_ratio).size > 0


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


def _second_round(X, found, settings, max_iter, short_iter, n_continue, min_spread_ratio):
    """More starts for every pair, from what the first round found, by the same short-run rule:

    * the partitions the other covariance types found at the same K (their γ, one M-step under
      this type): mclust starts every model from one partition, and on thyroid only the
      spherical fit's partition led the diag model with K = 2 to its maximum (-2581.8, against
      -2606.9 from every other start);
    * the best fit at K - 1 with one of its components split in two: on Old Faithful the first
      round's full K = 9 fit (-1084.5) fell below its own K = 8 fit (-1080.5), which a split of
      any K = 8 component starts above.

    Adds the runs to ``found`` in place."""
    for covariance_type, by_k in found.items():
        starts = []
        for K in by_k:
            for other in found:
                source = _best(found[other][K][0]) if other != covariance_type and K > 1 else None
                if source is not None:
                    starts.append((K, f"{other} fit at K = {K}", source.fit.responsibilities))
            parent = _best(by_k[K - 1][0]) if K - 1 in by_k else None
            for j in range(K - 1 if parent is not None else 0):
                starts.append(
                    (K, f"K = {K - 1} fit, component {j + 1} split in two", _split_responsibilities(parent.fit, j, X))
                )
        inits = []
        for K, name, gamma in starts:
            try:
                inits.append(
                    (K, name, em.m_step(X, gamma, reg_covar=settings["reg_covar"], covariance_type=covariance_type))
                )
            except ValueError:  # with reg_covar = 0, a partition with a singleton collapses
                by_k[K][2] += 1
        more = _search_one_type(X, covariance_type, inits, settings, max_iter, short_iter, n_continue, min_spread_ratio)
        for K, (runs, n_degenerate, failed) in more.items():
            by_k[K][0].extend(runs)
            by_k[K][1] += n_degenerate
            by_k[K][2] += failed


def _row(X, covariance_type, K, done, n_degenerate, failed):
    """The table row and kept fit for one pair: best non-degenerate run, else best degenerate."""
    if not done:
        nan = float("nan")
        return SearchRow(
            covariance_type, K, nan, 0, nan, nan, False, False, 0, "failed", "", n_degenerate, failed, nan
        ), None
    healthy = [run for run in done if not run.degenerate]
    run = max(healthy or done, key=lambda run: run.fit.objective)  # the first best
    fit, params = run.fit, run.fit.params
    n_params = em.n_parameters(params)
    status = "degenerate" if run.degenerate else "too many parameters" if n_params >= X.size else "ok"
    row = SearchRow(
        covariance_type,
        K,
        fit.log_likelihood,
        n_params,
        em.bic(X, params),
        icl(X, params, fit.responsibilities),
        bool(fit.converged),
        run.degenerate,
        fit.n_iter,
        status,
        run.name,
        n_degenerate,
        failed,
        float(spread_ratios(params, X, fit.responsibilities).min()),
    )
    return row, fit


def select_model(
    X,
    n_components=range(1, 10),
    covariance_types=("spherical", "diag", "tied", "full"),
    *,
    criterion="bic",
    prior=None,
    n_init=10,
    seed=None,
    reg_covar=None,
    max_iter=1000,
    tol=1e-6,
    short_iter=10,
    n_continue=1,
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
    n_init : int, default 10
        k-means++ starts per pair, besides the two Ward starts.
    seed : int, numpy.random.Generator or None
        Drives the k-means++ starts (and Ward's subsample above 2,000 points).
    reg_covar : float or None
        None: 1e-8 times the smallest column variance of X (see the module docstring).
    max_iter, tol : as ``fit_gmm``; a pair that stops at max_iter is marked in the table.
    short_iter : int, default 10
        Every start runs this many iterations (the short-run strategy of Biernacki, Celeux and
        Govaert 2003) ...
    n_continue : int, default 1
        ... then the two Ward starts and the ``n_continue`` best others that are not degenerate
        run to convergence. (On Old Faithful and four of mclust's data sets, 1 instead of 2
        about halved the search's time, with a similar handful of the 180 pairs ending below
        mclust's log-likelihood, at seed 0.)

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
    if X.shape[0] < 2:
        raise ValueError(f"select_model needs at least 2 points; got {X.shape[0]}.")
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
    if reg_covar is None:
        variances = X.var(axis=0)
        reg_covar = REG_COVAR_FRACTION * float(variances[variances > 0].min()) if (variances > 0).any() else 1e-6
    settings = dict(tol=tol, reg_covar=reg_covar, prior=prior)
    rng = np.random.default_rng(seed)
    ward = {
        name: dict(zip(ks, hierarchical_labels(X, ks, scaled=scaled, seed=rng), strict=True))
        for name, scaled in (("Ward", False), ("Ward, scaled", True))
    }
    found = {}
    for covariance_type in types:
        starts, unstarted = [], dict.fromkeys(ks, 0)
        for K in ks:
            makers = [
                (
                    name,
                    lambda K=K, name=name, t=covariance_type: em.m_step(
                        X, _one_hot(ward[name][K], K), reg_covar=reg_covar, covariance_type=t
                    ),
                )
                for name in ward
            ]
            for i in range(n_init if K > 1 else 0):  # K = 1: every start gives the same fit
                seed_i = rng.spawn(1)[0]
                makers.append(
                    (
                        f"kmeans++ {i + 1}",
                        lambda K=K, s=seed_i, t=covariance_type: em.init_params(
                            X, K, seed=s, reg_covar=reg_covar, covariance_type=t
                        ),
                    )
                )
            for name, make in makers:
                try:  # one M-step from a partition: with reg_covar = 0 a singleton cluster collapses
                    starts.append((K, name, make()))
                except ValueError:
                    unstarted[K] += 1
        found[covariance_type] = _search_one_type(
            X, covariance_type, starts, settings, max_iter, short_iter, n_continue, min_spread_ratio
        )
    _second_round(X, found, settings, max_iter, short_iter, n_continue, min_spread_ratio)
    table, fits = [], {}
    for covariance_type in types:
        for K in ks:
            row, fit = _row(X, covariance_type, K, *found[covariance_type][K])
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
        tuple(table), best, criterion, float(reg_covar), X.shape[0], fits, seed, n_init, min_spread_ratio, distinct
    )

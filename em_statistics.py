"""The M-step's sufficient statistics as one value, ``SufficientStatistics``: per component N_k and
the first two moments about a fixed shift c_k, which add across chunks (``+``, by Chan's
re-centring) and move exactly to another shift (``recentred``); and ``COUNT_FLOOR``, the floor on
N_k, added by ``floored_counts``; ``centred_scatter``, N_k, x̄_k - c_k and the scatter W_k about the
γ-weighted mean, what every M-step reads from them. A room below em_helpers, which computes them
(``sufficient_statistics``, ``statistics_of``) and re-exports these names; it imports only NumPy.

They are the narrow waist of DESIGN.md: EM in memory, over chunks, on dask, online, with a prior,
with weights, with missing values and the variational fit all feed the M-step through them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# Floor added to every effective count N_k, as scikit-learn does, so that a component
# that no point claims still has a finite mean and covariance.
COUNT_FLOOR = 10.0 * np.finfo(np.float64).eps


def floored_counts(counts):
    """N_k = Σ_i γ_ik + ``COUNT_FLOOR``, from Σ_i γ_ik of any shape ((K,), or em_select's stacks
    (S, K)): the one place the floor is added (every M-step reads it through ``centred_scatter``)."""
    return counts + COUNT_FLOOR


def block_moments(centred, resp, root=None):
    """Σ_i r_ik y_ik, shape (K, D), and Σ_i r_ik y_ik y_ikᵀ, shape (K, D, D), of one block of points
    about the shifts, y_ik = x_i - c_k laid out (K, D, b), under weights r laid out (K, b) (γ, or
    w_i γ_ik): the moment sums of the core's statistics and of em_incomplete's (there y_ik is the
    completed point). Scales ``centred`` by √r_ik in place: the second moment is A Aᵀ with
    A = y √r, exactly symmetric (NumPy computes A Aᵀ with one symmetric rank-k update). ``root``:
    memory (K, b) for √r_ik, which the core reuses block after block (em_incomplete lets NumPy make it)."""
    first = (centred @ resp[:, :, None])[:, :, 0]
    centred *= np.sqrt(resp, out=root)[:, None, :]
    return first, centred @ centred.transpose(0, 2, 1)


@dataclasses.dataclass(frozen=True, eq=False)
class SufficientStatistics:
    """What the M-step needs from the data: per component, N_k and the first two moments
    of the points it holds, taken about a fixed shift c_k.

    They add across chunks of the data (``+``), so the same M-step serves EM in memory,
    over a file in chunks, on a cluster and on a stream. Moments about a shift near the
    data, not about the origin: Σ γ x xᵀ - N μ μᵀ would lose every digit to cancellation
    for data offset by 1e6 (the variance 1 sits in the 12th digit of 1e12).

    Attributes
    ----------
    counts : ndarray of shape (n_components,)
        N_k = Σ_i γ_ik.
    shift : ndarray of shape (n_components, n_features)
        c_k, the point component k's moments are taken about.
    first : ndarray of shape (n_components, n_features)
        Σ_i γ_ik (x_i - c_k).
    second : ndarray of shape (n_components, n_features, n_features) or (n_components, n_features)
        Σ_i γ_ik (x_i - c_k)(x_i - c_k)ᵀ; or only its diagonal, Σ_i γ_ik (x_i - c_k)², shape
        (K, D), in the statistics of the diag and spherical models, whose M-step reads no more
        (O(N·K·D) to gather instead of O(N·K·D²)). Adding one of each form keeps the diagonal.
    n_samples : float
        N, the number of points summarised (a float, so that running averages work).
    """

    counts: np.ndarray
    shift: np.ndarray
    first: np.ndarray
    second: np.ndarray
    n_samples: float

    def __add__(self, other):
        """The statistics of both sets of points, about ``self.shift``."""
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if other.shift.shape != self.shift.shape:
            raise ValueError(
                f"cannot add statistics of K, D = {other.shift.shape} to statistics of K, D = {self.shift.shape}."
            )
        other = other.recentred(self.shift)
        second, other_second = self.second, other.second
        if second.ndim != other_second.ndim:  # a full form and a diagonal one: keep the diagonals
            second, other_second = (
                np.diagonal(m, axis1=1, axis2=2) if m.ndim == 3 else m for m in (second, other_second)
            )
        return SufficientStatistics(
            self.counts + other.counts,
            self.shift,
            self.first + other.first,
            second + other_second,
            self.n_samples + other.n_samples,
        )

    def scaled(self, factor):
        """Every sum times ``factor`` (the shift stays): a step of a running average."""
        return SufficientStatistics(
            self.counts * factor, self.shift, self.first * factor, self.second * factor, self.n_samples * factor
        )

    def recentred(self, shift):
        """The same statistics about another shift c'_k, exactly: with δ_k = c_k - c'_k,
        x - c' = (x - c) + δ, so Σγ(x - c') = first + N_k δ and
        Σγ(x - c')(x - c')ᵀ = second + first δᵀ + δ firstᵀ + N_k δ δᵀ (its diagonal, for
        diagonal statistics: second + 2 first δ + N_k δ²)."""
        shift = np.asarray(shift, dtype=np.float64)
        if shift.shape != self.shift.shape:
            raise ValueError(f"shift must have shape {self.shift.shape}; got {shift.shape}.")
        if np.array_equal(shift, self.shift):
            return self
        delta = self.shift - shift
        if self.second.ndim == 2:  # diagonal statistics
            cross = self.first * delta
            second = self.second + cross + cross + self.counts[:, None] * (delta * delta)
        else:
            cross = self.first[:, :, None] * delta[:, None, :]
            second = self.second + cross + cross.transpose(0, 2, 1) + _outer(delta, self.counts)
        return SufficientStatistics(
            self.counts, shift, self.first + self.counts[:, None] * delta, second, self.n_samples
        )

    def means(self):
        """μ_k = c_k + Σ_i γ_ik (x_i - c_k) / N_k, shape (n_components, n_features)."""
        return self.shift + self.first / floored_counts(self.counts)[:, None]


def centred_scatter(stats):
    """N_k (+ the floor), o_k = x̄_k - c_k and the scatter W_k = Σ_i γ_ik (x_i - x̄_k)(x_i - x̄_k)ᵀ
    about the γ-weighted mean x̄_k, from statistics about any shift c_k: shapes (K,), (K, D), and
    (K, D, D), or (K, D) (W_k's diagonal) from diagonal statistics."""
    counts = floored_counts(stats.counts)  # N_k
    offset = stats.first / counts[:, None]  # o_k = x̄_k - c_k
    # Σγ(x - x̄)(x - x̄)ᵀ with x - x̄ = (x - c) - o: second - first oᵀ - o firstᵀ + Σγ o oᵀ, and
    # first = N_k o_k, so second - (2 N_k - Σγ) o oᵀ: one product where three were (at N = 500 the
    # M-step's small arrays cost calls, not arithmetic). N_k = Σγ + floor, so 2 N_k - Σγ = N_k + floor.
    weight = counts + COUNT_FLOOR
    if stats.second.ndim == 2:  # diagonal statistics: the diagonal of the same formula
        return counts, offset, stats.second - weight[:, None] * (offset * offset)
    return counts, offset, stats.second - _outer(offset, weight)


def _outer(vectors, weights):
    """w_k v_k v_kᵀ for each row v_k of ``vectors`` (K, D): shape (K, D, D), exactly symmetric."""
    return weights[:, None, None] * (vectors[:, :, None] * vectors[:, None, :])

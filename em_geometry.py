"""The ellipse of a 2-D Gaussian's contour: what em_plots draws; a room below em_helpers
(which re-exports ``ellipse_geometry``), importing nothing of the project.
"""

from __future__ import annotations

import numpy as np


def ellipse_geometry(covariance, n_std=1.0):
    """Width, height and angle of the ellipse (x - μ)ᵀ Σ⁻¹ (x - μ) = n_std².

    In 2-D it holds 1 - exp(-n_std²/2) of the Gaussian's mass: 39% at 1, 86% at 2.

    Parameters
    ----------
    covariance : array-like of shape (2, 2)
    n_std : float

    Returns
    -------
    width, height : float
        Full lengths of the major and minor axes: 2·n_std·√λ for the eigenvalues λ of Σ.
    angle : float
        Angle of the major axis from the x-axis, in degrees.
    """
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.shape != (2, 2):
        raise ValueError(f"ellipse_geometry needs a 2x2 covariance; got shape {covariance.shape}.")
    if not n_std > 0:
        raise ValueError(f"n_std must be positive; got {n_std!r}.")
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    if eigenvalues[0] <= 0:
        raise ValueError(f"the covariance must be positive definite; its eigenvalues are {eigenvalues}.")
    width, height = 2.0 * n_std * np.sqrt(eigenvalues[::-1])
    angle = np.degrees(np.arctan2(eigenvectors[1, 1], eigenvectors[0, 1]))
    return float(width), float(height), float(angle)

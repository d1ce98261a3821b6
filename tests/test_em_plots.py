"""Figure functions of em_plots: each returns or draws what it says, on a non-interactive backend."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import em_plots as plots


def test_draw_ellipse_adds_the_patch():
    fig, ax = plt.subplots()
    patch = plots.draw_ellipse(ax, [1.0, 2.0], np.diag([4.0, 1.0]), n_std=1, color="k")
    assert patch in ax.patches and patch.center == (1.0, 2.0) and patch.width == pytest.approx(4.0)
    plt.close(fig)


def test_the_log_likelihood_label_says_why_the_fit_stopped():
    import em_helpers as em

    X = np.random.default_rng(0).normal(size=(200, 2))
    for fit, expected in (
        (em.fit_gmm(X, 2, seed=0, tol=1e-3), "converged at t = {n}\n(gain per point < 0.001)"),
        (em.fit_gmm(X, 2, seed=0, tol=0, max_iter=4), "stopped at t = {n}\n(max_iter reached)"),
    ):
        fig, ax = plt.subplots()
        plots.plot_log_likelihood(ax, fit)
        assert [t.get_text() for t in ax.texts] == [expected.format(n=fit.n_iter)]
        assert ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)

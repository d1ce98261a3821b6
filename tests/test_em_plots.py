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


def test_notebook_04_figures_show_what_they_say():
    import em_bayes as eb

    X = np.random.default_rng(1).normal(size=(300, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], 100, axis=0)
    fit = eb.fit_bayesian_gmm(X, 6, seed=0)
    kept = int((fit.params.weights > 0.01).sum())
    fig = plots.plot_variational_fit(X, fit)
    bars = fig.axes[1].patches
    assert len(bars) == 6 and sum(b.get_facecolor()[:3] != matplotlib.colors.to_rgb("0.6") for b in bars) == kept
    assert len(fig.axes[2].patches) == 2 * kept  # a 1σ and a 2σ ellipse per kept component
    plt.close(fig)
    runs = {"broke off": ([1.0, 2.0], [1.0, 1e-9], "L", True), "fine": ([0.5, 1.0, 1.5], [1.0, 0.5, 0.4], "L", False)}
    fig = plots.plot_map_singularity(runs)
    crosses = [line for line in fig.axes[0].lines if line.get_marker() == "X"]
    assert len(crosses) == 1 and list(crosses[0].get_xdata()) == [1]  # only the failed run, at its end
    plt.close(fig)
    results = {"d": {"K": [1, 2, 3], "bic_ml": [3.0, 1.0, 2.0], "bic_map": [3.0, 2.0, 1.0],
                     "bic_mclust": [-3.0, -2.0, -1.0], "kept": [3, 3, 4]}}  # fmt: skip
    fig = plots.plot_model_choice(results, 6)
    stars = [line for line in fig.axes[0].lines if line.get_marker() == "*"]
    assert [list(s.get_xdata()) for s in stars] == [[2], [3]]  # the lowest BIC of each curve
    assert [b.get_height() for b in fig.axes[1].patches][3:5] == [2, 1]
    plt.close(fig)

"""Figure functions of em_plots: each returns or draws what it says, on a non-interactive backend."""

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

import em_helpers as em
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
    import em_helpers as em

    X = np.random.default_rng(1).normal(size=(300, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], 100, axis=0)
    fit = eb.fit_bayesian_gmm(X, 6, seed=0)
    kept = int((fit.params.weights > 0.01).sum())
    fig = plots.plot_variational_fit(X, fit)
    bars = fig.axes[1].patches
    assert len(bars) == 6 and sum(b.get_facecolor()[:3] != matplotlib.colors.to_rgb("0.6") for b in bars) == kept
    assert len(fig.axes[2].patches) == 2 * kept  # a 1σ and a 2σ ellipse per kept component
    plt.close(fig)
    truth = em.GMMParams(np.full(3, 1 / 3), [[6, 0], [0, 6], [0, 0]], np.repeat(np.eye(2)[None], 3, axis=0))
    fig = plots.plot_variational_fit(X, fit, reference=truth)
    for k in np.flatnonzero(fit.params.weights > 0.01):  # each kept bar in its true component's colour
        j = np.argmin(((truth.means - fit.params.means[k]) ** 2).sum(axis=1))
        assert fig.axes[1].patches[k].get_facecolor()[:3] == matplotlib.colors.to_rgb(plots.PALETTE[j])
    assert len(fig.axes[2].patches) == 2 * kept + 3  # and the true 1σ ellipses
    assert {t.get_text().split(" (")[0] for t in fig.axes[2].get_legend().get_texts()} >= {
        f"component {k + 1}" for k in np.flatnonzero(fit.params.weights > 0.01)
    }  # the legend names components as the bars number them
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


# --------------------------------------------------------------------------- shared small problems


def _two_blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal([0, 0], 0.5, (n // 2, 2)), rng.normal([4, 1], 0.5, (n // 2, 2))]


def _ellipses(ax):
    from matplotlib.patches import Ellipse

    return [p for p in ax.patches if isinstance(p, Ellipse)]


def _overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_save_figure_writes_the_png_and_carries_the_alt_text(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    image = plots.save_figure(fig, tmp_path / "line.png", alt="a rising line")
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data, metadata = image._repr_png_()
    assert data and metadata["alt"] == "a rising line"
    assert not plt.fignum_exists(fig.number)  # closed


def test_plot_clusters_names_the_ellipses_after_their_parameters():
    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0)
    fig, ax = plt.subplots()
    plots.plot_clusters(ax, X, fit.responsibilities.argmax(axis=1), fit.params, params_name="species'")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "species' 1σ ellipse" in texts and not any(t.startswith("fitted") for t in texts)
    assert len(_ellipses(ax)) == 4 and ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_soft_assignments_colour_one_hot_rows_purely_and_blend_the_rest():
    from matplotlib.colors import to_rgb

    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    gamma = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    fig, ax = plt.subplots()
    ringed = plots.plot_soft_assignments(ax, X, gamma)
    clear, ambiguous = ax.collections
    assert ringed == 1 and len(ambiguous.get_offsets()) == 1
    np.testing.assert_allclose(clear.get_facecolors()[:, :3], [to_rgb(plots.PALETTE[0]), to_rgb(plots.PALETTE[1])])
    blend = (np.array(to_rgb(plots.PALETTE[0])) + to_rgb(plots.PALETTE[1])) / 2
    np.testing.assert_allclose(ambiguous.get_facecolors()[0, :3], blend)
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_singularity_keeps_one_colour_per_reg_covar_and_its_legend_off_the_data():
    sigmas = np.logspace(0, -3, 5)
    by_reg = {0.0: np.arange(5.0), 1e-6: np.arange(5.0) - 1, 1e-3: np.arange(5.0) - 2}
    runs = {0.0: ([1.0, 2.0], [0.0, -3.0]), 1e-3: ([1.0, 1.5, 1.6], [0.0, -1.0, -1.1])}
    fig = plots.plot_singularity(sigmas, by_reg, runs)
    left, middle, right = fig.axes
    colour_of = {reg: line.get_color() for reg, line in zip(by_reg, left.get_lines(), strict=True)}
    assert len(set(colour_of.values())) == 3
    for ax in (middle, right):  # each EM run drawn in the colour of its reg_covar in the left panel
        lines = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
        by_length = {len(line.get_xdata()): line.get_color() for line in lines}
        assert by_length[2] == colour_of[0.0] and by_length[3] == colour_of[1e-3]
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:3] == ["reg_covar = 0", "reg_covar = 1e-6", "reg_covar = 1e-3"]
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert not any(_overlaps(box, ax.get_window_extent()) for ax in fig.axes)
    plt.close(fig)


def test_restarts_draw_matched_components_in_the_same_colour():
    X = _two_blobs(200)
    best = em.fit_gmm(X, 2, seed=0, keep_params=True)
    swapped = best.params.permute([1, 0])
    poor = dataclasses.replace(
        best, params=swapped, params_history=tuple(p.permute([1, 0]) for p in best.params_history)
    )
    final = {"random": np.array([-2.0, -2.1]), "kmeans++": np.array([-2.0, -2.0])}
    iterations = {"random": np.array([10, 20]), "kmeans++": np.array([12, 15])}
    fig = plots.plot_restarts(final, iterations, best, poor, X)
    axes = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    poor_ax, best_ax = axes["where it ends"], axes["best optimum"]
    for ax in (poor_ax, best_ax):
        assert len(_ellipses(ax)) == 4 and ax.get_xlabel() and ax.get_ylabel()
    colour_at = lambda ax: {tuple(np.round(e.center, 6)): e.get_edgecolor() for e in _ellipses(ax)}  # noqa: E731
    assert colour_at(poor_ax) == colour_at(best_ax)
    plt.close(fig)


def test_restarts_number_the_true_means_in_the_start_panel_only():
    X = _two_blobs(200)
    best = em.fit_gmm(X, 2, seed=0, keep_params=True)
    final = {"random": np.array([-2.0, -2.1])}
    iterations = {"random": np.array([10, 20])}
    truth = np.array([[0.0, 0.0], [4.0, 1.0]])
    fig = plots.plot_restarts(final, iterations, best, best, X, poor_name="start", truth_means=truth)
    texts = {ax.get_title().split(":")[0]: [(t.get_text(), t.get_position()) for t in ax.texts] for ax in fig.axes}
    assert [(k, tuple(xy)) for k, xy in texts["start"]] == [("1", (0.0, 0.0)), ("2", (4.0, 1.0))]
    assert texts["where it ends"] == [] and texts["best optimum"] == []
    assert "true mean of component k (left)" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_information_criteria_give_each_covariance_type_its_own_marker_and_style():
    scores = {
        name: {ct: list(np.arange(4.0) + i) for i, ct in enumerate(em.COVARIANCE_TYPES)} for name in ("BIC", "AIC")
    }
    fig = plots.plot_information_criteria(range(1, 5), scores, {"BIC": ("full", 1), "AIC": ("full", 1)})
    for ax in fig.axes:
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 4]
        assert len({(line.get_marker(), line.get_linestyle()) for line in curves}) == len(em.COVARIANCE_TYPES)
        assert "log L" not in ax.get_title() and r"L(\hat\theta)" in ax.get_title()
    plt.close(fig)


def test_iris_figure_jitters_only_the_dots_and_names_the_species_ellipses():
    X = np.round(_two_blobs(60) + 5, 1)
    labels = (X[:, 0] > 7).astype(int)
    params = em.m_step(X, np.eye(2)[labels])
    cluster = labels.copy()
    cluster[:3] = 1 - cluster[:3]
    fig = plots.plot_iris(X, labels, cluster, params, params, ["a", "b"], jitter=0.04, seed=0)
    top, bottom = fig.axes
    assert "species' 1σ ellipse" in [t.get_text() for t in top.get_legend().get_texts()]
    assert "EM 1σ ellipse" in [t.get_text() for t in bottom.get_legend().get_texts()]
    dots = np.concatenate([c.get_offsets() for c in top.collections[:2]])
    assert np.abs(dots - np.r_[X[labels == 0], X[labels == 1]]).max() <= 0.04
    circled = top.collections[-1].get_offsets()
    np.testing.assert_array_equal(circled, X[cluster != labels])
    plt.close(fig)


def test_mean_paths_draw_one_line_per_component_from_theta_0_to_theta_T():
    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0, keep_params=True)
    fig, ax = plt.subplots()
    plots.plot_mean_paths(ax, fit.params_history, plots.PALETTE[:2])
    paths = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(paths) == 2 and all(len(line.get_xdata()) == fit.n_iter + 1 for line in paths)
    np.testing.assert_allclose(paths[0].get_xydata()[-1], fit.params.means[0])
    plt.close(fig)


def test_animate_em_writes_one_gif_frame_per_requested_iteration(tmp_path):
    from PIL import Image

    X = _two_blobs()
    corner = em.GMMParams([0.5, 0.5], [[-1.0, -1.0], [-0.5, -1.0]], [np.eye(2)] * 2)  # a slow start
    fit = em.fit_gmm(X, 2, init=corner, keep_params=True)
    frames = [0, 1, 2, fit.n_iter]
    open_before = set(plt.get_fignums())
    plots.animate_em(X, frames, fit.params_history, fit.log_likelihoods, tmp_path / "em.gif")
    with Image.open(tmp_path / "em.gif") as gif:
        assert gif.n_frames == len(frames)
    assert set(plt.get_fignums()) == open_before  # its figure closed


def test_binned_trace_averages_the_batches_in_each_bin():
    seen = np.array([1.0, 2.0, 5.0, 6.0, 50.0])
    trace = np.array([-4.0, -2.0, -1.0, -3.0, -7.0])
    centres, means = plots.binned_trace(seen, trace, np.array([0.0, 4.0, 10.0, 100.0]))
    np.testing.assert_allclose(centres, [1.5, 5.5, 50.0])
    np.testing.assert_allclose(means, [-3.0, -2.0, -7.0])


def test_scaling_figure_has_labelled_log_axes():
    sizes = [10, 100]
    fig = plots.plot_scaling(sizes, {"a": [0.1, 1.0]}, {"a": [2**20, 2**21]})
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1.0, 2.0])  # MiB
    plt.close(fig)

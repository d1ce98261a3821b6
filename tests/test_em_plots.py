"""Figure functions of em_plots: each returns or draws what it says (ellipses per component, colours
matched, labels set), checked on the returned Figure or the ``ax`` it drew on, with a non-interactive backend."""

import dataclasses
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

import em_helpers as em
import em_plots as plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def three_clusters():
    truth = em.GMMParams(
        [0.3, 0.3, 0.4],
        [[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]],
        [np.eye(2), [[2.0, 0.8], [0.8, 1.0]], [[1.0, -0.3], [-0.3, 0.5]]],
    )
    X, labels = em.sample_gmm(truth, 300, seed=0)
    return X, labels, truth


def ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def assert_ellipse(patch, mean, covariance, n_std, color):
    width, height, angle = em.ellipse_geometry(covariance, n_std)
    assert patch.center == pytest.approx(tuple(mean))
    assert (patch.width, patch.height, patch.angle) == pytest.approx((width, height, angle))
    assert patch.get_edgecolor() == to_rgba(color) and not patch.get_fill()


def scatter_colours(ax):
    return [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]


def rgb(color):
    return to_rgba(color)[:3]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def legend_box(ax, legend=None):
    """Where the drawn legend sits, (x0, y0, x1, y1) in ``ax``'s axes fraction (0 to 1 spans the axes), read
    from the drawn figure with public matplotlib API only."""
    legend = ax.get_legend() if legend is None else legend
    ax.figure.canvas.draw()
    box = legend.get_window_extent(ax.figure.canvas.get_renderer()).transformed(ax.transAxes.inverted())
    return box.x0, box.y0, box.x1, box.y1


def legend_at(ax, where, legend=None):
    """Whether the legend is drawn at ``where``: "upper left", "lower left", "lower right", "center right" (inside
    the axes, against those edges), "centred" (its middle on the axes' middle column) or "below" (under the axes)."""
    x0, y0, x1, y1 = legend_box(ax, legend)
    inside = -1e-9 <= x0 and x1 <= 1 + 1e-9 and -1e-9 <= y0 and y1 <= 1 + 1e-9
    return {
        "upper left": inside and x0 < 0.1 and y1 > 0.9,
        "lower left": inside and x0 < 0.1 and y0 < 0.1,
        "lower right": inside and x1 > 0.9 and y0 < 0.1,
        "center right": inside and x1 > 0.9 and abs((y0 + y1) / 2 - 0.5) < 0.05,
        "centred": abs((x0 + x1) / 2 - 0.5) < 0.02,
        "below": y1 < 0,
    }[where]


def integer_ticks(axis):
    """Whether the axis's tick locator places ticks on whole numbers only: asked for ticks over 0 to 1.5, where
    any other locator puts some between (0.25, 0.5, ...)."""
    return all(float(v).is_integer() for v in axis.get_major_locator().tick_values(0.0, 1.5))


def legend_columns(legend):
    """The number of columns the drawn legend lays its entries out in (entries of a column share their left edge)."""
    legend.figure.canvas.draw()
    renderer = legend.figure.canvas.get_renderer()
    return len({round(text.get_window_extent(renderer).x0, 3) for text in legend.get_texts()})


def _two_blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal([0, 0], 0.5, (n // 2, 2)), rng.normal([4, 1], 0.5, (n // 2, 2))]


def _iris_like():
    """Iris-like inputs for plot_iris: X on a 0.1 grid (so jitter matters), species labels, a
    clustering that disagrees on the first three points, and parameters fitted to the labels."""
    X = np.round(_two_blobs(60) + 5, 1)
    labels = (X[:, 0] > 7).astype(int)
    params = em.m_step(X, np.eye(2)[labels])
    cluster = labels.copy()
    cluster[:3] = 1 - cluster[:3]
    return X, labels, cluster, params


def _ellipses(ax):
    from matplotlib.patches import Ellipse

    return [p for p in ax.patches if isinstance(p, Ellipse)]


def _overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def pies(ax):
    """The soft-assignment figure's pies: {centre: [(colour, share of the circle), ...]} per outlined circle."""
    from matplotlib.patches import Wedge

    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    outlines = [w for w in wedges if not w.get_fill()]
    found = {}
    for outline in outlines:
        parts = [w for w in wedges if w.get_fill() and w.center == outline.center]
        found[tuple(outline.center)] = [(w.get_facecolor()[:3], (w.theta2 - w.theta1) / 360) for w in parts]
    return found


def _online_runs():
    """Two small online fits (batch sizes chosen so that each batch's position is known by hand)
    and a batch fit of the same 1,200 points."""
    import em_scale

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal([0, 0], 0.5, (600, 2)), rng.normal([4, 1], 0.5, (600, 2))][rng.permutation(1200)]
    start = em.init_params(X[:100], 2, seed=0)  # a given start: the first batch is the first in the trace
    sizes = np.split(X, [100, 200, 400, 600, 900])  # 100, 100, 200, 200, 300, 300
    uneven = em_scale.fit_gmm_online(sizes, 2, init=start)
    even = em_scale.fit_gmm_online(np.split(X, 6), 2, step_exponent=1.0, init=start)  # 200 each
    runs = {
        "uneven": (uneven, dict(color=plots.PALETTE[0], lw=1.6)),
        "even": (even, dict(color=plots.PALETTE[4], lw=1.2, ls="--")),
    }
    # Each batch sits at the points seen before it (the first at 1, for a log axis); edges 10 apart
    # put every batch in a bin of its own, so the lines show the traces themselves.
    positions = {"uneven": [1, 100, 200, 400, 600, 900], "even": [1, 200, 400, 600, 800, 1000]}
    return X, runs, positions, np.arange(0.5, 3000.0, 10.0), em.fit_gmm(X, 2, seed=0)


def assert_online_lines(lines, runs, positions):
    for line, (label, (fit, style)) in zip(lines, runs.items(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), positions[label])
        np.testing.assert_array_equal(line.get_ydata(), fit.log_likelihood_trace)
        assert line.get_label() == label and to_rgba(line.get_color()) == to_rgba(style["color"])
        assert line.get_linestyle() == style.get("ls", "-")


def window_holds_near_its_top(ax, level, height):
    low, high = ax.get_ylim()
    assert low < level < high and high - level < level - low and high - low <= height


def neutral(colour):
    r, g, b, _ = to_rgba(colour)
    return r == g == b


def line_colours(ax):
    return [to_rgba(line.get_color()) for line in ax.lines]


def assert_faint_grid(ax, which="major"):
    """Grid lines on every tick of ``which`` kind, faint (0 < alpha < 1) so that they never compete with data."""
    ticks = (
        [*ax.xaxis.get_major_ticks(), *ax.yaxis.get_major_ticks()] if which == "major" else ax.xaxis.get_minor_ticks()
    )
    assert ticks and all(t.gridline.get_visible() and 0 < t.gridline.get_alpha() < 1 for t in ticks)


def assert_palette_or_grey(*colours):
    """The project's rule: colours come from the colour-blind-safe PALETTE, or are greys."""
    allowed = {to_rgba(c) for c in plots.PALETTE}
    for colour in colours:
        assert to_rgba(colour) in allowed or neutral(colour), colour


def assert_inside_figure(fig, artist):
    fig.canvas.draw()
    box, page = artist.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


def _many_components(n_components, n_features=2, n_samples=600, seed=0):
    """K well separated components on a grid in the first two coordinates, D >= 2."""
    rng = np.random.default_rng(seed)
    means = np.zeros((n_components, n_features))
    means[:, 0] = 6.0 * (np.arange(n_components) % 5)
    means[:, 1] = 6.0 * (np.arange(n_components) // 5)
    means[:, 2:] = rng.normal(scale=3.0, size=(n_components, n_features - 2))
    covariances = []
    for _ in range(n_components):
        A = rng.normal(size=(n_features, n_features))
        covariances.append(A @ A.T / n_features + 0.3 * np.eye(n_features))
    params = em.GMMParams(np.full(n_components, 1 / n_components), means, covariances)
    X, labels = em.sample_gmm(params, n_samples, seed=seed)
    return X, labels, params


# plot_pairs


def _pairs_problem():
    X, labels, params = _many_components(3, n_features=4, n_samples=300, seed=3)
    return X, labels, params


def _shown_text(fig):
    fig.canvas.draw()
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]


# plot_model_search: a fake select_model result, with the attributes em_select's rows have


def _search_row(ct, K, bic, status="ok"):
    failed = status == "failed"
    return SimpleNamespace(
        covariance_type=ct,
        n_components=K,
        log_likelihood=np.nan if failed else -bic / 2,
        n_parameters=5 * K,
        bic=np.nan if failed else bic,
        icl=np.nan if failed else bic + 10.0 * K,
        converged=not failed,
        degenerate=status == "degenerate",
        n_iter=20,
        status=status,
    )


def _fake_search(criterion="bic", best=("diag", 3)):
    rows = []
    for i, ct in enumerate(("full", "diag", "spherical")):
        for K in range(1, 6):
            status = {("full", 4): "degenerate", ("spherical", 5): "failed"}.get((ct, K), "ok")
            rows.append(_search_row(ct, K, 1000.0 - 100 * min(K, 3) + 20 * K + 7 * i, status))
    ct, K = best
    best = SimpleNamespace(params=SimpleNamespace(covariance_type=ct, n_components=K))
    return SimpleNamespace(table=tuple(rows), criterion=criterion, best=best)


def _value(search, ct, K, criterion):
    (row,) = [r for r in search.table if (r.covariance_type, r.n_components) == (ct, K)]
    return getattr(row, criterion)


# --------------------------------------------------------------------------- draw_ellipse


def test_draw_ellipse_adds_the_patch():
    _, ax = plt.subplots()
    patch = plots.draw_ellipse(ax, [1.0, 2.0], np.diag([4.0, 1.0]), n_std=1, color="k")
    assert patch in ax.patches and patch.center == (1.0, 2.0) and patch.width == pytest.approx(4.0)
    assert_ellipse(patch, [1.0, 2.0], np.diag([4.0, 1.0]), 1, "k")
    filled = plots.draw_ellipse(ax, [0, 0], [[2.0, 0.5], [0.5, 1.0]], 2, color="k", fill=True)
    assert filled.get_fill() and ellipses(ax) == [patch, filled]
    assert_ellipse(plots.draw_ellipse(ax, [0, 0], [[2.0, 0.5], [0.5, 1.0]], 3), [0, 0], [[2, 0.5], [0.5, 1]], 3, "k")


def test_draw_ellipse_defaults_to_one_standard_deviation():
    _, ax = plt.subplots(figsize=(2, 2))
    patch = plots.draw_ellipse(ax, [0.0, 0.0], np.diag([4.0, 1.0]), color="k")
    assert_ellipse(patch, [0.0, 0.0], np.diag([4.0, 1.0]), 1, "k")


# --------------------------------------------------------------------------- plot_clusters


def test_plot_clusters_colours_each_label_and_its_ellipses_alike_and_labels_everything():
    X, labels, truth = three_clusters()
    fitted = truth.permute([0, 1, 2])
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, fitted, title="a fit", reference=truth)
    assert scatter_colours(ax) == [rgb(plots.PALETTE[k]) for k in range(3)]
    for k, points in enumerate(ax.collections):
        np.testing.assert_array_equal(points.get_offsets(), X[labels == k])
    drawn = ellipses(ax)
    assert len(drawn) == 3 * 2 + 3  # 1σ and 2σ per fitted component, 1σ per reference one
    for k in range(3):
        assert_ellipse(drawn[2 * k], fitted.means[k], fitted.covariances[k], 1, plots.PALETTE[k])
        assert_ellipse(drawn[2 * k + 1], fitted.means[k], fitted.covariances[k], 2, plots.PALETTE[k])
        assert drawn[2 * k].get_linestyle() == "solid" and drawn[2 * k + 1].get_linestyle() == "--"
        assert_ellipse(drawn[6 + k], truth.means[k], truth.covariances[k], 1, "0.45")
    marks = [line for line in ax.lines if line.get_marker() == "X"]
    assert [tuple(m.get_xydata()[0]) for m in marks] == [tuple(m) for m in fitted.means]
    assert [to_rgba(m.get_color()) for m in marks] == [to_rgba(c) for c in plots.PALETTE[:3]]
    counts = np.bincount(labels)
    assert legend_texts(ax) == [f"component {k + 1} ({counts[k]} points)" for k in range(3)] + [
        "fitted 1σ ellipse",
        "fitted 2σ ellipse",
        "fitted mean",
        "true 1σ ellipse",
    ]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("$x_1$", "$x_2$", "a fit")
    assert ax.get_aspect() == 1.0
    for limits, values in ((ax.get_xlim(), X[:, 0]), (ax.get_ylim(), X[:, 1])):  # every point inside, small margins
        margin = np.array([values.min() - limits[0], limits[1] - values.max()]) / np.ptp(values)
        assert ((margin > 0.01) & (margin < 0.1)).all()
    legend = ax.get_legend()
    assert legend_at(ax, "centred") and legend_at(ax, "below") and legend_columns(legend) == 2


def test_plot_clusters_without_parameters_names_labels_as_asked():
    X, labels, _ = three_clusters()
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, names=["setosa", "versicolor", "virginica"], legend_loc="upper left")
    assert not ellipses(ax) and not ax.lines
    counts = np.bincount(labels)
    assert legend_texts(ax) == [
        f"{n} ({counts[k]} points)" for k, n in enumerate(["setosa", "versicolor", "virginica"])
    ]
    assert legend_at(ax, "upper left")
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, label_prefix="fitted")
    assert legend_texts(ax)[0] == f"fitted 1 ({counts[0]} points)"


def test_plot_clusters_names_the_ellipses_after_their_parameters():
    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0)
    fig, ax = plt.subplots()
    plots.plot_clusters(ax, X, fit.responsibilities.argmax(axis=1), fit.params, params_name="species'")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "species' 1σ ellipse" in texts and not any(t.startswith("fitted") for t in texts)
    assert len(_ellipses(ax)) == 4 and ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_plot_clusters_legend_samples_look_like_what_they_name():
    X, labels, truth = three_clusters()
    _, ax = plt.subplots(figsize=(3, 3))
    plots.plot_clusters(ax, X, labels, truth, reference=truth)
    drawn = ellipses(ax)
    one, two, true = drawn[0], drawn[1], drawn[6]
    assert one.get_linewidth() > two.get_linewidth() and true.get_linewidth() < one.get_linewidth()  # thin grey
    handles = {h.get_label(): h for h in ax.get_legend().legend_handles}
    for name, patch in (("fitted 1σ ellipse", one), ("fitted 2σ ellipse", two), ("true 1σ ellipse", true)):
        assert handles[name].get_linewidth() == patch.get_linewidth()
        assert handles[name].get_linestyle() == {"solid": "-", "--": "--"}.get(patch.get_linestyle(), "?")
    assert neutral(handles["fitted 1σ ellipse"].get_color()) and neutral(true.get_edgecolor())
    marks = [line for line in ax.lines if line.get_marker() == "X"]
    assert all(to_rgba(m.get_markeredgecolor()) == to_rgba("black") for m in marks)
    assert handles["fitted mean"].get_marker() == "X" and handles["fitted mean"].get_linestyle() == "None"
    legend = ax.get_legend()
    anchor = legend.get_bbox_to_anchor()
    box = ax.get_window_extent()
    assert anchor.y0 < box.y0 and anchor.x0 == pytest.approx((box.x0 + box.x1) / 2)  # centred below the axes
    for points in ax.collections:  # see-through dots: dense cores stay readable
        assert 0 < points.get_alpha() < 1


def test_plot_clusters_frames_the_points_not_the_ellipses_and_keeps_the_legend_just_below():
    rng = np.random.default_rng(0)
    X = rng.uniform([5.0, 0.0], [15.0, 1.0], size=(50, 2))  # x spans ten times y: each axis has its own margin
    labels = (X[:, 0] > 10).astype(int)
    wide = em.GMMParams([0.5, 0.5], [[7.0, 0.5], [13.0, 0.5]], [np.diag([100.0, 100.0])] * 2)  # far past the points
    _, ax = plt.subplots(figsize=(4, 3))
    plots.plot_clusters(ax, X, labels, wide, reference=wide)
    assert ax.get_title() == ""
    for limits, values in ((ax.get_xlim(), X[:, 0]), (ax.get_ylim(), X[:, 1])):
        margin = np.array([values.min() - limits[0], limits[1] - values.max()]) / np.ptp(values)
        assert ((margin > 0.01) & (margin < 0.1)).all()
    assert all(neutral(h.get_color()) for h in ax.get_legend().legend_handles[2:])  # the ellipse and mean samples
    box, anchor = ax.get_window_extent(), ax.get_legend().get_bbox_to_anchor()
    assert box.y0 - 0.3 * box.height < anchor.y0 < box.y0  # right under the axes


def test_component_styles_differ_in_colour_or_marker_for_twenty_four_and_keep_the_palette_first():
    styles = [plots.component_style(k) for k in range(plots.MAX_COMPONENTS)]
    assert plots.MAX_COMPONENTS >= 20
    assert len({(colour, marker) for colour, marker, _, _ in styles}) == len(styles)
    assert len({(colour, mean) for colour, _, mean, _ in styles}) == len(styles)  # means too
    assert len({(colour, ls) for colour, _, _, ls in styles}) == len(styles)  # 1-D curves too
    assert [s[:3] for s in styles[:8]] == [(c, "o", "X") for c in plots.PALETTE]  # K <= 8: as before
    for k in (-1, plots.MAX_COMPONENTS):
        with pytest.raises(ValueError, match="at most 24 components"):
            plots.component_style(k)


def test_plot_clusters_draws_twenty_components_each_in_its_own_colour_and_marker():
    X, labels, params = _many_components(20)
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, params)
    assert len(ax.collections) == 20
    drawn = set()
    for k, points in enumerate(ax.collections):
        np.testing.assert_array_equal(points.get_offsets(), X[labels == k])
        colour = tuple(points.get_facecolor()[0][:3])
        shape = points.get_paths()[0].vertices.round(6).tobytes()  # the marker's outline
        drawn.add((colour, shape))
        assert colour == rgb(plots.PALETTE[k % 8])
    assert len(drawn) == 20
    shapes = {points.get_paths()[0].vertices.round(6).tobytes() for points in ax.collections}
    assert len(shapes) == 3  # dots, squares, triangles
    means = [line for line in ax.lines if len(line.get_xdata()) == 1]
    assert len({(to_rgba(m.get_color()), m.get_marker()) for m in means}) == 20
    np.testing.assert_array_equal([m.get_xydata()[0] for m in means], params.means)
    assert [m.get_marker() for m in means] == ["X"] * 8 + ["s"] * 8 + ["^"] * 4
    assert len(legend_texts(ax)) == 20 + 3


def test_plot_clusters_projects_a_four_dimensional_fit_onto_the_chosen_columns():
    X, labels, params = _many_components(3, n_features=4, n_samples=300)
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, params, reference=params, columns=(1, 3), feature_names=list("abcd"))
    for k, points in enumerate(ax.collections):
        np.testing.assert_array_equal(points.get_offsets(), X[labels == k][:, [1, 3]])
    drawn = ellipses(ax)
    assert len(drawn) == 3 * 2 + 3
    for k in range(3):
        block = params.covariances[k][np.ix_([1, 3], [1, 3])]
        assert_ellipse(drawn[2 * k], params.means[k][[1, 3]], block, 1, plots.PALETTE[k])
        assert_ellipse(drawn[2 * k + 1], params.means[k][[1, 3]], block, 2, plots.PALETTE[k])
        assert_ellipse(drawn[6 + k], params.means[k][[1, 3]], block, 1, "0.45")
    marks = [line for line in ax.lines if line.get_marker() == "X"]
    np.testing.assert_array_equal([m.get_xydata()[0] for m in marks], params.means[:, [1, 3]])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("b", "d")
    _, ax = plt.subplots()
    plots.plot_clusters(ax, X, labels, columns=(3, 0))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_4$", "$x_1$")
    assert ax.get_xlim()[0] < X[:, 3].min() and ax.get_ylim()[1] > X[:, 0].max()


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((30, 1), {}, "D = 1.*histogram"),
        ((30, 4), {"columns": (1, 4)}, r"column\(s\) \[4\].*choose indices 0..3"),
        ((30, 4), {"columns": (2, 2)}, "2 different column indices"),
        ((30, 4), {"columns": (0, 1, 2)}, "2 different column indices"),
        ((30, 2), {"columns": (-1, 0)}, r"column\(s\) \[-1\]"),
    ],
)
def test_plot_clusters_says_what_to_do_when_it_cannot_draw(shape, kwargs, message):
    X = np.random.default_rng(0).normal(size=shape)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=message):
        plots.plot_clusters(ax, X, np.zeros(len(X), dtype=int), **kwargs)


def test_plot_clusters_refuses_more_components_than_it_can_tell_apart_or_mismatched_parameters():
    X, labels, _ = _many_components(3, n_features=3, n_samples=60)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"at most 24 components.*merge"):
        plots.plot_clusters(ax, X, np.arange(60) % 25)
    with pytest.raises(ValueError, match="integers"):
        plots.plot_clusters(ax, X, labels.astype(float))
    _, _, too_many = _many_components(25, n_samples=50)
    with pytest.raises(ValueError, match="at most 24 components"):
        plots.plot_clusters(ax, too_many.means, np.zeros(25, dtype=int), too_many)
    with pytest.raises(ValueError, match=r"3 columns.*fitted to these columns"):
        plots.plot_clusters(ax, X, labels, too_many)


# --------------------------------------------------------------------------- plot_log_likelihood


def test_plot_log_likelihood_draws_the_history_the_stop_and_the_distance_to_the_end():
    X = np.random.default_rng(0).normal(size=(200, 2))
    fit = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=6)
    _, ax = plt.subplots()
    plots.plot_log_likelihood(ax, fit)
    curve, stop = ax.lines
    np.testing.assert_array_equal(curve.get_ydata(), fit.log_likelihoods)
    np.testing.assert_array_equal(curve.get_xdata(), np.arange(7))
    assert stop.get_xdata()[0] == 6 and to_rgba(stop.get_color()) == to_rgba(plots.PALETTE[5])
    assert ax.texts[0].xy == (6, fit.log_likelihoods[-1])
    assert ax.get_xlabel() == "iteration $t$" and ax.get_title()
    assert ax.get_ylabel() == r"$\log p(X \mid \theta_t)$ (nats)"
    (inset,) = ax.child_axes
    (remaining,) = inset.lines
    np.testing.assert_array_equal(remaining.get_ydata(), fit.log_likelihoods[-1] - fit.log_likelihoods[:-1])
    np.testing.assert_array_equal(remaining.get_xdata(), np.arange(6))
    assert inset.get_yscale() == "log" and inset.get_xlabel() == "$t$" and "log scale" in inset.get_title()
    short = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=2)  # too few points for a log-scale inset
    _, ax = plt.subplots()
    plots.plot_log_likelihood(ax, short)
    assert not ax.child_axes
    _, ax = plt.subplots()
    plots.plot_log_likelihood(ax, em.fit_gmm(X, 2, seed=0, tol=0, max_iter=3))
    assert len(ax.child_axes) == 1


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


def test_log_likelihood_inset_sits_inside_the_axes_below_the_note_and_shares_its_colours():
    X = np.random.default_rng(0).normal(size=(200, 2))
    fit = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=6)
    _, ax = plt.subplots(figsize=(4, 3))
    plots.plot_log_likelihood(ax, fit)
    curve, stop = ax.lines
    assert (curve.get_marker(), curve.get_linestyle()) == ("o", "-") and to_rgba(curve.get_color()) == to_rgba("black")
    assert stop.get_linestyle() == "--"
    (note,) = ax.texts
    assert note.arrow_patch.get_edgecolor() == to_rgba(stop.get_color())  # the arrow points along the stop line
    assert note.get_anncoords() == "axes fraction" and note.get_ha() == "center"
    (inset,) = ax.child_axes
    ax.figure.canvas.draw()
    box = inset.get_window_extent().transformed(ax.transAxes.inverted())  # in axes fractions
    assert 0 <= box.x0 and box.x1 <= 1 and 0 <= box.y0 and box.y1 < note.xyann[1] < 1  # inside, under the note
    assert 0 <= note.xyann[0] <= 1
    (remaining,) = inset.lines
    assert to_rgba(remaining.get_color()) == to_rgba(plots.PALETTE[0]) and remaining.get_marker() == "o"
    assert inset.get_title() == r"$L(\theta_T) - L(\theta_t)$ (nats), log scale"
    assert_faint_grid(inset)
    assert_faint_grid(ax)
    assert ax.get_title() == "Log-likelihood per iteration"


def test_log_likelihood_axis_leaves_a_far_first_value_below_and_says_where_it_is():
    _, ax = plt.subplots(figsize=(3, 2))
    log_likelihoods = np.array([-14.0, -10.0, -5.0, -4.0, -3.9])  # t = 0 a little below a window for t >= 1
    plots._log_likelihood_axis(ax, log_likelihoods)
    low, high = ax.get_ylim()
    spread = -3.9 - -10.0
    assert 0.05 < (-10.0 - low) / spread < 0.2 and 0.01 < (high - -3.9) / spread < (-10.0 - low) / spread
    (note,) = ax.texts
    assert note.get_text() == "t = 0: -14 (below the axis)" and note.xy == (0, low)  # points at the bottom edge
    assert note.arrow_patch is not None and neutral(note.arrow_patch.get_edgecolor())
    assert note.get_anncoords() == "axes fraction" and all(0 < v < 0.5 for v in note.xyann)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "iteration $t$",
        r"$\log p(X \mid \theta_t)$",
        "Log-likelihood",
    )


def test_log_likelihood_axis_needs_no_note_when_t_0_sits_on_the_bottom_edge():
    _, ax = plt.subplots(figsize=(3, 2))
    low, high = -10.0, -4.0
    plots._log_likelihood_axis(ax, np.array([low - 0.12 * (high - low), low, -5.0, high]))
    assert not ax.texts  # drawn on the axis' bottom edge: in view


# --------------------------------------------------------------------------- plot_three_panel


def test_plot_three_panel_draws_fitted_component_order_k_in_true_colour_k():
    X, labels, truth = three_clusters()
    fit = em.fit_gmm(X, 3, seed=1)
    order = em.match_components(fit.params, truth)
    assert list(order) != [0, 1, 2], "pick a seed whose fit needs reordering, or the test proves nothing"
    fig = plots.plot_three_panel(X, labels, fit, order, truth)
    left, middle, right = fig.axes[:3]
    assert not ellipses(left) and scatter_colours(left) == [rgb(c) for c in plots.PALETTE[:3]]
    drawn = ellipses(middle)
    assert len(drawn) == 9
    for k in range(3):
        assert_ellipse(drawn[2 * k], fit.params.means[order[k]], fit.params.covariances[order[k]], 1, plots.PALETTE[k])
        assert_ellipse(drawn[6 + k], truth.means[k], truth.covariances[k], 1, "black")
        assert drawn[6 + k].get_linestyle() == ":" and drawn[6 + k].get_zorder() > drawn[2 * k].get_zorder()
    fitted_labels = np.argmax(fit.responsibilities[:, order], axis=1)
    for k, points in enumerate(middle.collections):
        np.testing.assert_array_equal(points.get_offsets(), X[fitted_labels == k])
    assert legend_texts(middle)[0].startswith("fitted 1 (")
    np.testing.assert_array_equal(right.lines[0].get_ydata(), fit.log_likelihoods)
    assert all(ax.get_title() for ax in (left, middle, right))


def test_three_panel_titles_say_what_each_panel_shows():
    X, labels, truth = three_clusters()
    fit = em.fit_gmm(X, 3, seed=1)
    fig = plots.plot_three_panel(X, labels, fit, em.match_components(fit.params, truth), truth)
    left, middle, right = fig.axes[:3]
    assert left.get_title() == "True components (hidden from EM)"
    assert middle.get_title() == "EM fit, coloured as the true\ncomponent it matches"
    assert legend_texts(left)[0].startswith("component 1 (")
    assert right.get_position().width > left.get_position().width  # room for the inset
    assert left.get_position().x1 < middle.get_position().x0  # the two scatters side by side,
    assert right.get_position().y1 < middle.get_position().y0  # the history below them
    assert "unitless" in left.get_xlabel() and "nats" in right.get_ylabel()
    # Legible at a notebook cell's width (about 900 px): the smallest text is at least 10 px there.
    scale = 900 / (fig.get_figwidth() * 110)
    for ax in (left, middle, right, *right.child_axes):
        texts = [*ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels()]
        if ax.get_legend():
            texts += ax.get_legend().get_texts()
        assert min(t.get_fontsize() for t in texts) * 110 / 72 * scale >= 10


# --------------------------------------------------------------------------- plot_lower_bound


def test_plot_lower_bound_draws_l_the_bound_the_two_points_and_the_gap():
    values = np.linspace(-1.0, 3.0, 41)
    log_lik, bound = -((values - 1.5) ** 2), -((values - 1.0) ** 2) - 0.5 * (values - 0.5) ** 2
    fig = plots.plot_lower_bound(values, log_lik, bound, 0.5, 1.0, "μ_1")
    top, bottom = fig.axes
    assert top.get_shared_x_axes().joined(top, bottom)  # one θ axis for the bound and its gap
    curve, lower, *points = top.lines
    np.testing.assert_array_equal(curve.get_ydata(), log_lik)
    np.testing.assert_array_equal(lower.get_ydata(), bound)
    np.testing.assert_array_equal(curve.get_xdata(), values)
    np.testing.assert_array_equal(lower.get_xdata(), values)
    markers = [line for line in points if line.get_marker() in ("o", "^")]
    assert [(m.get_xdata()[0], m.get_marker()) for m in markers] == [(0.5, "o"), (1.0, "o"), (1.0, "^")]
    assert markers[0].get_ydata()[0] == pytest.approx(np.interp(0.5, values, bound))
    assert markers[2].get_ydata()[0] == pytest.approx(np.interp(1.0, values, log_lik))
    assert [to_rgba(m.get_color()) for m in markers] == [to_rgba(plots.PALETTE[i]) for i in (5, 2, 2)]
    vertical = [line for ax in (top, bottom) for line in ax.lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in vertical] == [0.5, 1.0, 0.5, 1.0]
    assert [to_rgba(line.get_color()) for line in vertical] == [to_rgba(plots.PALETTE[i]) for i in (5, 2) * 2]
    gap = [line for line in bottom.lines if line.get_linestyle() == "-"]
    np.testing.assert_allclose(gap[0].get_ydata(), log_lik - bound)
    low, high = top.get_ylim()
    assert low < log_lik.min()
    assert high > log_lik.max() and bottom.get_xlabel() == "μ_1"
    assert top.get_ylabel() == "log-likelihood (nats)" and bottom.get_ylabel() == r"gap = KL $\geq 0$"
    assert legend_texts(top) == [
        r"$L(\theta) = \log p(X \mid \theta)$",
        r"lower bound $F(\gamma_t, \theta) = Q(\theta \mid \theta_t) + H(\gamma_t)$",
        r"$\theta_t$: bound touches",
        r"M-step's $\mu_1$: the bound's peak",
        r"$L$ at the M-step's $\mu_1$ (rest at $\theta_t$)",
    ]


def test_lower_bound_figure_keeps_l_in_view_and_its_legend_beside_the_panels():
    values = np.linspace(-1.0, 3.0, 41)
    log_lik, bound = -((values - 1.5) ** 2), -((values - 1.0) ** 2) - 2.0 * (values - 0.5) ** 2  # the bound dives
    fig = plots.plot_lower_bound(values, log_lik, bound, 0.5, 1.0, "μ_1")
    top, bottom = fig.axes
    assert top.get_position().height > 1.5 * bottom.get_position().height  # L and F above, the gap below
    curve, lower = top.lines[:2]
    assert curve.get_linestyle() == "-" and lower.get_linestyle() == "--"  # "the dashed bound under the solid L"
    assert to_rgba(curve.get_color()) == to_rgba("black")
    assert_palette_or_grey(*line_colours(top), *line_colours(bottom))
    colours = {to_rgba(lower.get_color()), *(to_rgba(m.get_color()) for m in top.lines[2:])}
    assert len(colours) == 3 and to_rgba("black") not in colours  # bound, θ_t and the M-step told apart from L
    (gap,) = [line for line in bottom.lines if line.get_linestyle() == "-"]
    np.testing.assert_array_equal(gap.get_xdata(), values)
    assert gap.get_color() not in (curve.get_color(), lower.get_color())
    assert_palette_or_grey(gap.get_color())
    assert top.get_title() == "EM climbs because the bound it maximises touches L at $\\theta_t$"
    low, high = top.get_ylim()  # the window is L's range and a margin: the bound may leave it
    spread = np.ptp(log_lik)
    assert (low, high) == pytest.approx((log_lik.min() - 0.15 * spread, log_lik.max() + 0.1 * spread))
    assert low > bound.min()
    assert_faint_grid(top)
    assert_faint_grid(bottom)
    legend = top.get_legend()
    assert_inside_figure(fig, legend)
    assert legend.get_window_extent().x0 > top.get_window_extent().x1  # beside the panels, over no curve
    top_box = top.get_window_extent()
    assert legend.get_window_extent().y1 == pytest.approx(top_box.y1, abs=0.05 * top_box.height)  # level with the top


# --------------------------------------------------------------------------- plot_restarts


def test_plot_restarts_histograms_each_method_and_draws_each_fit_in_matched_colours():
    X, _, _ = three_clusters()
    rng = np.random.default_rng(0)
    finals = {"random": rng.normal(-3.0, 0.1, 100), "kmeans++": rng.normal(-2.9, 0.05, 100)}
    iterations = {"random": rng.integers(5, 200, 100), "kmeans++": rng.integers(5, 60, 100)}
    best = em.fit_gmm(X, 3, seed=0)
    poor = em.fit_gmm(X, 3, init="random", seed=5, max_iter=3, tol=0, keep_params=True)
    order = em.match_components(poor.params, best.params)
    assert list(order) != [0, 1, 2], "pick a poor fit whose components need matching, or colours prove nothing"
    fig = plots.plot_restarts(finals, iterations, best, poor, X)
    axes = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    final, iters = axes["Where EM ends"], axes["How long it takes"]
    for ax in (final, iters):
        assert [to_rgba(p.get_edgecolor()) for p in ax.patches] == [to_rgba("black"), to_rgba("0.5")]
        assert legend_texts(ax) == ["random", "kmeans++"] and ax.get_ylabel() == "number of starts"
    assert final.get_xlabel() == "final log-likelihood per point (nats)"
    assert iters.get_xlabel() == "iterations to convergence (cap 200)"
    lowest = min(values.min() for values in finals.values())  # both histograms share 30 bins over all values
    assert [p.get_xy()[:, 0].min() for p in final.patches] == [pytest.approx(lowest)] * 2
    for patch in iters.patches:  # bins of 10 iterations from 0 to 200
        left_edges = np.unique(patch.get_xy()[:, 0])
        assert left_edges.min() == 0 and left_edges.max() == 200 and set(np.diff(left_edges)) == {10}
    n = len(X)
    colour_of_poor = {int(j): plots.PALETTE[k] for k, j in enumerate(order)}  # matched to best component k
    for key, fit, colours, title in (
        (
            "best optimum",
            best,
            dict(enumerate(plots.PALETTE)),
            f"best optimum: {best.log_likelihood / n:.3f} per point",
        ),
        ("where it ends", poor, colour_of_poor, f"where it ends: {poor.log_likelihood / n:.3f} per point"),
    ):
        ax = axes[key]
        assert ax.get_title() == title
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$ (unitless)", "$x_2$ (unitless)")
        np.testing.assert_array_equal(ax.collections[0].get_offsets(), X)
        drawn = ellipses(ax)
        assert len(drawn) == 6
        for k in range(3):
            assert_ellipse(drawn[2 * k], fit.params.means[k], fit.params.covariances[k], 1, colours[k])
            assert_ellipse(drawn[2 * k + 1], fit.params.means[k], fit.params.covariances[k], 2, colours[k])
        marks = [line for line in ax.lines if line.get_marker() == "X"]
        assert [tuple(m.get_xydata()[0]) for m in marks] == [tuple(m) for m in fit.params.means]
        assert [to_rgba(m.get_color()) for m in marks] == [to_rgba(colours[k]) for k in range(3)]
        assert ax.get_aspect() == 1.0 and ax.get_legend() is None
    start = next(ax for title, ax in axes.items() if title.startswith("a poor start"))
    drawn = ellipses(start)  # θ_0 with its 1σ ellipses only
    assert len(drawn) == 3
    for k in range(3):
        theta_0 = poor.params_history[0]
        assert_ellipse(drawn[k], theta_0.means[k], theta_0.covariances[k], 1, colour_of_poor[k])
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == ["1σ ellipse", "2σ ellipse"]


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


def test_restarts_colour_both_fits_by_the_true_component_they_match_and_number_it_in_every_panel():
    X = _two_blobs(200)
    best = em.fit_gmm(X, 2, seed=0, keep_params=True)
    # best's component 1 lies on true component 2, and the other way round
    truth = em.GMMParams([0.5, 0.5], best.params.means[::-1] + 0.05, best.params.covariances[::-1])
    poor = dataclasses.replace(best, params_history=tuple(best.params_history))
    final = {"random": np.array([-2.0, -2.1])}
    iterations = {"random": np.array([10, 20])}
    fig = plots.plot_restarts(final, iterations, best, poor, X, poor_name="start", truth=truth)
    axes = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    for key in ("start", "where it ends", "best optimum"):
        ax = axes[key]
        marks = [line for line in ax.lines if line.get_marker() == "X"]
        # fitted component 0 sits on true component 2 (index 1), so it takes PALETTE[1], as in notebook 01
        assert [to_rgba(m.get_color()) for m in marks] == [to_rgba(plots.PALETTE[1]), to_rgba(plots.PALETTE[0])]
        crosses = [line for line in ax.lines if line.get_marker() == "+"]
        assert [tuple(c.get_xydata()[0]) for c in crosses] == [tuple(m) for m in truth.means]
        numbers = [(t.get_text(), np.array(t.get_position()), to_rgba(t.get_color())) for t in ax.texts]
        assert [(n, c) for n, _, c in numbers] == [("1", to_rgba(plots.PALETTE[0])), ("2", to_rgba(plots.PALETTE[1]))]
        offset = 0.05 * np.ptp(X, axis=0).max()
        for (_, xy, _), mean in zip(numbers, truth.means, strict=True):
            assert np.linalg.norm(xy - mean) == pytest.approx(offset)  # beside its mean, not on it
            drawn = np.array([m.get_xydata()[0] for m in marks])
            assert np.linalg.norm(drawn - xy, axis=1).min() > 0.5 * offset  # and clear of the fitted means
    assert "true mean k, numbered in colour k" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_label_true_means_keeps_each_number_clear_of_the_obstacles():
    _, ax = plt.subplots()
    means = np.array([[0.0, 0.0]])
    obstacles = np.array([[0.3, 0.3], [-0.3, 0.3], [0.3, -0.3]])  # only the lower-left diagonal is free
    (position,) = plots._label_true_means(ax, means, obstacles, offset=0.4)
    assert position[0] < 0 and position[1] < 0


def test_restarts_share_one_window_and_a_legend_that_matches_the_drawing():
    X = _two_blobs(200)
    best = em.fit_gmm(X, 2, seed=0, keep_params=True)
    final = {"random": np.array([-2.0, -2.1, -2.05]), "kmeans++": np.array([-2.0, -2.0, -2.02])}
    iterations = {"random": np.array([10, 20, 35]), "kmeans++": np.array([12, 15, 18])}
    truth = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [4.0, 1.0]], [np.eye(2), np.eye(2)])
    fig = plots.plot_restarts(final, iterations, best, best, X, truth=truth)
    axes = {ax.get_title().split(":")[0]: ax for ax in fig.axes}
    start, poor, top = axes["a poor start"], axes["where it ends"], axes["Where EM ends"]
    assert start.get_title() == "a poor start: $\\theta_0$ and the paths of its means"
    panels = [start, poor, axes["best optimum"]]
    assert all(top.get_position().y0 > ax.get_position().y1 for ax in panels)  # histograms above the fits
    assert start.get_position(original=True).height > top.get_position().height  # the fits get the taller row
    for ax in panels:  # one window for all three: the data's, with a small margin
        assert (ax.get_xlim(), ax.get_ylim()) == (start.get_xlim(), start.get_ylim()) and ax.get_aspect() == 1.0
        for limits, values in ((ax.get_xlim(), X[:, 0]), (ax.get_ylim(), X[:, 1])):
            margin = np.array([values.min() - limits[0], limits[1] - values.max()]) / np.ptp(values)
            assert ((margin > 0.01) & (margin < 0.1)).all()
        assert neutral(ax.collections[0].get_facecolor()[0])  # the data in grey: colour is for components
        marks = [line for line in ax.lines if line.get_marker() == "X"]
        assert all(to_rgba(m.get_markeredgecolor()) == to_rgba("black") for m in marks)
        assert min(m.get_zorder() for m in marks) > max(e.get_zorder() for e in ellipses(ax))
    paths = [line for line in start.lines if line.get_linestyle() == "-"]
    assert min(p.get_zorder() for p in paths) > max(e.get_zorder() for e in ellipses(start))  # paths over ellipses
    legend = fig.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [
        "1σ ellipse",
        "2σ ellipse",
        "mean (left: at the start)",
        "path of a mean, and where it ends",
        "true mean k, numbered in colour k",
    ]
    assert legend_columns(legend) == len(labels)  # one row
    one, two, mean, path, _ = legend.legend_handles
    drawn = ellipses(poor)
    assert (one.get_linewidth(), one.get_linestyle()) == (drawn[0].get_linewidth(), "-")
    assert (two.get_linewidth(), two.get_linestyle()) == (drawn[1].get_linewidth(), "--")
    assert [e.get_linestyle() for e in drawn] == ["-", "--"] * 2
    assert mean.get_marker() == "X" and mean.get_linestyle() == "None"
    assert path.get_marker() == "o" and path.get_markerfacecolor() == "white" and path.get_linestyle() == "-"
    ends = [line for line in start.lines if line.get_marker() == "o"]
    assert all(end.get_markersize() == path.get_markersize() for end in ends)  # the sample circle as drawn
    assert to_rgba(mean.get_markeredgecolor()) == to_rgba("black")
    assert all(neutral(h.get_color()) for h in (one, two, mean, path))
    assert_inside_figure(fig, legend)
    for ax in fig.axes:
        assert_inside_figure(fig, ax)
    renderer = fig.canvas.get_renderer()
    assert not any(_overlaps(legend.get_window_extent(), ax.get_tightbbox(renderer)) for ax in fig.axes)
    cross = legend.legend_handles[-1]  # the black + drawn at each true mean
    assert (cross.get_marker(), cross.get_linestyle(), to_rgba(cross.get_color())) == ("+", "None", to_rgba("black"))


def test_restart_histograms_tell_start_methods_apart_by_line_style():
    finals = {
        "random": np.linspace(-3.0, -2.0, 50),
        "kmeans++": np.linspace(-2.5, -2.0, 50),
        "third": np.full(50, -2.2),
    }
    iterations = {name: np.arange(50) * 4 for name in finals}
    _, (ax_final, ax_iter) = plt.subplots(1, 2, figsize=(4, 2))
    plots.plot_restart_histograms(ax_final, ax_iter, finals, iterations)
    for ax in (ax_final, ax_iter):
        styles = [(to_rgba(p.get_edgecolor()), p.get_linestyle()) for p in ax.patches]
        assert len(set(styles)) == 3 and all(neutral(colour) for colour, _ in styles)
        assert len({ls for _, ls in styles}) == 3  # "one grey line style per start method"
        assert all(not p.get_fill() for p in ax.patches)  # outlines: the three overlap
        assert ax.get_legend().get_title().get_text() == "start method" and legend_texts(ax) == list(finals)
        assert_faint_grid(ax)
    left_edges = np.unique(ax_final.patches[0].get_xy()[:, 0])
    assert len(left_edges) == 31 and left_edges[0] == -3.0 and left_edges[-1] == -2.0  # 30 bins over all values
    assert ax_final.get_title() == "Where EM ends: each spike holds one or more local maxima"
    assert ax_iter.get_title() == "How long it takes"


def test_numbered_points_are_bold_centred_and_on_top():
    _, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1], zorder=5)
    plots.plot_numbered_points(ax, [[0.0, 0.0], [1.0, 2.0]])
    assert [(t.get_text(), t.get_position()) for t in ax.texts] == [("1", (0.0, 0.0)), ("2", (1.0, 2.0))]
    for text in ax.texts:
        assert (text.get_ha(), text.get_va(), text.get_fontweight()) == ("center", "center", "bold")
        assert text.get_zorder() > max(line.get_zorder() for line in ax.lines)
        (halo,) = text.get_path_effects()
        assert to_rgba(halo._gc["foreground"]) == to_rgba("white")  # readable over any colour


def test_restarts_frame_every_panel_by_the_points_per_axis():
    X = _two_blobs(200) * [1.0, 0.2] + [10.0, 0.0]  # x spans far more than y, and starts far from y's minimum
    best = em.fit_gmm(X, 2, seed=0, keep_params=True)
    wide = em.GMMParams([0.5, 0.5], best.params.means, [np.eye(2) * 100.0] * 2)  # a start whose ellipses reach far
    poor = dataclasses.replace(best, params_history=(wide, *best.params_history[1:]))
    fig = plots.plot_restarts({"random": np.array([-2.0, -2.1])}, {"random": np.array([10, 20])}, best, poor, X)
    for ax in fig.axes[2:]:
        for limits, values in ((ax.get_xlim(), X[:, 0]), (ax.get_ylim(), X[:, 1])):
            margin = np.array([values.min() - limits[0], limits[1] - values.max()]) / np.ptp(values)
            assert ((margin > 0.01) & (margin < 0.1)).all()


# --------------------------------------------------------------------------- plot_singularity


def test_plot_singularity_marks_the_run_that_broke_off():
    sigmas = np.logspace(0, -3, 20)
    by_reg = {0.0: -np.log(sigmas), 1e-6: -np.log(sigmas + 1e-3)}
    runs = {0.0: (np.arange(4.0), np.arange(4.0)), 1e-6: (np.arange(6.0), -np.arange(6.0))}
    fig = plots.plot_singularity(sigmas, by_reg, runs)
    left, middle, right = fig.axes
    assert [to_rgba(line.get_color()) for line in left.lines] == [to_rgba(plots.PALETTE[i]) for i in range(2)]
    for line, values in zip(left.lines, by_reg.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), sigmas)
        np.testing.assert_array_equal(line.get_ydata(), values)
    assert left.get_xscale() == "log" and left.xaxis_inverted()
    assert left.get_xlabel() == r"$\sigma$ of the component sitting on one point"
    assert left.get_ylabel() == r"$\log p(X \mid \theta)$"
    assert middle.get_ylabel() == r"$\log p(X \mid \theta_t)$" and right.get_ylabel() == r"$\log_{10} \det \Sigma_3$"
    assert middle.get_xlabel() == right.get_xlabel() == "iteration $t$"
    for ax, index in ((middle, 0), (right, 1)):
        curves = [line for line in ax.lines if line.get_marker() == "o"]
        assert [list(c.get_xdata()) for c in curves] == [list(range(4)), list(range(6))]
        for curve, reg in zip(curves, runs, strict=True):
            np.testing.assert_array_equal(curve.get_ydata(), runs[reg][index])
        (broke,) = [line for line in ax.lines if line.get_marker() == "X"]
        assert (broke.get_xdata()[0], broke.get_ydata()[0]) == (3, runs[0.0][index][-1])
        assert to_rgba(broke.get_color()) == to_rgba(plots.PALETTE[0])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["reg_covar = 0", "reg_covar = 1e-6", "collapse: the next M-step fails"]
    cross = fig.legends[0].legend_handles[-1]  # the sample looks like the ✕ it names: no line, grey with a black edge
    assert (cross.get_marker(), cross.get_linestyle()) == ("X", "None") and neutral(cross.get_markerfacecolor())
    assert to_rgba(cross.get_markeredgecolor()) == to_rgba("black")


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
    assert left.get_position().x1 < middle.get_position().x0 < middle.get_position().x1 < right.get_position().x0
    for ax in (middle, right):
        (cross,) = [line for line in ax.lines if line.get_marker() == "X"]
        assert to_rgba(cross.get_markeredgecolor()) == to_rgba("black")
    assert [h.get_color() for h in legend.legend_handles[:3]] == list(colour_of.values())  # the key's colours
    fig.canvas.draw()
    box, renderer = legend.get_window_extent(), fig.canvas.get_renderer()
    assert not any(_overlaps(box, ax.get_tightbbox(renderer)) for ax in fig.axes)  # clear of labels too
    assert_inside_figure(fig, legend)
    for ax in fig.axes:
        assert_inside_figure(fig, ax)
    plt.close(fig)


def test_reg_covar_labels_spell_powers_of_ten_alike():
    assert [plots._reg_covar_label(r) for r in (0, 1e-6, 1e-3, 10.0, 2e-3)] == ["0", "1e-6", "1e-3", "1e1", "0.002"]


def test_singularity_panels_say_what_they_show():
    sigmas = np.logspace(0, -3, 5)
    fig = plots.plot_singularity(sigmas, {0.0: np.arange(5.0)}, {0.0: ([1.0, 2.0], [0.0, -3.0])})
    left, middle, right = fig.axes
    assert left.get_title() == "Shrink a component onto a point: L → ∞"
    assert middle.get_title() == "EM from a start on the point"
    assert right.get_title() == "The covariance it collapses"
    for ax in (middle, right):
        (curve,) = ax.lines
        assert (curve.get_marker(), curve.get_linestyle()) == ("o", "-")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["reg_covar = 0"]  # no run broke off
    assert legend_columns(fig.legends[0]) == 1
    (handle,) = fig.legends[0].legend_handles
    assert handle.get_linewidth() == left.lines[0].get_linewidth()  # the sample as the left panel draws it
    for ax in fig.axes:
        assert_faint_grid(ax)


# --------------------------------------------------------------------------- plot_information_criteria


def test_plot_information_criteria_stars_the_lowest_score():
    Ks = range(1, 5)
    scores = {
        name: {ct: [10.0 - K + i + (K - 2) ** 2 for K in Ks] for i, ct in enumerate(("full", "diag"))}
        for name in ("BIC", "AIC")
    }
    chosen = {"BIC": ("full", 2), "AIC": ("diag", 3)}
    fig = plots.plot_information_criteria(Ks, scores, chosen)
    left, right = (ax.get_position() for ax in fig.axes)
    assert left.x1 < right.x0 and left.y0 == right.y0  # side by side
    for ax, name in zip(fig.axes, ("BIC", "AIC"), strict=True):
        curves = [line for line in ax.lines if len(line.get_xdata()) == len(Ks)]
        assert [c.get_label() for c in curves] == ["full", "diag"]
        assert [to_rgba(c.get_color()) for c in curves] == [to_rgba(plots.PALETTE[i]) for i in range(2)]
        for i, (curve, ct) in enumerate(zip(curves, ("full", "diag"), strict=True)):
            np.testing.assert_allclose(curve.get_xdata(), np.array(Ks) + plots.DODGE[i])  # shifted sideways
            assert list(curve.get_ydata()) == scores[name][ct]
        assert list(ax.get_xticks()) == list(Ks)
        (star,) = [line for line in ax.lines if line.get_marker() == "*"]
        ct, K = chosen[name]
        shift = plots.DODGE[("full", "diag").index(ct)]
        assert (star.get_xdata()[0], star.get_ydata()[0]) == (pytest.approx(K + shift), scores[name][ct][K - 1])
        assert star.get_label() == f"lowest {name}: K = {K}, {ct}"
        assert ax.get_ylabel() == f"{name} (lower is better)"
        assert ax.get_xlabel() == "number of components $K$ (curves shifted sideways to stay apart)"
        assert to_rgba(star.get_color()) == to_rgba("black")
        penalty = r"p \log N" if name == "BIC" else "2p"
        assert ax.get_title() == rf"{name} $= -2L(\hat\theta) + {penalty}$"


def test_information_criteria_give_each_covariance_type_its_own_marker_and_style():
    scores = {
        name: {ct: list(np.arange(4.0) + i) for i, ct in enumerate(em.COVARIANCE_TYPES)} for name in ("BIC", "AIC")
    }
    fig = plots.plot_information_criteria(range(1, 5), scores, {"BIC": ("full", 1), "AIC": ("full", 1)})
    for ax in fig.axes:
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 4]
        assert len({(line.get_marker(), line.get_linestyle()) for line in curves}) == len(em.COVARIANCE_TYPES)
        # equal scores (as diag, spherical and tied AIC nearly are) stay apart: no two markers on one spot
        assert len({line.get_xdata()[0] for line in curves}) == len(em.COVARIANCE_TYPES)
        assert "log L" not in ax.get_title() and r"L(\hat\theta)" in ax.get_title()
    plt.close(fig)


def test_information_criteria_draw_open_markers_and_refuse_other_than_two_criteria():
    scores = {name: {ct: [3.0, 2.0, 1.0] for ct in em.COVARIANCE_TYPES} for name in ("BIC", "AIC")}
    fig = plots.plot_information_criteria(range(1, 4), scores, {"BIC": ("full", 3), "AIC": ("full", 3)})
    for ax in fig.axes:
        curves = [line for line in ax.lines if len(line.get_xdata()) == 3]
        assert len(curves) == 4 and all(c.get_marker() not in (None, "None", "") for c in curves)
        assert len({c.get_linestyle() for c in curves} - {"None"}) == 4  # a line style of its own per type
        assert all(c.get_markerfacecolor() == "none" for c in curves)  # open: coinciding curves stay visible
        assert ax.get_legend() is not None
        assert_faint_grid(ax)
    with pytest.raises(ValueError):
        plots.plot_information_criteria(range(1, 4), {"BIC": scores["BIC"]}, {"BIC": ("full", 3)})


def test_information_criteria_name_a_penalty_they_do_not_know():
    scores = {name: {"full": [3.0, 2.0, 1.0]} for name in ("BIC", "ICL")}
    fig = plots.plot_information_criteria(range(1, 4), scores, {"BIC": ("full", 3), "ICL": ("full", 3)})
    assert [ax.get_title() for ax in fig.axes] == [
        r"BIC $= -2L(\hat\theta) + p \log N$",
        r"ICL $= -2L(\hat\theta) + penalty$",
    ]


# --------------------------------------------------------------------------- save_figure and show_figure


def test_save_figure_writes_the_png_without_metadata_and_closes_the_figure(tmp_path):
    from PIL import Image

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    path = tmp_path / "new" / "folder" / "line.png"
    other, _ = plt.subplots()  # the current figure: not the one to close
    shown = plots.save_figure(fig, path, dpi=50)
    assert not plt.fignum_exists(fig.number) and plt.fignum_exists(other.number) and shown.filename == str(path)
    with Image.open(path) as image:
        assert image.format == "PNG" and "Software" not in image.info
        assert image.info["dpi"] == pytest.approx((50, 50), abs=0.1)  # stored in dots per metre
    first = path.read_bytes()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    plots.save_figure(fig, path, dpi=50)  # into the folder it made: the same bytes again
    assert path.read_bytes() == first


def test_save_figure_writes_the_png_and_carries_the_alt_text(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    image = plots.save_figure(fig, tmp_path / "line.png", alt="a rising line")
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data, metadata = image._repr_png_()
    assert data and metadata["alt"] == "a rising line"
    assert not plt.fignum_exists(fig.number)  # closed


def test_save_figure_defaults_to_110_dpi_and_keeps_what_lies_outside_the_axes(tmp_path):
    from PIL import Image

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.text(1.6, 0.5, "a note beside the axes", transform=ax.transAxes)
    plots.save_figure(fig, tmp_path / "note.png")
    with Image.open(tmp_path / "note.png") as image:
        assert image.info["dpi"] == pytest.approx((110, 110), abs=0.1)
        assert image.size[0] > 2 * 110  # the bounding box grew to hold the note: nothing clipped


def test_show_figure_returns_the_png_with_its_alt_text_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    image = plots.show_figure(fig, alt="a rising line")
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    data, metadata = image._repr_png_()
    assert data and metadata["alt"] == "a rising line"
    assert list(tmp_path.iterdir()) == []
    assert not plt.fignum_exists(fig.number)


# --------------------------------------------------------------------------- animate_em


def test_animate_em_writes_one_frame_per_iterate_with_room_for_every_ellipse(tmp_path, monkeypatch):
    from PIL import Image

    X, _, _ = three_clusters()
    fit = em.fit_gmm(X, 3, init="random", seed=3, tol=0, max_iter=4, keep_params=True)
    made = []
    subplots = plt.subplots
    monkeypatch.setattr(plt, "subplots", lambda *a, **k: made.append(subplots(*a, **k)) or made[-1])
    path = tmp_path / "gif" / "em.gif"
    plots.animate_em(X, [0, 2, 4], fit.params_history, fit.log_likelihoods, path, fps=5, dpi=30)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 and gif.info["duration"] == 200
    _, (left, right) = made[0]
    assert left.get_title() == "EM from a poor start: t = 4" and not left.patches  # each frame's ellipses removed
    xlim, ylim = left.get_xlim(), left.get_ylim()
    for t in (0, 2, 4):
        params = fit.params_history[t]
        reach = 2 * np.sqrt(np.linalg.eigvalsh(params.covariances)[:, -1:])
        assert ((params.means - reach).min(axis=0) > (xlim[0], ylim[0])).all()
        assert ((params.means + reach).max(axis=0) < (xlim[1], ylim[1])).all()
    assert X[:, 0].min() > xlim[0] and X[:, 1].max() < ylim[1] and left.get_aspect() == 1.0
    (curve,) = right.lines
    np.testing.assert_array_equal(curve.get_ydata(), fit.log_likelihoods)
    assert right.get_xlim() == (-1, 5) and right.get_ylim()[1] > fit.log_likelihoods.max()
    below = fit.log_likelihoods[0] < right.get_ylim()[0]
    assert [t.get_text().startswith("t = 0:") for t in right.texts] == ([True] if below else [])


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


def test_animate_em_draws_each_frames_parameters_and_the_curve_so_far(tmp_path, monkeypatch):
    from matplotlib.animation import PillowWriter
    from PIL import Image

    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=4, keep_params=True)
    frames, windows, made, grab = [], [], [], PillowWriter.grab_frame

    def record(writer, **kwargs):  # what each frame shows, as it is written
        left, right = writer.fig.axes
        windows.append((left.get_xlim(), left.get_ylim()))
        made.append(writer.fig)
        marks = [line for line in left.lines if line.get_marker() == "X"]
        frames.append((left.get_title(), ellipses(left), marks, right.lines[0].get_xydata().copy()))
        return grab(writer, **kwargs)

    monkeypatch.setattr(PillowWriter, "grab_frame", record)
    plots.animate_em(
        X, [0, 3], fit.params_history, fit.log_likelihoods, tmp_path / "new" / "dir" / "em.gif", dpi=30
    )  # folders made
    with Image.open(tmp_path / "new" / "dir" / "em.gif") as gif:
        assert gif.info["duration"] == 250  # 4 frames per second by default
    for (title, drawn, marks, curve), t in zip(frames, [0, 3], strict=True):
        params = fit.params_history[t]
        assert title == f"EM from a poor start: t = {t}" and len(drawn) == 4 and len(marks) == 2
        for k in range(2):
            assert_ellipse(drawn[2 * k], params.means[k], params.covariances[k], 1, plots.PALETTE[k])
            assert_ellipse(drawn[2 * k + 1], params.means[k], params.covariances[k], 2, plots.PALETTE[k])
            assert drawn[2 * k].get_linestyle() in ("-", "solid") and drawn[2 * k + 1].get_linestyle() == "--"
            assert tuple(marks[k].get_xydata()[0]) == tuple(params.means[k])
            assert to_rgba(marks[k].get_color()) == to_rgba(plots.PALETTE[k])
            assert to_rgba(marks[k].get_markeredgecolor()) == to_rgba("black")
        np.testing.assert_array_equal(curve, np.c_[np.arange(t + 1), fit.log_likelihoods[: t + 1]])
    assert windows == [plots._animation_limits(X, [fit.params_history[0], fit.params_history[3]])] * 2  # one window
    left, right = made[0].axes
    assert (left.get_xlabel(), left.get_ylabel(), left.get_aspect()) == ("$x_1$ (unitless)", "$x_2$ (unitless)", 1.0)
    assert neutral(left.collections[0].get_facecolor()[0])  # the points in grey: colour is for components
    key = made[0].legends[0]  # the colour key: one entry per component, then the line styles and the mean
    assert [t.get_text() for t in key.get_texts()] == ["matched to true 1", "matched to true 2", "1σ", "2σ", "mean"]
    assert [to_rgba(h.get_color()) for h in key.legend_handles[:2]] == [to_rgba(c) for c in plots.PALETTE[:2]]
    texts = [left.title, right.title, left.xaxis.label, *right.get_yticklabels(), *key.get_texts()]
    assert min(t.get_fontsize() for t in texts) >= 12  # at 100 dpi, about 17 px in the GIF
    (curve,) = right.lines
    assert (curve.get_marker(), curve.get_linestyle(), to_rgba(curve.get_color())) == ("o", "-", to_rgba("black"))


def test_animation_limits_are_the_points_and_every_2_sigma_reach_with_a_small_margin():
    X = np.array([[0.0, 0.0], [1.0, 40.0]])  # y spans five times x: the margins differ per axis
    shown = [
        em.GMMParams([0.5, 0.5], [[0.0, 0.0], [1.0, 40.0]], [np.diag([4.0, 1.0]), np.eye(2) * 0.01]),
        em.GMMParams([0.5, 0.5], [[0.5, 2.5], [0.5, 0.5]], [np.diag([0.01, 0.04]), np.eye(2) * 0.01]),
    ]
    xlim, ylim = plots._animation_limits(X, shown)
    # each θ_t's means ± 2√λ_max along both axes: a circle that holds the 2σ ellipse at any angle
    reach = [p.means + 2 * np.sqrt(np.linalg.eigvalsh(p.covariances)[:, -1:]) * s for p in shown for s in (-1, 1)]
    low = np.min([X.min(axis=0), *(r.min(axis=0) for r in reach)], axis=0)
    high = np.max([X.max(axis=0), *(r.max(axis=0) for r in reach)], axis=0)
    np.testing.assert_allclose(low, [-4.0, -4.0])
    for limits, lo, hi in ((xlim, low[0], high[0]), (ylim, low[1], high[1])):
        margins = np.array([lo - limits[0], limits[1] - hi]) / (hi - lo)
        assert ((margins > 0.01) & (margins < 0.1)).all()


def test_animate_em_draws_component_k_in_the_colour_it_is_given(tmp_path, monkeypatch):
    from matplotlib.animation import PillowWriter

    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0, tol=0, max_iter=2, keep_params=True)
    seen, grab = [], PillowWriter.grab_frame

    def record(writer, **kwargs):
        seen.append([e.get_edgecolor() for e in ellipses(writer.fig.axes[0])])
        return grab(writer, **kwargs)

    monkeypatch.setattr(PillowWriter, "grab_frame", record)
    colours = [plots.PALETTE[2], plots.PALETTE[0]]  # component 0 matched to true 3, component 1 to true 1
    plots.animate_em(X, [0, 2], fit.params_history, fit.log_likelihoods, tmp_path / "em.gif", dpi=30, colours=colours)
    assert seen == [[to_rgba(colours[0])] * 2 + [to_rgba(colours[1])] * 2] * 2


# --------------------------------------------------------------------------- plot_variational_fit


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
    assert {t.get_text().split(":")[0].split(" (")[0] for t in fig.axes[2].get_legend().get_texts()} >= {
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
    assert [b.get_height() for b in fig.axes[1].patches][2:4] == [2, 1]  # bars from K = 1


def test_variational_fit_shows_the_elbo_the_weights_against_the_threshold_and_the_kept_components():
    import em_bayes as eb

    X = np.random.default_rng(1).normal(size=(300, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], 100, axis=0)
    fit = eb.fit_bayesian_gmm(X, 6, seed=0)
    fig = plots.plot_variational_fit(X, fit, threshold=0.02)
    elbo, weights, points = fig.axes
    (curve,) = elbo.lines
    np.testing.assert_array_equal(curve.get_xdata(), np.arange(1, fit.n_iter + 1))
    np.testing.assert_array_equal(curve.get_ydata(), fit.elbos)
    assert to_rgba(curve.get_color()) == to_rgba("black") and curve.get_marker() == "o"
    assert (elbo.get_xlabel(), elbo.get_ylabel()) == ("iteration $t$", "ELBO (up to a constant)")
    assert not any(t.gridline.get_visible() for t in points.xaxis.get_major_ticks())  # no grid over the points
    assert elbo.get_title() == "The ELBO never decreases"
    kept = np.flatnonzero(fit.params.weights > 0.02)
    assert [bar.get_height() for bar in weights.patches] == list(fit.params.weights)
    assert [bar.get_x() + bar.get_width() / 2 for bar in weights.patches] == list(range(1, 7))
    assert list(weights.get_xticks()) == list(range(1, 7)) and weights.get_yscale() == "log"
    for rank, k in enumerate(kept):  # kept bars in the colours of their points and ellipses, the rest grey
        assert to_rgba(weights.patches[k].get_facecolor()) == to_rgba(plots.PALETTE[rank])
        assert_ellipse(
            ellipses(points)[2 * rank], fit.params.means[k], fit.params.covariances[k], 1, plots.PALETTE[rank]
        )
    assert all(neutral(weights.patches[k].get_facecolor()) for k in set(range(6)) - set(kept))
    (threshold,) = weights.lines
    assert list(threshold.get_ydata()) == [0.02, 0.02] and threshold.get_linestyle() == "--"
    assert to_rgba(threshold.get_color()) == to_rgba(plots.PALETTE[5]) and legend_texts(weights) == ["2%"]
    assert weights.get_title() == f"{len(kept)} of 6 kept"
    assert (weights.get_xlabel(), weights.get_ylabel()) == ("component $k$", r"$E[\pi_k]$")
    assert points.get_title() == "Points and the kept components"
    k = kept[0]  # the legend gives the expected count E[π_k]·N beside the points counted by largest γ
    n_largest = int((fit.responsibilities[:, kept].argmax(axis=1) == 0).sum())
    expected = f"component {k + 1}: E[π]·N = {fit.params.weights[k] * len(X):.0f}; by largest γ ({n_largest} points)"
    assert legend_texts(points)[0] == expected
    assert_faint_grid(elbo)
    assert_faint_grid(weights)
    assert weights.get_position().width < elbo.get_position().width  # the bar panel is the narrow one


def test_variational_fit_keeps_only_the_components_strictly_above_the_threshold():
    import em_bayes as eb

    X = np.random.default_rng(1).normal(size=(300, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], 100, axis=0)
    fit = eb.fit_bayesian_gmm(X, 6, seed=0)
    threshold = np.sort(fit.params.weights)[-3]  # the third largest weight itself: not above it
    fig = plots.plot_variational_fit(X, fit, threshold=threshold)
    assert fig.axes[1].get_title() == "2 of 6 kept" and len(ellipses(fig.axes[2])) == 2 * 2


# --------------------------------------------------------------------------- plot_soft_assignments


def test_soft_assignments_colour_one_hot_rows_purely_and_draw_the_rest_as_pies():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    gamma = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    fig, ax = plt.subplots()
    ringed = plots.plot_soft_assignments(ax, X, gamma)
    (clear,) = ax.collections
    assert ringed == 1
    np.testing.assert_allclose(clear.get_facecolors()[:, :3], [rgb(plots.PALETTE[0]), rgb(plots.PALETTE[1])])
    ((centre, parts),) = pies(ax).items()
    assert centre == (1.0, 0.0)
    halves = [(rgb(plots.PALETTE[0]), 0.5), (rgb(plots.PALETTE[1]), 0.5)]
    assert [(c, pytest.approx(share)) for c, share in parts] == halves
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_soft_assignments_draw_pies_below_the_threshold_above_everything_else():
    from matplotlib.patches import Wedge

    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    gamma = np.array([[1.0, 0.0], [0.9, 0.1], [0.6, 0.4], [0.0, 1.0]])  # row 1's largest γ is 0.9: not below 0.9
    params = em.GMMParams([0.5, 0.5], [[0.0, 0.0], [3.0, 0.0]], [np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])
    _, ax = plt.subplots(figsize=(3, 3))
    ringed = plots.plot_soft_assignments(ax, X, gamma, params, ambiguous_below=0.9, title="soft", pie_radius=0.2)
    (clear,) = ax.collections
    assert ringed == 1
    np.testing.assert_array_equal(clear.get_offsets(), X[[0, 1, 3]])
    found = pies(ax)
    assert list(found) == [(2.0, 0.0)]  # the one point whose largest γ is below 0.9
    assert [(c, pytest.approx(share)) for c, share in found[2.0, 0.0]] == [
        (rgb(plots.PALETTE[0]), 0.6),
        (rgb(plots.PALETTE[1]), 0.4),
    ]
    wedges = [p for p in ax.patches if isinstance(p, Wedge)]
    assert all(w.r == 0.2 for w in wedges)
    (outline,) = [w for w in wedges if not w.get_fill()]
    assert to_rgba(outline.get_edgecolor()) == to_rgba("black") and outline.get_linewidth() > 0
    drawn = ellipses(ax)
    assert len(drawn) == 2
    for k in range(2):
        assert_ellipse(drawn[k], params.means[k], params.covariances[k], 1, plots.PALETTE[k])
    assert min(w.get_zorder() for w in wedges) > max(artist.get_zorder() for artist in [clear, *drawn])  # never hidden
    assert outline.get_zorder() > max(w.get_zorder() for w in wedges if w.get_fill())
    assert ax.get_title() == "soft" and ax.get_aspect() == 1.0  # equal aspect: the pies are round
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_1$ (unitless)", "$x_2$ (unitless)")
    legend = ax.get_legend()
    assert legend_texts(ax) == [
        "γ near 1 for component 1",
        "γ near 1 for component 2",
        "largest γ below 0.9: a pie of its γ",
        "fitted 1σ ellipse",
    ]
    *pure, ring, ellipse = legend.legend_handles
    for k, handle in enumerate(pure):  # a dot in component k's colour, no line through it
        assert (handle.get_marker(), handle.get_linestyle()) == ("o", "None")
        assert to_rgba(handle.get_color()) == to_rgba(plots.PALETTE[k])
    assert (ring.get_marker(), ring.get_linestyle()) == ("o", "None")
    assert to_rgba(ring.get_markeredgecolor()) == to_rgba("black")
    r, g, b, _ = to_rgba(ellipse.get_color())
    assert ellipse.get_linestyle() == "-" and r == g == b  # grey: a 1σ ellipse of any component
    assert all(e.get_linewidth() == ellipse.get_linewidth() for e in drawn)  # the sample is drawn as they are
    assert legend_at(ax, "centred", legend) and all(t.get_fontsize() >= 10 for t in legend.get_texts())
    box, anchor = ax.get_window_extent(), legend.get_bbox_to_anchor()
    assert box.y0 - 0.3 * box.height < anchor.y0 < box.y0  # right under the axes,
    assert anchor.x0 == pytest.approx((box.x0 + box.x1) / 2)  # centred


def test_soft_assignment_pies_tell_apart_blends_that_mix_to_the_same_colour():
    # Blue-with-orange and orange-with-green blend to near-identical olives; their pies differ.
    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    gamma = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    _, ax = plt.subplots(figsize=(3, 3))
    plots.plot_soft_assignments(ax, X, gamma)
    found = pies(ax)
    assert {c for c, _ in found[0.0, 0.0]} == {rgb(plots.PALETTE[0]), rgb(plots.PALETTE[1])}
    assert {c for c, _ in found[1.0, 0.0]} == {rgb(plots.PALETTE[1]), rgb(plots.PALETTE[2])}


def test_soft_assignments_without_parameters_draw_no_ellipse_and_no_title():
    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    _, ax = plt.subplots(figsize=(3, 3))
    ringed = plots.plot_soft_assignments(ax, X, np.array([[0.3, 0.5, 0.2], [0.0, 0.0, 1.0]]), ambiguous_below=0.6)
    assert ringed == 1 and not ellipses(ax) and ax.get_title() == ""
    assert legend_texts(ax) == [f"γ near 1 for component {k}" for k in (1, 2, 3)] + [
        "largest γ below 0.6: a pie of its γ"
    ]


# --------------------------------------------------------------------------- plot_iris


def test_iris_figure_jitters_only_the_dots_and_names_the_species_ellipses():
    X, labels, cluster, params = _iris_like()
    fig = plots.plot_iris(X, labels, cluster, params, params, ["a", "b"], jitter=0.04, seed=0)
    top, bottom = fig.axes
    assert "species' 1σ ellipse" in [t.get_text() for t in top.get_legend().get_texts()]
    assert "EM 1σ ellipse" in [t.get_text() for t in bottom.get_legend().get_texts()]
    dots = np.concatenate([c.get_offsets() for c in top.collections[:2]])
    assert np.abs(dots - np.r_[X[labels == 0], X[labels == 1]]).max() <= 0.04
    circled = top.collections[-1].get_offsets()
    np.testing.assert_array_equal(circled, X[cluster != labels])
    plt.close(fig)


def test_iris_figure_names_species_and_components_and_circles_the_disagreements():
    X, labels, cluster, params = _iris_like()
    fig = plots.plot_iris(X, labels, cluster, params, params, ["a", "b"])  # the default jitter and seed
    top, bottom = fig.axes
    expected = X + np.random.default_rng(0).uniform(-0.04, 0.04, X.shape)  # one uniform draw per coordinate
    for ax, lab in ((top, labels), (bottom, cluster)):
        for k, dots in enumerate(ax.collections[:2]):
            np.testing.assert_array_equal(dots.get_offsets(), expected[lab == k])
        circles = ax.collections[-1]
        np.testing.assert_array_equal(circles.get_offsets(), X[cluster != labels])
        assert circles.get_facecolors().size == 0 or circles.get_facecolors()[0][3] == 0  # open: the dot shows
        assert to_rgba(circles.get_edgecolors()[0]) == to_rgba("black")
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("petal length (cm)", "petal width (cm)")
        assert legend_at(ax, "upper left")
    counts = [np.bincount(labels), np.bincount(cluster)]
    assert legend_texts(top)[:2] == [f"{n} ({counts[0][k]} points)" for k, n in enumerate("ab")]
    assert legend_texts(bottom)[:2] == [f"component for {n} ({counts[1][k]} points)" for k, n in enumerate("ab")]
    assert top.get_title() == "Species, with each species' own Gaussian"
    assert bottom.get_title() == "EM components, coloured as the matched species"
    (note,) = bottom.texts
    assert note.get_text() == (
        "3 flowers where component and species differ (circled);\n"
        "dots jittered by up to 0.04 cm: measurements are rounded to 0.1 cm"
    )
    assert note.get_anncoords() == "axes fraction" and note.get_ha() == "right"
    assert 0.9 < note.xy[0] <= 1 and 0 <= note.xy[1] < 0.1  # the lower right corner of the lower panel
    assert not top.texts
    again = plots.plot_iris(X, labels, cluster, params, params, ["a", "b"], seed=0)
    np.testing.assert_array_equal(again.axes[0].collections[0].get_offsets(), top.collections[0].get_offsets())


# --------------------------------------------------------------------------- plot_mean_paths


def test_mean_paths_draw_one_line_per_component_from_theta_0_to_theta_T():
    X = _two_blobs()
    fit = em.fit_gmm(X, 2, seed=0, keep_params=True)
    fig, ax = plt.subplots()
    plots.plot_mean_paths(ax, fit.params_history, plots.PALETTE[:2])
    paths = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(paths) == 2 and all(len(line.get_xdata()) == fit.n_iter + 1 for line in paths)
    np.testing.assert_allclose(paths[0].get_xydata()[-1], fit.params.means[0])
    plt.close(fig)


def test_mean_paths_end_in_an_open_circle_in_the_path_colour():
    X = np.r_[_two_blobs(), _two_blobs(60, 1) + np.array([0.0, 5.0])]
    corner = em.GMMParams([1 / 3] * 3, [[-1.0, -1.0], [-0.5, -1.0], [0.0, -1.0]], [np.eye(2)] * 3)  # a slow start
    fit = em.fit_gmm(X, 3, init=corner, keep_params=True, max_iter=8, tol=0)
    _, ax = plt.subplots(figsize=(2, 2))
    colours = plots.PALETTE[2:5]
    plots.plot_mean_paths(ax, fit.params_history, colours)
    paths = [line for line in ax.lines if line.get_linestyle() == "-"]
    ends = [line for line in ax.lines if line.get_marker() == "o"]
    for k, (path, end) in enumerate(zip(paths, ends, strict=True)):
        np.testing.assert_allclose(path.get_xydata(), [p.means[k] for p in fit.params_history])
        np.testing.assert_allclose(end.get_xydata()[0], fit.params.means[k])
        assert to_rgba(path.get_color()) == to_rgba(end.get_markeredgecolor()) == to_rgba(colours[k])
        assert end.get_markerfacecolor() == "white" and end.get_zorder() > path.get_zorder() > 1
    assert len(paths) == len(ends) == 3


# --------------------------------------------------------------------------- plot_online_vs_batch


def test_binned_trace_averages_the_batches_in_each_bin():
    seen = np.array([1.0, 2.0, 5.0, 6.0, 50.0])
    trace = np.array([-4.0, -2.0, -1.0, -3.0, -7.0])
    centres, means = plots.binned_trace(seen, trace, np.array([0.0, 4.0, 10.0, 100.0]))
    np.testing.assert_allclose(centres, [1.5, 5.5, 50.0])
    np.testing.assert_allclose(means, [-3.0, -2.0, -7.0])


def test_binned_trace_drops_batches_outside_the_edges():
    seen = np.array([0.5, 2.0, 3.0, 7.0, 10.0, 12.0])  # 0.5 before the first edge, 10 and 12 at or past the last
    trace = np.array([-9.0, -2.0, -4.0, -1.0, -9.0, -9.0])
    centres, means = plots.binned_trace(seen, trace, np.array([1.0, 5.0, 10.0]))
    np.testing.assert_allclose(centres, [2.5, 7.0])
    np.testing.assert_allclose(means, [-3.0, -1.0])


def test_draw_online_runs_places_each_batch_at_the_points_seen_before_it():
    _, runs, positions, edges, _ = _online_runs()
    _, ax = plt.subplots(figsize=(3, 2))
    plots.draw_online_runs(ax, runs, edges)
    assert_online_lines(ax.lines, runs, positions)
    _, ax = plt.subplots(figsize=(3, 2))  # coarse bins: the mean position and score of the batches in each
    plots.draw_online_runs(ax, {"uneven": runs["uneven"]}, np.array([0.5, 150.0, 1000.0]))
    (line,) = ax.lines
    trace = runs["uneven"][0].log_likelihood_trace
    np.testing.assert_allclose(line.get_xydata(), [[50.5, trace[:2].mean()], [525.0, trace[2:].mean()]])


def test_online_vs_batch_draws_the_runs_batch_em_per_pass_and_its_optimum():
    X, runs, positions, edges, batch = _online_runs()
    n = len(X)
    fig = plots.plot_online_vs_batch(runs, batch, n, edges)
    (ax,) = fig.axes
    *online, passes, optimum = ax.lines
    assert_online_lines(online, runs, positions)
    t = np.arange(len(batch.log_likelihoods))
    np.testing.assert_array_equal(passes.get_xdata(), (t + 1) * n)  # L(θ_t) is known after t + 1 passes
    np.testing.assert_array_equal(passes.get_ydata(), batch.log_likelihoods / n)
    assert passes.get_marker() == "s" and to_rgba(passes.get_color()) == to_rgba("black")
    np.testing.assert_array_equal(optimum.get_ydata(), [batch.log_likelihoods[-1] / n] * 2)
    r, g, b, _ = to_rgba(optimum.get_color())
    assert optimum.get_linestyle() == ":" and r == g == b and r > 0  # grey, not a run's colour nor batch EM's black
    assert ax.get_xscale() == "log"
    window_holds_near_its_top(ax, batch.log_likelihoods[-1] / n, 0.2)
    highest = max(line.get_ydata().max() for line in online)
    top = max(highest, batch.log_likelihoods[-1] / n)
    # no blank band above the highest curve, and the top at most 0.04 above the optimum
    assert min(top, batch.log_likelihoods[-1] / n + 0.04) <= ax.get_ylim()[1] <= top + 0.005
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("points seen", "mean log-likelihood per point")
    assert ax.get_title() == "Online EM comes close to batch EM's optimum within one pass over the data"
    assert legend_texts(ax) == [
        "uneven",
        "even",
        "batch EM: $L(\\theta_t)/N$, known after $t + 1$ passes over N = 1,200 points",
        "batch EM's optimum",
    ]
    assert legend_at(ax, "lower left")  # clear of batch EM, which climbs on the right
    minor = ax.xaxis.get_minor_ticks()
    assert minor and all(tick.gridline.get_visible() for tick in minor)  # the log axis' decades are readable
    assert_faint_grid(ax)
    assert_faint_grid(ax, "minor")


def test_online_vs_batch_with_a_spread_draws_each_runs_gap_per_row_its_median_and_the_target():
    X, runs, _, edges, batch = _online_runs()
    spread = {"κ = 0.6": [2e-5, 1e-5, 5e-2], "κ = 1.0": [1e-2, 3e-3, 5e-2]}
    fig = plots.plot_online_vs_batch(runs, batch, len(X), edges, spread, target=1e-4)
    ax, ax_gap = fig.axes
    assert ax.get_title().startswith("One start and order")  # the left panel says its curves are noisy
    assert "above the optimum" in ax.get_title()
    dots = [line for line in ax_gap.lines if line.get_marker() == "o" and len(line.get_xdata()) == 3]
    for row, gaps in zip((1, 0), spread.values(), strict=True):
        (line,) = [d for d in dots if d.get_ydata()[0] == row]
        np.testing.assert_array_equal(line.get_xdata(), gaps)
        assert neutral(line.get_color())  # grey: the left panel's colours belong to its runs, not to these rows
        medians = [
            m for m in ax_gap.lines if m.get_marker() in ("None", "") and list(m.get_xdata()) == [np.median(gaps)] * 2
        ]
        assert len(medians) == 1 and medians[0].get_ydata().mean() == row
    ticks = {round(y): t.get_text() for y, t in zip(ax_gap.get_yticks(), ax_gap.get_yticklabels(), strict=True)}
    assert ticks == {1: "κ = 0.6", 0: "κ = 1.0"}  # the first label on top
    assert ax_gap.get_xscale() == "log"
    (target,) = [line for line in ax_gap.lines if list(line.get_xdata()) == [1e-4, 1e-4]]
    assert target.get_linestyle() == "--"
    assert "relative gap" in ax_gap.get_xlabel()
    assert ax_gap.title.get_fontsize() == ax.title.get_fontsize()  # the two panels' titles alike
    assert legend_texts(ax_gap) == ["target 0.0001", "one start and order (3 per row)", "median"]


# --------------------------------------------------------------------------- plot_scaling


def test_scaling_figure_has_labelled_log_axes():
    sizes = [10, 100]
    fig = plots.plot_scaling(sizes, {"a": [0.1, 1.0]}, {"a": [2**20, 2**21]})
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1.0, 2.0])  # MiB
    plt.close(fig)


def test_scaling_figure_draws_each_method_in_one_colour_in_both_panels():
    sizes = [10, 100, 1000]
    seconds = {"exact": [0.1, 1.0, 10.0], "chunked": [0.2, 1.5, 12.0]}
    peaks = {"exact": [2**20, 2**21, 2**22], "chunked": [2**20, 2**20, 2**20]}
    fig = plots.plot_scaling(sizes, seconds, peaks)
    ax_time, ax_mem = fig.axes
    assert ax_time.get_position().x1 < ax_mem.get_position().x0  # side by side
    for ax, values in ((ax_time, seconds), (ax_mem, {k: np.asarray(v) / 2**20 for k, v in peaks.items()})):
        for k, (line, name) in enumerate(zip(ax.lines, values, strict=True)):
            np.testing.assert_array_equal(line.get_xdata(), sizes)
            np.testing.assert_allclose(line.get_ydata(), values[name])
            assert to_rgba(line.get_color()) == to_rgba(plots.PALETTE[k]) and line.get_marker() == "o"
        assert legend_texts(ax) == ["exact", "chunked"] and ax.get_xlabel() == "points N"
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert_faint_grid(ax, "minor")
        assert_faint_grid(ax)
    assert (ax_time.get_ylabel(), ax_time.get_title()) == ("seconds", "Time (live, this machine)")
    assert (ax_mem.get_ylabel(), ax_mem.get_title()) == ("peak memory allocated, MiB (tracemalloc)", "Peak memory")


# --------------------------------------------------------------------------- plot_online_drift


def test_online_drift_draws_each_runs_score_minus_the_true_mixtures_on_the_same_batches():
    _, runs, positions, edges, _ = _online_runs()
    truth_trace = np.linspace(-2.0, -1.0, 6)  # one score per batch, as each run's trace
    fig = plots.plot_online_drift(runs, edges, truth_trace, title="stream 1 of 8")
    (ax,) = fig.axes
    *online, zero = ax.lines
    for line, (label, (fit, style)) in zip(online, runs.items(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), positions[label])
        np.testing.assert_allclose(line.get_ydata(), fit.log_likelihood_trace - truth_trace, rtol=0, atol=1e-15)
        assert line.get_label() == label and to_rgba(line.get_color()) == to_rgba(style["color"])
        assert line.get_linestyle() == style.get("ls", "-")
    np.testing.assert_array_equal(zero.get_ydata(), [0.0, 0.0])
    assert zero.get_linestyle() == ":" and neutral(zero.get_color())  # grey: no run's colour
    assert ax.get_yscale() == "symlog" and ax.yaxis.get_transform().linthresh == 1e-3
    assert ax.xaxis.get_major_formatter()(100_000, 0) == "100,000"
    assert ax.get_xlabel() == "points seen" and ax.get_title() == "stream 1 of 8"
    assert ax.get_ylabel().startswith("score minus the true mixture's, per point")
    assert legend_texts(ax) == ["uneven", "even", "the true (moving) mixture, on the same batches"]
    assert legend_at(ax, "centred") and legend_at(ax, "below")  # under the axes, not over the curves
    bottom, top = ax.get_ylim()
    assert top == 1e-3  # only the linear band above 0: the fits score below the truth
    lowest = min(line.get_ydata().min() for line in online)
    # every curve inside the axes, down to the next decade below the lowest one, so that its tick is drawn
    assert bottom <= -(10.0 ** np.ceil(np.log10(-lowest))) < lowest
    assert_faint_grid(ax)


# --------------------------------------------------------------------------- plot_map_singularity


def test_map_singularity_keeps_one_colour_per_fit_and_marks_only_the_failed_run():
    runs = {
        "maximum likelihood": ([1.0, 2.0, 3.0], [1.0, 1e-3, 1e-9], "L", True),
        "MAP": ([0.5, 1.0, 1.5, 1.6], [1.0, 0.5, 0.4, 0.4], "L + log prior", False),
        "variational": ([0.1, 0.2], [1.0, 0.9], "ELBO", False),
    }
    fig = plots.plot_map_singularity(runs)
    left, right = fig.axes
    for ax, index in ((left, 0), (right, 1)):
        curves = [line for line in ax.lines if line.get_marker() == "o"]
        for i, (curve, run) in enumerate(zip(curves, runs.values(), strict=True)):
            np.testing.assert_array_equal(curve.get_xdata(), np.arange(len(run[0])))
            np.testing.assert_array_equal(curve.get_ydata(), run[index])
            assert to_rgba(curve.get_color()) == to_rgba(plots.PALETTE[i])  # blue, orange, green as the prose says
        (cross,) = [line for line in ax.lines if line.get_marker() == "X"]
        assert tuple(cross.get_xydata()[0]) == (2, runs["maximum likelihood"][index][-1])
        assert to_rgba(cross.get_color()) == to_rgba(plots.PALETTE[0])
        assert to_rgba(cross.get_markeredgecolor()) == to_rgba("black") and cross.get_zorder() > curves[0].get_zorder()
        assert integer_ticks(ax.xaxis) and ax.get_xlabel() == "iteration $t$"
        assert_faint_grid(ax)
    assert legend_texts(left) == ["maximum likelihood: L", "MAP: L + log prior", "variational: ELBO"]
    assert legend_texts(right) == list(runs)
    assert legend_at(left, "lower right") and legend_at(right, "center right")
    assert right.get_yscale() == "log" and right.get_ylabel() == r"smallest eigenvalue of $\Sigma_3$"
    assert left.get_position().x1 < right.get_position().x0  # side by side
    assert (left.get_ylabel(), left.get_title()) == ("objective EM climbs", "What each fit climbs")
    assert right.get_title() == "The component on the lonely point (✕: collapse, the next M-step fails)"


# --------------------------------------------------------------------------- plot_model_choice


def test_model_choice_draws_both_bics_stars_each_lowest_and_counts_the_kept_components():
    results = {
        "one": {"K": [1, 2, 3], "bic_ml": [3.0, 1.0, 2.0], "bic_map": [3.0, 2.0, 1.0],
                "bic_mclust": [-3.0, -2.0, -1.5], "kept": [3, 3, 4, 2]},
        "two": {"K": [1, 2, 3], "bic_ml": [1.0, 2.0, 3.0], "bic_map": [2.0, 1.0, 3.0],
                "bic_mclust": [-1.0, -2.0, -3.0], "kept": [1]},
    }  # fmt: skip
    fig = plots.plot_model_choice(results, 5)
    rows = np.array(fig.axes).reshape(2, 2)
    assert rows[0, 0].get_position().y0 > rows[1, 0].get_position().y1  # one row per data set, in order
    for (left, right), (name, r) in zip(rows, results.items(), strict=True):
        curves = [line for line in left.lines if line.get_marker() == "o"]
        for curve, key, colour in zip(curves, ("bic_ml", "bic_map"), (plots.PALETTE[0], plots.PALETTE[2]), strict=True):
            np.testing.assert_array_equal(curve.get_xdata(), r["K"])
            np.testing.assert_array_equal(curve.get_ydata(), r[key])
            assert to_rgba(curve.get_color()) == to_rgba(colour)  # maximum likelihood blue, MAP green
        stars = [line for line in left.lines if line.get_marker() == "*"]
        for star, curve in zip(stars, curves, strict=True):
            best = int(np.argmin(curve.get_ydata()))
            assert tuple(star.get_xydata()[0]) == (r["K"][best], curve.get_ydata()[best])
            assert star.get_color() == curve.get_color() and to_rgba(star.get_markeredgecolor()) == to_rgba("black")
        (mclust,) = [line for line in left.lines if line.get_marker() == "x"]
        np.testing.assert_array_equal(mclust.get_ydata(), -np.asarray(r["bic_mclust"]))
        np.testing.assert_array_equal(mclust.get_xdata(), r["K"])
        assert to_rgba(mclust.get_color()) == to_rgba("black") and mclust.get_linestyle() == "None"
        assert legend_texts(left) == [
            "maximum likelihood",
            "MAP, mclust's prior",
            "mclust with its prior (its starts), negated",
        ]
        assert left.get_title() == f"{name}: BIC (★ lowest)"
        assert (left.get_xlabel(), left.get_ylabel()) == ("number of components $K$", "BIC (lower is better)")
        shown = list(range(1, max(r["kept"]) + 2))  # 1 to one past the largest count kept
        assert [bar.get_height() for bar in right.patches] == [*np.bincount(r["kept"])[1:], 0]
        assert [bar.get_x() + bar.get_width() / 2 for bar in right.patches] == shown
        assert all(to_rgba(bar.get_facecolor()) == to_rgba(plots.PALETTE[3]) for bar in right.patches)
        assert right.get_title() == f"{name}: variational Bayes from K = 5, {len(r['kept'])} seeds"
        assert (right.get_xlabel(), right.get_ylabel()) == ("components above 1% weight", "seeds")
        assert list(right.get_xticks()) == shown and integer_ticks(right.yaxis)
        crosses_z = mclust.get_zorder()
        assert all(star.get_zorder() > crosses_z for star in stars)  # the stars are never hidden
        assert stars[1].get_markersize() < stars[0].get_markersize()  # two stars on one K both show
        assert_faint_grid(left)
        assert_faint_grid(right)


# --------------------------------------------------------------------------- plot_pairs


def test_pairs_draw_the_lower_triangle_with_projected_ellipses_and_leave_the_upper_empty():
    X, labels, params = _pairs_problem()
    fig = plots.plot_pairs(X, params, labels)
    axes = np.array(fig.axes).reshape(4, 4)
    for i in range(4):
        for j in range(4):
            assert axes[i, j].axison == (j <= i)
    ax = axes[3, 1]  # x: column 1, y: column 3
    for k, points in enumerate(ax.collections):
        np.testing.assert_array_equal(points.get_offsets(), X[labels == k][:, [1, 3]])
        assert tuple(points.get_facecolor()[0][:3]) == rgb(plots.PALETTE[k])
    drawn = ellipses(ax)
    assert len(drawn) == 6
    for k in range(3):
        block = params.covariances[k][np.ix_([1, 3], [1, 3])]
        assert_ellipse(drawn[2 * k], params.means[k][[1, 3]], block, 1, plots.PALETTE[k])
        assert_ellipse(drawn[2 * k + 1], params.means[k][[1, 3]], block, 2, plots.PALETTE[k])
    assert [a.get_xlabel() for a in axes[3]] == [f"$x_{c}$" for c in range(1, 5)]
    assert [a.get_ylabel() for a in axes[:, 0]] == ["points per bin"] + [f"$x_{c}$" for c in range(2, 5)]
    for j in range(4):  # one range per column, in every panel of it
        assert len({a.get_xlim() for a in axes[j:, j]}) == 1
        assert all(axes[i, j].get_ylim() == axes[i, 0].get_ylim() for i in range(1, 4) for j in range(i))


def test_pairs_diagonal_draws_each_components_marginal_in_points_per_bin_summing_to_the_mixture():
    X, labels, params = _pairs_problem()
    fig = plots.plot_pairs(X, params, labels, columns=(2, 0), bins=15)
    diagonal = np.array(fig.axes).reshape(2, 2)[0, 0]  # column 2
    *curves, total = sorted(diagonal.lines, key=lambda line: line.get_zorder(), reverse=True)
    assert len(curves) == 3 and to_rgba(total.get_color()) == to_rgba("black")
    (bars,) = diagonal.patches  # the histogram of all points
    edges = np.histogram_bin_edges(X[:, 2], bins=15, range=diagonal.get_xlim())
    for k, curve in enumerate(curves):
        x, y = curve.get_xdata(), curve.get_ydata()
        assert to_rgba(curve.get_color()) == to_rgba(plots.PALETTE[k])
        assert x[np.argmax(y)] == pytest.approx(params.means[k, 2], abs=np.ptp(x) / 150)
        area = np.sum((y[1:] + y[:-1]) / 2 * np.diff(x))  # = N π_k × bin width (all mass inside the window)
        assert area == pytest.approx(len(X) * params.weights[k] * np.diff(edges)[0], rel=0.02)
    np.testing.assert_allclose(total.get_ydata(), sum(c.get_ydata() for c in curves))
    assert bars.get_fill()


def test_pairs_without_parameters_histogram_each_label_in_its_colour_and_style():
    X, labels, _ = _many_components(10, n_features=3, n_samples=400)
    fig = plots.plot_pairs(X, labels=labels)
    diagonal = fig.axes[0]
    assert not diagonal.lines and len(diagonal.patches) == 10
    for k, bars in enumerate(diagonal.patches):
        assert to_rgba(bars.get_edgecolor())[:3] == rgb(plots.PALETTE[k % 8]) and not bars.get_fill()
    styles = [str(b.get_linestyle()) for b in diagonal.patches]
    assert len(set(styles[:8])) == 1 and len(set(styles[8:])) == 1 and styles[8] != styles[0]  # 2nd round: dashed


@pytest.mark.parametrize("n_components", [3, 12])
def test_pairs_keep_text_legible_at_notebook_width_and_the_legend_off_every_panel(n_components):
    X, labels, params = _many_components(n_components, n_features=4, n_samples=400)
    fig = plots.plot_pairs(X, params, labels, title="a title")
    displayed = min(1.0, 8.2 / fig.get_figwidth())  # about 900 pixels of a notebook's output at 110 dpi
    assert fig.get_figwidth() <= 9.5
    texts = _shown_text(fig)
    assert len(texts) > 30 and min(t.get_fontsize() for t in texts) * displayed >= 8
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 + 1 and fig.bbox.y0 <= box.y0
    for ax in fig.axes:
        if ax.axison:
            assert not box.overlaps(ax.get_window_extent())
    assert [t.get_text() for t in legend.get_texts()][:n_components] == [
        f"component {k + 1} ({(labels == k).sum()} points)" for k in range(n_components)
    ]


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((30, 1), {}, "D = 1"),
        ((30, 7), {}, r"at most 6 columns.*columns="),
        ((30, 7), {"columns": range(7)}, "2 to 6 different"),
        ((30, 3), {"columns": (0, 3)}, r"column\(s\) \[3\]"),
        ((30, 3), {"labels": np.zeros(29, dtype=int)}, "one entry per row"),
    ],
)
def test_pairs_say_what_to_do_when_they_cannot_draw(shape, kwargs, message):
    X = np.random.default_rng(0).normal(size=shape)
    with pytest.raises(ValueError, match=message):
        plots.plot_pairs(X, **kwargs)


# --------------------------------------------------------------------------- plot_model_search


def test_model_search_draws_one_distinct_line_per_covariance_type_and_stars_the_chosen_model_on_top():
    search = _fake_search()
    _, ax = plt.subplots()
    plots.plot_model_search(ax, search)
    curves = [line for line in ax.lines if line.get_label() in ("full", "diag", "spherical")]
    assert [c.get_label() for c in curves] == ["full", "diag", "spherical"]
    for attribute in ("get_color", "get_linestyle", "get_marker"):  # apart in colour, and in grey print
        assert len({str(getattr(c, attribute)()) for c in curves}) == 3
    diag = curves[1]
    np.testing.assert_array_equal(diag.get_xdata(), range(1, 6))
    np.testing.assert_array_equal(diag.get_ydata(), [_value(search, "diag", K, "bic") for K in range(1, 6)])
    (star,) = [line for line in ax.lines if line.get_marker() == "*"]
    assert tuple(star.get_xydata()[0]) == (3, _value(search, "diag", 3, "bic"))
    assert star.get_zorder() > max(line.get_zorder() for line in ax.lines if line is not star)
    assert star.get_markersize() > max(line.get_markersize() for line in ax.lines if line is not star)
    assert "chosen by BIC: K = 3, diag" in legend_texts(ax)
    assert ax.get_ylabel() == "BIC (lower is better)" and ax.get_xlabel() == "number of components $K$"


def test_model_search_draws_a_degenerate_fit_hollow_and_unjoined_and_leaves_a_failed_one_out_with_a_note():
    search = _fake_search()
    _, ax = plt.subplots()
    plots.plot_model_search(ax, search)
    full, _, spherical = (line for line in ax.lines if line.get_label() in ("full", "diag", "spherical"))
    assert np.isnan(full.get_ydata()[3]) and np.isfinite(np.delete(full.get_ydata(), 3)).all()  # K = 4 not joined
    at_4 = [line for line in ax.lines if line is not full and tuple(line.get_xydata()[0]) == (4, search.table[3].bic)]
    hollow = [line for line in at_4 if line.get_marker() == full.get_marker()]
    assert len(hollow) == 1 and to_rgba(hollow[0].get_markerfacecolor()) == to_rgba("white")
    assert to_rgba(hollow[0].get_markeredgecolor()) == to_rgba(full.get_color())
    assert any(line.get_marker() == "x" for line in at_4)  # crossed
    assert list(spherical.get_xdata()[np.isfinite(spherical.get_ydata())]) == [1, 2, 3, 4]  # K = 5 failed
    assert not [
        line
        for line in ax.lines
        if line is not spherical
        and 5 in line.get_xdata()
        and to_rgba(line.get_color()) == to_rgba(spherical.get_color())
    ]
    texts = legend_texts(ax)
    assert any(t.startswith("degenerate") for t in texts)
    assert any("failed" in t and "spherical K = 5" in t for t in texts)


def test_model_search_draws_icl_when_asked_and_its_legend_right_of_the_data():
    search = _fake_search()
    fig, ax = plt.subplots(figsize=(7, 4))
    plots.plot_model_search(ax, search, criterion="icl")
    diag = next(line for line in ax.lines if line.get_label() == "diag")
    np.testing.assert_array_equal(diag.get_ydata(), [_value(search, "diag", K, "icl") for K in range(1, 6)])
    (star,) = [line for line in ax.lines if line.get_marker() == "*"]
    assert star.get_ydata()[0] == _value(search, "diag", 3, "icl")
    assert ax.get_ylabel() == "ICL (lower is better)" and "chosen by BIC: K = 3, diag" in legend_texts(ax)
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 > ax.get_window_extent().x1  # beside, off the data
    _, ax = plt.subplots()
    plots.plot_model_search(ax, _fake_search(criterion="icl"))
    assert ax.get_ylabel().startswith("ICL") and "chosen by ICL: K = 3, diag" in legend_texts(ax)


def test_model_search_refuses_an_unknown_criterion_and_an_empty_table():
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match='"bic" or "icl"'):
        plots.plot_model_search(ax, _fake_search(), criterion="aic")
    with pytest.raises(ValueError, match="empty"):
        plots.plot_model_search(ax, SimpleNamespace(table=(), criterion="bic", best=None))


# --------------------------------------------------------------------------- plot_uncertainty


# plot_uncertainty


def test_uncertainty_colours_by_hard_label_and_sizes_grow_with_one_minus_the_largest_responsibility():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    gamma = rng.dirichlet([0.5, 0.5, 0.5], size=40)
    params = em.GMMParams(np.full(3, 1 / 3), rng.normal(size=(3, 4)), [np.eye(4) + 0.3 * k for k in range(3)])
    _, ax = plt.subplots()
    uncertainty = plots.plot_uncertainty(ax, X, gamma, params, columns=(1, 3))
    np.testing.assert_allclose(uncertainty, 1 - gamma.max(axis=1))
    labels = gamma.argmax(axis=1)
    offsets, sizes = [], []
    for k, points in enumerate(ax.collections):
        assert tuple(points.get_facecolor()[0][:3]) == rgb(plots.PALETTE[k])
        members = labels == k
        assert sorted(map(tuple, points.get_offsets())) == sorted(map(tuple, X[members][:, [1, 3]]))
        offsets.append(points.get_offsets())
        sizes.append(points.get_sizes())
    offsets, sizes = np.concatenate(offsets), np.concatenate(sizes)
    order = [np.flatnonzero((X[:, [1, 3]] == o).all(axis=1))[0] for o in offsets]
    by_uncertainty = np.argsort(uncertainty[order])
    assert (np.diff(sizes[by_uncertainty]) > 0).all()  # strictly larger for a more uncertain point
    for points in ax.collections:  # the most uncertain drawn last, on top
        assert (np.diff(points.get_sizes()) >= 0).all()
    drawn = ellipses(ax)
    assert [e.center for e in drawn] == [tuple(m) for m in params.means[:, [1, 3]]]
    key = legend_texts(ax)
    assert key[:3] == ["hard label 1", "hard label 2", "hard label 3"] and "0.67" in key and key[-5].startswith("size")


def test_uncertainty_refuses_mismatched_inputs():
    rng = np.random.default_rng(0)
    X, gamma = rng.normal(size=(10, 2)), rng.dirichlet([1, 1], size=10)
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="n_samples"):
        plots.plot_uncertainty(ax, X[:9], gamma)
    with pytest.raises(ValueError, match=r"column\(s\) \[2\]"):
        plots.plot_uncertainty(ax, X, gamma, columns=(0, 2))
    three = em.GMMParams(np.full(3, 1 / 3), np.zeros((3, 2)), [np.eye(2)] * 3)
    with pytest.raises(ValueError, match="3 components and responsibilities 2 columns"):
        plots.plot_uncertainty(ax, X, gamma, three)


# --------------------------------------------------------------------------- incomplete data (notebook 06)


def test_missing_value_errors_draw_each_methods_medians_and_ranges_in_its_own_style_on_both_panels():
    rng = np.random.default_rng(0)
    fractions = (0.1, 0.3, 0.5)
    errors = {name: rng.uniform(0.1, 3.0, size=(3, 8, 2)) for name in plots.MISSING_METHOD_STYLES}
    for complete_error in (np.array([0.12, 0.28]), None):
        fig = plots.plot_missing_value_errors(fractions, errors, complete_error, error_names=("means", "covs"))
        for j, ax in enumerate(fig.axes):
            assert ax.get_ylabel() == ("means", "covs")[j] and ax.get_yscale() == "log"
            lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
            assert len(lines) == len(errors)
            for line, (name, values) in zip(lines, errors.items(), strict=True):
                style = plots.MISSING_METHOD_STYLES[name]
                assert to_rgba(line.get_color()) == to_rgba(style["color"]) and line.get_marker() == style["marker"]
                np.testing.assert_allclose(line.get_ydata(), np.median(values[:, :, j], axis=1))
            ranges = ax.collections
            assert len(ranges) == len(errors)
            for bars, (name, values) in zip(ranges, errors.items(), strict=True):
                segments = bars.get_segments()
                assert to_rgba(bars.get_color()[0], alpha=None)[:3] == rgb(plots.MISSING_METHOD_STYLES[name]["color"])
                np.testing.assert_allclose([s[:, 1].min() for s in segments], values[:, :, j].min(axis=1))
                np.testing.assert_allclose([s[:, 1].max() for s in segments], values[:, :, j].max(axis=1))
            reference = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "-."]
            assert reference == ([] if complete_error is None else [complete_error[j]])
        legend = fig.legends[0]
        labels = [t.get_text() for t in legend.get_texts()]
        assert labels[:4] == [f"{name} (median)" for name in plots.MISSING_METHOD_STYLES] + [
            "best to worst of 8 removals"
        ]
        assert ("complete-data fit (nothing removed)" in labels) == (complete_error is not None)
        # the key of the bars holds one bar per method, in the method's colour (not one black bar)
        bar_colours = [rgb(line.get_color()) for line in legend.findobj(Line2D) if line.get_marker() == "|"]
        assert bar_colours == [rgb(s["color"]) for s in plots.MISSING_METHOD_STYLES.values()]


def test_imputation_against_em_draws_each_fit_in_the_matched_true_colours_on_shared_limits():
    X, _, truth = three_clusters()
    X_missing = X.copy()
    X_missing[np.random.default_rng(1).random(X.shape) < 0.3] = np.nan
    filled = np.where(np.isnan(X_missing), np.nanmean(X_missing, axis=0), X_missing)
    shuffled = truth.permute([2, 0, 1])  # a fit listing the components in another order
    fig = plots.plot_imputation_against_em(X_missing, filled, truth, shuffled, truth)
    left, right = fig.axes
    assert left.get_xlim() == right.get_xlim() and left.get_ylim() == right.get_ylim()
    for ax in (left, right):
        drawn = ellipses(ax)
        assert len(drawn) == 3 * 2 + 3  # 1σ and 2σ per fitted component, 1σ per true one
        for k in range(3):  # the fitted 1σ ellipse of true component k and the true one share k's colour
            assert_ellipse(drawn[2 * k], truth.means[k], truth.covariances[k], 1, plots.component_style(k)[0])
            assert_ellipse(drawn[6 + k], truth.means[k], truth.covariances[k], 1, plots.component_style(k)[0])
            assert drawn[6 + k].get_linestyle() == ":"
        assert min(e.get_zorder() for e in drawn[:6]) > max(c.get_zorder() for c in ax.collections)
        assert not ax.texts  # nothing collapsed here, nothing pointed out
        key = [line for line in ax.get_legend().findobj(Line2D) if line.get_linewidth() == 3.0]
        assert [rgb(line.get_color()) for line in key] == [rgb(plots.component_style(k)[0]) for k in range(3)]
    only_x1 = ~np.isnan(X_missing[:, 0]) & np.isnan(X_missing[:, 1])
    only_x2 = np.isnan(X_missing[:, 0]) & ~np.isnan(X_missing[:, 1])
    ticks = right.collections[1:]
    assert [len(c.get_segments()) for c in ticks] == [only_x1.sum(), only_x2.sum()]
    # the key shows each rug as the ticks it draws (vertical: x1 alone on the bottom; horizontal: x2 alone on the
    # left), and the fitted means' marker
    legend = right.get_legend()
    markers = {
        t.get_text(): h.get_marker()
        for h, t in zip(legend.legend_handles, legend.texts, strict=True)
        if isinstance(h, Line2D)
    }
    assert markers[f"only $x_1$ observed ({only_x1.sum()}): bottom"] == "|"
    assert markers[f"only $x_2$ observed ({only_x2.sum()}): left"] == "_"
    assert markers["fitted mean"] == "X"
    np.testing.assert_allclose(sorted(s[0, 0] for s in ticks[0].get_segments()), np.sort(X_missing[only_x1, 0]))
    crosses = left.collections[1]
    np.testing.assert_allclose(crosses.get_offsets(), filled[only_x1 | only_x2])


def test_imputation_against_em_points_out_a_component_squeezed_onto_a_line():
    X, _, truth = three_clusters()
    X_missing = X.copy()
    X_missing[np.random.default_rng(1).random(X.shape) < 0.3] = np.nan
    filled = np.where(np.isnan(X_missing), np.nanmean(X_missing, axis=0), X_missing)
    covariances = truth.covariances.copy()
    covariances[1] = np.diag([1e-6, 4.0])  # a line along x2, as mean imputation's vertical line gives
    squeezed = em.GMMParams(truth.weights, truth.means, covariances)
    fig = plots.plot_imputation_against_em(X_missing, filled, squeezed, truth, truth)
    left, right = fig.axes
    assert [t.get_text() for t in left.texts] == ["collapsed onto the\nfilled-in line"] and not right.texts
    assert left.texts[0].xy == pytest.approx(tuple(truth.means[1]))
    assert rgb(left.texts[0].get_color()) == rgb(plots.component_style(1)[0])


def test_plot_rounded_data_sizes_shared_rows_and_counts_each_rounded_value():
    X = np.array([[1.0, 50.0], [1.0, 50.0], [1.0, 50.0], [2.0, 50.0], [3.0, 60.0]])
    fig, counts = plots.plot_rounded_data(X, feature_names=["a", "b"])
    ax, ax_bar = fig.axes
    sizes = ax.collections[0].get_sizes()
    assert sorted(sizes) == [10.0, 10.0, 10.0 + 14 * 2]  # three distinct rows, one shared by 3
    np.testing.assert_array_equal(counts, [4, 1])
    assert [bar.get_height() for bar in ax_bar.patches] == [4, 1]
    assert "4 rows at 50" in [text.get_text() for text in ax_bar.texts]
    with pytest.raises(ValueError, match="2 columns"):
        plots.plot_rounded_data(np.zeros((4, 3)), feature_names=["a", "b", "c"])
    plt.close(fig)

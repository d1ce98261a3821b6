"""Every figure of the tutorial, built from small pieces that take an ``ax``.

The EM core (``em_helpers``) never imports this module, so reading or testing the
numerics never loads matplotlib. The pieces (``draw_ellipse``, ``plot_clusters``,
``plot_log_likelihood``) are composed into each notebook's figures below them.
"""

from __future__ import annotations

import numpy as np

from em_helpers import ellipse_geometry


def draw_ellipse(ax, mean, covariance, n_std=1.0, **kwargs):
    """Draw the n_std-standard-deviation ellipse of N(mean, covariance) on ``ax``.

    Keyword arguments go to matplotlib.patches.Ellipse (default: no fill). Returns the patch.
    """
    from matplotlib.patches import Ellipse

    width, height, angle = ellipse_geometry(covariance, n_std)
    kwargs.setdefault("fill", False)
    patch = Ellipse(tuple(np.asarray(mean, dtype=float)), width, height, angle=angle, **kwargs)
    ax.add_patch(patch)
    return patch


# Okabe-Ito: distinguishable with every common form of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Past len(PALETTE) components the colours repeat, so each round through the palette has its own
# marker shape (points) and line style (1-D curves): component k is (PALETTE[k % 8], MARKERS[k // 8]).
MARKERS = ("o", "s", "^")
LINE_STYLES = ("-", "--", ":")
# The mean of component k: ✕ in the first round (what every figure with K <= 8 shows), an enlarged
# copy of the point marker in the later rounds, so that same-coloured means stay apart.
MEAN_MARKERS = ("X", "s", "^")
MAX_COMPONENTS = len(PALETTE) * len(MARKERS)


def component_style(k):
    """The colour, point marker, mean marker and line style of component k (0-based).

    Components 0..7 take the eight Okabe-Ito colours of PALETTE with round dots (and ✕ for
    their means, solid curves); components 8..15 take the same colours again with squares
    (dashed curves), 16..23 with triangles (dotted curves). Two components therefore never
    share both colour and marker; beyond MAX_COMPONENTS = 24 a ValueError says what to do.
    """
    if not 0 <= k < MAX_COMPONENTS:
        raise ValueError(
            f"component {k} has no style: the figures tell at most {MAX_COMPONENTS} components apart "
            f"({len(PALETTE)} colours × {len(MARKERS)} marker shapes); plot fewer components, e.g. "
            "merge the smallest ones or show a subset of the labels."
        )
    round_ = k // len(PALETTE)
    return PALETTE[k % len(PALETTE)], MARKERS[round_], MEAN_MARKERS[round_], LINE_STYLES[round_]


def _check_labels(labels, name="labels"):
    """Integer labels 0..MAX_COMPONENTS - 1 as an int array, or a ValueError saying what to do."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers 0..K-1 (component numbers); got dtype {labels.dtype}.")
    if labels.size and (labels.min() < 0 or labels.max() >= MAX_COMPONENTS):
        raise ValueError(
            f"{name} must lie in 0..{MAX_COMPONENTS - 1}: the figures tell at most {MAX_COMPONENTS} "
            f"components apart; got labels from {labels.min()} to {labels.max()}. Plot fewer components "
            "(merge the smallest ones, or pass a subset of the points)."
        )
    return labels


def _check_columns(columns, n_features, who, *, at_least=2, at_most=2):
    """The chosen columns as a tuple of distinct ints in range(n_features), or a ValueError."""
    if n_features < 2:
        raise ValueError(
            f"{who} draws pairs of coordinates, and the data have D = {n_features}: plot a 1-D sample "
            "with a histogram per label instead (ax.hist(X[labels == k, 0]) for each k)."
        )
    columns = tuple(int(c) for c in columns)
    if not at_least <= len(columns) <= at_most or len(set(columns)) != len(columns):
        count = f"{at_least}" if at_least == at_most else f"{at_least} to {at_most}"
        raise ValueError(f"{who} needs {count} different column indices; got columns={columns}.")
    outside = [c for c in columns if not 0 <= c < n_features]
    if outside:
        raise ValueError(
            f"columns={columns} names column(s) {outside} of data with D = {n_features} columns: "
            f"choose indices 0..{n_features - 1}."
        )
    return columns


def _check_params(params, n_features, who):
    """``params`` must describe points of ``n_features`` dimensions and at most MAX_COMPONENTS components."""
    if params is None:
        return
    if params.n_features != n_features:
        raise ValueError(
            f"{who}: the parameters are {params.n_features}-dimensional but X has {n_features} columns; "
            "pass the parameters fitted to these columns."
        )
    if params.n_components > MAX_COMPONENTS:
        component_style(params.n_components - 1)  # raises, saying what to do


def projected(params, columns):
    """Means (K, 2) and covariances (K, 2, 2) of the marginal of each component on two ``columns``:
    the marginal of N(μ, Σ) on coordinates (a, b) is N(μ[[a, b]], Σ[[a, b]][:, [a, b]])."""
    columns = list(columns)
    return params.means[:, columns], params.covariances[:, columns][:, :, columns]


def _feature_label(column, feature_names=None):
    """``feature_names[column]`` if given, else "$x_{column + 1}$"."""
    if feature_names is not None:
        return feature_names[column]
    return f"$x_{column + 1}$" if column < 9 else f"$x_{{{column + 1}}}$"


def save_figure(fig, path, dpi=110, *, alt=None):
    """Save ``fig`` as PNG with no Software/date metadata, so that re-running rewrites the
    same bytes; close it, and return the saved file as an image for a notebook to display.

    Showing the file rather than the live figure means the notebook displays exactly the
    picture in figures/, and matplotlib renders each figure once instead of twice. ``alt``,
    a sentence saying what the figure shows, is stored as the output's ``alt`` metadata
    (Jupyter's place for it: IPython.display.Image writes it, and nbconvert's classic HTML
    template turns it into the <img> alt attribute).
    """
    from pathlib import Path

    import matplotlib.pyplot as plt
    from IPython.display import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return Image(filename=str(path), alt=alt)


def show_figure(fig, dpi=110, *, alt):
    """Return ``fig`` as a PNG image with its ``alt`` text for a notebook to display, without
    saving it (for a live measurement, which must not overwrite a file under figures/ on every
    run); close it. A figure shown by plt.show() has no alt text: nbconvert writes "No
    description has been provided for this image" in its place."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="png", alt=alt)


def plot_clusters(
    ax,
    X,
    labels,
    params=None,
    *,
    title="",
    reference=None,
    label_prefix="component",
    names=None,
    legend_loc="below",
    params_name="fitted",
    columns=(0, 1),
    feature_names=None,
    equal_aspect=True,
    legend_fontsize=8,
    reference_style=None,
):
    """Scatter points coloured by ``labels`` (label k in ``component_style(k)``: PALETTE[k] as a
    round dot for k < 8; from k = 8 on the colours repeat with squares, then triangles, so that
    no two components share both colour and marker; at most MAX_COMPONENTS = 24). With
    ``params``, draw each component's mean (✕, or an enlarged copy of its marker from k = 8 on)
    and its 1σ (solid) and 2σ (dashed) ellipses in the same colour; with ``reference``, its 1σ
    ellipses in thin grey. Label k is called ``names[k]`` if given, else "{label_prefix} {k + 1}";
    the legend calls ``params``' ellipses "{params_name} 1σ ellipse" and goes below the axes or
    at a matplotlib ``legend_loc`` inside them.

    X : (n_samples, D) with D >= 2. ``columns`` = (a, b) chooses the two coordinates drawn; for
    D > 2 the points and the ellipses are projections: the marginal of N(μ_k, Σ_k) on (a, b) is
    N(μ_k[[a, b]], Σ_k[[a, b]][:, [a, b]]). Axes are labelled ``feature_names[a]`` and
    ``feature_names[b]`` if given, else $x_{a+1}$ and $x_{b+1}$. A ValueError says what to do
    when the figure cannot be drawn (D = 1, a column out of range, more than 24 components).
    ``equal_aspect=False`` lets each axis keep its own scale, for columns in different units
    (Old Faithful's minutes of eruption and of waiting differ 12-fold in spread); the ellipses
    stay correct, drawn in data coordinates. ``legend_fontsize`` sets the legend's text size;
    ``reference_style`` (matplotlib line keywords, e.g. dict(color="black", ls=":", lw=1.4,
    zorder=5)) replaces the thin grey of the reference ellipses, e.g. to draw them on top.
    """
    from matplotlib.lines import Line2D

    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"plot_clusters needs X of shape (n_samples, D); got shape {X.shape}.")
    columns = _check_columns(columns, X.shape[1], "plot_clusters")
    labels = _check_labels(labels)
    for p in (params, reference):
        _check_params(p, X.shape[1], "plot_clusters")
    n_drawn = max(
        [labels.max() + 1 if labels.size else 0] + [p.n_components for p in (params, reference) if p is not None]
    )
    many = n_drawn > len(PALETTE)  # markers tell rounds of the palette apart: a little larger dots
    shown = X[:, list(columns)]
    for k in np.unique(labels):
        members = labels == k
        name = names[k] if names is not None else f"{label_prefix} {k + 1}"
        colour, marker, _, _ = component_style(k)
        ax.scatter(
            *shown[members].T,
            s=16 if many else 9,
            marker=marker,
            alpha=0.55,
            color=colour,
            linewidths=0,
            label=f"{name} ({members.sum()} points)",
        )
    handles = []
    if params is not None:
        means, covariances = projected(params, columns)
        for k in range(params.n_components):
            colour, _, mean_marker, _ = component_style(k)
            draw_ellipse(ax, means[k], covariances[k], 1, color=colour, lw=2.0)
            draw_ellipse(ax, means[k], covariances[k], 2, color=colour, lw=1.2, ls="--")
            ax.plot(
                *means[k], marker=mean_marker, ms=11 if mean_marker == "X" else 9, color=colour, mec="black", mew=1.0
            )
        handles += [
            Line2D([], [], color="0.2", lw=2.0, label=f"{params_name} 1σ ellipse"),
            Line2D([], [], color="0.2", lw=1.2, ls="--", label=f"{params_name} 2σ ellipse"),
            Line2D(
                [],
                [],
                color="0.2",
                marker="X",
                ls="",
                ms=5,
                label=f"{params_name} mean" + (" (✕, or its points' marker)" if many else ""),
            ),
        ]
    if reference is not None:
        means, covariances = projected(reference, columns)
        style = dict(color="0.45", lw=0.9) if reference_style is None else dict(reference_style)
        for k in range(reference.n_components):
            draw_ellipse(ax, means[k], covariances[k], 1, **style)
        style.pop("zorder", None)
        handles.append(Line2D([], [], **style, label="true 1σ ellipse"))
    ax.set(
        xlabel=_feature_label(columns[0], feature_names), ylabel=_feature_label(columns[1], feature_names), title=title
    )
    pad = 0.06 * np.ptp(shown, axis=0)
    ax.set(
        xlim=(shown[:, 0].min() - pad[0], shown[:, 0].max() + pad[0]),
        ylim=(shown[:, 1].min() - pad[1], shown[:, 1].max() + pad[1]),
    )
    ax.set_aspect("equal" if equal_aspect else "auto", adjustable="box")
    points = ax.get_legend_handles_labels()
    # Past 8 components, one legend column per round of the palette (8 rows): dots, squares, triangles.
    ncol = -(-(len(points[0]) + len(handles)) // len(PALETTE)) if many else None
    placement = (
        dict(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol or 2, frameon=False)
        if legend_loc == "below"
        else dict(loc=legend_loc, framealpha=0.9, ncol=ncol or 1)
    )
    ax.legend(
        points[0] + handles,
        points[1] + [h.get_label() for h in handles],
        fontsize=legend_fontsize,
        markerscale=1.8,
        **placement,
    )


MAX_PAIRS_COLUMNS = 6


def _padded_limits(values, fraction=0.06):
    """(low, high) around ``values`` with ``fraction`` of their range on each side (1 if they are all equal)."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = fraction * (high - low) if high > low else 1.0
    return low - pad, high + pad


def _legend_columns(n_entries):
    """One legend column per 8 entries (one round of the palette), at least one."""
    return max(1, -(-n_entries // len(PALETTE)))


def plot_pairs(
    X,
    params=None,
    labels=None,
    *,
    columns=None,
    feature_names=None,
    names=None,
    label_prefix="component",
    title="",
    bins=20,
):
    """A pairs plot: every pair of the chosen ``columns`` of X (n_samples, D), one panel each.

    Lower triangle, panel (row i, column j): the points in coordinates (j, i), coloured as in
    ``plot_clusters`` (label k in ``component_style(k)``), and with ``params`` each component's
    mean and its 1σ (solid) and 2σ (dashed) ellipses projected on those two coordinates (the
    marginal of N(μ_k, Σ_k) is N(μ_k[[j, i]], Σ_k[[j, i]][:, [j, i]])). Diagonal: with
    ``params``, a grey histogram of all points and each component's 1-D marginal density
    N·π_k·N(x; μ_kj, Σ_kjj) in expected points per bin, so that the curves sum to the black
    mixture curve over the histogram; without, a histogram per label (or of all points). The
    upper triangle holds the legend. Each column keeps one range in every panel (the panels do
    not have equal aspect: the features may have different units).

    ``columns`` defaults to every column; at most MAX_PAIRS_COLUMNS = 6 are drawn so that the
    text stays at least 8 pt at notebook width (the figure is at most 9 inches wide). Axes are
    named ``feature_names[c]`` if given, else $x_{c+1}$; label k ``names[k]`` or
    "{label_prefix} {k + 1}". Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"plot_pairs needs X of shape (n_samples, D); got shape {X.shape}.")
    n_samples, n_features = X.shape
    if columns is None:
        if n_features > MAX_PAIRS_COLUMNS:
            raise ValueError(
                f"plot_pairs draws at most {MAX_PAIRS_COLUMNS} columns and X has {n_features}: choose "
                f"some with columns=, e.g. columns={tuple(range(4))}."
            )
        columns = range(n_features)
    columns = _check_columns(columns, n_features, "plot_pairs", at_most=MAX_PAIRS_COLUMNS)
    _check_params(params, n_features, "plot_pairs")
    if labels is not None:
        labels = _check_labels(labels)
        if labels.shape != (n_samples,):
            raise ValueError(f"labels must have one entry per row of X ({n_samples}); got shape {labels.shape}.")
    present = np.unique(labels) if labels is not None else np.array([], dtype=int)
    n_drawn = max([present.max() + 1 if present.size else 0] + ([params.n_components] if params is not None else []))

    def name(k):
        return names[k] if names is not None else f"{label_prefix} {k + 1}"

    m = len(columns)
    panel = min(2.3, 7.8 / m)  # inches: the whole figure stays within 9 inches
    margins = dict(left=0.85, bottom=0.65, right=0.15, top=0.45 if title else 0.15)  # inches
    fig, axes = plt.subplots(m, m, figsize=(1, 1), squeeze=False)
    _pairs_layout(fig, m * panel, **margins)
    limits = [_padded_limits(X[:, c]) for c in columns]
    many = n_drawn > len(PALETTE)
    for i, ci in enumerate(columns):
        for j, cj in enumerate(columns):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            ax.tick_params(labelsize=9)
            ax.locator_params(nbins=4)
            ax.set_xlim(limits[j])
            if i == j:
                _pairs_diagonal(ax, X[:, ci], params, labels, present, ci, bins, limits[i])
            else:
                ax.set_ylim(limits[i])
                if labels is None:
                    ax.scatter(X[:, cj], X[:, ci], s=5, color="0.5", alpha=0.5, linewidths=0)
                for k in present:
                    colour, marker, _, _ = component_style(k)
                    members = labels == k
                    ax.scatter(
                        X[members, cj],
                        X[members, ci],
                        s=9 if many else 6,
                        marker=marker,
                        color=colour,
                        alpha=0.55,
                        linewidths=0,
                    )
                if params is not None:
                    means, covariances = projected(params, (cj, ci))
                    for k in range(params.n_components):
                        colour, _, mean_marker, _ = component_style(k)
                        draw_ellipse(ax, means[k], covariances[k], 1, color=colour, lw=1.5)
                        draw_ellipse(ax, means[k], covariances[k], 2, color=colour, lw=0.9, ls="--")
                        ax.plot(
                            *means[k],
                            marker=mean_marker,
                            ms=7 if mean_marker == "X" else 6,
                            color=colour,
                            mec="black",
                            mew=0.8,
                        )
            if i == m - 1:
                ax.set_xlabel(_feature_label(cj, feature_names), fontsize=10)
            else:
                ax.tick_params(labelbottom=False)
            if j == 0 and i > 0:
                ax.set_ylabel(_feature_label(ci, feature_names), fontsize=10)
            elif i == j == 0:
                ax.set_ylabel("points per bin", fontsize=10)
            else:
                ax.tick_params(labelleft=False)
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker=component_style(k)[1],
            ms=6,
            color=component_style(k)[0],
            label=f"{name(k)} ({int((labels == k).sum())} points)",
        )
        for k in present
    ]
    if params is not None:
        handles += [
            Line2D([], [], color="0.2", lw=1.5, label="1σ ellipse"),
            Line2D([], [], color="0.2", lw=0.9, ls="--", label="2σ ellipse"),
            Line2D(
                [],
                [],
                color="0.2",
                marker="X",
                ls="",
                ms=6,
                label="mean" + (" (✕, or its points' marker)" if many else ""),
            ),
            Line2D([], [], color="0.2", lw=1.4, label="diagonal: each component's density (its colour)"),
            Line2D([], [], color="black", lw=1.0, label="diagonal: their sum, the mixture's density"),
            Patch(color="0.85", label="diagonal: all points"),
        ]
    if handles:
        _pairs_legend(fig, axes, handles, m * panel, margins)
    if title:
        fig.suptitle(title, fontsize=12, y=1 - 0.08 / fig.get_figheight(), va="top")
    return fig


def _pairs_layout(fig, grid, *, left, bottom, right, top, below=0.0):
    """Size ``fig`` so that its square grid of panels is ``grid`` inches wide and tall, with the
    margins (inches) around it and ``below`` inches more under the bottom margin, for a legend."""
    width, height = left + grid + right, bottom + below + grid + top
    fig.set_size_inches(width, height)
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=(bottom + below) / height,
        top=1 - top / height,
        wspace=0.1,
        hspace=0.1,
    )


def _pairs_legend(fig, axes, handles, grid, margins):
    """The pairs plot's legend: in the empty upper triangle, from its top right corner, with as
    few columns as let it clear every drawn panel; if no column count does, below the grid (the
    figure grows by the legend's height, the panels keep their size)."""
    style = dict(handles=handles, fontsize=9, frameon=False, markerscale=1.3)
    renderer = fig.canvas.get_renderer()
    drawn = [ax.get_window_extent(renderer) for ax in axes.flat if ax.axison]
    figure_box = fig.bbox
    if axes.shape[0] > 1:
        for ncol in range(1, 5):
            legend = fig.legend(
                loc="upper right", bbox_to_anchor=(1, 1), bbox_transform=axes[0, -1].transAxes, ncol=ncol, **style
            )
            box = legend.get_window_extent(renderer)
            if box.x0 >= figure_box.x0 and not any(box.overlaps(extent) for extent in drawn):
                return legend
            legend.remove()
    legend = fig.legend(loc="upper center", ncol=min(3, _legend_columns(len(handles))), **style)
    below = legend.get_window_extent(renderer).height / fig.dpi + 0.15
    _pairs_layout(fig, grid, **margins, below=below)
    legend.set_bbox_to_anchor((0.5, below / fig.get_figheight()), transform=fig.transFigure)
    return legend


def _pairs_diagonal(ax, values, params, labels, present, column, bins, limits):
    """One diagonal panel of ``plot_pairs``: histogram(s) of ``values`` and, with ``params``,
    each component's 1-D marginal density in expected points per bin, and their sum."""
    edges = np.histogram_bin_edges(values, bins=bins, range=limits)
    if params is not None or labels is None:
        ax.hist(values, bins=edges, histtype="stepfilled", color="0.85")
    if params is not None:
        x = np.linspace(*limits, 200)
        scale = len(values) * (edges[1] - edges[0])  # density -> expected points per bin
        total = np.zeros_like(x)
        for k in range(params.n_components):
            colour, _, _, ls = component_style(k)
            mean, variance = params.means[k, column], params.covariances[k, column, column]
            curve = (
                scale * params.weights[k] * np.exp(-0.5 * (x - mean) ** 2 / variance) / np.sqrt(2 * np.pi * variance)
            )
            total += curve
            ax.plot(x, curve, color=colour, ls=ls, lw=1.4, zorder=3)
        ax.plot(x, total, color="black", lw=1.0, zorder=2)  # under the components: a lone peak shows its colour
    else:
        for k in present:
            colour, _, _, ls = component_style(k)
            ax.hist(values[labels == k], bins=edges, histtype="step", color=colour, ls=ls, lw=1.4)
    ax.set_ylim(bottom=0)


def plot_log_likelihood(ax, fit, *, fontsize=9):
    """log p(X | θ_t) against iteration t, with the stopping point marked; an inset shows
    the distance to the final value, L(θ_T) - L(θ_t), on a log scale (a straight line there
    is EM's linear convergence). ``fontsize`` sets the note's and the inset's text size."""
    t = np.arange(len(fit.log_likelihoods))
    ax.plot(t, fit.log_likelihoods, "o-", ms=3.5, color="black", lw=1.2)
    ax.axvline(fit.n_iter, color=PALETTE[5], ls="--", lw=1.2)
    if fit.n_iter >= 3:
        inset = ax.inset_axes([0.42, 0.17, 0.5, 0.36])
        remaining = fit.log_likelihoods[-1] - fit.log_likelihoods[:-1]
        inset.semilogy(t[:-1], remaining, "o-", ms=2.5, color=PALETTE[0], lw=1)
        inset.set_xlabel("$t$", fontsize=fontsize + 1, labelpad=0)
        inset.xaxis.get_major_locator().set_params(integer=True)
        inset.set_title(r"$L(\theta_T) - L(\theta_t)$ (nats), log scale", fontsize=fontsize + 1.5)
        inset.tick_params(labelsize=fontsize)
        inset.grid(alpha=0.3)
    why = f"gain per point < {fit.tol:g}" if fit.stop_reason == "converged" else "max_iter reached"
    ax.annotate(
        f"{'converged' if fit.converged else 'stopped'} at t = {fit.n_iter}\n({why})",
        xy=(fit.n_iter, fit.log_likelihoods[-1]),
        xytext=(0.62, 0.7),
        textcoords="axes fraction",
        ha="center",
        fontsize=fontsize,
        arrowprops=dict(arrowstyle="->", color=PALETTE[5]),
    )
    ax.set(
        xlabel="iteration $t$",
        ylabel=r"$\log p(X \mid \theta_t)$ (nats)",
        title="Log-likelihood per iteration",
    )
    ax.grid(alpha=0.3)


def plot_three_panel(X, labels, fit, order, truth):
    """Truth | fit with ellipses (fitted component ``order[k]`` drawn in true colour k), side by
    side, over the log-likelihood history. Sized for a notebook cell about 900 px wide: the
    smallest text is 10 pt at 110 dpi. The true 1σ ellipses are drawn in black, dotted, on top of
    the fitted ones, so that a fitted ellipse cannot hide the one it estimates. The data are
    unitless, so the axes say so."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplot_mosaic(
        [["truth", "fit"], ["history", "history"]], figsize=(11, 10), gridspec_kw={"height_ratios": [1.5, 1]}
    )
    plot_clusters(axes["truth"], X, labels, title="True components (hidden from EM)", legend_fontsize=10)
    aligned = fit.params.permute(order)
    fitted_labels = np.argmax(fit.responsibilities[:, order], axis=1)  # column k = true component k
    plot_clusters(
        axes["fit"],
        X,
        fitted_labels,
        aligned,
        reference=truth,
        label_prefix="fitted",
        title="EM fit, coloured as the true\ncomponent it matches",
        legend_fontsize=10,
        reference_style=dict(color="black", ls=":", lw=1.5, zorder=5),
    )
    for key in ("truth", "fit"):
        axes[key].set(xlabel="$x_1$ (unitless)", ylabel="$x_2$ (unitless)")
    plot_log_likelihood(axes["history"], fit, fontsize=10)
    fig.tight_layout()
    return fig


def plot_soft_assignments(ax, X, responsibilities, params=None, *, ambiguous_below=0.9, title="", pie_radius=None):
    """Scatter 2-D points coloured by their responsibilities. A point whose largest γ_ik is at
    least ``ambiguous_below`` is a dot in the mix Σ_k γ_ik · PALETTE[k] (nearly a pure colour);
    every other point is drawn as a small pie, outlined in black, whose wedges are its γ_ik in
    the component colours. Blends of two colours can look alike (blue with orange and orange
    with green both give olive); a pie's wedges cannot be mistaken. With ``params`` (aligned
    with the columns of ``responsibilities``), each component's 1σ ellipse is drawn in its colour.

    X : (n_samples, 2); responsibilities : (n_samples, n_components). ``pie_radius`` is in data
    units (default 1.3% of the data's largest range). Returns the number of pies.
    """
    from matplotlib.colors import to_rgb
    from matplotlib.lines import Line2D
    from matplotlib.patches import Wedge

    X = np.asarray(X, dtype=float)
    gamma = np.asarray(responsibilities, dtype=float)
    colours = gamma @ np.array([to_rgb(c) for c in PALETTE[: gamma.shape[1]]])  # (N, 3)
    ambiguous = gamma.max(axis=1) < ambiguous_below
    ax.scatter(*X[~ambiguous].T, s=10, c=colours[~ambiguous], linewidths=0)
    radius = 0.013 * np.ptp(X, axis=0).max() if pie_radius is None else pie_radius
    for x, row in zip(X[ambiguous], gamma[ambiguous], strict=True):
        angles = 90 + 360 * np.concatenate([[0.0], np.cumsum(row)])
        for k in np.flatnonzero(row > 0):
            ax.add_patch(
                Wedge(tuple(x), radius, angles[k], angles[k + 1], facecolor=PALETTE[k], edgecolor="none", zorder=3)
            )
        ax.add_patch(Wedge(tuple(x), radius, 0, 360, fill=False, edgecolor="black", lw=0.8, zorder=4))
    handles = [
        Line2D([], [], ls="", marker="o", ms=6, color=PALETTE[k], label=f"γ near 1 for component {k + 1}")
        for k in range(gamma.shape[1])
    ]
    handles.append(
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=8,
            mfc="white",
            mec="black",
            label=f"largest γ below {ambiguous_below:g}: a pie of its γ",
        )
    )
    if params is not None:
        for k in range(params.n_components):
            draw_ellipse(ax, params.means[k], params.covariances[k], 1, color=PALETTE[k], lw=1.6)
        handles.append(Line2D([], [], color="0.2", lw=1.6, label="fitted 1σ ellipse"))
    ax.set(xlabel="$x_1$ (unitless)", ylabel="$x_2$ (unitless)", title=title)
    ax.set_aspect("equal", adjustable="box")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=10)
    return int(ambiguous.sum())


def plot_lower_bound(values, log_lik, bound, current, m_step_value, xlabel):
    """Top: L(θ) and the lower bound F(γ_t, θ) = Q(θ | θ_t) + H(γ_t) along a one-parameter
    path through θ_t; bottom: the gap L - F = KL(γ_t ‖ p(Z | X, θ)) >= 0."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.2), sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    top.plot(values, log_lik, color="black", lw=2, label=r"$L(\theta) = \log p(X \mid \theta)$")
    top.plot(
        values,
        bound,
        color=PALETTE[0],
        lw=2,
        ls="--",
        label=r"lower bound $F(\gamma_t, \theta) = Q(\theta \mid \theta_t) + H(\gamma_t)$",
    )
    for x, name, color in (
        (current, r"$\theta_t$: bound touches", PALETTE[5]),
        (m_step_value, r"M-step's $\mu_1$: the bound's peak", PALETTE[2]),
    ):
        for ax in (top, bottom):
            ax.axvline(x, color=color, lw=1.2, ls=":")
        top.plot([x], [np.interp(x, values, bound)], "o", color=color, label=name, zorder=3)
    top.plot(
        [m_step_value],
        [np.interp(m_step_value, values, log_lik)],
        "^",
        ms=8,
        color=PALETTE[2],
        label=r"$L$ at the M-step's $\mu_1$ (rest at $\theta_t$)",
        zorder=3,
    )
    top.set(ylabel="log-likelihood (nats)", title="EM climbs because the bound it maximises touches L at $\\theta_t$")
    top.set_ylim(np.min(log_lik) - 0.15 * np.ptp(log_lik), np.max(log_lik) + 0.1 * np.ptp(log_lik))
    top.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False)
    top.grid(alpha=0.3)
    bottom.plot(values, np.asarray(log_lik) - np.asarray(bound), color=PALETTE[3], lw=2)
    bottom.set(xlabel=xlabel, ylabel=r"gap = KL $\geq 0$")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _draw_components(ax, params, colours, *, n_stds=(1, 2)):
    """Ellipses (1σ solid, 2σ dashed) and means (✕) of ``params``, component k in ``colours[k]``."""
    for k in range(params.n_components):
        for n_std, ls, lw in ((1, "-", 2.0), (2, "--", 1.2)):
            if n_std in n_stds:
                draw_ellipse(ax, params.means[k], params.covariances[k], n_std, color=colours[k], lw=lw, ls=ls)
        ax.plot(*params.means[k], marker="X", ms=9, color=colours[k], mec="black", zorder=4)


def plot_restart_histograms(ax_final, ax_iterations, final_log_likelihoods, iterations):
    """Histograms over starts of the final log-likelihood per point (``ax_final``) and of the
    iterations taken (``ax_iterations``), one grey line style per start method, so that colour
    stays free for components. Both arguments map a start method's name to an array over starts."""
    edges = np.histogram_bin_edges(np.concatenate(list(final_log_likelihoods.values())), bins=30)
    method_styles = (("black", "-"), ("0.5", "--"), ("0.3", ":"))
    for (name, values), (colour, ls) in zip(final_log_likelihoods.items(), method_styles, strict=False):
        ax_final.hist(values, bins=edges, histtype="step", lw=2, color=colour, ls=ls, label=name)
        ax_iterations.hist(
            iterations[name], bins=np.arange(0, 205, 10), histtype="step", lw=2, color=colour, ls=ls, label=name
        )
    ax_final.set(
        xlabel="final log-likelihood per point (nats)",
        ylabel="number of starts",
        title="Where EM ends: each spike holds one or more local maxima",
    )
    ax_iterations.set(
        xlabel="iterations to convergence (cap 200)", ylabel="number of starts", title="How long it takes"
    )
    for ax in (ax_final, ax_iterations):
        ax.legend(title="start method", fontsize=9)
        ax.grid(alpha=0.3)


def plot_mean_paths(ax, params_history, colours):
    """The path each component's mean takes over θ_0 .. θ_T (a line in ``colours[k]``), ending
    in an open circle."""
    paths = np.array([p.means for p in params_history])  # (T + 1, K, 2)
    for k in range(paths.shape[1]):
        ax.plot(*paths[:, k].T, "-", color=colours[k], lw=1.5, zorder=3)
        ax.plot(*paths[-1, k], "o", ms=7, mfc="white", mec=colours[k], mew=2, zorder=4)


def plot_numbered_points(ax, points):
    """Numbers 1..K in bold black on a white halo at ``points`` (K, 2), e.g. true means."""
    import matplotlib.patheffects as pe

    for k, point in enumerate(np.asarray(points, dtype=float), start=1):
        ax.text(
            *point,
            str(k),
            ha="center",
            va="center",
            fontsize=13,
            fontweight="bold",
            zorder=6,
            path_effects=[pe.withStroke(linewidth=3, foreground="white")],
        )


def _label_true_means(ax, means, obstacles, offset):
    """Mark each true mean (K, 2) with a black + and write its number k, in the colour of true
    component k on a white halo, ``offset`` data units away, in whichever of eight directions
    lies farthest from the ``obstacles`` (M, 2): the means and circles drawn in the panel, so that
    no number sits on one. Returns the numbers' positions (K, 2)."""
    import matplotlib.patheffects as pe

    means = np.asarray(means, dtype=float)
    obstacles = np.asarray(obstacles, dtype=float).reshape(-1, 2)
    angles = np.radians(np.arange(8) * 45 + 22.5)
    directions = np.column_stack([np.cos(angles), np.sin(angles)])
    placed = []
    for k, mean in enumerate(means):
        candidates = mean + offset * directions  # (8, 2)
        others = np.vstack([obstacles, means, *placed]) if placed else np.vstack([obstacles, means])
        clearance = np.linalg.norm(candidates[:, None, :] - others[None, :, :], axis=2).min(axis=1)
        position = candidates[np.argmax(clearance)]
        placed.append(position[None, :])
        ax.plot(*mean, marker="+", ms=11, mew=2.2, color="black", zorder=6)
        ax.text(
            *position,
            str(k + 1),
            ha="center",
            va="center",
            fontsize=14,
            fontweight="bold",
            color=PALETTE[k],
            zorder=7,
            path_effects=[pe.withStroke(linewidth=3.5, foreground="white")],
        )
    return np.vstack(placed)


def plot_restarts(final_log_likelihoods, iterations, best_fit, poor_fit, X, poor_name="a poor start", truth=None):
    """Notebook 02: the spread of EM's results over many starts, and why a start can fail.

    Top: ``plot_restart_histograms``. Bottom: the poor run's start θ_0 and the paths its
    means take; the optimum it reaches; the best optimum. With ``truth`` (GMMParams), colour
    means what it means in notebook 01: each fitted component, of either fit, is drawn in the
    colour of the true component it is matched to (``match_components``: closest means, one
    each), and every panel marks the true means (+) with their numbers in those colours, each
    number placed clear of the panel's means and circles. Without ``truth``, the best fit takes
    the palette in its own order and the poor fit's components the colours of the best fit's
    components they match. ``final_log_likelihoods`` and ``iterations`` map a start method's
    name to arrays over starts; ``best_fit`` is a GMMFit, ``poor_fit`` one made with
    ``keep_params=True``; X is (n_samples, 2).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from em_helpers import match_components

    fig, axes = plt.subplot_mosaic(
        [["final"] * 3 + ["iters"] * 3, ["start"] * 2 + ["poor"] * 2 + ["best"] * 2],
        figsize=(16, 10),
        gridspec_kw={"height_ratios": [1, 1.35]},
    )
    plot_restart_histograms(axes["final"], axes["iters"], final_log_likelihoods, iterations)

    def colours_matched_to(params, reference):
        order = match_components(params, reference)  # component order[k] ~ reference component k
        colours = [None] * params.n_components
        for k, j in enumerate(order):
            colours[j] = PALETTE[k]
        return colours

    if truth is not None:
        best_colours = colours_matched_to(best_fit.params, truth)
        colours = colours_matched_to(poor_fit.params, truth)
    else:
        best_colours = list(PALETTE[: best_fit.params.n_components])
        colours = colours_matched_to(poor_fit.params, best_fit.params)
    n = len(X)
    panels = (
        ("start", poor_fit.params_history[0], colours, f"{poor_name}: $\\theta_0$ and the paths of its means"),
        ("poor", poor_fit.params, colours, f"where it ends: {poor_fit.log_likelihood / n:.3f} per point"),
        ("best", best_fit.params, best_colours, f"best optimum: {best_fit.log_likelihood / n:.3f} per point"),
    )
    pad = 0.05 * np.ptp(X, axis=0)  # every panel shows the same region: the data's
    for key, params, cols, title in panels:
        ax = axes[key]
        ax.scatter(*X.T, s=6, color="0.65", linewidths=0)
        _draw_components(ax, params, cols, n_stds=(1,) if key == "start" else (1, 2))
        ax.set(xlabel="$x_1$ (unitless)", ylabel="$x_2$ (unitless)", title=title)
        ax.set(xlim=(X[:, 0].min() - pad[0], X[:, 0].max() + pad[0]))
        ax.set(ylim=(X[:, 1].min() - pad[1], X[:, 1].max() + pad[1]))
        ax.set_aspect("equal", adjustable="box")
    plot_mean_paths(axes["start"], poor_fit.params_history, colours)
    if truth is not None:
        paths = np.array([p.means for p in poor_fit.params_history]).reshape(-1, 2)
        offset = 0.05 * np.ptp(X, axis=0).max()
        for key, params, _, _ in panels:
            obstacles = np.vstack([params.means, paths]) if key == "start" else params.means
            _label_true_means(axes[key], truth.means, obstacles, offset)
    handles = [
        Line2D([], [], color="0.2", lw=2.0, label="1σ ellipse"),
        Line2D([], [], color="0.2", lw=1.2, ls="--", label="2σ ellipse"),
        Line2D([], [], color="0.2", marker="X", ls="", ms=8, mec="black", label="mean (left: at the start)"),
        Line2D([], [], color="0.2", marker="o", ls="-", ms=7, mfc="white", label="path of a mean, and where it ends"),
    ]
    if truth is not None:
        handles.append(
            Line2D([], [], color="black", marker="+", ls="", ms=10, mew=2, label="true mean k, numbered in colour k")
        )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=11)
    return fig


def plot_iris(X, species, cluster, by_species, fitted, names, *, jitter=0.04, seed=0):
    """Notebook 02: iris in two measured features, coloured by species (top) and by the
    matched EM component (bottom), with the flowers where the two differ circled.

    X : (n_samples, 2) measurements in cm; ``species`` and ``cluster`` : (n_samples,) labels
    0..K-1; ``by_species`` and ``fitted`` : GMMParams in those two features, aligned with
    the labels. The measurements are rounded to 0.1 cm, so many flowers share a position:
    each dot is moved by a uniform draw of at most ``jitter`` cm per axis (from a Generator
    made from ``seed``) so that stacked flowers show; ellipses and circles use the true values.
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    shown = X + rng.uniform(-jitter, jitter, X.shape)
    fig, axes = plt.subplots(2, 1, figsize=(9, 8.5))
    plot_clusters(
        axes[0],
        shown,
        species,
        by_species,
        names=names,
        params_name="species'",
        title="Species, with each species' own Gaussian",
        legend_loc="upper left",
    )
    plot_clusters(
        axes[1],
        shown,
        cluster,
        fitted,
        names=[f"component for {n}" for n in names],
        params_name="EM",
        legend_loc="upper left",
        title="EM components, coloured as the matched species",
    )
    disagree = cluster != species
    for ax in axes:
        ax.set(xlabel="petal length (cm)", ylabel="petal width (cm)")
        ax.scatter(*X[disagree].T, s=120, facecolors="none", edgecolors="black", lw=1.2)
    axes[1].annotate(
        f"{disagree.sum()} flowers where component and species differ (circled);\n"
        f"dots jittered by up to {jitter:g} cm: measurements are rounded to 0.1 cm",
        xy=(0.99, 0.03),
        xycoords="axes fraction",
        ha="right",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _reg_covar_label(reg_covar):
    """'0', '1e-6', '1e-3' for powers of ten; '%g' otherwise: one spelling for every panel."""
    if reg_covar == 0:
        return "0"
    exponent = np.log10(reg_covar)
    return f"1e{exponent:.0f}" if np.isclose(exponent, round(exponent)) else f"{reg_covar:g}"


def plot_singularity(sigmas, log_lik_by_reg, em_runs):
    """Notebook 02: L along a path that shrinks one component onto a point (left) and what
    EM does by itself (middle: L(θ_t); right: log10 det Σ_3).

    ``log_lik_by_reg`` maps reg_covar to L(σ) values over ``sigmas``; ``em_runs`` maps
    reg_covar to (log-likelihoods, log10 det Σ_3) per iteration. Each reg_covar keeps one
    colour in every panel; one legend below the panels names them all.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    regs = sorted({*log_lik_by_reg, *em_runs})
    colour = {reg: PALETTE[i] for i, reg in enumerate(regs)}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    for reg, values in log_lik_by_reg.items():
        axes[0].plot(sigmas, values, color=colour[reg], lw=2)
    axes[0].set(
        xscale="log",
        xlabel=r"$\sigma$ of the component sitting on one point",
        ylabel=r"$\log p(X \mid \theta)$",
        title="Shrink a component onto a point: L → ∞",
    )
    axes[0].invert_xaxis()
    longest = max(len(run[0]) for run in em_runs.values())
    broke_off = False
    for reg, (log_liks, log_dets) in em_runs.items():
        t = np.arange(len(log_liks))
        for ax, values in ((axes[1], log_liks), (axes[2], log_dets)):
            ax.plot(t, values, "o-", ms=4, color=colour[reg], zorder=3)
            if len(values) < longest:  # this run broke off
                ax.plot(t[-1], values[-1], "X", ms=13, color=colour[reg], mec="black", zorder=4)
                broke_off = True
    axes[1].set(xlabel="iteration $t$", ylabel=r"$\log p(X \mid \theta_t)$", title="EM from a start on the point")
    axes[2].set(xlabel="iteration $t$", ylabel=r"$\log_{10} \det \Sigma_3$", title="The covariance it collapses")
    for ax in axes:
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=colour[reg], lw=2, label=f"reg_covar = {_reg_covar_label(reg)}") for reg in regs]
    if broke_off:
        handles.append(
            Line2D([], [], ls="", marker="X", ms=11, mfc="0.5", mec="black", label="collapse: the next M-step fails")
        )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=10)
    return fig


def plot_information_criteria(n_components_range, scores, chosen):
    """Notebook 02: BIC and AIC against K for each covariance type; ``scores[name][ct]`` is a
    list over K, ``chosen[name]`` the (covariance_type, K) with the lowest score. Each
    covariance type has its own colour, marker and line style, and is shifted sideways by
    ``DODGE[i]`` (a fraction of one K): curves whose values coincide (diag, spherical and tied
    AIC from K = 3 on) would otherwise draw on top of each other, and side by side each stays
    visible. The star sits on the chosen curve's shifted point."""
    import matplotlib.pyplot as plt

    styles = (("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"))
    penalty = {"BIC": r"p \log N", "AIC": "2p"}
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    Ks = np.asarray(list(n_components_range), dtype=float)
    for ax, (name, by_type) in zip(axes, scores.items(), strict=True):
        shift = {}
        for i, (ct, values) in enumerate(by_type.items()):
            marker, ls = styles[i % len(styles)]
            shift[ct] = DODGE[i % len(DODGE)]
            ax.plot(Ks + shift[ct], values, marker=marker, ls=ls, ms=7, mfc="none", mew=1.6, color=PALETTE[i], label=ct)
        ct, K = chosen[name]
        ax.plot(
            [K + shift[ct]],
            [by_type[ct][list(n_components_range).index(K)]],
            "*",
            ms=20,
            color="black",
            label=f"lowest {name}: K = {K}, {ct}",
            zorder=3,
        )
        ax.set(
            xlabel="number of components $K$ (curves shifted sideways to stay apart)",
            ylabel=f"{name} (lower is better)",
            title=rf"{name} $= -2L(\hat\theta) + {penalty.get(name, 'penalty')}$",
        )
        ax.set_xticks(Ks)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=10)
    fig.tight_layout()
    return fig


DODGE = (-0.15, -0.05, 0.05, 0.15)  # sideways shift of covariance type i in plot_information_criteria


def _animation_limits(X, shown_params):
    """Axis limits with room for the points and for every shown θ_t's 2σ ellipses."""
    reach = [
        p.means + 2 * np.sqrt(np.linalg.eigvalsh(p.covariances)[:, -1:]) * s for p in shown_params for s in (-1, 1)
    ]
    low, high = (
        np.min([X.min(axis=0), *np.min(reach, axis=1)], axis=0),
        np.max([X.max(axis=0), *np.max(reach, axis=1)], axis=0),
    )
    pad = 0.03 * (high - low)
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def _log_likelihood_axis(ax, log_likelihoods):
    """Axes for L(θ_t) against t. The first M-step from a poor start gains far more than all
    the others: scale the axis to iterations 1.., and say where t = 0 lies."""
    low, high = np.min(log_likelihoods[1:]), np.max(log_likelihoods)
    ax.set(
        xlim=(-1, len(log_likelihoods)),
        ylim=(low - 0.12 * (high - low), high + 0.05 * (high - low)),
        xlabel="iteration $t$",
        ylabel=r"$\log p(X \mid \theta_t)$",
        title="Log-likelihood",
    )
    if log_likelihoods[0] < low - 0.12 * (high - low):
        ax.annotate(
            f"t = 0: {log_likelihoods[0]:.0f} (below the axis)",
            xy=(0, low - 0.12 * (high - low)),
            xytext=(0.08, 0.1),
            textcoords="axes fraction",
            fontsize=11,
            arrowprops=dict(arrowstyle="->", color="0.3"),
        )


def animate_em(X, frames, params_history, log_likelihoods, path, *, fps=4, dpi=100, colours=None):
    """Write a GIF of EM: ellipses moving over the points (left) beside L(θ_t) (right).

    One frame per iteration t in ``frames``, drawing θ_t = ``params_history[t]`` and
    ``log_likelihoods[:t + 1]``. Component k is drawn in ``colours[k]`` (default PALETTE[k]):
    pass PALETTE[j] for the component that the final fit matches to true component j, as the
    key below the panels ("matched to true j") says. Text is 12 pt or more at ``dpi``, so it
    stays legible at the GIF's own size in a notebook. matplotlib.animation's PillowWriter
    writes the file, one draw per frame (about 0.1 s each here, so keep to a few dozen frames).
    """
    from pathlib import Path

    import matplotlib.pyplot as plt
    from matplotlib.animation import PillowWriter
    from matplotlib.lines import Line2D

    n_components = params_history[0].n_components
    colours = list(PALETTE[:n_components]) if colours is None else list(colours)
    with plt.rc_context({"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12}):
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.9), dpi=dpi, gridspec_kw={"width_ratios": [1, 1.15]})
        left.scatter(*X.T, s=5, color="0.55", linewidths=0)
        xlim, ylim = _animation_limits(X, [params_history[t] for t in frames])
        left.set(xlabel="$x_1$ (unitless)", ylabel="$x_2$ (unitless)", xlim=xlim, ylim=ylim)
        left.set_aspect("equal", adjustable="box")
        _log_likelihood_axis(right, log_likelihoods)
        right.set_ylabel(r"$\log p(X \mid \theta_t)$ (nats)")
        for ax in (left, right):
            ax.locator_params(nbins=5)  # fewer tick labels: text layout is most of each frame's cost
        (curve,) = right.plot([], [], "o-", ms=3, color="black", lw=1.2)
        handles = [Line2D([], [], color=c, lw=3, label=f"matched to true {k + 1}") for k, c in enumerate(colours)]
        handles += [
            Line2D([], [], color="0.2", lw=2, label="1σ"),
            Line2D([], [], color="0.2", lw=2, ls="--", label="2σ"),
            Line2D([], [], color="0.2", marker="X", ls="", ms=9, mec="black", label="mean"),
        ]
        fig.tight_layout(rect=(0, 0.14, 1, 1))
        fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=12)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = PillowWriter(fps=fps)
        with writer.saving(fig, path, dpi):
            for t in frames:
                params = params_history[t]
                left.set_title(f"EM from a poor start: t = {t}")
                curve.set_data(np.arange(t + 1), log_likelihoods[: t + 1])
                drawn = []
                for k in range(params.n_components):
                    for n_std, ls in ((1, "-"), (2, "--")):
                        drawn.append(
                            draw_ellipse(
                                left, params.means[k], params.covariances[k], n_std, color=colours[k], lw=2, ls=ls
                            )
                        )
                    drawn.extend(left.plot(*params.means[k], marker="X", ms=10, color=colours[k], mec="black"))
                writer.grab_frame()
                for artist in drawn:
                    artist.remove()
    plt.close(fig)


# --------------------------------------------------------------------------- notebook 03: EM at scale


def binned_trace(points_seen, trace, edges):
    """Average an online fit's per-batch scores within bins of points seen.

    Parameters
    ----------
    points_seen : ndarray of shape (n_batches,)
        Points seen when each batch arrived (its x position).
    trace : ndarray of shape (n_batches,)
        Each batch's mean log-likelihood before it updated the model.
    edges : ndarray of shape (n_bins + 1,)

    Returns
    -------
    centres, means : ndarrays of shape (n_filled,)
        The mean points seen and the mean score of the batches in every bin holding one.
    """
    which = np.digitize(points_seen, edges) - 1
    filled = np.unique(which[(which >= 0) & (which < len(edges) - 1)])
    centres = np.array([points_seen[which == b].mean() for b in filled])
    return centres, np.array([trace[which == b].mean() for b in filled])


def draw_online_runs(ax, runs, edges):
    """One line per online run: ``runs`` maps a label to (OnlineFit, line style dict); each
    batch is placed at the points seen before it (the start's points included)."""
    for label, (fit, style) in runs.items():
        seen = fit.points_before_batch
        ax.plot(*binned_trace(np.maximum(seen, 1), fit.log_likelihood_trace, edges), label=label, **style)


def plot_online_vs_batch(runs, batch_fit, n_samples, edges, spread=None, target=1e-4):
    """Left: per-point log-likelihood against points seen (log scale) for one start and order:
    online runs (each batch scored before it updates θ, binned) and batch EM, whose L(θ_t)/N is
    known after t + 1 passes. Right, when ``spread`` (a label -> relative gaps to batch EM's
    optimum after one pass, one per start and order) is given: those gaps on a log axis, one row
    per label, each run a dot and the median a bar, against the ``target`` line."""
    import matplotlib.pyplot as plt

    if spread is None:
        fig, ax = plt.subplots(figsize=(9, 5.2))
    else:
        fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(14, 5.4), gridspec_kw={"width_ratios": [1.45, 1]})
    draw_online_runs(ax, runs, edges)
    passes = np.arange(len(batch_fit.log_likelihoods)) + 1
    ax.plot(
        passes * n_samples,
        batch_fit.log_likelihoods / n_samples,
        "s-",
        color="black",
        ms=4,
        lw=1,
        label=f"batch EM: $L(\\theta_t)/N$, known after $t + 1$ passes over N = {n_samples:,} points",
    )
    optimum = batch_fit.log_likelihoods[-1] / n_samples
    # the top: just above the highest online bin (no blank band), at most 0.04 above the optimum
    highest = max([line.get_ydata().max() for line in ax.lines[: len(runs)] if len(line.get_ydata())], default=optimum)
    ax.axhline(optimum, color="0.5", lw=0.8, ls=":", label="batch EM's optimum")
    ax.set_xscale("log")
    ax.set_ylim(optimum - 0.1, min(optimum + 0.04, max(optimum, highest) + 0.005))
    ax.set(
        xlabel="points seen",
        ylabel="mean log-likelihood per point",
        title="Online EM comes close to batch EM's optimum within one pass over the data",
    )
    # lower left: batch EM climbs on the right, the online runs sit near the optimum at the top
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")
    if spread is not None:
        ax.set_title(
            "One start and order: each batch scored before its update\n"
            "(a batch's own mean: noisy, it can sit above the optimum of all N points)",
            fontsize=10,
        )
        labels = list(spread)
        for row, label in enumerate(labels):
            gaps = np.asarray(spread[label], dtype=float)
            y = np.full(len(gaps), len(labels) - 1 - row, dtype=float)
            # grey: the left panel's colours name its runs, not these rows
            ax_gap.plot(gaps, y, "o", ms=6, mfc="none", mew=1.4, color="0.3")
            ax_gap.plot([np.median(gaps)] * 2, y[0] + np.array([-0.3, 0.3]), color="black", lw=2)
        ax_gap.axvline(target, color="0.4", ls="--", lw=1, label=f"target {target:g}")
        ax_gap.plot([], [], "o", mfc="none", color="0.3", label=f"one start and order ({len(gaps)} per row)")
        ax_gap.plot([], [], color="black", lw=2, label="median")
        ax_gap.set_xscale("log")
        ax_gap.set_yticks(np.arange(len(labels))[::-1], labels)
        ax_gap.set_ylim(-0.7, len(labels) - 0.3)
        ax_gap.set(
            xlabel="relative gap to batch EM's optimum after one pass, $(L^* - L)/|L^*|$",
        )
        ax_gap.set_title("Over starts and stream orders: where one pass ends", fontsize=10)  # as the left one
        ax_gap.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
        ax_gap.grid(alpha=0.3, which="both", axis="x")
    fig.tight_layout()
    return fig


def plot_online_drift(runs, edges, truth_trace, title="A drifting stream"):
    """Each run's per-batch score minus the true (moving) mixture's score on the same batch, binned,
    on a symmetric-log axis (linear within 1e-3 of 0): ``runs`` maps a label to (OnlineFit, line
    style dict), all fitted on one stream; ``truth_trace`` of shape (n_batches,) is the true mixture's
    mean log-likelihood on each batch of that stream, in the order of the runs' traces."""
    import matplotlib.pyplot as plt

    truth_trace = np.asarray(truth_trace, dtype=float)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for label, (fit, style) in runs.items():
        seen = np.maximum(fit.points_before_batch, 1)
        ax.plot(*binned_trace(seen, fit.log_likelihood_trace - truth_trace, edges), label=label, **style)
    lowest = min(line.get_ydata().min() for line in ax.lines)
    ax.axhline(0.0, color="0.4", lw=0.9, ls=":", label="the true (moving) mixture, on the same batches")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set(
        xlabel="points seen",
        ylabel="score minus the true mixture's, per point\n(each batch before it updates; symlog axis)",
        title=title,
    )
    ax.xaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")  # 100,000 rather than 100000
    # the fits score below the truth: above 0 only a sliver (the linear band up to 1e-3), and below the lowest
    # curve the next decade's tick, so that every curve ends inside the axes next to a labelled tick
    bottom = -1.5 * 10 ** np.ceil(np.log10(-lowest)) if lowest < -1e-3 else -2e-3
    ax.set_ylim(bottom, 1e-3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)  # below the axes
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_scaling(sizes, seconds, peaks):
    """Time and peak memory against N, log-log: ``seconds`` and ``peaks`` (bytes) map a method's
    name to one value per size."""
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.4))
    for k, name in enumerate(seconds):
        style = dict(marker="o", ms=4, color=PALETTE[k], label=name)
        ax_time.loglog(sizes, seconds[name], **style)
        ax_mem.loglog(sizes, np.asarray(peaks[name]) / 2**20, **style)
    ax_time.set(xlabel="points N", ylabel="seconds", title="Time (live, this machine)")
    ax_mem.set(xlabel="points N", ylabel="peak memory allocated, MiB (tracemalloc)", title="Peak memory")
    for ax in (ax_time, ax_mem):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- notebook 04: Bayesian EM


def plot_map_singularity(runs):
    """Notebook 04: notebook 02's singular example under three fits. ``runs`` maps a label
    to (objective per iteration, smallest eigenvalue of Σ_3 per iteration, objective name,
    failed); a failed run (its next M-step could not be taken) ends in an ✕."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    for i, (label, (objective, smallest, name, failed)) in enumerate(runs.items()):
        t = np.arange(len(objective))
        axes[0].plot(t, objective, "o-", ms=3, color=PALETTE[i], label=f"{label}: {name}")
        axes[1].semilogy(t, smallest, "o-", ms=3, color=PALETTE[i], label=label)
        if failed:
            for ax, values in ((axes[0], objective), (axes[1], smallest)):
                ax.plot(t[-1], values[-1], "X", ms=12, color=PALETTE[i], mec="black", zorder=4)
    axes[0].set(xlabel="iteration $t$", ylabel="objective EM climbs", title="What each fit climbs")
    axes[1].set(
        xlabel="iteration $t$",
        ylabel=r"smallest eigenvalue of $\Sigma_3$",
        title="The component on the lonely point (✕: collapse, the next M-step fails)",
    )
    for ax, loc in zip(axes, ("lower right", "center right"), strict=True):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, loc=loc)
    fig.tight_layout()
    return fig


def plot_variational_fit(X, fit, threshold=0.01, reference=None):
    """Notebook 04: a variational fit with K = 10 — its ELBO per iteration (left), the expected
    weights E[π_k] against the ``threshold`` (middle), and the points coloured by their most
    responsible component with the ellipses of the components above it (right). With a
    ``reference`` GMMParams holding as many components as are kept, each kept component takes the
    colour of the reference component it matches (``match_components``), whose 1σ ellipse is
    drawn in grey; components keep their number k in both panels."""
    import matplotlib.pyplot as plt

    from em_helpers import GMMParams, match_components

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1, 0.8, 1]})
    t = np.arange(1, fit.n_iter + 1)
    axes[0].plot(t, fit.elbos, "o-", ms=2.5, color="black", lw=1)
    axes[0].set(xlabel="iteration $t$", ylabel="ELBO (up to a constant)", title="The ELBO never decreases")
    weights, p = fit.params.weights, fit.params
    kept = np.flatnonzero(weights > threshold)
    shown = GMMParams(weights[kept] / weights[kept].sum(), p.means[kept], p.covariances[kept], p.covariance_type)
    if reference is not None and reference.n_components == len(kept):
        order = match_components(shown, reference)  # kept[order[j]] matches reference component j
        kept, shown = kept[order], shown.permute(order)
    else:
        reference = None
    colours = ["0.6"] * len(weights)
    for rank, k in enumerate(kept):
        colours[k] = PALETTE[rank % len(PALETTE)]
    axes[1].bar(np.arange(1, len(weights) + 1), weights, color=colours)
    axes[1].axhline(threshold, color=PALETTE[5], ls="--", lw=1.2, label=f"{threshold:.0%}")
    axes[1].set(xlabel="component $k$", ylabel=r"$E[\pi_k]$", yscale="log", title=f"{len(kept)} of {len(weights)} kept")
    axes[1].set_xticks(np.arange(1, len(weights) + 1))
    axes[1].legend(fontsize=9)
    labels = np.argmax(fit.responsibilities[:, kept], axis=1)  # 0 .. len(kept) - 1
    n = len(X)
    # the bars are expected weights E[π_k]; the legend's counts are points by largest γ: say both
    names = [f"component {k + 1}: E[π]·N = {weights[k] * n:.0f}; by largest γ" for k in kept]
    plot_clusters(axes[2], X, labels, shown, title="Points and the kept components", reference=reference, names=names)
    for ax in axes[:2]:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_model_choice(results, n_components_max):
    """Notebook 04: choosing K three ways, one row per data set. ``results[name]`` holds
    "K" (the range), "bic_ml" and "bic_map" (our BIC, lower is better, per K), "bic_mclust"
    (mclust's reported BIC with its prior, per K: higher is better, drawn negated) and
    "kept" (components above 1% weight in variational fits with K = ``n_components_max``,
    one per seed)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(len(results), 2, figsize=(13, 4.2 * len(results)), squeeze=False)
    for row, (name, r) in zip(axes, results.items(), strict=True):
        K = np.asarray(r["K"])
        for i, (key, label) in enumerate((("bic_ml", "maximum likelihood"), ("bic_map", "MAP, mclust's prior"))):
            values = np.asarray(r[key])
            colour = PALETTE[2 * i]  # maximum likelihood blue, MAP green, as in map_singularity.png
            row[0].plot(K, values, "o-", ms=4, color=colour, label=label)
            best = int(np.argmin(values))
            # above the crosses; the MAP star smaller, so that two stars on one K both show
            row[0].plot(K[best], values[best], "*", ms=20 - 7 * i, color=colour, mec="black", zorder=5 + i)
        mclust = -np.asarray(r["bic_mclust"])
        label = "mclust with its prior (its starts), negated"
        row[0].plot(K, mclust, "x", ms=8, mew=1.8, color="black", zorder=2.5, label=label)
        row[0].set(xlabel="number of components $K$", ylabel="BIC (lower is better)", title=f"{name}: BIC (★ lowest)")
        # from 1 to one past the largest count kept: the axis shows where the seeds are, not all K
        shown = np.arange(1, max(r["kept"]) + 2)
        counts = np.bincount(r["kept"], minlength=shown[-1] + 1)[1:]
        row[1].bar(shown, counts, color=PALETTE[3])
        row[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        row[1].set(
            xlabel="components above 1% weight",
            ylabel="seeds",
            title=f"{name}: variational Bayes from K = {n_components_max}, {len(r['kept'])} seeds",
            xticks=shown,
        )
        for ax in row:
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- notebook 05: your own data

COVARIANCE_TYPES = ("full", "diag", "spherical", "tied")
# One colour, line style and marker per covariance model: the curves stay apart in grey print.
COVARIANCE_STYLES = {
    ct: dict(color=PALETTE[i], ls=ls, marker=marker)
    for i, (ct, ls, marker) in enumerate(
        zip(COVARIANCE_TYPES, ("-", "--", "-.", ":"), ("o", "s", "^", "D"), strict=True)
    )
}


def plot_model_search(ax, search, *, criterion=None, title=None):
    """BIC or ICL against K, one line per covariance type, from ``select_model``'s result.

    ``search.table`` holds one row per (covariance_type, n_components) with ``bic``, ``icl``
    (lower is better: -2L + p log N, and that plus the classification cost -2 Σ_i log max_k γ_ik) and ``status``;
    ``search.criterion`` names the criterion that chose ``search.best``. ``criterion`` ("bic"
    or "icl") picks the one drawn, by default the one that chose.

    Each covariance type keeps one colour, line style and marker (COVARIANCE_STYLES). A line
    joins only neighbouring fits with status "ok"; a degenerate fit (a collapsed component) is
    a hollow marker with a ✕ inside, not joined; a failed fit (every start failed, or no value)
    is not drawn, and the legend lists it. The chosen model wears a black star, drawn above
    every other marker. The legend sits right of the axes, off the data.
    """
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    criterion = search.criterion if criterion is None else criterion
    if criterion not in ("bic", "icl"):
        raise ValueError(f'criterion must be "bic" or "icl"; got {criterion!r}.')
    rows = tuple(search.table)
    if not rows:
        raise ValueError("search.table is empty: there is no fit to draw; run select_model over at least one K.")
    found = list(dict.fromkeys(row.covariance_type for row in rows))
    types = [ct for ct in COVARIANCE_TYPES if ct in found] + [ct for ct in found if ct not in COVARIANCE_TYPES]
    name = criterion.upper()
    failed, any_degenerate = [], False
    for i, ct in enumerate(types):
        style = COVARIANCE_STYLES.get(ct) or dict(
            color="0.4", ls=("-", "--", "-.", ":")[i % 4], marker=("o", "s", "^", "D", "v", "P")[i % 6]
        )
        these = sorted((row for row in rows if row.covariance_type == ct), key=lambda row: row.n_components)
        K = np.array([row.n_components for row in these])
        values = np.array([getattr(row, criterion) for row in these], dtype=float)
        status = np.array([row.status for row in these])
        shown = np.isfinite(values) & (status != "failed")
        ok, degenerate = shown & (status == "ok"), shown & (status != "ok")
        ax.plot(K, np.where(ok, values, np.nan), ms=6, lw=1.5, label=ct, **style)
        if degenerate.any():
            any_degenerate = True
            ax.plot(
                K[degenerate],
                values[degenerate],
                ls="",
                marker=style["marker"],
                ms=10,
                mfc="white",
                mec=style["color"],
                mew=1.5,
                zorder=3,
            )
            ax.plot(K[degenerate], values[degenerate], ls="", marker="x", ms=5, mew=1.5, color=style["color"], zorder=3)
        if (~shown).any():
            failed.append(f"{ct} K = {', '.join(str(k) for k in K[~shown])}")
    handles, labels = ax.get_legend_handles_labels()
    best = search.best.params
    chosen = [
        row for row in rows if (row.covariance_type, row.n_components) == (best.covariance_type, best.n_components)
    ]
    value = getattr(chosen[0], criterion) if chosen else np.nan
    if np.isfinite(value):
        (star,) = ax.plot(
            [best.n_components], [value], ls="", marker="*", ms=17, color="black", mec="white", mew=0.8, zorder=5
        )
        handles.append(star)
        labels.append(f"chosen by {search.criterion.upper()}: K = {best.n_components}, {best.covariance_type}")
    if any_degenerate:
        handles.append(
            (
                Line2D([], [], ls="", marker="o", ms=10, mfc="white", mec="0.3", mew=1.5),
                Line2D([], [], ls="", marker="x", ms=5, mew=1.5, color="0.3"),
            )
        )
        labels.append("degenerate: a component collapsed\n(not joined to its line)")
    if failed:
        handles.append(Line2D([], [], ls="", marker=""))
        labels.append("not drawn, every start failed:\n" + "\n".join(failed))
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize=9,
        handler_map={tuple: HandlerTuple(ndivide=1)},
        borderaxespad=0,
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    formula = r"$-2L + p \log N$" if criterion == "bic" else r"BIC $-\, 2 \sum_i \log \max_k \gamma_{ik}$"
    ax.set(
        xlabel="number of components $K$",
        ylabel=f"{name} (lower is better)",
        title=f"{name} = {formula}; ★ the chosen model" if title is None else title,
    )
    ax.grid(alpha=0.3)


def plot_uncertainty(
    ax, X, responsibilities, params=None, *, columns=(0, 1), feature_names=None, title="", equal_aspect=True
):
    """mclust's uncertainty plot: each point in the colour (and marker) of its hard label
    argmax_k γ_ik, sized by its uncertainty u_i = 1 - max_k γ_ik.

    u_i is 0 for a point one component claims entirely and at most 1 - 1/K (γ spread evenly
    over the K components); 0.5 means the best component has only half of the point. The marker
    area grows linearly with u_i, from a dot at u = 0 (``UNCERTAINTY_SIZES``), so the points
    EM is unsure of stand out; a key in the legend shows the areas of u = 0.05, 0.2 and 0.5 (and
    1 - 1/K where that is smaller). The most uncertain points are drawn last, on top. With
    ``params`` (aligned with the columns of ``responsibilities``), each component's 1σ ellipse,
    projected on ``columns`` as in ``plot_clusters``. X : (n_samples, D), responsibilities :
    (n_samples, K). ``equal_aspect`` as in ``plot_clusters``. Returns the uncertainties u, shape (n_samples,).
    """
    from matplotlib.lines import Line2D

    X = np.asarray(X)
    gamma = np.asarray(responsibilities, dtype=float)
    if X.ndim != 2 or gamma.ndim != 2 or gamma.shape[0] != X.shape[0]:
        raise ValueError(
            f"plot_uncertainty needs X (n_samples, D) and responsibilities (n_samples, K); got {X.shape} and "
            f"{gamma.shape}."
        )
    columns = _check_columns(columns, X.shape[1], "plot_uncertainty")
    n_components = gamma.shape[1]
    if n_components > MAX_COMPONENTS:
        component_style(n_components - 1)  # raises, saying what to do
    _check_params(params, X.shape[1], "plot_uncertainty")
    if params is not None and params.n_components != n_components:
        raise ValueError(
            f"params has {params.n_components} components and responsibilities {n_components} columns: "
            "pass the parameters the responsibilities were computed from."
        )
    labels = np.argmax(gamma, axis=1)
    uncertainty = 1.0 - gamma.max(axis=1)
    sizes = _uncertainty_size(uncertainty)
    shown = X[:, list(columns)]
    handles = []
    for k in range(n_components):
        colour, marker, _, _ = component_style(k)
        members = np.flatnonzero(labels == k)
        members = members[np.argsort(uncertainty[members], kind="stable")]  # the most uncertain on top
        ax.scatter(*shown[members].T, s=sizes[members], marker=marker, color=colour, alpha=0.6, linewidths=0)
        handles.append(Line2D([], [], ls="", marker=marker, ms=7, color=colour, label=f"hard label {k + 1}"))
    if params is not None:
        means, covariances = projected(params, columns)
        for k in range(n_components):
            draw_ellipse(ax, means[k], covariances[k], 1, color=component_style(k)[0], lw=1.6)
        handles.append(Line2D([], [], color="0.2", lw=1.6, label="1σ ellipse"))
    key = sorted({u for u in (0.05, 0.2, 0.5) if u < 1 - 1 / n_components} | {round(1 - 1 / n_components, 2)})
    handles.append(Line2D([], [], ls="", marker="", label="size: uncertainty 1 − max$_k\\,$γ$_{ik}$"))
    for u in key:
        handles.append(
            Line2D([], [], ls="", marker="o", ms=np.sqrt(_uncertainty_size(u)), color="0.45", label=f"{u:g}")
        )
    ax.set(
        xlabel=_feature_label(columns[0], feature_names), ylabel=_feature_label(columns[1], feature_names), title=title
    )
    ax.set_aspect("equal" if equal_aspect else "auto", adjustable="box")
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize=9,
        borderaxespad=0,
    )
    return uncertainty


def plot_rounded_data(X, *, feature_names, rounded_column=1, title=""):
    """A 2-column table whose values are rounded, drawn so that equal values do not hide each other.

    Left: column 0 against column 1, one marker per distinct row, its area growing with the number
    of rows that share it (1 row: 10 points²; each more: 14 more). Right: how many rows share each
    distinct value of ``rounded_column``, one bar per value, with the commonest value labelled.
    Returns (fig, counts) with ``counts`` the bar heights, in the order of ``np.unique``.
    """
    import matplotlib.pyplot as plt

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_rounded_data draws a table of 2 columns; got shape {X.shape}.")
    rows, multiplicity = np.unique(X, axis=0, return_counts=True)
    values, counts = np.unique(X[:, rounded_column], return_counts=True)
    fig, (ax, ax_bar) = plt.subplots(
        1, 2, figsize=(10, 4.2), constrained_layout=True, gridspec_kw=dict(width_ratios=(1.2, 1))
    )
    ax.scatter(rows[:, 0], rows[:, 1], s=10 + 14 * (multiplicity - 1), color="0.3", alpha=0.6, linewidths=0)
    for n in sorted({1, int(multiplicity.max())}):
        ax.scatter([], [], s=10 + 14 * (n - 1), color="0.3", alpha=0.6, linewidths=0, label=f"{n} row{'s' * (n > 1)}")
    ax.legend(title="same values", fontsize=8, title_fontsize=8, loc="lower right")
    ax.set(xlabel=feature_names[0], ylabel=feature_names[1], title=title)
    ax.grid(alpha=0.2)
    ax_bar.bar(values, counts, width=0.8 * np.min(np.diff(values)) if len(values) > 1 else 0.8, color="0.45")
    top = int(np.argmax(counts))
    ax_bar.annotate(
        f"{counts[top]} rows at {values[top]:g}",
        (values[top], counts[top]),
        xytext=(0, 4),
        textcoords="offset points",
        ha="center",
        fontsize=8,
    )
    ax_bar.set(
        xlabel=feature_names[rounded_column],
        ylabel="rows with this value",
        title=f"{len(values)} distinct values among {len(X)} rows",
    )
    ax_bar.grid(alpha=0.2, axis="y")
    return fig, counts


# Marker area (points²) at u = 0 and its growth per unit of u; 8 at u = 0, since 3 made the certain
# points vanish at notebook size (a cold reader of notebook 05 could not see the short-eruption clump).
UNCERTAINTY_SIZES = (8.0, 160.0)


def _uncertainty_size(uncertainty):
    """Marker area in points² for uncertainty u: UNCERTAINTY_SIZES[0] + UNCERTAINTY_SIZES[1] · u."""
    return UNCERTAINTY_SIZES[0] + UNCERTAINTY_SIZES[1] * np.asarray(uncertainty, dtype=float)


# --------------------------------------------------------------------------- notebook 06: incomplete data

# One colour per way of handling missing values, the same in every panel of notebook 06 (Okabe-Ito,
# chosen apart from the three component colours PALETTE[:3] that the scatter figure uses).
MISSING_METHOD_STYLES = {
    "EM on incomplete data": dict(color="#000000", marker="o", ls="-"),
    "listwise deletion": dict(color="#D55E00", marker="s", ls="--"),
    "mean imputation": dict(color="#CC79A7", marker="^", ls=":"),
}


def plot_missing_value_errors(fractions, errors, complete_error=None, *, error_names):
    """Error in the parameters against the fraction of entries removed, one line per method.

    fractions : sequence of F fractions removed (x axis).
    errors : dict from a method name (a key of MISSING_METHOD_STYLES) to an array of shape
        (F, R, 2): for each fraction and each of R removals, the two errors named by ``error_names``.
    complete_error : array of shape (2,), optional: the complete-data fit's errors, drawn as a
        horizontal line (leave it out when the errors are measured against the complete-data fit).
    error_names : two axis labels (the y axes are logarithmic; the labels should say so).

    The line joins the medians over the R removals; the vertical bar, in the method's colour, spans
    the best to the worst removal. Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fractions = np.asarray(fractions, dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.9), constrained_layout=True)
    step = 0.012 * (fractions.max() - fractions.min() + 0.1)
    for j, ax in enumerate(axes):
        for i, (name, values) in enumerate(errors.items()):
            style = MISSING_METHOD_STYLES[name]
            values = np.asarray(values)[:, :, j]
            x = fractions + (i - 1) * step  # side by side, so that the bars do not hide each other
            median = np.median(values, axis=1)
            ax.vlines(x, values.min(axis=1), values.max(axis=1), color=style["color"], lw=1.2, alpha=0.8)
            ax.plot(x, median, color=style["color"], marker=style["marker"], ls=style["ls"], ms=6, lw=1.6)
        if complete_error is not None:
            ax.axhline(complete_error[j], color="0.45", lw=1.0, ls="-.")
        ax.set(xlabel="fraction of entries removed", ylabel=error_names[j], yscale="log")
        low, high = ax.get_ylim()
        ax.set_yticks([t for t in (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if low <= t <= high])
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
        ax.grid(alpha=0.25, which="both")
    styles = [s for name, s in MISSING_METHOD_STYLES.items() if name in errors]
    handles = [
        Line2D([], [], color=s["color"], marker=s["marker"], ls=s["ls"], lw=1.6, label=f"{name} (median)")
        for name, s in MISSING_METHOD_STYLES.items()
        if name in errors
    ]
    # one short vertical bar per method, each in its colour: the bars are coloured by method
    bars = tuple(Line2D([], [], color=s["color"], marker="|", ms=11, mew=1.4, ls="none") for s in styles)
    n_removals = np.asarray(next(iter(errors.values()))).shape[1]
    labels = [h.get_label() for h in handles] + [f"best to worst of {n_removals} removals"]
    handles = [*handles, bars]
    if complete_error is not None:
        handles.append(Line2D([], [], color="0.45", lw=1.0, ls="-.", label="complete-data fit (nothing removed)"))
        labels.append(handles[-1].get_label())
    fig.legend(
        handles,
        labels,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0.1)},
        loc="outside lower center",
        ncol=2 if complete_error is None else 3,
        frameon=False,
        fontsize=9,
    )
    return fig


def _draw_incomplete_points(ax, X, limits):
    """Points with both coordinates as grey dots; a point with one coordinate missing as a short
    tick at its observed value on the axis of that coordinate (a rug along the bottom or the left)."""
    both = ~np.isnan(X).any(axis=1)
    ax.scatter(*X[both].T, s=8, color="0.35", alpha=0.5, linewidths=0, label=f"both observed ({both.sum()})")
    only_x = ~np.isnan(X[:, 0]) & np.isnan(X[:, 1])
    only_y = np.isnan(X[:, 0]) & ~np.isnan(X[:, 1])
    (x_low, x_high), (y_low, y_high) = limits
    tick_y = 0.035 * (y_high - y_low)
    tick_x = 0.035 * (x_high - x_low)
    ax.vlines(
        X[only_x, 0], y_low, y_low + tick_y, color="0.2", lw=0.7, label=f"only $x_1$ observed ({only_x.sum()}): bottom"
    )
    ax.hlines(
        X[only_y, 1], x_low, x_low + tick_x, color="0.5", lw=0.7, label=f"only $x_2$ observed ({only_y.sum()}): left"
    )


def plot_imputation_against_em(X_missing, filled, imputed_fit, em_fit, truth):
    """Two panels on the same axes limits. Left: the data with each missing value replaced by its
    column's mean (the filled-in points as grey crosses), and the mixture fitted to them. Right: the
    incomplete data as EM sees them (one-coordinate points as ticks on the axis of the coordinate they
    have), and EM's fit. True component k is a thin dotted 1σ ellipse in component k's colour, and the
    fitted component matched to it (``match_components``) is drawn in the same colour, above the
    points. A fitted component squeezed onto a line (its smaller 1σ axis below 2% of the plot's
    smaller extent) is pointed out by a label, since its ellipse is then a line. Returns the figure.

    X_missing : (N, 2) with NaN; filled : (N, 2), X_missing mean-imputed; imputed_fit, em_fit, truth : GMMParams.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    from em_helpers import match_components

    imputed = np.isnan(X_missing).any(axis=1) & ~np.isnan(X_missing).all(axis=1)
    low, high = np.nanmin(X_missing, axis=0), np.nanmax(X_missing, axis=0)
    pad = 0.06 * (high - low)
    limits = ((low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]))
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 5.1), constrained_layout=True, sharex=True, sharey=True)
    left, right = axes
    both = ~np.isnan(X_missing).any(axis=1)
    left.scatter(*filled[both].T, s=8, color="0.35", alpha=0.5, linewidths=0, label=f"both observed ({both.sum()})")
    left.scatter(
        *filled[imputed].T,
        s=12,
        marker="x",
        color="0.45",
        linewidths=0.6,
        label=f"one value filled in ({imputed.sum()})",
    )
    _draw_incomplete_points(right, X_missing, limits)
    colours = [component_style(j)[0] for j in range(truth.n_components)]
    smallest_extent = min(limits[0][1] - limits[0][0], limits[1][1] - limits[1][0])
    for ax, params, title in (
        (left, imputed_fit, "mean imputation, then EM"),
        (right, em_fit, "EM on the incomplete data"),
    ):
        matched = params.permute(match_components(params, truth))
        drawn_before = len(ax.patches)
        _draw_components(ax, matched, colours)
        for patch in ax.patches[drawn_before:]:
            patch.set_zorder(3)  # the fitted ellipses above the points and the filled-in crosses
        for k in range(truth.n_components):
            draw_ellipse(ax, truth.means[k], truth.covariances[k], 1, color=colours[k], lw=1.0, ls=":", zorder=2)
        for k in range(matched.n_components):
            if np.sqrt(np.linalg.eigvalsh(matched.covariances[k])[0]) < 0.02 * smallest_extent:
                ax.annotate(
                    "collapsed onto the\nfilled-in line",
                    xy=matched.means[k],
                    xytext=(18, -34),
                    textcoords="offset points",
                    color=colours[k],
                    fontsize=8,
                    arrowprops=dict(arrowstyle="->", color=colours[k], lw=1.0),
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85),
                    zorder=5,
                )
        ax.set(xlabel="$x_1$", title=title, xlim=limits[0], ylim=limits[1])
        ax.set_aspect("equal", adjustable="box")
        point_handles, point_labels = ax.get_legend_handles_labels()
        # a rug's ticks keyed as ticks: vertical ones on the bottom axis (x1 alone), horizontal on the left (x2 alone)
        point_handles = [
            Line2D(
                [],
                [],
                ls="none",
                marker="|" if h.get_segments()[0][0, 0] == h.get_segments()[0][1, 0] else "_",
                ms=9,
                mew=1.2,
                color=h.get_color()[0],
            )
            if isinstance(h, LineCollection) and len(h.get_segments())
            else h
            for h in point_handles
        ]
        key = tuple(Line2D([], [], color=c, lw=3.0) for c in colours)
        handles = [
            *point_handles,
            key,
            Line2D([], [], ls="none", marker="X", ms=8, color="0.6", mec="black"),
            Line2D([], [], color="0.2", lw=2.0),
            Line2D([], [], color="0.2", lw=1.2, ls="--"),
            Line2D([], [], color="0.2", lw=1.0, ls=":"),
        ]
        labels = [
            *point_labels,
            "colour: one per true component",
            "fitted mean",
            "fitted 1σ ellipse",
            "fitted 2σ ellipse",
            "true 1σ ellipse",
        ]
        ax.legend(
            handles,
            labels,
            handler_map={tuple: HandlerTuple(ndivide=None, pad=0.0)},
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=2,
            frameon=False,
            fontsize=8,
            columnspacing=1.2,
        )
    left.set_ylabel("$x_2$")
    return fig

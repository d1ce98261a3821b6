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

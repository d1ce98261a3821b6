"""Where notebook 03's "1 and 2 differ by about ε|x|/σ" comes from (section 4), printed; not a test.

    .venv/bin/python tests/nb03_ulp_step.py          # about a minute

The differences x_i - c from a shift c near the data are exact in float64 (Sterbenz: c/2 <= x <= 2c), so
what rounds is the stored mean μ_k = c_k + a_k / N_k, to one unit in the last place of numbers of size |x|
(np.spacing(|x|), about ε|x|). Two runs whose μ_k differ by that much see every x_i - μ_k move by it in the
next E-step. Here, on notebook 01's mixture (45,678 points) shifted by 10^6, each μ_k of a converged fit is
moved by one unit in its last place and one EM step is taken from both: the relative change in π and Σ
against ε|x|/σ (σ = √λ_min over the true Σ_k, |x| the largest coordinate of the fitted means, the numbers that
round), over 8 seeds.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])
warnings.simplefilter("ignore")
sigma = np.sqrt(np.linalg.eigvalsh(TRUTH.covariances).min())
changes, scales = [], []
for seed in range(1, 9):
    X = em.sample_gmm(TRUTH, 45_678, np.random.default_rng(seed))[0] + 1e6
    exact = np.abs(
        (X[:, None, :] - X.mean(axis=0)).astype(np.longdouble)
        - (X[:, None, :].astype(np.longdouble) - X.mean(axis=0).astype(np.longdouble))
    ).max()
    p = em.fit_gmm(X, 3, init=em.init_params(X, 3, seed=np.random.default_rng(seed + 1000))).params
    q = em.GMMParams(p.weights, p.means + np.spacing(p.means), p.covariances)  # μ_k one unit in the last place on
    a, b = (em.m_step(X, em.e_step(X, t)[0]) for t in (p, q))
    changes.append(max(np.abs(getattr(a, n) - getattr(b, n)).max() / np.abs(getattr(a, n)).max()
                       for n in ("weights", "covariances")))  # fmt: skip
    scales.append(np.finfo(float).eps * np.abs(p.means).max() / sigma)  # |x|: the means' largest coordinate
    print(f"seed {seed}: x_i - c exact to {float(exact):.1e}; one EM step after moving each μ_k by one unit in its "
          f"last place: π, Σ change {changes[-1]:.1e} relative; ε|x|/σ = {scales[-1]:.1e}")  # fmt: skip
ratio = np.array(changes) / np.array(scales)
print(f"change / (ε|x|/σ): {ratio.min():.2f} to {ratio.max():.2f} over 8 seeds")

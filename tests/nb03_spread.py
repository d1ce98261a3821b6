"""The spreads behind notebook 03's prose, over seeds, printed (each section says which sentence it backs).

    .venv/bin/python tests/nb03_spread.py                 # every section (about 10 CPU-minutes)
    .venv/bin/python tests/nb03_spread.py shift stall     # only the sections named

Not a test (nothing is asserted): the measurements a reader can re-run, every draw from a fixed seed.

* shift: the relative error of Σ_k about the origin for data moved by 1e6 and 1e8 (section 1), N = 200,000,
  seeds 1 to 20, as the notebook's cell computes it for one seed.
* subsample: the start's sampling error σ_k/√(π_k m) over EM's first move, m = 100,000, seeds 1 to 20.
* start: CPU seconds of one online pass over 1,000,000 points with the default start (best of 5 batch fits on
  the first 10,000 points) and from a given start, 6 alternating repeats, best of each.
* batchtol: how far batch EM at its default tol of 1e-6 stops from the optimum (tol 1e-10), 8 start seeds.
* stall: one stalled start (one k-means++ start on the first batch of one order of another million points):
  batch EM's iterations from it, and one pass from it at several κ and constant η, against the gap that one
  batch's noise alone leaves at a constant η (p η / (2 B (2 - η) |L*/N|), p free parameters).
* long: the lag of κ = 0.2 on a drifting stream ten times longer (5,000 batches, the same drift per batch)
  over the lag after 500 batches, 8 streams.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import em_helpers as em
import em_scale

ROOT = Path(__file__).resolve().parent.parent
saved = json.loads((ROOT / "data" / "true_parameters.json").read_text())
TRUTH = em.GMMParams(saved["weights"], saved["means"], saved["covariances"])


def spread(values, fmt=".1e"):
    values = np.asarray(values, dtype=float)
    return f"median {np.median(values):{fmt}}, {values.min():{fmt}} to {values.max():{fmt}}"


def covariances_about(X, responsibilities, shift):
    stats = em.sufficient_statistics(X, responsibilities, shift=shift)
    offset = stats.first / stats.counts[:, None]
    return stats.second / stats.counts[:, None, None] - offset[:, :, None] * offset[:, None, :]


def shift():
    errors = {1e6: [], 1e8: []}
    for seed in range(1, 21):
        rng = np.random.default_rng(seed)
        X, _ = em.sample_gmm(TRUTH, 200_000, seed=rng)
        start = em.init_params(X, 3, seed=rng)
        responsibilities, _ = em.e_step(X, start)
        reference = covariances_about(X, responsibilities, start.means)
        for offset in errors:
            origin = covariances_about(X + offset, responsibilities, np.zeros_like(start.means))
            errors[offset].append(np.abs(origin - reference).max() / np.abs(reference).max())
    for offset, values in errors.items():
        print(f"shift: data near {offset:.0e}, Σ_k about the origin, relative error over seeds 1-20: {spread(values)}")


def subsample():
    m, ratios = 100_000, []
    for seed in range(1, 21):
        rng = np.random.default_rng(seed)
        points, _ = em.sample_gmm(TRUTH, m, seed=rng)
        start = em.init_params(points, 3, seed=rng)
        sigma = np.sqrt(np.linalg.eigvalsh(start.covariances).max(axis=1))
        move = np.linalg.norm(em.m_step(points, em.e_step(points, start)[0]).means - start.means, axis=1)
        ratios.append((sigma / np.sqrt(start.weights * m) / move).max())
    ratios = 100 * np.array(ratios)
    print(f"subsample: error over first move, seeds 1-20 (%): {spread(ratios, '.1f')}; over 14%: {(ratios > 14).sum()}")


def start():
    X, _ = em.sample_gmm(TRUTH, 1_000_000, seed=1)
    given = em.init_params(X[:100_000], 3, seed=1)
    batches = np.split(X, 1_000)
    runs = {
        "default start": lambda rep: em_scale.fit_gmm_online(batches, 3, seed=rep),
        "given start": lambda rep: em_scale.fit_gmm_online(batches, 3, init=given),
    }
    cpu = {name: [] for name in runs}
    for rep in range(6):  # alternating, so that both meet the same load
        for name, run in runs.items():
            c0 = time.process_time()
            run(rep)
            cpu[name].append(time.process_time() - c0)
    best = {name: min(values) for name, values in cpu.items()}
    print(
        f"start: one online pass, CPU best of 6: default start {best['default start']:.2f} s, given start "
        f"{best['given start']:.2f} s, ratio {best['default start'] / best['given start']:.2f}"
    )


def batchtol():
    N = 1_000_000
    X, _ = em.sample_gmm(TRUTH, N, seed=900)
    reference = em.fit_gmm(X, 3, init=TRUTH, tol=1e-10, max_iter=3_000).log_likelihood / N
    gaps = [(reference - em.fit_gmm(X, 3, seed=3_000 + s).log_likelihood / N) / abs(reference) for s in range(8)]
    print(f"batchtol: batch EM at tol 1e-6, 8 k-means++ seeds, gap to tol 1e-10: {spread(gaps)}")


def stall():
    N, B = 1_000_000, 1_000
    X, _ = em.sample_gmm(TRUTH, N, seed=900)
    batches = np.split(X[np.random.default_rng(1005).permutation(N)], N // B)
    stalled = em.init_params(batches[0], 3, seed=2005)
    optimum = em.fit_gmm(X, 3, n_init=3, seed=900, tol=1e-10, max_iter=3_000).log_likelihood / N
    gap = lambda params: (optimum - em.log_likelihood(X, params) / N) / abs(optimum)  # noqa: E731
    rescue = em.fit_gmm(X, 3, init=stalled, max_iter=3_000)
    print(f"stall: batch EM from the stalled start: {rescue.n_iter} iterations, gap {gap(rescue.params):.1e}")
    p = em.n_parameters(TRUTH)
    for step in [dict(step_exponent=k) for k in (0.51, 0.6, 0.8, 1.0)] + [dict(step_size=e) for e in (0.3, 0.5, 1.0)]:
        fit = em_scale.fit_gmm_online(batches, 3, init=stalled, average_after=None, **step)
        eta = step.get("step_size")
        noise = "" if eta is None else f"; one batch's noise alone: {p * eta / (2 * B * (2 - eta) * abs(optimum)):.1e}"
        print(f"stall: one pass from it, {step}: gap {gap(fit.params):.1e}{noise}")


def moving_truth(t, per_batch=4.0 / 499):
    return em.GMMParams(TRUTH.weights, TRUTH.means + np.array([per_batch * t, 0.0]), TRUTH.covariances)


def lag(fit, t):
    final = moving_truth(t)
    return (final.means - fit.params.means[em.match_components(fit.params, final)])[:, 0].mean()


def long():
    ratios = []
    for seed in range(1, 9):
        rng = np.random.default_rng(seed)
        stream = [em.sample_gmm(moving_truth(t), 1_000, seed=rng)[0] for t in range(5_000)]
        start = em.fit_gmm(np.concatenate(stream[:10]), 3, n_init=5, seed=seed).params
        lags = [
            lag(em_scale.fit_gmm_online(stream[10:n], 3, init=start, average_after=None, step_exponent=0.2), n - 1)
            for n in (500, 5_000)
        ]
        ratios.append(lags[1] / lags[0])
        print(f"long: stream {seed}: lag after 500 batches {lags[0]:.3f}, after 5,000 {lags[1]:.3f}", flush=True)
    eta = lambda t: (t + 2) ** -0.2  # noqa: E731
    formula = ((1 - eta(4_990)) / eta(4_990)) / ((1 - eta(490)) / eta(490))
    print(
        f"long: κ = 0.2, lag after 5,000 batches over lag after 500, 8 streams: {spread(ratios, '.2f')}; "
        f"(1 - η)/η at the last update predicts {formula:.2f}"
    )


SECTIONS = {"shift": shift, "subsample": subsample, "start": start, "batchtol": batchtol, "stall": stall, "long": long}

if __name__ == "__main__":
    warnings.simplefilter("ignore", em.ConvergenceWarning)
    for name in sys.argv[1:] or SECTIONS:
        SECTIONS[name]()
        sys.stdout.flush()

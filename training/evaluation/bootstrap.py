"""Percentile bootstrap confidence intervals over paragraphs, vectorised.

Every metric we report is a function of counts that add up over paragraphs (true/false positives
per label, confusion-matrix cells, ...). So each paragraph is reduced once to its count *tables*
(arrays whose first axis is the paragraph), a resample is a vector of multiplicities (how often
each paragraph was drawn, ``n`` draws with replacement), and the counts of all resamples are one
matrix product ``weights @ table``. The statistic then computes each metric for every resample
at once; the interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles.

A resample where a metric is undefined (NaN, e.g. no gold positives and no predictions) is left
out of that metric's percentiles; a metric undefined in every resample has no interval (``None``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
# Resamples per matrix product: bounds memory at CHUNK x n weights whatever --bootstrap asks for.
CHUNK = 250

Tables = Mapping[str, np.ndarray]
Statistic = Callable[[Tables], Mapping[str, np.ndarray]]


def resample_weights(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_resamples, n)`` multiplicities: row ``b`` counts how often each of ``n`` items was
    drawn in the ``b``-th sample of ``n`` draws with replacement."""
    draws = rng.integers(0, n, size=(n_resamples, n))
    # Offset each row's draws into its own block so one bincount counts all rows.
    flat = (draws + n * np.arange(n_resamples)[:, None]).ravel()
    return np.bincount(flat, minlength=n_resamples * n).reshape(n_resamples, n)


def weighted_sums(tables: Tables, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Per-resample sums of every table: ``weights (B, n)`` times ``table (n, ...)``."""
    w = np.asarray(weights, dtype=float)
    return {k: np.tensordot(w, np.asarray(t, dtype=float), axes=(1, 0)) for k, t in tables.items()}


def percentile_interval(
    samples: np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float] | None:
    """The percentile interval of the defined (non-NaN) samples, or None when there are none."""
    kept = np.asarray(samples, dtype=float)
    kept = kept[~np.isnan(kept)]
    if not kept.size:
        return None
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(kept, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_samples(
    tables: Tables,
    statistic: Statistic,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Every metric of ``statistic`` on ``n_resamples`` resamples of the rows: name -> (B,) array.

    The same seed draws the same resamples for the same number of paragraphs, so two models
    evaluated on one data set are compared on identical resamples (a paired bootstrap).
    """
    n = len(next(iter(tables.values()))) if tables else 0
    if n == 0 or n_resamples <= 0:
        return {}
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_resamples, CHUNK):
        weights = resample_weights(n, min(CHUNK, n_resamples - start), rng)
        for name, values in statistic(weighted_sums(tables, weights)).items():
            parts.setdefault(name, []).append(np.asarray(values, dtype=float))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def bootstrap_ci(
    tables: Tables,
    statistic: Statistic,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, dict[str, float] | None]:
    """Percentile confidence interval ``{"low", "high"}`` (or None) per metric of ``statistic``."""
    out: dict[str, dict[str, float] | None] = {}
    for name, samples in bootstrap_samples(tables, statistic, n_resamples, seed).items():
        interval = percentile_interval(samples, confidence)
        out[name] = None if interval is None else {"low": interval[0], "high": interval[1]}
    return out


def point_statistic(tables: Tables, statistic: Statistic) -> dict[str, float | None]:
    """``statistic`` on the full sample (every paragraph once), NaN reported as None."""
    n = len(next(iter(tables.values()))) if tables else 0
    values = statistic(weighted_sums(tables, np.ones((1, n))))
    return {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in values.items()}

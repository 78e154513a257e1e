"""Per-label decision thresholds for multi-label outputs."""

from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float((y & pred).sum())
    denom = float(y.sum() + pred.sum())
    return 2 * tp / denom if denom else 1.0


def tune_thresholds(Y: np.ndarray, probs: np.ndarray, default: float = 0.5) -> np.ndarray:
    """The F1-maximising threshold per label on held-out probabilities.

    Ties go to the threshold closest to ``default`` so that a flat F1 curve does not push a label
    to an extreme. A label with no positive example keeps ``default``.
    """
    Y = np.asarray(Y, dtype=bool)
    probs = np.asarray(probs, dtype=float)
    out = np.full(Y.shape[1], default)
    for j in range(Y.shape[1]):
        if not Y[:, j].any():
            continue
        scores = np.array([_f1(Y[:, j], probs[:, j] >= t) for t in GRID])
        best = np.flatnonzero(np.isclose(scores, scores.max()))
        out[j] = GRID[best[np.argmin(np.abs(GRID[best] - default))]]
    return out

"""Calibration of frame probabilities: reliability bins and expected calibration error (ECE).

Each frame is a binary decision, so calibration is measured on the positive-class probability
(``ParagraphResult.frames[i].score``) against whether the frame is annotated: within a bin, a
calibrated model's mean predicted probability equals the fraction of paragraphs that carry the
frame. Bins are ``N_BINS = 10`` equal-width intervals ``[k/10, (k+1)/10)`` with the last one
closed at 1. ECE is the bin-size-weighted mean of ``|mean predicted - fraction positive|``::

    ECE = sum_b (n_b / N) * |mean(p in b) - mean(y in b)|

Empty bins contribute nothing. The pooled ECE puts every (paragraph, frame) decision in one set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

N_BINS = 10


def bin_index(probs: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Equal-width bin of each probability; 1.0 falls in the last bin."""
    probs = np.clip(np.asarray(probs, dtype=float), 0.0, 1.0)
    return np.minimum((probs * n_bins).astype(int), n_bins - 1)


def reliability_bins(
    probs: np.ndarray, outcomes: np.ndarray, n_bins: int = N_BINS
) -> list[dict[str, Any]]:
    """Per bin: edges, count, mean predicted probability and fraction positive (None if empty)."""
    probs = np.asarray(probs, dtype=float).ravel()
    outcomes = np.asarray(outcomes, dtype=float).ravel()
    idx = bin_index(probs, n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=probs, minlength=n_bins)
    sum_y = np.bincount(idx, weights=outcomes, minlength=n_bins)
    bins = []
    for k in range(n_bins):
        n = int(counts[k])
        bins.append(
            {
                "lower": k / n_bins,
                "upper": (k + 1) / n_bins,
                "count": n,
                "mean_predicted": float(sum_p[k] / n) if n else None,
                "fraction_positive": float(sum_y[k] / n) if n else None,
            }
        )
    return bins


def expected_calibration_error(
    probs: np.ndarray, outcomes: np.ndarray, n_bins: int = N_BINS
) -> float | None:
    """ECE over equal-width bins (see module docstring); None when there are no predictions."""
    bins = reliability_bins(probs, outcomes, n_bins)
    total = sum(b["count"] for b in bins)
    if not total:
        return None
    return float(
        sum(
            b["count"] / total * abs(b["mean_predicted"] - b["fraction_positive"])
            for b in bins
            if b["count"]
        )
    )


def frame_calibration(
    scores: np.ndarray, gold: np.ndarray, labels: Sequence[str], n_bins: int = N_BINS
) -> dict[str, Any]:
    """Pooled and per-frame ECE plus reliability bins from ``(n, n_frames)`` scores and gold."""
    scores = np.asarray(scores, dtype=float).reshape(-1, len(labels))
    gold = np.asarray(gold, dtype=float).reshape(-1, len(labels))
    per_label = {
        name: {
            "ece": expected_calibration_error(scores[:, j], gold[:, j], n_bins),
            "bins": reliability_bins(scores[:, j], gold[:, j], n_bins),
        }
        for j, name in enumerate(labels)
    }
    return {
        "n_bins": n_bins,
        "n": int(len(scores)),
        "ece": expected_calibration_error(scores, gold, n_bins),
        "per_label": per_label,
    }

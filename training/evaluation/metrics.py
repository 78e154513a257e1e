"""Metric functions (pure numpy), shared by dev metrics in training and ``stanceframe evaluate``.

Convention for undefined values: a label with no gold positives and no predicted positives has
precision, recall and F1 ``None`` (nothing to get right or wrong) and is left out of the macro
average; with predictions but no gold positives its precision and F1 are 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """Precision, recall and F1 from counts (``None`` where the ratio is undefined)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if tp + fp + fn == 0:
        f1 = None
    else:
        f1 = 2 * tp / (2 * tp + fp + fn)
    return {"precision": precision, "recall": recall, "f1": f1}


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def multilabel_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]
) -> dict[str, object]:
    """Per-label P/R/F1 and support, macro and micro F1, exact-match ratio."""
    y_true = np.asarray(y_true, dtype=bool).reshape(-1, len(labels))
    y_pred = np.asarray(y_pred, dtype=bool).reshape(-1, len(labels))
    per_label = {}
    tps = fps = fns = 0
    for j, name in enumerate(labels):
        tp = int((y_true[:, j] & y_pred[:, j]).sum())
        fp = int((~y_true[:, j] & y_pred[:, j]).sum())
        fn = int((y_true[:, j] & ~y_pred[:, j]).sum())
        per_label[name] = {**prf(tp, fp, fn), "support": int(y_true[:, j].sum())}
        tps, fps, fns = tps + tp, fps + fp, fns + fn
    exact = float((y_true == y_pred).all(1).mean()) if len(y_true) else None
    return {
        "per_label": per_label,
        "macro_f1": _mean([m["f1"] for m in per_label.values()]),
        "micro_f1": prf(tps, fps, fns)["f1"],
        "exact_match": exact,
        "n": int(len(y_true)),
    }


def multiclass_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]
) -> dict[str, object]:
    """Accuracy, per-class P/R/F1, macro-F1 over the classes and the confusion matrix."""
    y_true, y_pred = list(y_true), list(y_pred)
    index = {c: i for i, c in enumerate(classes)}
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        confusion[index[t], index[p]] += 1
    per_class = {}
    for c, i in index.items():
        tp = int(confusion[i, i])
        per_class[c] = {
            **prf(tp, int(confusion[:, i].sum()) - tp, int(confusion[i].sum()) - tp),
            "support": int(confusion[i].sum()),
        }
    return {
        "accuracy": float(np.trace(confusion) / confusion.sum()) if confusion.sum() else None,
        "macro_f1": _mean([m["f1"] for m in per_class.values()]),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "classes": list(classes),
        "n": len(y_true),
    }


def detection_counts(gold: set[str], predicted: set[str]) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one item's found set."""
    return len(gold & predicted), len(predicted - gold), len(gold - predicted)


def set_detection_metrics(
    gold: Sequence[set[str]], predicted: Sequence[set[str]]
) -> dict[str, float | int | None]:
    """Precision/recall/F1 of found items (e.g. canonical figure names per paragraph)."""
    counts = [detection_counts(g, p) for g, p in zip(gold, predicted, strict=True)]
    tp, fp, fn = (sum(c[k] for c in counts) for k in range(3))
    return {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}


# ------------------------------------------------------------------------- vectorised forms
# The bootstrap evaluates the same metrics on a thousand resamples at once. These functions take
# count arrays of any shape and follow the convention above, with NaN standing for ``None``.


def ratio_array(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ``numerator / denominator``; NaN where the denominator is 0."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def f1_array(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Elementwise F1 ``2tp / (2tp + fp + fn)`` as in :func:`prf`; NaN where undefined."""
    tp = np.asarray(tp, dtype=float)
    return ratio_array(2 * tp, 2 * tp + np.asarray(fp) + np.asarray(fn))


def nanmean_last(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis leaving out NaN (the macro average); NaN when all are NaN."""
    values = np.asarray(values, dtype=float)
    kept = ~np.isnan(values)
    return ratio_array(np.where(kept, values, 0.0).sum(-1), kept.sum(-1))


def confusion_arrays(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 from confusion matrices ``(..., C, C)`` (rows gold, columns
    predicted), as :func:`multiclass_metrics` computes them from one matrix."""
    confusion = np.asarray(confusion, dtype=float)
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    fp = confusion.sum(-2) - tp
    fn = confusion.sum(-1) - tp
    return {
        "accuracy": ratio_array(tp.sum(-1), confusion.sum((-2, -1))),
        "macro_f1": nanmean_last(f1_array(tp, fp, fn)),
    }


def lookup_path(metrics: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path in nested metric dicts, e.g. ``frames.per_label.X.f1``.

    Keys may contain dots themselves (bootstrap intervals are keyed by metric path), so at each
    level the longest matching key wins. Raises ``KeyError(path)`` when nothing is there.
    """
    node: Any = metrics
    parts = path.split(".")
    while parts:
        if not isinstance(node, Mapping):
            raise KeyError(path)
        k = next((k for k in range(len(parts), 0, -1) if ".".join(parts[:k]) in node), 0)
        if not k:
            raise KeyError(path)
        node, parts = node[".".join(parts[:k])], parts[k:]
    return node

"""Metric functions (pure numpy), shared by dev metrics in training and ``stanceframe evaluate``.

Convention for undefined values: a label with no gold positives and no predicted positives has
precision, recall and F1 ``None`` (nothing to get right or wrong) and is left out of the macro
average; with predictions but no gold positives its precision and F1 are 0.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def set_detection_metrics(
    gold: Sequence[set[str]], predicted: Sequence[set[str]]
) -> dict[str, float | int | None]:
    """Precision/recall/F1 of found items (e.g. canonical figure names per paragraph)."""
    tp = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    fp = sum(len(p - g) for g, p in zip(gold, predicted, strict=True))
    fn = sum(len(g - p) for g, p in zip(gold, predicted, strict=True))
    return {**prf(tp, fp, fn), "tp": tp, "fp": fp, "fn": fn}

"""Evaluation of a predictor on annotated paragraphs: the one implementation behind training's dev
metrics and ``stanceframe evaluate``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from serving.figures import FigureMention
from serving.predictor import Predictor
from serving.results import ParagraphResult
from serving.schema import LabelSchema
from training.corpus import Paragraph
from training.metrics import multiclass_metrics, multilabel_metrics, set_detection_metrics


def frame_matrix(paragraphs: Sequence[Paragraph], schema: LabelSchema) -> np.ndarray:
    """Binary indicator matrix (n, n_frames) of gold frames."""
    Y = np.zeros((len(paragraphs), len(schema.frames)), dtype=int)
    for i, p in enumerate(paragraphs):
        for f in p.frames:
            Y[i, schema.frame2id[f]] = 1
    return Y


def frames_annotated(p: Paragraph) -> bool:
    """NewsMTSC-style examples carry figure sentiment only."""
    return bool(p.meta.get("frames_annotated", True))


def evaluate_results(
    paragraphs: Sequence[Paragraph], results: Sequence[ParagraphResult], schema: LabelSchema
) -> dict[str, Any]:
    """Frame metrics, figure detection and sentiment-on-found-figures for aligned predictions."""
    keep = [i for i, p in enumerate(paragraphs) if frames_annotated(p)]
    gold = frame_matrix([paragraphs[i] for i in keep], schema)
    pred = np.array([[f.present for f in results[i].frames] for i in keep], dtype=int).reshape(
        len(keep), len(schema.frames)
    )
    out: dict[str, Any] = {"frames": multilabel_metrics(gold, pred, schema.frame_names)}
    gold_names = [{f.name for f in p.figures} for p in paragraphs]
    pred_names = [{f.name for f in r.figures} for r in results]
    y_true, y_pred = [], []
    for p, r in zip(paragraphs, results, strict=True):
        found = {f.name: f.sentiment for f in r.figures}
        for f in p.figures:
            if f.name in found:
                y_true.append(f.sentiment)
                y_pred.append(found[f.name])
    out["figures"] = {
        "detection": set_detection_metrics(gold_names, pred_names),
        "sentiment": multiclass_metrics(y_true, y_pred, schema.sentiments),
    }
    return out


def evaluate_predictor(predictor: Predictor, paragraphs: Sequence[Paragraph]) -> dict[str, Any]:
    """Run the predictor on the paragraphs' texts and score it against their annotations."""
    results = predictor.predict([p.text for p in paragraphs], [p.id for p in paragraphs])
    return evaluate_results(paragraphs, results, predictor.schema)


def evaluate_target_sentiment(
    predictor: Predictor, paragraphs: Sequence[Paragraph]
) -> dict[str, Any]:
    """Sentiment on the annotated mentions themselves (no detection step), e.g. NewsMTSC F1m."""
    mentions = [
        [FigureMention(f.name, f.mention, f.start, f.end, False) for f in p.figures]
        for p in paragraphs
    ]
    _, probs = predictor.score([p.text for p in paragraphs], mentions)
    classes = predictor.schema.sentiments
    y_true = [f.sentiment for p in paragraphs for f in p.figures]
    y_pred = [classes[int(k)] for pr in probs for k in pr.argmax(1)] if probs else []
    return multiclass_metrics(y_true, y_pred, classes)


def headline(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The two numbers quoted everywhere: frames macro-F1 and figure-sentiment macro-F1."""
    return {
        "frames_macro_f1": metrics["frames"]["macro_f1"],
        "sentiment_macro_f1": metrics["figures"]["sentiment"]["macro_f1"],
    }

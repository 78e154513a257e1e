"""Scoring predictions against annotations: metrics per model, bootstrap tables, pair robustness."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from serving.figures import FigureMention
from serving.predictors.base import Predictor
from serving.results import ParagraphResult
from serving.schema import LabelSchema
from training.data.corpus import Paragraph
from training.evaluation.bootstrap import DEFAULT_RESAMPLES, bootstrap_ci
from training.evaluation.metrics import (
    confusion_arrays,
    detection_counts,
    f1_array,
    multiclass_metrics,
    multilabel_metrics,
    nanmean_last,
    ratio_array,
    set_detection_metrics,
)

NEWSMTSC_TEST_SPLITS = ("test_rw", "test_mt")


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


def matched_sentiments(paragraph: Paragraph, result: ParagraphResult) -> list[tuple[str, str]]:
    """(gold, predicted) sentiment of each annotated figure found (same canonical name)."""
    found = {f.name: f.sentiment for f in result.figures}
    return [(f.sentiment, found[f.name]) for f in paragraph.figures if f.name in found]


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
    pairs = [m for p, r in zip(paragraphs, results, strict=True) for m in matched_sentiments(p, r)]
    y_true, y_pred = [t for t, _ in pairs], [s for _, s in pairs]
    out["figures"] = {
        "detection": set_detection_metrics(gold_names, pred_names),
        "sentiment": multiclass_metrics(y_true, y_pred, schema.sentiments),
    }
    return out


def story_contexts(registry, paragraphs: Sequence[Paragraph]) -> list[list[str]]:
    """Each paragraph's document context: the people named in earlier paragraphs of its story
    (file order), as ``/classify_article`` and ``label`` with a ``doc_id`` resolve them. The
    annotations name people story-wide ("Ms Okafor" is Grace Okafor), so this is the like for
    like measurement."""
    by_story: dict[str, list[int]] = {}
    for i, p in enumerate(paragraphs):
        by_story.setdefault(p.story_id, []).append(i)
    out: list[list[str]] = [[] for _ in paragraphs]
    for rows in by_story.values():
        contexts = registry.document_contexts([paragraphs[i].text for i in rows])
        for i, context in zip(rows, contexts, strict=True):
            out[i] = context
    return out


def evaluate_predictor(predictor: Predictor, paragraphs: Sequence[Paragraph]) -> dict[str, Any]:
    """Run the predictor on the paragraphs' texts and score it against their annotations."""
    results = predictor.predict(
        [p.text for p in paragraphs],
        [p.id for p in paragraphs],
        story_contexts(predictor.registry, paragraphs),
    )
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


# ------------------------------------------------------------------------------ bootstrap tables
def predicted_frames(results: Sequence[ParagraphResult], n_frames: int) -> np.ndarray:
    """Binary matrix (n, n_frames) of the frames each result marks present."""
    rows = [[f.present for f in r.frames] for r in results]
    return np.array(rows, dtype=int).reshape(len(results), n_frames)


def frame_scores(results: Sequence[ParagraphResult], n_frames: int) -> np.ndarray:
    """Matrix (n, n_frames) of frame probabilities (``FrameScore.score``)."""
    rows = [[f.score for f in r.frames] for r in results]
    return np.array(rows, dtype=float).reshape(len(results), n_frames)


def count_tables(
    paragraphs: Sequence[Paragraph], results: Sequence[ParagraphResult], schema: LabelSchema
) -> dict[str, np.ndarray]:
    """Per-paragraph additive counts behind the headline metrics (first axis: paragraph).

    Paragraphs without frame annotation get zero frame counts, as ``evaluate_results`` leaves
    them out of the frame metrics; figure counts use the same matching as ``evaluate_results``.
    """
    n, n_frames = len(paragraphs), len(schema.frames)
    annotated = np.array([frames_annotated(p) for p in paragraphs], dtype=bool)
    gold = frame_matrix(paragraphs, schema).astype(bool) & annotated[:, None]
    pred = predicted_frames(results, n_frames).astype(bool) & annotated[:, None]
    detection = np.array(
        [
            detection_counts({f.name for f in p.figures}, {f.name for f in r.figures})
            for p, r in zip(paragraphs, results, strict=True)
        ],
        dtype=int,
    ).reshape(n, 3)
    index = schema.sentiment2id
    confusion = np.zeros((n, len(index), len(index)), dtype=int)
    for i, (p, r) in enumerate(zip(paragraphs, results, strict=True)):
        for true, predicted in matched_sentiments(p, r):
            confusion[i, index[true], index[predicted]] += 1
    return {
        "frame_tp": gold & pred,
        "frame_fp": ~gold & pred,
        "frame_fn": gold & ~pred,
        "exact": annotated & (gold == pred).all(1),
        "annotated": annotated,
        "detection": detection,
        "confusion": confusion,
    }


def headline_arrays(sums: Mapping[str, np.ndarray], labels: Sequence[str]) -> dict[str, np.ndarray]:
    """Headline metrics for every resample from summed count tables; keys are metric paths."""
    tp, fp, fn = sums["frame_tp"], sums["frame_fp"], sums["frame_fn"]
    per_label = f1_array(tp, fp, fn)
    det = sums["detection"]
    sentiment = confusion_arrays(sums["confusion"])
    return {
        "frames.macro_f1": nanmean_last(per_label),
        "frames.micro_f1": f1_array(tp.sum(-1), fp.sum(-1), fn.sum(-1)),
        "frames.exact_match": ratio_array(sums["exact"], sums["annotated"]),
        **{f"frames.per_label.{name}.f1": per_label[:, j] for j, name in enumerate(labels)},
        "figures.detection.f1": f1_array(det[:, 0], det[:, 1], det[:, 2]),
        "figures.sentiment.accuracy": sentiment["accuracy"],
        "figures.sentiment.macro_f1": sentiment["macro_f1"],
    }


MIN_STORIES_FOR_CLUSTERS = 10
"""Fewer stories than this and a story bootstrap is degenerate: paragraphs are resampled."""


def bootstrap_unit(paragraphs: Sequence[Paragraph]) -> str:
    """``story`` when there are enough stories to resample, else ``paragraph``."""
    n_stories = len({p.story_id for p in paragraphs})
    return "story" if n_stories >= MIN_STORIES_FOR_CLUSTERS else "paragraph"


def confidence_intervals(
    paragraphs: Sequence[Paragraph],
    results: Sequence[ParagraphResult],
    schema: LabelSchema,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, dict[str, float] | None]:
    """95 % percentile bootstrap intervals of the headline metrics.

    Paragraphs of one story (and a spun copy with its original) are correlated; resampling them
    one by one makes intervals too narrow, so when there are enough stories counts are summed per
    ``story_id`` and stories are drawn with replacement (a cluster bootstrap). With fewer than
    ``MIN_STORIES_FOR_CLUSTERS`` stories that would resample a handful of units, so paragraphs
    are resampled instead (intervals then understate the uncertainty; the report says which).
    """
    statistic = partial(headline_arrays, labels=schema.frame_names)
    tables = count_tables(paragraphs, results, schema)
    if bootstrap_unit(paragraphs) == "story":
        tables = group_tables(tables, [p.story_id for p in paragraphs])
    return bootstrap_ci(tables, statistic, n_resamples, seed)


def group_tables(tables: Mapping[str, np.ndarray], groups: Sequence[str]) -> dict[str, np.ndarray]:
    """Sum per-paragraph count tables within each group (first axis becomes the group)."""
    keys = sorted(set(groups))
    index = np.array([keys.index(g) for g in groups]) if groups else np.zeros(0, dtype=int)
    out = {}
    for name, table in tables.items():
        summed = np.zeros((len(keys), *table.shape[1:]), dtype=np.int64)
        np.add.at(summed, index, table.astype(np.int64))
        out[name] = summed
    return out


# ---------------------------------------------------------------------------------- robustness
def aligned_pairs(paragraphs: Sequence[Paragraph]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` where paragraph i's ``aligned_with`` names paragraph j in the data.

    A pair given from both sides is counted once; a partner missing from the data is ignored.
    """
    index = {p.id: i for i, p in enumerate(paragraphs)}
    pairs: list[tuple[int, int]] = []
    seen: set[frozenset[int]] = set()
    for i, p in enumerate(paragraphs):
        j = index.get(str(p.meta.get("aligned_with")))
        if j is None or j == i or frozenset((i, j)) in seen:
            continue
        seen.add(frozenset((i, j)))
        pairs.append((i, j))
    return pairs


def pair_agreement(
    results: Sequence[ParagraphResult], pairs: Sequence[tuple[int, int]], labels: Sequence[str]
) -> dict[str, Any]:
    """How consistently a model labels two versions of the same paragraph.

    Frames: share of pairs with identical predicted frame sets, and per label the share of pairs
    on which the label's yes/no decision agrees. Figures: share of people found (by canonical
    name) in both versions that get the same predicted sentiment (None when no one is).
    """
    pred = predicted_frames(results, len(labels)).astype(bool)
    a = pred[[i for i, _ in pairs]].reshape(-1, len(labels))
    b = pred[[j for _, j in pairs]].reshape(-1, len(labels))
    same = a == b
    agree = total = 0
    for i, j in pairs:
        left = {f.name: f.sentiment for f in results[i].figures}
        right = {f.name: f.sentiment for f in results[j].figures}
        shared = left.keys() & right.keys()
        total += len(shared)
        agree += sum(left[name] == right[name] for name in shared)
    return {
        "pairs": len(pairs),
        "frames": {
            "exact_match": float(same.all(1).mean()) if len(pairs) else None,
            "per_label": {
                name: float(same[:, k].mean()) if len(pairs) else None
                for k, name in enumerate(labels)
            },
        },
        "figure_sentiment": {"agreement": agree / total if total else None, "n": total},
    }

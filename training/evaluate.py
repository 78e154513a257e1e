"""Evaluation of a predictor on annotated paragraphs: the one implementation behind training's dev
metrics and ``stanceframe evaluate``.

``evaluate_results`` gives the point metrics (frames P/R/F1, macro/micro, exact match; figure
detection and sentiment on found figures). For ``stanceframe evaluate`` (:func:`run_evaluation`)
the same matching is reduced to per-paragraph counts (:func:`count_tables`) for bootstrap CIs
(training/bootstrap.py), frame scores go to calibration (training/calibration.py), records linked
by ``aligned_with`` give robustness agreement, NewsMTSC test splits give F1m, ``--fail-under``
gates are checked, and training/report.py writes the table, ``metrics.json`` and ``report.md``.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from serving.figures import FigureMention, FigureRegistry
from serving.predictor import Predictor, load_predictor
from serving.results import ParagraphResult
from serving.schema import LabelSchema
from training.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_ci
from training.calibration import N_BINS, frame_calibration
from training.corpus import CorpusError, Paragraph, Problem, read_corpus
from training.interop import import_labelstudio
from training.metrics import (
    confusion_arrays,
    detection_counts,
    f1_array,
    lookup_path,
    multiclass_metrics,
    multilabel_metrics,
    nanmean_last,
    ratio_array,
    set_detection_metrics,
)
from training.newsmtsc import newsmtsc_splits, read_newsmtsc

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------------------- gates
@dataclass(frozen=True)
class Gate:
    """A ``--fail-under`` rule: the metric at ``path`` must be at least ``minimum``."""

    path: str
    minimum: float


def parse_gate(spec: str) -> Gate:
    """Parse ``frames.macro_f1=0.5``; ValueError on any other shape."""
    path, sep, value = spec.partition("=")
    path = path.strip()
    try:
        minimum = float(value)
    except ValueError:
        minimum = float("nan")
    if not sep or not path or np.isnan(minimum):
        raise ValueError(
            f"--fail-under expects METRIC=VALUE (e.g. frames.macro_f1=0.5), got {spec!r}"
        )
    return Gate(path, minimum)


def numeric_paths(metrics: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of every number (or None) in a nested metrics dict."""
    out: list[str] = []
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += numeric_paths(value, f"{path}.")
        elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            out.append(path)
    return out


def metric_at(metrics: Mapping[str, Any], path: str) -> float | None:
    """The number (or None: undefined) at a dotted metric path.

    Raises ValueError naming the path, with close matches, when no number is there.
    """
    try:
        value = lookup_path(metrics, path)
    except KeyError:
        value = KeyError  # sentinel: reported below like any non-number
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return None if value is None else float(value)
    close = difflib.get_close_matches(path, numeric_paths(metrics), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown metric '{path}' (no number at that path){hint}")


def check_gates(models: Mapping[str, Mapping[str, Any]], gates: Sequence[Gate]) -> list[str]:
    """One message per (model, gate) that fails; an undefined metric (None) fails too.

    Raises ValueError for a path that names no metric (checked for every model first).
    """
    values = {
        (m, g.path): metric_at(metrics, g.path) for m, metrics in models.items() for g in gates
    }
    failures = []
    for model in models:
        for gate in gates:
            value = values[model, gate.path]
            if value is None:
                failures.append(
                    f"{model}: {gate.path} is undefined (n/a), required >= {gate.minimum:g}"
                )
            elif value < gate.minimum:
                failures.append(f"{model}: {gate.path} = {value:.4f} < {gate.minimum:g}")
    return failures


# ------------------------------------------------------------------------------ loading inputs
def load_evaluation_data(
    paths: Sequence[str | Path], schema: LabelSchema, registry: FigureRegistry
) -> list[Paragraph]:
    """Annotated paragraphs from corpus JSONL files/folders and Label Studio exports (``.json``).

    Raises :class:`~training.corpus.CorpusError` listing every error (file and line), including
    an id repeated across files.
    """
    paragraphs: list[Paragraph] = []
    problems: list[Problem] = []
    origin: dict[str, Path] = {}  # id -> file it was first read from (ids are unique per file)
    for path in map(Path, paths):
        if path.suffix.lower() == ".json":
            found, issues = import_labelstudio(path, schema, registry)
        else:
            found, issues = read_corpus([path], schema)
        problems += [p for p in issues if p.severity == "error"]
        for p in issues:
            if p.severity != "error":
                log.warning("%s", p)
        for para in found:
            if para.id in origin:
                msg = f"duplicate id '{para.id}' across files (first in {origin[para.id]})"
                problems.append(Problem(str(path), 0, msg))
                continue
            origin[para.id] = path
            paragraphs.append(para)
    if problems:
        raise CorpusError(problems)
    if not paragraphs:
        raise ValueError(f"no annotated paragraphs in {', '.join(map(str, paths))}")
    return paragraphs


def load_newsmtsc_tests(directory: str | Path, schema: LabelSchema) -> dict[str, list[Paragraph]]:
    """The NewsMTSC test splits (``test_rw``, ``test_mt``) present in ``directory``."""
    splits = newsmtsc_splits(directory)
    tests = {name: splits[name] for name in NEWSMTSC_TEST_SPLITS if name in splits}
    if not tests:
        raise FileNotFoundError(
            f"no NewsMTSC test split ({', '.join(f'{s}.jsonl' for s in NEWSMTSC_TEST_SPLITS)}) "
            f"in {directory}"
        )
    return {name: read_newsmtsc(path, schema) for name, path in tests.items()}


def model_names(model: str) -> list[str]:
    """``both`` -> baseline and transformer; anything else is one kind, name or tag."""
    return ["baseline", "transformer"] if model == "both" else [model]


# ---------------------------------------------------------------------------------- one model
def evaluate_model(
    predictor: Predictor,
    paragraphs: Sequence[Paragraph],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    n_bins: int = N_BINS,
    newsmtsc: Mapping[str, Sequence[Paragraph]] | None = None,
) -> dict[str, Any]:
    """Everything ``stanceframe evaluate`` reports about one model on one data set."""
    started = time.perf_counter()
    results = predictor.predict([p.text for p in paragraphs], [p.id for p in paragraphs])
    seconds = time.perf_counter() - started
    schema = predictor.schema
    out: dict[str, Any] = {
        "model": {"kind": predictor.kind, "version": predictor.version},
        "predict_seconds": round(seconds, 3),
        **evaluate_results(paragraphs, results, schema),
        "ci": confidence_intervals(paragraphs, results, schema, n_resamples, seed),
    }
    keep = [i for i, p in enumerate(paragraphs) if frames_annotated(p)]
    scores = frame_scores([results[i] for i in keep], len(schema.frames))
    gold = frame_matrix([paragraphs[i] for i in keep], schema)
    out["calibration"] = frame_calibration(scores, gold, schema.frame_names, n_bins)
    pairs = aligned_pairs(paragraphs)
    if pairs:
        out["robustness"] = pair_agreement(results, pairs, schema.frame_names)
    if newsmtsc:
        out["newsmtsc"] = {}
        for split, sentences in newsmtsc.items():
            scored = evaluate_target_sentiment(predictor, list(sentences))
            out["newsmtsc"][split] = {"f1m": scored["macro_f1"], **scored}
    return out


# --------------------------------------------------------------------------------- the command
@dataclass
class EvaluationRun:
    """What ``run_evaluation`` produced: all metrics, where the report is, failed gates."""

    metrics: dict[str, Any]
    out_dir: Path
    failures: list[str]
    table: str
    summary: str


def default_out_dir() -> Path:
    """``runs/eval/<local timestamp>``."""
    return Path("runs") / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S")


def _check_same_labels(predictors: Sequence[Predictor]) -> None:
    """Side-by-side numbers only mean something when every model has the same label set."""
    first = predictors[0].schema
    for other in predictors[1:]:
        s = other.schema
        if (s.frame_names, list(s.sentiments)) != (first.frame_names, list(first.sentiments)):
            raise ValueError(
                f"models disagree on labels: {predictors[0].version} has {first.frame_names} "
                f"and {list(first.sentiments)}, {other.version} has {s.frame_names} and "
                f"{list(s.sentiments)}"
            )


def run_evaluation(
    data: Sequence[str | Path],
    model: str = "transformer",
    out: str | Path | None = None,
    fail_under: Sequence[str] = (),
    newsmtsc: str | Path | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    n_bins: int = N_BINS,
    backend: str = "torch",
) -> EvaluationRun:
    """Evaluate one or both stored models on annotated data and write the report.

    Loads the model(s) (``model``: ``transformer``, ``baseline``, ``both``, or a name/tag), reads
    ``data`` with the models' label schema, computes :func:`evaluate_model` per model, checks the
    ``fail_under`` gates (``path=minimum``), and writes ``metrics.json``, ``report.md`` and plots
    to ``out`` (default ``runs/eval/<timestamp>``). Raises ValueError for a malformed gate or an
    unknown metric path before anything is written. ``backend`` (``torch`` or ``onnx``) selects
    the transformer's inference backend, to check that a faster one keeps the quality.
    """
    from training.report import format_table, summary_line, write_report

    gates = [parse_gate(spec) for spec in fail_under]  # syntax errors before any slow work
    names = model_names(model)
    # load_predictor applies ``backend`` to transformers only, so one load per model suffices.
    predictors = [load_predictor(name, backend=backend) for name in names]
    _check_same_labels(predictors)
    schema, registry = predictors[0].schema, predictors[0].registry
    paragraphs = load_evaluation_data(data, schema, registry)
    tests = load_newsmtsc_tests(newsmtsc, schema) if newsmtsc else None
    models = {
        name: evaluate_model(
            predictor, paragraphs, n_resamples=n_resamples, seed=seed, n_bins=n_bins, newsmtsc=tests
        )
        for name, predictor in zip(names, predictors, strict=True)
    }
    failures = check_gates(models, gates)
    metrics = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": [str(p) for p in data],
        "n_paragraphs": len(paragraphs),
        "n_frames_annotated": sum(frames_annotated(p) for p in paragraphs),
        "aligned_pairs": len(aligned_pairs(paragraphs)),
        "labels": {"frames": schema.frame_names, "sentiments": list(schema.sentiments)},
        "bootstrap": {
            "resamples": n_resamples,
            "seed": seed,
            "confidence": DEFAULT_CONFIDENCE,
            "unit": bootstrap_unit(paragraphs),
            "method": "percentile",
        },
        "calibration": {"n_bins": n_bins, "binning": "equal-width", "probability": "frame score"},
        "newsmtsc": {split: len(s) for split, s in tests.items()} if tests else None,
        "fail_under": [{"metric": g.path, "minimum": g.minimum} for g in gates],
        "failures": failures,
        "models": models,
    }
    out_dir = Path(out) if out else default_out_dir()
    write_report(metrics, out_dir)
    return EvaluationRun(
        metrics, out_dir, failures, format_table(metrics), summary_line(metrics, out_dir)
    )

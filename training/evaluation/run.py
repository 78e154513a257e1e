"""The evaluation run behind ``stanceframe evaluate``: load data and models, score, gate, write."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serving.figures import FigureRegistry
from serving.predictors.base import Predictor
from serving.predictors.factory import load_predictor
from serving.schema import LabelSchema
from training.data.corpus import CorpusError, Paragraph, Problem, read_corpus
from training.data.labelstudio import import_labelstudio
from training.data.newsmtsc import newsmtsc_splits, read_newsmtsc
from training.evaluation.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from training.evaluation.calibration import N_BINS, frame_calibration
from training.evaluation.metrics import (
    lookup_path,
)
from training.evaluation.scoring import (
    NEWSMTSC_TEST_SPLITS,
    aligned_pairs,
    bootstrap_unit,
    confidence_intervals,
    evaluate_results,
    evaluate_target_sentiment,
    frame_matrix,
    frame_scores,
    frames_annotated,
    pair_agreement,
    story_contexts,
)

log = logging.getLogger(__name__)


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

    Raises :class:`~training.data.corpus.CorpusError` listing every error (file and line), including
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
    results = predictor.predict(
        [p.text for p in paragraphs],
        [p.id for p in paragraphs],
        story_contexts(predictor.registry, paragraphs),
    )
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
    from training.evaluation.report import format_table, summary_line, write_report

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

"""Training data loading and the information every saved model carries besides its weights."""

from __future__ import annotations

import glob
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serving.figures import FigureRegistry, load_registry
from serving.model_info import ModelInfo
from serving.predictors.base import Predictor
from serving.schema import LabelSchema, load_schema
from serving.store import library_versions
from training.data.corpus import Paragraph, corpus_hash, load_corpus
from training.data.hf import is_hf_dataset, load_hf_split
from training.fit.config import TrainConfig


@dataclass
class TrainingData:
    schema: LabelSchema
    registry: FigureRegistry
    paragraphs: list[Paragraph]
    gold: list[Paragraph]
    extra_sentiment: list[Paragraph]
    """Sentiment-only examples (NewsMTSC); never used for frames or dev metrics."""
    transfer: list[Paragraph] = field(default_factory=list)
    """The held-out transfer set (real-register proxy); never trained on."""
    dev_stories: set[str] | None = None
    """Stories that may be held out as dev (from ``data.dev_pool``); None: any."""


@dataclass
class TrainResult:
    predictor: Predictor
    dev_metrics: dict[str, Any]
    gold_metrics: dict[str, Any] | None
    seconds: float
    transfer_metrics: dict[str, Any] | None = None
    tag: str | None = None


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def load_training_data(config: TrainConfig) -> TrainingData:
    """Schema, registry, training paragraphs, real-text gold and optional NewsMTSC examples."""
    labels = Path(config.data.labels_dir)
    schema = load_schema(labels / "schema.yaml")
    registry = load_registry(labels / "figures.yaml")
    paragraphs = _load_train(config.data.train, schema)
    gold = _held_out(config.data.gold, schema, paragraphs, "gold")
    transfer = _held_out(config.data.transfer, schema, paragraphs, "transfer set")
    dev_stories = None
    if pool := _existing(config.data.dev_pool):
        dev_stories = {p.story_id for p in load_corpus(pool, schema)}
    extra: list[Paragraph] = []
    if config.data.newsmtsc:
        from training.data.newsmtsc import read_newsmtsc

        extra = read_newsmtsc(config.data.newsmtsc, schema)
        if config.data.newsmtsc_max_examples and len(extra) > config.data.newsmtsc_max_examples:
            extra = random.Random(config.seed).sample(extra, config.data.newsmtsc_max_examples)
    return TrainingData(schema, registry, paragraphs, gold, extra, transfer, dev_stories)


def _load_train(paths: list[str], schema: LabelSchema) -> list[Paragraph]:
    """JSONL files and folders, or folders written by ``stanceframe data export-hf`` (their
    ``train`` split)."""
    hf = [p for p in paths if is_hf_dataset(p)]
    jsonl = [p for p in paths if p not in hf]
    paragraphs = load_corpus(jsonl, schema) if jsonl or not hf else []
    for path in hf:
        paragraphs.extend(load_hf_split(path, "train"))
    return paragraphs


def _existing(patterns: list[str]) -> list[Path]:
    """Paths and glob matches that exist (a missing evaluation set is simply not evaluated)."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        found.extend(
            sorted(Path(m) for m in glob.glob(pattern))
            if any(c in pattern for c in "*?[")
            else [path]
            if path.exists()
            else []
        )
    return found


def _held_out(
    patterns: list[str], schema: LabelSchema, train: list[Paragraph], what: str
) -> list[Paragraph]:
    """Load an evaluation set and refuse it if any paragraph is also in the training data."""
    paths = _existing(patterns)
    held = load_corpus(paths, schema) if paths else []
    train_ids = {p.id for p in train}
    train_texts = {_normalise(p.text) for p in train}
    leaked = [g.id for g in held if g.id in train_ids or _normalise(g.text) in train_texts]
    if leaked:
        raise ValueError(
            f"{len(leaked)} {what} paragraph(s) also in the training data (e.g. {leaked[0]}); "
            f"the {what} must stay held out"
        )
    return held


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def model_info(
    config: TrainConfig,
    data: TrainingData,
    train_set: list[Paragraph],
    thresholds: Sequence[float],
    history: Sequence[Mapping[str, Any]] = (),
) -> ModelInfo:
    """Everything a saved model carries besides its weights (metrics are added by the recipe)."""
    return ModelInfo(
        kind=config.kind,
        schema=data.schema,
        registry=data.registry,
        thresholds=tuple(float(t) for t in thresholds),
        config=config.to_dict(),
        data_hash=corpus_hash(train_set),
        n_train=len(train_set),
        n_extra_sentiment=len(data.extra_sentiment),
        library_versions=library_versions(),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        history=tuple(history),
    )

"""Training data loading and the information every saved model carries besides its weights."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serving.figures import FigureRegistry, load_registry
from serving.predictors.base import Predictor
from serving.schema import LabelSchema, load_schema
from serving.store import library_versions
from training.data.corpus import Paragraph, corpus_hash, load_corpus
from training.fit.config import TrainConfig


@dataclass
class TrainingData:
    schema: LabelSchema
    registry: FigureRegistry
    paragraphs: list[Paragraph]
    gold: list[Paragraph]
    extra_sentiment: list[Paragraph]
    """Sentiment-only examples (NewsMTSC); never used for frames or dev metrics."""


@dataclass
class TrainResult:
    predictor: Predictor
    dev_metrics: dict[str, Any]
    gold_metrics: dict[str, Any] | None
    seconds: float
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
    paragraphs = load_corpus(config.data.train, schema)
    gold_paths = [p for p in config.data.gold if Path(p).exists()]
    gold = load_corpus(gold_paths, schema) if gold_paths else []
    train_ids = {p.id for p in paragraphs}
    train_texts = {_normalise(p.text) for p in paragraphs}
    leaked = [g.id for g in gold if g.id in train_ids or _normalise(g.text) in train_texts]
    if leaked:
        raise ValueError(
            f"{len(leaked)} gold paragraph(s) also in the training data (e.g. {leaked[0]}); "
            "gold must stay held out"
        )
    extra: list[Paragraph] = []
    if config.data.newsmtsc:
        from training.data.newsmtsc import read_newsmtsc

        extra = read_newsmtsc(config.data.newsmtsc, schema)
        if config.data.newsmtsc_max_examples and len(extra) > config.data.newsmtsc_max_examples:
            extra = random.Random(config.seed).sample(extra, config.data.newsmtsc_max_examples)
    return TrainingData(schema, registry, paragraphs, gold, extra)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def base_info(config: TrainConfig, data: TrainingData, train_set: list[Paragraph]) -> dict:
    """Everything a saved model carries besides its weights."""
    return {
        "kind": config.kind,
        "schema": data.schema.to_dict(),
        "registry": data.registry.to_dict(),
        "config": config.to_dict(),
        "data_hash": corpus_hash(train_set),
        "n_train": len(train_set),
        "n_extra_sentiment": len(data.extra_sentiment),
        "library_versions": library_versions(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }

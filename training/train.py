"""``train()``: load data, split by story, fit, evaluate on dev and gold, save to the store."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from serving.baseline import FigureSentimentClassifier, FrameClassifier
from serving.figures import FigureRegistry, load_registry
from serving.predictor import BaselinePredictor, Predictor
from serving.schema import LabelSchema, load_schema
from serving.store import library_versions, save_model
from training.config import TrainConfig
from training.corpus import Paragraph, corpus_hash, load_corpus
from training.evaluate import evaluate_predictor, frame_matrix, headline
from training.splits import grouped_folds, grouped_split


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
        from training.newsmtsc import read_newsmtsc

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


def fit_baseline(
    config: TrainConfig, data: TrainingData, train_set: list[Paragraph], dev_set: list[Paragraph]
) -> BaselinePredictor:
    """TF-IDF frames (thresholds from grouped CV) and masked-context figure sentiment."""
    cfg = config.baseline
    frames = FrameClassifier(
        word_ngrams=cfg.word_ngrams,
        char_ngrams=cfg.char_ngrams,
        min_df=cfg.min_df,
        max_features=cfg.max_features,
        C=cfg.C,
        class_weight=cfg.class_weight,
        threshold_folds=cfg.threshold_folds,
    ).fit(
        [p.text for p in train_set],
        frame_matrix(train_set, data.schema),
        groups=[p.story_id for p in train_set],
    )
    sentiment_data = [*train_set, *data.extra_sentiment]
    mentions = [(p.text, f.start, f.end) for p in sentiment_data for f in p.figures]
    labels = [f.sentiment for p in sentiment_data for f in p.figures]
    sentiment = FigureSentimentClassifier(
        context_words=cfg.context_words,
        word_ngrams=cfg.word_ngrams,
        C=cfg.C,
        class_weight=cfg.class_weight,
    ).fit(mentions, labels)
    info = {**base_info(config, data, train_set), "thresholds": frames.thresholds_.tolist()}
    return BaselinePredictor(info, frames, sentiment)


def fit_model(
    config: TrainConfig, data: TrainingData, train_set: list[Paragraph], dev_set: list[Paragraph]
) -> Predictor:
    if config.kind == "baseline":
        return fit_baseline(config, data, train_set, dev_set)
    from training.train_transformer import fit_transformer

    return fit_transformer(config, data, train_set, dev_set)


def train(config: TrainConfig, save: bool = True) -> TrainResult:
    """The recipe: data, grouped split, fit, dev and gold metrics, save."""
    started = time.perf_counter()
    set_seed(config.seed)
    data = load_training_data(config)
    train_set, dev_set = grouped_split(data.paragraphs, config.data.dev_fraction, config.seed)
    predictor = fit_model(config, data, train_set, dev_set)
    dev_metrics = evaluate_predictor(predictor, dev_set)
    gold_metrics = evaluate_predictor(predictor, data.gold) if data.gold else None
    predictor.info.update(dev_metrics=dev_metrics, gold_metrics=gold_metrics)
    tag = None
    if save:
        tag = save_model(config.model_name, predictor.info, predictor.save_artifacts)
        predictor.info["tag"] = predictor.version = tag
    return TrainResult(predictor, dev_metrics, gold_metrics, time.perf_counter() - started, tag)


def cross_validate(config: TrainConfig, k: int) -> dict[str, Any]:
    """Grouped K-fold: mean and std of frames and figure-sentiment macro-F1 over held-out folds."""
    set_seed(config.seed)
    data = load_training_data(config)
    folds = []
    for train_part, test_part in grouped_folds(data.paragraphs, k, config.seed):
        if config.kind == "baseline":  # the baseline tunes its thresholds by inner grouped CV
            fit_set, dev_set = train_part, []
        else:
            fit_set, dev_set = grouped_split(train_part, config.data.dev_fraction, config.seed)
        predictor = fit_model(config, data, fit_set, dev_set)
        folds.append(headline(evaluate_predictor(predictor, test_part)))
    summary: dict[str, Any] = {"k": k, "folds": folds}
    for key in folds[0]:
        values = np.array([f[key] for f in folds if f[key] is not None], dtype=float)
        std = float(values.std(ddof=1)) if len(values) > 1 else None
        summary[key] = {"mean": float(values.mean()) if len(values) else None, "std": std}
    return summary

"""The training recipe: load data, split by story, fit, evaluate on dev and gold, save."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from serving.predictors.base import Predictor
from serving.store import save_model
from training.data.augment import name_swap
from training.data.corpus import Paragraph
from training.data.splits import grouped_folds, grouped_split
from training.evaluation.scoring import evaluate_predictor, headline
from training.fit.baseline import fit_baseline
from training.fit.config import TrainConfig
from training.fit.info import TrainingData, TrainResult, load_training_data, set_seed


def fit_model(
    config: TrainConfig, data: TrainingData, train_set: list[Paragraph], dev_set: list[Paragraph]
) -> Predictor:
    if config.kind == "baseline":
        return fit_baseline(config, data, train_set, dev_set)
    from training.fit.transformer import fit_transformer

    return fit_transformer(config, data, train_set, dev_set)


def train(config: TrainConfig, save: bool = True) -> TrainResult:
    """The recipe: data, grouped split, fit, dev and gold metrics, save."""
    started = time.perf_counter()
    set_seed(config.seed)
    data = load_training_data(config)
    train_set, dev_set = grouped_split(
        data.paragraphs, config.data.dev_fraction, config.seed, data.dev_stories
    )
    predictor = fit_model(config, data, augment(train_set, data, config), dev_set)
    dev_metrics = evaluate_predictor(predictor, dev_set)
    gold_metrics = evaluate_predictor(predictor, data.gold) if data.gold else None
    transfer_metrics = evaluate_predictor(predictor, data.transfer) if data.transfer else None
    predictor.info = predictor.info.replace(
        dev_metrics=dev_metrics, gold_metrics=gold_metrics, transfer_metrics=transfer_metrics
    )
    tag = None
    if save:
        tag = save_model(config.model_name, predictor.info, predictor.save_artifacts)
        predictor.info = predictor.info.replace(tag=tag)
    seconds = time.perf_counter() - started
    return TrainResult(
        predictor, dev_metrics, gold_metrics, seconds, tag=tag, transfer_metrics=transfer_metrics
    )


def augment(train_set: list[Paragraph], data: TrainingData, config: TrainConfig) -> list[Paragraph]:
    """The training paragraphs plus name-swapped copies (after the split: dev stays original)."""
    return name_swap(train_set, data.registry, config.data.name_swap, config.seed)


def cross_validate(config: TrainConfig, k: int) -> dict[str, Any]:
    """Grouped K-fold: mean and std of frames and figure-sentiment macro-F1 over held-out folds."""
    set_seed(config.seed)
    data = load_training_data(config)
    folds = []
    for train_part, test_part in grouped_folds(data.paragraphs, k, config.seed):
        if config.kind == "baseline":  # the baseline tunes its thresholds by inner grouped CV
            fit_set, dev_set = train_part, []
        else:
            fit_set, dev_set = grouped_split(
                train_part, config.data.dev_fraction, config.seed, data.dev_stories
            )
        predictor = fit_model(config, data, augment(fit_set, data, config), dev_set)
        folds.append(headline(evaluate_predictor(predictor, test_part)))
    summary: dict[str, Any] = {"k": k, "folds": folds}
    for key in folds[0]:
        values = np.array([f[key] for f in folds if f[key] is not None], dtype=float)
        std = float(values.std(ddof=1)) if len(values) > 1 else None
        summary[key] = {"mean": float(values.mean()) if len(values) else None, "std": std}
    return summary
